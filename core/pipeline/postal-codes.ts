/**
 * Postal code formats by country (ISO 3166-1 alpha-2), for the address rule of validation.
 *
 * A code is checked after {@link normalizePostalCode} (trimmed, upper-case, runs of
 * whitespace made one space), so `" sw1a  1aa"` is checked as `"SW1A 1AA"`. Where people
 * often leave out the inner space or dash (GB, CA, NL, IE, PL, JP) the format accepts
 * both. A missing code is checked as `""`: a format that accepts the empty string makes
 * the code optional (Ireland: many addresses are used without their Eircode).
 */

export interface PostalCodeFormat {
  /** matches the whole normalised code */
  pattern: RegExp;
  /** a real code in this format, to show a person what is expected; null for configured formats */
  example: string | null;
}

const format = (pattern: RegExp, example: string): PostalCodeFormat => ({ pattern, example });

/** The formats the hub knows without configuration. */
export const builtInPostalCodeFormats: Readonly<Record<string, PostalCodeFormat>> = {
  // ZIP or ZIP+4
  US: format(/^\d{5}(?:-\d{4})?$/, '10001'),
  // A1A 1A1; D, F, I, O, Q and U never appear, W and Z never first
  CA: format(/^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d$/, 'K1A 0B1'),
  // outward code (area, district) + inward code (sector, unit); GIR 0AA is Girobank's
  GB: format(/^(?:GIR ?0AA|[A-PR-UWYZ](?:\d{1,2}|[A-HK-Y]\d[\dABEHMNPRV-Y]?|\d[A-HJKPS-UW]) ?\d[ABD-HJLNP-UW-Z]{2})$/, 'SW1A 1AA'),
  DE: format(/^\d{5}$/, '10117'),
  FR: format(/^\d{5}$/, '75008'),
  // 1234 AB; SA, SD and SS are never issued
  NL: format(/^[1-9]\d{3} ?(?!SA|SD|SS)[A-Z]{2}$/, '1012 JS'),
  BE: format(/^[1-9]\d{3}$/, '1000'),
  AT: format(/^[1-9]\d{3}$/, '1010'),
  PL: format(/^\d{2}-?\d{3}$/, '00-950'),
  IT: format(/^\d{5}$/, '00184'),
  // the first two digits are the province, 01 to 52
  ES: format(/^(?:0[1-9]|[1-4]\d|5[0-2])\d{3}$/, '28013'),
  JP: format(/^\d{3}-?\d{4}$/, '100-0001'),
  AU: format(/^\d{4}$/, '2000'),
  // Eircode: routing key (letter + 2 digits, or D6W) + 4-character identifier; optional
  IE: format(/^(?:(?:[AC-FHKNPRTV-Y]\d{2}|D6W) ?[\dAC-FHKNPRTV-Y]{4})?$/, 'D02 AF30'),
  CH: format(/^[1-9]\d{3}$/, '8001'),
  LU: format(/^(?:L-)?\d{4}$/, '1009'),
  DK: format(/^\d{4}$/, '1050'),
  NO: format(/^\d{4}$/, '0150'),
  SE: format(/^\d{3} ?\d{2}$/, '111 22'),
  FI: format(/^\d{5}$/, '00100'),
  PT: format(/^\d{4}-\d{3}$/, '1100-148'),
  CZ: format(/^\d{3} ?\d{2}$/, '110 00'),
};

/** Trimmed, upper-case, whitespace runs made one space: how a code is checked against a format. */
export function normalizePostalCode(code: string): string {
  return code.trim().replace(/\s+/g, ' ').toUpperCase();
}

export interface PostalCodeFormats {
  /** by country: the configured format where there is one, else the built-in one */
  byCountry: ReadonlyMap<string, PostalCodeFormat>;
  /** configured patterns that are not regular expressions (these countries keep the built-in format) */
  problems: { country: string; pattern: string; message: string }[];
}

/**
 * The built-in formats with the configured ones (`validation.postalCodes`: country →
 * regular expression) on top: a configured pattern replaces the built-in one of its
 * country or adds a country. Patterns are matched against the whole normalised code
 * (`\d{4}` means `^(?:\d{4})$`); `".*"` turns the check off for a country. A pattern that
 * does not compile is reported in `problems` and ignored (its country keeps the built-in
 * format), never thrown: validation must not fail on config; the config loader can call
 * this at start and refuse a config with problems.
 */
export function postalCodeFormats(configured: Readonly<Record<string, string>> | undefined): PostalCodeFormats {
  const byCountry = new Map<string, PostalCodeFormat>(Object.entries(builtInPostalCodeFormats));
  const problems: PostalCodeFormats['problems'] = [];
  for (const [country, pattern] of Object.entries(configured ?? {})) {
    try {
      byCountry.set(country, { pattern: new RegExp(`^(?:${pattern})$`), example: null });
    } catch (error) {
      problems.push({ country, pattern, message: (error as Error).message });
    }
  }
  return { byCountry, problems };
}

export type PostalCodeCheck =
  | { ok: true }
  | { ok: false; problem: 'missing' | 'format'; postalCode: string | null; example: string | null };

/**
 * Whether `postalCode` fits the format of `country`. A country without a known format
 * passes: the hub cannot tell, and a person would not know better.
 */
export function checkPostalCode(country: string, postalCode: string | null | undefined, formats: PostalCodeFormats): PostalCodeCheck {
  const known = formats.byCountry.get(country);
  if (!known) return { ok: true };
  const normalised = normalizePostalCode(postalCode ?? '');
  if (known.pattern.test(normalised)) return { ok: true };
  return {
    ok: false,
    problem: normalised === '' ? 'missing' : 'format',
    postalCode: normalised === '' ? null : normalised,
    example: known.example,
  };
}
