/**
 * The hub's own order number: `<prefix>-<yyyymmdd>-<sequence>`, e.g. `HUB-20261124-00000042`.
 * Human-readable, sortable by day then sequence (eight digits: a hundred million orders before the
 * text order breaks), unique because the sequence comes from Postgres.
 */
export function formatOrderNumber(prefix: string, receivedAt: Date, sequence: number): string {
  const day = receivedAt.toISOString().slice(0, 10).replaceAll('-', '');
  return `${prefix}-${day}-${String(sequence).padStart(8, '0')}`;
}
