-- An email's HTML part, kept with its text: a message the `notifications` job sends later
-- (quiet hours, a provider that was away, a sender that died mid-send) goes out as the
-- request composed it, both parts, and a retried request sends what was recorded, not a
-- fresh composition that may differ. NULL for SMS and push, and for rows recorded before.
ALTER TABLE notifications ADD COLUMN html text;
ALTER TABLE archived_notifications ADD COLUMN html text;
