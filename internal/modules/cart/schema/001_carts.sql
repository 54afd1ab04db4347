-- One row per cart: its lines are one JSON document (doc), so that every
-- change of a cart is one UPDATE checked against its version.
CREATE TABLE carts (
	id         TEXT PRIMARY KEY,
	key        TEXT NOT NULL UNIQUE, -- owner key: user:<id> or guest:<sha256 of the token>
	doc        TEXT NOT NULL,        -- JSON: owner, currency, lines, merged
	version    INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,     -- unix milliseconds, as MongoDB keeps dates
	expires_at INTEGER NOT NULL      -- unix milliseconds; 0: never (users' carts)
);
CREATE INDEX carts_by_updated ON carts (updated_at, id);
CREATE INDEX carts_by_expiry ON carts (expires_at) WHERE expires_at > 0;
