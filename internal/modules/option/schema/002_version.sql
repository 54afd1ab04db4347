-- Optimistic concurrency: the version, so far internal and starting at 0,
-- is now the group's public version, 1 when created and one more on every
-- write (inserts set it). Existing groups move up one, so that every one
-- is at 1 or more and versions only ever grow.
UPDATE option_groups SET version = version + 1;
