-- One row per article. tags is a JSON array of tag slugs (filtered and
-- counted with json_each). sort_at is the list order, newest first: when
-- the article became or becomes public (published_at, publish_at), or,
-- for a draft, when it was created; a public read is status published or
-- scheduled with sort_at passed.
CREATE TABLE articles (
	id             TEXT PRIMARY KEY,
	title          TEXT NOT NULL,
	slug           TEXT NOT NULL UNIQUE,
	excerpt        TEXT NOT NULL,
	custom_excerpt INTEGER NOT NULL,
	body_markdown  TEXT NOT NULL,
	body_html      TEXT NOT NULL, -- sanitised (bluemonday UGC), never raw
	cover_url      TEXT NOT NULL DEFAULT '',
	cover_alt      TEXT NOT NULL DEFAULT '',
	tags           TEXT NOT NULL DEFAULT '[]',
	author_name    TEXT NOT NULL DEFAULT '',
	status         TEXT NOT NULL,
	publish_at     INTEGER, -- unix milliseconds, as MongoDB keeps dates
	published_at   INTEGER,
	reading_min    INTEGER NOT NULL,
	featured       INTEGER NOT NULL,
	sort_at        INTEGER NOT NULL,
	version        INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
);
CREATE INDEX articles_by_sort ON articles (sort_at DESC, id DESC);
-- The scheduler's question: scheduled articles whose time has come.
CREATE INDEX articles_due ON articles (status, publish_at);
