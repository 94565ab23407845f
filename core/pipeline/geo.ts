import type { Address } from '../../schemas/canonical-order.ts';

/** A point on the globe, in decimal degrees. */
export interface LatLng {
  lat: number;
  lng: number;
}

/**
 * Approximate centroids, good to a few dozen kilometres: enough to rank warehouses by
 * distance without a geocoding service. Subdivisions are keyed ISO 3166-2 style
 * (`US-KY`, `CA-ON`) with their English (and French) names; countries by ISO 3166-1.
 */
const SUBDIVISIONS: readonly (readonly [code: string, names: string, lat: number, lng: number])[] = [
  // United States: the 50 states, DC and the inhabited territories
  ['US-AL', 'Alabama', 32.8, -86.8], ['US-AK', 'Alaska', 64.2, -152.5], ['US-AZ', 'Arizona', 34.3, -111.7],
  ['US-AR', 'Arkansas', 34.9, -92.4], ['US-CA', 'California', 37.2, -119.4], ['US-CO', 'Colorado', 39.0, -105.5],
  ['US-CT', 'Connecticut', 41.6, -72.7], ['US-DE', 'Delaware', 39.0, -75.5], ['US-DC', 'District of Columbia', 38.9, -77.0],
  ['US-FL', 'Florida', 28.6, -82.4], ['US-GA', 'Georgia', 32.7, -83.4], ['US-HI', 'Hawaii', 20.8, -156.3],
  ['US-ID', 'Idaho', 44.4, -114.6], ['US-IL', 'Illinois', 40.0, -89.2], ['US-IN', 'Indiana', 39.9, -86.3],
  ['US-IA', 'Iowa', 42.1, -93.5], ['US-KS', 'Kansas', 38.5, -98.4], ['US-KY', 'Kentucky', 37.5, -85.3],
  ['US-LA', 'Louisiana', 31.1, -92.0], ['US-ME', 'Maine', 45.4, -69.2], ['US-MD', 'Maryland', 39.0, -76.8],
  ['US-MA', 'Massachusetts', 42.3, -71.8], ['US-MI', 'Michigan', 44.3, -85.4], ['US-MN', 'Minnesota', 46.3, -94.3],
  ['US-MS', 'Mississippi', 32.7, -89.7], ['US-MO', 'Missouri', 38.4, -92.5], ['US-MT', 'Montana', 47.0, -109.6],
  ['US-NE', 'Nebraska', 41.5, -99.8], ['US-NV', 'Nevada', 39.3, -116.6], ['US-NH', 'New Hampshire', 43.7, -71.6],
  ['US-NJ', 'New Jersey', 40.2, -74.7], ['US-NM', 'New Mexico', 34.4, -106.1], ['US-NY', 'New York', 42.9, -75.5],
  ['US-NC', 'North Carolina', 35.6, -79.4], ['US-ND', 'North Dakota', 47.5, -100.5], ['US-OH', 'Ohio', 40.3, -82.8],
  ['US-OK', 'Oklahoma', 35.6, -97.5], ['US-OR', 'Oregon', 43.9, -120.6], ['US-PA', 'Pennsylvania', 40.9, -77.8],
  ['US-RI', 'Rhode Island', 41.7, -71.5], ['US-SC', 'South Carolina', 33.9, -80.9], ['US-SD', 'South Dakota', 44.4, -100.2],
  ['US-TN', 'Tennessee', 35.9, -86.4], ['US-TX', 'Texas', 31.5, -99.3], ['US-UT', 'Utah', 39.3, -111.7],
  ['US-VT', 'Vermont', 44.1, -72.7], ['US-VA', 'Virginia', 37.5, -78.9], ['US-WA', 'Washington', 47.4, -120.5],
  ['US-WV', 'West Virginia', 38.6, -80.6], ['US-WI', 'Wisconsin', 44.6, -89.9], ['US-WY', 'Wyoming', 43.0, -107.6],
  ['US-PR', 'Puerto Rico', 18.2, -66.5], ['US-GU', 'Guam', 13.4, 144.8], ['US-VI', 'U.S. Virgin Islands|Virgin Islands', 18.3, -64.9],
  ['US-AS', 'American Samoa', -14.3, -170.7], ['US-MP', 'Northern Mariana Islands', 15.2, 145.7],
  // Canada: the 10 provinces and 3 territories
  ['CA-AB', 'Alberta', 55.0, -115.0], ['CA-BC', 'British Columbia|Colombie-Britannique', 53.7, -127.6],
  ['CA-MB', 'Manitoba', 55.0, -97.0], ['CA-NB', 'New Brunswick|Nouveau-Brunswick', 46.5, -66.2],
  ['CA-NL', 'Newfoundland and Labrador|Terre-Neuve-et-Labrador|Newfoundland', 53.1, -57.7],
  ['CA-NS', 'Nova Scotia|Nouvelle-Ecosse', 45.0, -63.0], ['CA-NT', 'Northwest Territories|Territoires du Nord-Ouest', 64.8, -124.8],
  ['CA-NU', 'Nunavut', 70.3, -83.1], ['CA-ON', 'Ontario', 50.0, -85.0],
  ['CA-PE', 'Prince Edward Island|Ile-du-Prince-Edouard', 46.4, -63.2], ['CA-QC', 'Quebec', 52.9, -73.5],
  ['CA-SK', 'Saskatchewan', 54.0, -106.0], ['CA-YT', 'Yukon', 64.3, -135.0],
];

