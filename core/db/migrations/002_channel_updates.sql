-- Channel updates and pollers.

-- The channel's own last-modified time of the snapshot the order was last built from:
-- an older snapshot arriving late is ignored.
ALTER TABLE orders ADD COLUMN channel_updated_at timestamptz;

-- Where a poller (Amazon SP-API) has read up to, so a restart neither misses nor repeats.
CREATE TABLE channel_cursors (
  channel    text PRIMARY KEY,
  cursor     jsonb       NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Replays of stored deliveries after a mapping or config fix.
ALTER TABLE raw_inbound ADD COLUMN replays int NOT NULL DEFAULT 0;
ALTER TABLE raw_inbound ADD COLUMN replayed_at timestamptz;
CREATE INDEX raw_inbound_status_idx ON raw_inbound (status, id);
