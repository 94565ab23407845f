import type { SearchPosition } from '../../order/search-cursor.ts';
import type { OrderSearch } from '../../../schemas/order-search.ts';
import type { Queryable } from '../pool.ts';
import type { OrderSummary } from './orders.ts';

/** An order as the search lists it, with the position the next page starts after. */
export type FoundOrder = OrderSummary & { archived?: true };

const summaryColumns = `o.id, o.order_number AS "orderNumber", o.channel, o.external_id AS "externalId", o.status,
  o.payment_status AS "paymentStatus", o.fulfillment_status AS "fulfillmentStatus", o.warehouse, o.currency,
  o.grand_total AS "grandTotal", o.customer_email AS "customerEmail", o.placed_at AS "placedAt",
  o.created_at AS "createdAt", o.updated_at AS "updatedAt"`;

// The live tables and their archive twins (same columns, see 010_archive.sql); never input.
const tables = {
  live: { orders: 'orders', lines: 'order_lines', archived: '' },
  archive: { orders: 'archived_orders', lines: 'archived_order_lines', archived: ', true AS archived' },
} as const;

/**
 * One page of orders matching every given filter, newest received first, starting after
 * `search.after`, at most `search.limit`; `more` says whether another page follows, and
 * `last` is the position of the page's last row (microseconds, as Postgres keeps them).
 * Filters left null match everything. Keyset pagination on (created_at, id): orders
 * received while a client pages are newer than its cursor, so they never shift a page.
 */
export async function searchOrders(db: Queryable, search: OrderSearch): Promise<{ items: FoundOrder[]; more: boolean; last: SearchPosition | null }> {
  const t = search.archived ? tables.archive : tables.live;
  // Each `$n IS NULL OR …` folds away when Postgres plans with the values, so a given email
  // or SKU uses its index (orders_customer_idx, order_lines_sku_idx).
  const { rows } = await db.query<FoundOrder & { cursorAt: string }>(
    `SELECT ${summaryColumns}${t.archived},
            to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "cursorAt"
       FROM ${t.orders} o
      WHERE ($1::text IS NULL OR o.channel = $1)
        AND ($2::text IS NULL OR o.external_id = $2)
        AND ($3::text IS NULL OR o.order_number = $3)
        AND ($4::text[] IS NULL OR o.status = ANY($4))
        AND ($5::text[] IS NULL OR o.payment_status = ANY($5))
        AND ($6::text IS NULL OR lower(o.customer_email) = lower($6))
        AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM ${t.lines} l WHERE l.order_id = o.id AND l.sku = $7))
        AND ($8::timestamptz IS NULL OR o.created_at >= $8)
        AND ($9::timestamptz IS NULL OR o.created_at < $9)
        AND ($10::timestamptz IS NULL OR (o.created_at, o.id) < ($10, $11::uuid))
      ORDER BY o.created_at DESC, o.id DESC
      LIMIT $12`,
    [search.channel, search.externalId, search.orderNumber, search.statuses, search.paymentStatuses, search.email, search.sku,
      search.from, search.to, search.after?.receivedAt ?? null, search.after?.id ?? null, search.limit + 1],
  );
  const more = rows.length > search.limit;
  const page = rows.slice(0, search.limit);
  const lastRow = page.at(-1);
  return {
    items: page.map(({ cursorAt: _, ...order }) => order),
    more,
    last: lastRow ? { receivedAt: lastRow.cursorAt, id: lastRow.id } : null,
  };
}
