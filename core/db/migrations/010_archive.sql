-- The archive: finished orders older than `archive.afterDays` move here, with every row of
-- theirs, by the `archive` job. Each archived_* twin is created LIKE its live table after
-- every earlier migration, so it has the same columns in the same order and a move is
-- `DELETE … RETURNING *` into the twin. A migration that later changes a live table must
-- change its twin the same way (test/archive.test.ts and the job itself check it).
-- Nothing is deleted: rows only move, and the archive never changes once written.

-- The money ledger stays whole where it is: finance and settlement read every movement,
-- and (provider, entry_id) keeps a replayed payment from counting twice, which only holds
-- if old entries stay in the same table. Its order_id may therefore name an order that has
-- moved to archived_orders, so it cannot be a foreign key to orders any more.
ALTER TABLE payments DROP CONSTRAINT payments_order_id_fkey;
ALTER TABLE refunds DROP CONSTRAINT refunds_order_id_fkey;

-- Twins carry no foreign keys (their parents move with them, or stay live, like raw_inbound
-- and warehouses) and no unique keys but the primary key: a carrier may reuse a tracking
-- code, a replay may open an exception with a message id an archived one had.
CREATE TABLE archived_orders        (LIKE orders INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE archived_order_lines   (LIKE order_lines INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE archived_order_events  (LIKE order_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE archived_reservations  (LIKE reservations INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE archived_shipments     (LIKE shipments INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE archived_parcels       (LIKE parcels INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE archived_notifications (LIKE notifications INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE archived_credit_holds  (LIKE credit_holds INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE archived_exceptions    (LIKE exceptions INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE archived_returns       (LIKE returns INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE archived_return_lines  (LIKE return_lines INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE archived_feedback      (LIKE feedback INCLUDING DEFAULTS INCLUDING CONSTRAINTS);

-- The live tables' primary keys: a row moved twice is an error, never a silent duplicate.
ALTER TABLE archived_orders        ADD PRIMARY KEY (id);
ALTER TABLE archived_order_lines   ADD PRIMARY KEY (order_id, line_no);
ALTER TABLE archived_order_events  ADD PRIMARY KEY (id);
ALTER TABLE archived_reservations  ADD PRIMARY KEY (id);
ALTER TABLE archived_shipments     ADD PRIMARY KEY (id);
ALTER TABLE archived_parcels       ADD PRIMARY KEY (id);
ALTER TABLE archived_notifications ADD PRIMARY KEY (key);
ALTER TABLE archived_credit_holds  ADD PRIMARY KEY (order_id);
ALTER TABLE archived_exceptions    ADD PRIMARY KEY (id);
ALTER TABLE archived_returns       ADD PRIMARY KEY (id);
ALTER TABLE archived_return_lines  ADD PRIMARY KEY (return_id, line_no);
ALTER TABLE archived_feedback      ADD PRIMARY KEY (order_id);

-- What the API reads an archived order by, and what late payments are matched on.
CREATE INDEX archived_orders_channel_idx     ON archived_orders (channel, external_id);
CREATE INDEX archived_orders_number_idx      ON archived_orders (order_number);
CREATE INDEX archived_orders_created_idx     ON archived_orders (created_at DESC, id);
CREATE INDEX archived_orders_status_idx      ON archived_orders (status, created_at DESC);
CREATE INDEX archived_order_events_order_idx ON archived_order_events (order_id, id);
CREATE INDEX archived_reservations_order_idx ON archived_reservations (order_id, id);
CREATE INDEX archived_shipments_order_idx    ON archived_shipments (order_id);
CREATE INDEX archived_parcels_order_idx      ON archived_parcels (order_id);
CREATE INDEX archived_notifications_order_idx ON archived_notifications (order_id);
CREATE INDEX archived_exceptions_order_idx   ON archived_exceptions (order_id, id);
CREATE INDEX archived_returns_order_idx      ON archived_returns (order_id);

-- The timeline stays append-only; only the archive job may move a timeline out, and it
-- says so for its own transaction (SET LOCAL hub.archiving = 'on').
CREATE OR REPLACE FUNCTION order_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('hub.archiving', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'order_events is append-only';
END $$;

-- The archive is the hub's memory: rows come in and never change or leave.
CREATE FUNCTION archive_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;

DO $$
DECLARE
  twin text;
BEGIN
  FOREACH twin IN ARRAY ARRAY['archived_orders', 'archived_order_lines', 'archived_order_events', 'archived_reservations',
      'archived_shipments', 'archived_parcels', 'archived_notifications', 'archived_credit_holds', 'archived_exceptions',
      'archived_returns', 'archived_return_lines', 'archived_feedback'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION archive_append_only()',
      twin || '_no_change', twin);
  END LOOP;
END $$;
