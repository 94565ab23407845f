-- The exception desk: who works on an exception, what was said about it, and how it ended.
-- `resolution` is the typed action an operator asked for and its outcome (requested,
-- applied or refused, with the reason); `exception_notes` is the exception's own timeline:
-- comments, assignments, actions asked for, applied and refused.

ALTER TABLE exceptions ADD COLUMN assigned_to text, ADD COLUMN resolution jsonb;
-- The archive's twin changes the same way, so a move still copies every column by position.
ALTER TABLE archived_exceptions ADD COLUMN assigned_to text, ADD COLUMN resolution jsonb;

CREATE INDEX exceptions_assigned_idx ON exceptions (assigned_to, deadline) WHERE assigned_to IS NOT NULL;
CREATE INDEX exceptions_order_idx ON exceptions (order_id) WHERE order_id IS NOT NULL;

CREATE TABLE exception_notes (
  id           bigserial PRIMARY KEY,
  exception_id bigint      NOT NULL REFERENCES exceptions (id),
  at           timestamptz NOT NULL DEFAULT now(),
  actor        text        NOT NULL,
  kind         text        NOT NULL,   -- comment | assigned | action_requested | action_applied | action_refused | action_skipped
  text         text        NOT NULL,
  data         jsonb
);
CREATE INDEX exception_notes_exception_idx ON exception_notes (exception_id, id);

-- Notes move to the archive with their exception (and it with its order).
CREATE TABLE archived_exception_notes (LIKE exception_notes INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE archived_exception_notes ADD PRIMARY KEY (id);
CREATE INDEX archived_exception_notes_exception_idx ON archived_exception_notes (exception_id, id);
CREATE TRIGGER archived_exception_notes_no_change BEFORE UPDATE OR DELETE ON archived_exception_notes
  FOR EACH ROW EXECUTE FUNCTION archive_append_only();
