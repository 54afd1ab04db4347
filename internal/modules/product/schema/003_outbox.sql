-- The transactional outbox (package outbox): the events of a write, added
-- in its transaction, until the relay has published them. The SQL of
-- outbox.SQLiteSchema as released with this migration.
CREATE TABLE outbox (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	id          TEXT    NOT NULL UNIQUE,
	topic       TEXT    NOT NULL,
	key         TEXT    NOT NULL,
	body        BLOB    NOT NULL,
	at          INTEGER NOT NULL,
	lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_key ON outbox (key, seq);
CREATE INDEX outbox_lease ON outbox (lease_until);
