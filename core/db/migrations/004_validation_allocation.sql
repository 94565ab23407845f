-- Store credit, shipments (one per warehouse of an order), and what allocation needs to count.

-- A customer's store credit, keyed by the lower-cased email (credit belongs to the shop, not a channel).
CREATE TABLE customer_accounts (
  customer_key text PRIMARY KEY,
  currency     char(3)     NOT NULL,
  balance      bigint      NOT NULL CHECK (balance >= 0),
  held         bigint      NOT NULL DEFAULT 0 CHECK (held >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (held <= balance)
);

-- Credit held for an order until it is paid out (captured) or given back (released).
CREATE TABLE credit_holds (
  order_id     uuid        PRIMARY KEY REFERENCES orders (id),
  customer_key text        NOT NULL REFERENCES customer_accounts (customer_key),
  amount       bigint      NOT NULL CHECK (amount > 0),
  status       text        NOT NULL,            -- held | released | captured
  created_at   timestamptz NOT NULL DEFAULT now(),
  ended_at     timestamptz
);

-- What each warehouse ships of an order, with its delivery plan; a split order has several.
CREATE TABLE shipments (
  id                     text        PRIMARY KEY,   -- <order id>:<warehouse>
  order_id               uuid        NOT NULL REFERENCES orders (id),
  warehouse              text        NOT NULL REFERENCES warehouses (code),
  lines                  jsonb       NOT NULL,
  carrier                text        NOT NULL,
  service_level          text        NOT NULL,
  promised_ship_date     date        NOT NULL,
  promised_delivery_date date        NOT NULL,
  status                 text        NOT NULL,      -- planned | requested | cancelled
  plan                   jsonb       NOT NULL,
  created_at             timestamptz NOT NULL DEFAULT now(),
  requested_at           timestamptz
);
CREATE INDEX shipments_order_idx ON shipments (order_id);
CREATE INDEX shipments_day_idx ON shipments (warehouse, requested_at);

CREATE INDEX orders_customer_idx ON orders (lower(customer_email));
CREATE INDEX orders_backordered_idx ON orders (created_at) WHERE status = 'backordered';

-- What allocation and the delivery plan need to know of a warehouse.
ALTER TABLE warehouses ADD COLUMN daily_capacity int CHECK (daily_capacity > 0);
ALTER TABLE warehouses ADD COLUMN cutoff_time text NOT NULL DEFAULT '15:00';
ALTER TABLE warehouses ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';
