-- When a provider first turned a notification away (it stays scheduled and is tried again).
-- The `notifications` job gives a message up a day after that, not a day after it was
-- recorded: a message that waited out a long outage of the hub itself is still tried.
ALTER TABLE notifications ADD COLUMN retrying_since timestamptz;
ALTER TABLE archived_notifications ADD COLUMN retrying_since timestamptz;
