-- The payments ledger: one row per movement of money a provider (or an operator) reported.
-- (provider, entry_id) makes a movement reported twice, or by two events, count once.
CREATE TABLE payments (
  id             bigserial PRIMARY KEY,
  provider       text        NOT NULL,
  entry_id       text        NOT NULL,
  payment_id     text        NOT NULL,
  account        text,
  kind           text        NOT NULL,      -- authorized | captured | failed | refunded | disputed | voided
  amount         bigint      NOT NULL CHECK (amount >= 0),
  currency       char(3)     NOT NULL,
  method         text        NOT NULL,
  order_id       uuid        REFERENCES orders (id),   -- null until matched: a payment may come before its order
  match          jsonb       NOT NULL,
  raw_id         bigint      REFERENCES raw_inbound (id),
  failure_reason text,
  occurred_at    timestamptz NOT NULL,
  recorded_at    timestamptz NOT NULL DEFAULT now(),
  matched_at     timestamptz,
  UNIQUE (provider, entry_id)
);
CREATE INDEX payments_order_idx ON payments (order_id);
CREATE INDEX payments_unmatched_idx ON payments (recorded_at) WHERE order_id IS NULL;

-- Refunds the hub asks providers for; the id is the idempotency key sent with the request.
CREATE TABLE refunds (
  id                 text PRIMARY KEY,
  order_id           uuid        NOT NULL REFERENCES orders (id),
  provider           text        NOT NULL,
  payment_id         text        NOT NULL,
  amount             bigint      NOT NULL CHECK (amount > 0),
  currency           char(3)     NOT NULL,
  reason             text        NOT NULL,
  status             text        NOT NULL,    -- requested | succeeded | pending | failed
  provider_refund_id text,
  error              text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Imported settlement reports and what they showed.
CREATE TABLE settlements (
  id            bigserial PRIMARY KEY,
  provider      text        NOT NULL,
  file_name     text,
  imported_at   timestamptz NOT NULL DEFAULT now(),
  rows          int         NOT NULL,
  matched       int         NOT NULL,
  discrepancies jsonb       NOT NULL,
  fees          jsonb       NOT NULL
);
