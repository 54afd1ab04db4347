CREATE TABLE option_groups (
	id         TEXT PRIMARY KEY,
	code       TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	version    INTEGER NOT NULL DEFAULT 0, -- bumped by every Modify
	created_at INTEGER NOT NULL,           -- unix milliseconds, as MongoDB keeps dates
	updated_at INTEGER NOT NULL
);
CREATE TABLE option_values (
	id       TEXT PRIMARY KEY,
	group_id TEXT NOT NULL REFERENCES option_groups (id) ON DELETE CASCADE,
	code     TEXT NOT NULL,
	label    TEXT NOT NULL,
	position INTEGER NOT NULL,
	UNIQUE (group_id, code)
);
CREATE INDEX option_values_by_group ON option_values (group_id, position);
