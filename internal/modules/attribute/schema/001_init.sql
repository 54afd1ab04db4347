CREATE TABLE attribute_groups (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	slug       TEXT NOT NULL UNIQUE,
	position   INTEGER NOT NULL,
	created_at INTEGER NOT NULL, -- unix milliseconds, as MongoDB keeps dates
	updated_at INTEGER NOT NULL
);
CREATE INDEX attribute_groups_by_position ON attribute_groups (position);
CREATE TABLE attribute_definitions (
	id             TEXT PRIMARY KEY,
	code           TEXT NOT NULL UNIQUE,
	name           TEXT NOT NULL,
	group_id       TEXT NOT NULL REFERENCES attribute_groups (id),
	type           TEXT NOT NULL,
	allowed_values TEXT NOT NULL DEFAULT '[]', -- JSON array of {"code","label"}
	unit           TEXT NOT NULL DEFAULT '',
	filterable     INTEGER NOT NULL,
	required       INTEGER NOT NULL,
	position       INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
);
CREATE INDEX attribute_definitions_by_group ON attribute_definitions (group_id, position);
