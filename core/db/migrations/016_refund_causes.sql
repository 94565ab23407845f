-- The cause a refund was asked for (the id of the event: `order.cancelled`, `order.reduced`,
-- `return.refund_due`). The refunds stage commits its plan — which payment gives back how
-- much — before it calls any provider, so a retry after a part success resumes that plan
-- instead of planning again from a ledger that has moved on (core/stages/refunds.ts).
-- NULL on refunds asked before this column existed: those were committed only once answered.
ALTER TABLE refunds ADD COLUMN cause text;

-- Every refund cause reads the order's refunds under its lock; without an index that read
-- scanned the whole table, which only grows (refunds stay live when orders are archived).
CREATE INDEX IF NOT EXISTS refunds_order_idx ON refunds (order_id, cause);
