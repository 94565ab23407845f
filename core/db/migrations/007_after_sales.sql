-- After-sales: when an order entered its status (the SLA watchdog measures from it), returns
-- (RMA) and their lines, customers' feedback, and the stored daily reports.

ALTER TABLE orders ADD COLUMN status_changed_at timestamptz;
UPDATE orders SET status_changed_at = updated_at;
ALTER TABLE orders ALTER COLUMN status_changed_at SET NOT NULL;
ALTER TABLE orders ALTER COLUMN status_changed_at SET DEFAULT now();
CREATE INDEX orders_status_since_idx ON orders (status, status_changed_at);

-- A return merchandise authorization: the customer sends lines of a delivered order back
-- for their money (refund) or for other goods (exchange).
CREATE TABLE returns (
  id                text PRIMARY KEY,                 -- the RMA number: <order number>-R<n>
  order_id          uuid        NOT NULL REFERENCES orders (id),
  kind              text        NOT NULL,             -- refund | exchange
  status            text        NOT NULL,             -- requested | approved | rejected | in_transit | received | refunded | exchanged
  reason            text        NOT NULL,
  decision          text,                             -- why it was approved or rejected
  warehouse         text        REFERENCES warehouses (code),   -- where the goods go back to
  carrier           text,
  tracking_code     text,
  label_url         text,
  refund_amount     bigint      CHECK (refund_amount >= 0),
  currency          char(3)     NOT NULL,
  exchange_order_id uuid,
  requested_by      text        NOT NULL,
  reasons           jsonb       NOT NULL DEFAULT '[]',   -- every reason it was rejected
  idempotency_key   text        UNIQUE,               -- a retried request finds the RMA it made
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  received_at       timestamptz,
  closed_at         timestamptz
);
CREATE INDEX returns_order_idx ON returns (order_id);
CREATE INDEX returns_created_idx ON returns (created_at);
CREATE INDEX returns_status_idx ON returns (status, created_at);
CREATE INDEX returns_exchange_idx ON returns (exchange_order_id);

CREATE TABLE return_lines (
  return_id           text NOT NULL REFERENCES returns (id),
  line_no             int  NOT NULL,
  sku                 text NOT NULL,
  quantity            int  NOT NULL CHECK (quantity > 0),
  exchange_sku        text,                           -- what the customer wants instead (exchange)
  received_quantity   int  NOT NULL DEFAULT 0 CHECK (received_quantity >= 0),
  resellable_quantity int  NOT NULL DEFAULT 0 CHECK (resellable_quantity >= 0),
  PRIMARY KEY (return_id, line_no),
  CHECK (resellable_quantity <= received_quantity)
);

-- One rating per order, from the customer.
CREATE TABLE feedback (
  order_id   uuid PRIMARY KEY REFERENCES orders (id),
  rating     int         NOT NULL CHECK (rating BETWEEN 1 AND 5),
  comment    text,
  source     text        NOT NULL,                    -- api | website | app
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_created_idx ON feedback (created_at);

-- Each day's KPI report as the daily job computed it.
CREATE TABLE daily_reports (
  day          date PRIMARY KEY,
  report       jsonb       NOT NULL,
  generated_at timestamptz NOT NULL DEFAULT now()
);
