CREATE TABLE categories (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	slug        TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	parent_id   TEXT NOT NULL DEFAULT '',
	position    INTEGER NOT NULL,
	created_at  INTEGER NOT NULL, -- unix milliseconds, as MongoDB keeps dates
	updated_at  INTEGER NOT NULL
);
CREATE INDEX categories_by_parent ON categories (parent_id, position);
-- revision counts writes; triggers keep it in the writing transaction.
CREATE TABLE revision (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
INSERT INTO revision VALUES (1, 0);
CREATE TRIGGER categories_insert AFTER INSERT ON categories BEGIN UPDATE revision SET n = n + 1; END;
CREATE TRIGGER categories_update AFTER UPDATE ON categories BEGIN UPDATE revision SET n = n + 1; END;
CREATE TRIGGER categories_delete AFTER DELETE ON categories BEGIN UPDATE revision SET n = n + 1; END;
