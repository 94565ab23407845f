import type { Queryable } from '../core/db/pool.ts';
import { searchOrders, type FoundOrder } from '../core/db/sql/order-search.ts';
import { badRequest } from '../core/errors.ts';
import { encodeSearchCursor } from '../core/order/search-cursor.ts';
import { parseOrderSearch } from '../schemas/order-search.ts';

/**
 * `GET /api/orders`: one page of the search the query string asks for, `{ items, nextCursor }`
 * (`nextCursor` null on the last page). Every wrong parameter is named in one 400 problem.
 * `query` holds every value given for each name (`c.req.queries()`).
 */
export async function orderSearchPage(db: Queryable, query: Record<string, string[]>): Promise<{ items: FoundOrder[]; nextCursor: string | null }> {
  const parsed = parseOrderSearch(query);
  if (!parsed.ok) {
    const detail = parsed.problems.map((p) => `${p.parameter} ${p.message}`).join('; ');
    throw badRequest('invalid_query', detail, { problems: parsed.problems });
  }
  const page = await searchOrders(db, parsed.search);
  return { items: page.items, nextCursor: page.more && page.last ? encodeSearchCursor(page.last) : null };
}
