-- The hub's tables. Every statement runs with search_path set to the namespace's schema.

-- Raw inbound deliveries, kept byte for byte before anything else happens, so a delivery can
-- be replayed after a mapping is fixed. (source, dedupe_key) makes a redelivery a no-op.
CREATE TABLE raw_inbound (
  id           bigserial PRIMARY KEY,
  source       text        NOT NULL,
  kind         text        NOT NULL,               -- order | payment | carrier | warehouse
  dedupe_key   text        NOT NULL,               -- platform event id, or sha256 of the body
  topic        text        NOT NULL DEFAULT '',
  headers      jsonb       NOT NULL,
  body         bytea       NOT NULL,
  status       text        NOT NULL,               -- accepted | invalid | ignored | processed | failed
  problems     jsonb,
  received_at  timestamptz NOT NULL DEFAULT now(),
  processed_at timestamptz,
  UNIQUE (source, dedupe_key)
);

CREATE SEQUENCE order_number_seq;

CREATE TABLE orders (
  id                 uuid PRIMARY KEY,
  order_number       text        NOT NULL UNIQUE,
  channel            text        NOT NULL,
  external_id        text        NOT NULL,
  status             text        NOT NULL,
  payment_status     text        NOT NULL,
  fulfillment_status text        NOT NULL,
  currency           char(3)     NOT NULL,
  grand_total        bigint      NOT NULL CHECK (grand_total >= 0),
  customer_email     text,
  ship_country       char(2),
  warehouse          text,
  data               jsonb       NOT NULL,         -- the canonical order as received
  raw_id             bigint      REFERENCES raw_inbound (id),
  placed_at          timestamptz NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (channel, external_id)
);
CREATE INDEX orders_status_idx ON orders (status, updated_at);

CREATE TABLE order_lines (
  order_id   uuid   NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  line_no    int    NOT NULL,
  sku        text   NOT NULL,
  name       text   NOT NULL,
  quantity   int    NOT NULL CHECK (quantity > 0),
  unit_price bigint NOT NULL CHECK (unit_price >= 0),
  discount   bigint NOT NULL CHECK (discount >= 0),
  tax        bigint NOT NULL CHECK (tax >= 0),
  PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_sku_idx ON order_lines (sku);

-- The order's timeline: append-only, every change with who did it and why.
CREATE TABLE order_events (
  id          bigserial PRIMARY KEY,
  order_id    uuid        NOT NULL REFERENCES orders (id),
  at          timestamptz NOT NULL DEFAULT now(),
  type        text        NOT NULL,
  from_status text,
  to_status   text,
  actor       text        NOT NULL,
  reason      text,
  data        jsonb
);
CREATE INDEX order_events_order_idx ON order_events (order_id, id);

CREATE FUNCTION order_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'order_events is append-only';
END $$;
CREATE TRIGGER order_events_no_change BEFORE UPDATE OR DELETE ON order_events
  FOR EACH ROW EXECUTE FUNCTION order_events_append_only();

CREATE TABLE products (
  sku          text PRIMARY KEY,
  name         text        NOT NULL,
  category     text        NOT NULL,
  weight_grams int         NOT NULL CHECK (weight_grams >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE warehouses (
  code        text PRIMARY KEY,
  name        text             NOT NULL,
  lat         double precision NOT NULL,
  lng         double precision NOT NULL,
  country     char(2)          NOT NULL,
  regions     text[]           NOT NULL,   -- ISO 3166 countries (or subdivisions) it delivers to
  categories  text[]           NOT NULL,   -- product categories it handles; empty = all
  priority    int              NOT NULL,
  integration text             NOT NULL
);

-- available = on_hand - reserved; the CHECKs make overselling impossible at the database level.
CREATE TABLE inventory (
  warehouse  text        NOT NULL REFERENCES warehouses (code),
  sku        text        NOT NULL REFERENCES products (sku),
  on_hand    int         NOT NULL CHECK (on_hand >= 0),
  reserved   int         NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (warehouse, sku),
  CHECK (reserved <= on_hand)
);

CREATE TABLE reservations (
  id          bigserial PRIMARY KEY,
  order_id    uuid        NOT NULL REFERENCES orders (id),
  warehouse   text        NOT NULL,
  sku         text        NOT NULL,
  quantity    int         NOT NULL CHECK (quantity > 0),
  status      text        NOT NULL,          -- held | released | consumed
  created_at  timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz,
  UNIQUE (order_id, warehouse, sku),
  FOREIGN KEY (warehouse, sku) REFERENCES inventory (warehouse, sku)
);

-- Messages caused by a state change, committed with it; the relay publishes them.
CREATE TABLE outbox (
  id           bigserial PRIMARY KEY,
  message_id   uuid        NOT NULL UNIQUE,
  exchange     text        NOT NULL,
  routing_key  text        NOT NULL,
  body         jsonb       NOT NULL,
  headers      jsonb       NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE published_at IS NULL;

-- Wake the relay when messages are committed; the channel is named after the schema.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_TABLE_SCHEMA || '_outbox', '');
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_inserted AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- (consumer, message id) recorded with the consumer's effect: a redelivery has no second effect.
CREATE TABLE inbox (
  consumer     text        NOT NULL,
  message_id   text        NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);

-- Everything a person must look at, with its owner and deadline from the SOP config.
CREATE TABLE exceptions (
  id           bigserial PRIMARY KEY,
  type         text        NOT NULL,
  status       text        NOT NULL DEFAULT 'open',   -- open | resolved
  order_id     uuid        REFERENCES orders (id),
  raw_id       bigint      REFERENCES raw_inbound (id),
  message_id   text,
  stage        text,
  owner        text        NOT NULL,
  deadline     timestamptz NOT NULL,
  reason       text        NOT NULL,
  details      jsonb       NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  escalated_at timestamptz,
  resolved_at  timestamptz
);
CREATE INDEX exceptions_open_idx ON exceptions (status, deadline);
CREATE UNIQUE INDEX exceptions_message_idx ON exceptions (type, message_id) WHERE message_id IS NOT NULL;

CREATE TABLE job_runs (
  id          bigserial PRIMARY KEY,
  job         text        NOT NULL,
  started_at  timestamptz NOT NULL,
  finished_at timestamptz,
  outcome     text        NOT NULL,                 -- running | ok | failed
  counts      jsonb       NOT NULL DEFAULT '{}',
  error       text
);
CREATE INDEX job_runs_job_idx ON job_runs (job, started_at DESC);
