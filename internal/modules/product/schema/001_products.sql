CREATE TABLE products (
	id           TEXT PRIMARY KEY,
	slug         TEXT NOT NULL UNIQUE,
	name         TEXT NOT NULL,
	status       TEXT NOT NULL,
	sku          TEXT NOT NULL,
	currency     TEXT NOT NULL,
	price        INTEGER NOT NULL, -- minor units, as every amount
	price_min    INTEGER NOT NULL,
	price_max    INTEGER NOT NULL,
	category_ids TEXT NOT NULL,    -- JSON array
	closure      TEXT NOT NULL,    -- JSON array: the categories and their ancestors
	image        TEXT NOT NULL,    -- JSON of the first image, '' for none
	doc          TEXT NOT NULL,    -- JSON: description, attributes, options, images
	version      INTEGER NOT NULL,
	created_at   INTEGER NOT NULL, -- unix milliseconds, as MongoDB keeps dates
	updated_at   INTEGER NOT NULL
);
-- A variant's stock is a column of its own row, changed only by one
-- conditional UPDATE (adjust_stock); content writes never set it.
CREATE TABLE variants (
	product_id       TEXT NOT NULL,
	id               TEXT NOT NULL,
	position         INTEGER NOT NULL,
	sku              TEXT NOT NULL,
	sku_suffix       TEXT NOT NULL,
	options          TEXT NOT NULL, -- JSON array of contract.VariantOption
	price            INTEGER NOT NULL,
	compare_at_price INTEGER NOT NULL,
	stock            INTEGER NOT NULL CHECK (stock >= 0),
	PRIMARY KEY (product_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX variants_by_id ON variants (id);
CREATE UNIQUE INDEX variants_by_sku ON variants (sku);
-- The list index: every product under '' (all products) and under each
-- of its categories and their ancestors (the closure), with its sort keys
-- and whether it is directly in the category. A page of a category with
-- its descendants sorted by creation is one range of the primary key, as
-- is its count; sorted by price or name, a small category's range is
-- sorted whole (up to bigCategory rows: a millisecond or two). Rows are
-- found for deletion by their key, from the product's status and closure.
CREATE TABLE product_categories (
	category_id TEXT NOT NULL,
	status      TEXT NOT NULL,
	product_id  TEXT NOT NULL, -- UUID v7: creation order
	price_min   INTEGER NOT NULL,
	name_key    TEXT NOT NULL,
	direct      INTEGER NOT NULL, -- 1: the product is directly in the category
	PRIMARY KEY (category_id, status, product_id)
) WITHOUT ROWID;
-- Big categories (see bigCategory) also have their rows in price and in
-- name order, so that any page of them is one range of an index. Only
-- those: every index entry costs a random page write per product created,
-- and a category's rows are copied here once it grows big.
CREATE TABLE big_categories (category_id TEXT PRIMARY KEY) WITHOUT ROWID;
-- ... and their counts per status, kept with every change of their rows
-- (a count of a big category would otherwise be a long range scan).
CREATE TABLE category_counts (
	category_id TEXT NOT NULL,
	status      TEXT NOT NULL,
	n           INTEGER NOT NULL,
	PRIMARY KEY (category_id, status)
) WITHOUT ROWID;
CREATE TABLE product_sorted (
	category_id TEXT NOT NULL,
	status      TEXT NOT NULL,
	price_min   INTEGER NOT NULL,
	product_id  TEXT NOT NULL,
	name_key    TEXT NOT NULL,
	PRIMARY KEY (category_id, status, price_min, product_id)
) WITHOUT ROWID;
CREATE INDEX product_sorted_by_name ON product_sorted (category_id, status, name_key, product_id);
-- attribute_usage: a product's "code" and "code=value" keys (see
-- attributeKeys) as one string, " k1 k2 … ", searched by a scan of this
-- narrow table: usage is asked rarely (before an attribute change), while
-- an index row per key would cost every product created some ten index
-- writes.
CREATE TABLE product_attribute_keys (
	product_id TEXT PRIMARY KEY,
	keys       TEXT NOT NULL
) WITHOUT ROWID;
