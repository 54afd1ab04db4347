-- Optimistic concurrency: every group and definition has a version, 1 when
-- created and one more on every write. Rows from before read as version 1.
ALTER TABLE attribute_groups ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE attribute_definitions ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
