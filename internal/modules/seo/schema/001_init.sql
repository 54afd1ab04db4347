-- Admin overrides of page metadata, one row per entity ("product:<id>")
-- or path ("path:/").
CREATE TABLE overrides (
	id          TEXT PRIMARY KEY,
	title       TEXT NOT NULL,
	description TEXT NOT NULL,
	canonical   TEXT NOT NULL,
	robots      TEXT NOT NULL,
	og_image    TEXT NOT NULL,
	version     INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL -- unix milliseconds, as MongoDB keeps dates
);
