-- A notification being sent is claimed until this moment, committed before the send, so
-- the send holds no connection (core/db/sql/notifications.ts). NULL: not claimed.
ALTER TABLE notifications ADD COLUMN claimed_until timestamptz;
ALTER TABLE archived_notifications ADD COLUMN claimed_until timestamptz;
