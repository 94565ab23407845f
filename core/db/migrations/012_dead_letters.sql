-- Every message parked for good (the consume adapter gave up on it, or the broker
-- dead-lettered it after its delivery limit), as the parking recorder received it: the record
-- an operator lists, inspects, replays or discards through /api/dead-letters.
-- One row per message id: the two copies the parking exchange fans out, and any redelivery
-- of them, are the same row. The order the message is about stays inside `refs` (not an
-- order_id column): a dead letter outlives the order's archiving and is not archived with it.
CREATE TABLE dead_letters (
  id            bigserial   PRIMARY KEY,
  message_id    text        NOT NULL UNIQUE,
  queue         text        NOT NULL,              -- the queue whose consumer gave up; a replay goes back there
  exchange      text        NOT NULL,              -- the exchange it reached the parked queue through
  routing_key   text        NOT NULL,
  headers       jsonb       NOT NULL DEFAULT '{}',
  body          bytea       NOT NULL,
  reason        text        NOT NULL,
  attempts      integer     NOT NULL,
  refs          jsonb       NOT NULL DEFAULT '{}',  -- orderId, eventType, replayOf: what it is about
  parked_at     timestamptz NOT NULL,
  status        text        NOT NULL DEFAULT 'parked' CHECK (status IN ('parked', 'replayed', 'discarded')),
  resolved_at   timestamptz,
  resolved_by   text,
  resolution    text,                              -- the discard reason, or what the replay was sent as
  replay_count  integer     NOT NULL DEFAULT 0,    -- replays of the same original message before this one
  replayed_as   text                               -- the message id of the replay
);
CREATE INDEX dead_letters_status_idx ON dead_letters (status, id DESC);
CREATE INDEX dead_letters_queue_idx ON dead_letters (queue, status, id DESC);
