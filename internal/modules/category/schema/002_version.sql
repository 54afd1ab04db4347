-- Optimistic concurrency: every category has a version, 1 when created and
-- one more on every write. Rows from before read as version 1.
ALTER TABLE categories ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
