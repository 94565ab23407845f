-- What warehouses and carriers report back: parcels shipped, their tracking, and every
-- notification sent to a customer.

ALTER TABLE shipments ADD COLUMN wms_status text;           -- accepted | picked | packed | shipped | rejected | cancelled
ALTER TABLE shipments ADD COLUMN cancel_requested_at timestamptz;

-- A parcel a warehouse shipped (a shipment may leave in several parcels).
CREATE TABLE parcels (
  id             bigserial PRIMARY KEY,
  shipment_id    text        NOT NULL REFERENCES shipments (id),
  order_id       uuid        NOT NULL REFERENCES orders (id),
  carrier        text        NOT NULL,
  tracking_code  text        NOT NULL,
  lines          jsonb       NOT NULL,
  status         text        NOT NULL,    -- a tracking status: pre_transit … delivered
  status_detail  text,
  public_url     text,
  estimated_delivery date,
  shipped_at     timestamptz NOT NULL,
  last_scan_at   timestamptz NOT NULL,     -- the last sign of life: shipped, or a carrier scan
  last_tracked_at timestamptz,             -- the last carrier scan applied (older ones are ignored)
  delivered_at   timestamptz,
  UNIQUE (carrier, tracking_code)
);
CREATE INDEX parcels_order_idx ON parcels (order_id);
CREATE INDEX parcels_open_idx ON parcels (last_scan_at) WHERE delivered_at IS NULL;

-- Every message sent (or to be sent) to a customer; the key makes a second send impossible.
CREATE TABLE notifications (
  key        text PRIMARY KEY,          -- <order id>:<template>:<channel>
  order_id   uuid        REFERENCES orders (id),
  template   text        NOT NULL,
  channel    text        NOT NULL,      -- email | sms | push
  recipient  text        NOT NULL,
  locale     text        NOT NULL,
  subject    text,
  body       text        NOT NULL,
  status     text        NOT NULL,      -- scheduled | sent | failed
  send_after timestamptz NOT NULL,
  sent_at    timestamptz,
  error      text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_due_idx ON notifications (send_after) WHERE status = 'scheduled';

-- Customers' choices about how and when they are told.
CREATE TABLE customer_preferences (
  customer_key text PRIMARY KEY,
  channels     text[]      NOT NULL,
  locale       text,
  quiet_hours  jsonb,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Reserved stock a warehouse shipped leaves both on-hand and reserved; `consumed` counts it.
ALTER TABLE reservations ADD COLUMN consumed int NOT NULL DEFAULT 0 CHECK (consumed >= 0);
ALTER TABLE reservations ADD CONSTRAINT reservations_consumed_le_quantity CHECK (consumed <= quantity);