const COUNTRIES: readonly (readonly [code: string, lat: number, lng: number])[] = [
  // North America, for addresses without a (known) subdivision
  ['US', 39.8, -98.6], ['CA', 56.1, -106.3],
  // Europe
  ['AD', 42.5, 1.6], ['AL', 41.2, 20.2], ['AT', 47.5, 14.6], ['AX', 60.2, 19.9], ['BA', 43.9, 17.7], ['BE', 50.5, 4.5],
  ['BG', 42.7, 25.5], ['BY', 53.7, 28.0], ['CH', 46.8, 8.2], ['CY', 35.1, 33.4], ['CZ', 49.8, 15.5], ['DE', 51.2, 10.5],
  ['DK', 56.3, 9.5], ['EE', 58.6, 25.0], ['ES', 40.5, -3.7], ['FI', 61.9, 25.7], ['FO', 61.9, -6.9], ['FR', 46.2, 2.2],
  ['GB', 55.4, -3.4], ['GG', 49.5, -2.6], ['GI', 36.1, -5.4], ['GR', 39.1, 21.8], ['HR', 45.1, 15.2], ['HU', 47.2, 19.5],
  ['IE', 53.4, -8.2], ['IM', 54.2, -4.5], ['IS', 65.0, -19.0], ['IT', 41.9, 12.6], ['JE', 49.2, -2.1], ['LI', 47.2, 9.6],
  ['LT', 55.2, 23.9], ['LU', 49.8, 6.1], ['LV', 56.9, 24.6], ['MC', 43.7, 7.4], ['MD', 47.4, 28.4], ['ME', 42.7, 19.4],
  ['MK', 41.6, 21.7], ['MT', 35.9, 14.4], ['NL', 52.1, 5.3], ['NO', 60.5, 8.5], ['PL', 51.9, 19.1], ['PT', 39.4, -8.2],
  ['RO', 45.9, 25.0], ['RS', 44.0, 21.0], ['SE', 60.1, 18.6], ['SI', 46.2, 15.0], ['SK', 48.7, 19.7], ['SM', 43.9, 12.5],
  ['UA', 48.4, 31.2], ['VA', 41.9, 12.5], ['XK', 42.6, 20.9],
  // Russia and Turkey span two continents: their centroids would sit in Siberia and
  // Anatolia, so they stand at their European population centres instead.
  ['RU', 55.8, 37.6], ['TR', 41.0, 29.0],
  // and further afield
  ['JP', 36.2, 138.3], ['AU', -25.3, 133.8],
];

/** Names written by people, compared without case, accents or punctuation. */
function nameKey(name: string): string {
  return name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z]/g, '');
}

const subdivisionsByCode = new Map<string, LatLng>(SUBDIVISIONS.map(([code, , lat, lng]) => [code, { lat, lng }]));
const subdivisionsByName = new Map<string, LatLng>(
  SUBDIVISIONS.flatMap(([code, names, lat, lng]) => names.split('|').map((n): [string, LatLng] => [`${code.slice(0, 2)}:${nameKey(n)}`, { lat, lng }])),
);
const countries = new Map<string, LatLng>(COUNTRIES.map(([code, lat, lng]) => [code, { lat, lng }]));
// "UK" is not ISO 3166-1, but channels send it.
const countryAliases: Readonly<Record<string, string>> = { UK: 'GB' };

/**
 * Where an address is, roughly: the centroid of its subdivision (a US state or Canadian
 * province, written as a code — `KY`, `US-KY` — or a name — `Kentucky`), else of its
 * country; null when neither is in the table.
 */
export function locate(address: Pick<Address, 'country' | 'region'>): LatLng | null {
  const country = countryAliases[address.country.toUpperCase()] ?? address.country.toUpperCase();
  const region = address.region?.trim();
  if (region) {
    const code = region.toUpperCase();
    const found = subdivisionsByCode.get(code.startsWith(`${country}-`) ? code : `${country}-${code}`)
      ?? subdivisionsByName.get(`${country}:${nameKey(region)}`);
    if (found) return found;
  }
  return countries.get(country) ?? null;
}

const EARTH_RADIUS_KM = 6371.0088;
const radians = (degrees: number) => (degrees * Math.PI) / 180;

/** Great-circle distance between two points, in kilometres. */
export function haversineKm(a: LatLng, b: LatLng): number {
  const dLat = radians(b.lat - a.lat);
  const dLng = radians(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(radians(a.lat)) * Math.cos(radians(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
