CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL,
	email_key     TEXT NOT NULL UNIQUE, -- lower(email): uniqueness ignores case
	name          TEXT NOT NULL DEFAULT '',
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	version       INTEGER NOT NULL,
	created_at    INTEGER NOT NULL, -- unix milliseconds, as MongoDB keeps dates
	updated_at    INTEGER NOT NULL
);
CREATE TABLE sessions (
	id              TEXT PRIMARY KEY,
	token_hash      TEXT NOT NULL UNIQUE, -- hex SHA-256 of the token; the token itself is never stored
	user_id         TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	last_seen_at    INTEGER NOT NULL,
	idle_expires_at INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL,
	ip              TEXT NOT NULL DEFAULT '',
	user_agent      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);
CREATE TABLE throttle (
	key           TEXT PRIMARY KEY, -- kind:hash:bucket
	failures      INTEGER NOT NULL,
	blocked_until INTEGER NOT NULL,
	expires_at    INTEGER NOT NULL
);
CREATE TABLE reset_tokens (
	token_hash TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX reset_tokens_by_user ON reset_tokens (user_id);
