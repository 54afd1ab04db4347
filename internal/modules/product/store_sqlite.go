package product

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

var migrations = []store.Migration{{
	Version: 1,
	SQL: `
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
) WITHOUT ROWID;`,
}}

// sqlStore writes one transaction at a time per process (SQLite has one
// writer anyway): writers queue on wmu instead of in SQLite's busy
// handler, and the pool hands the next writer the connection the last one
// returned, whose page cache is still valid (a connection's cache is
// dropped when another connection writes), with room for a whole batch's
// dirty pages (see writerCache).
type sqlStore struct {
	db  *sql.DB
	wmu sync.Mutex
	// prepared holds the writers' statements, prepared once per
	// connection by database/sql (guarded by wmu).
	prepared map[string]*sql.Stmt
	// added counts this process's inserts into categories that are not
	// big, to check their size every promoteEvery (guarded by wmu).
	added map[string]int
}

// A category is big, and gets sorted index rows, from bigCategory
// products on (counting every status); its size is checked every
// promoteEvery products added to it. Below that, sorting its whole range
// costs about 0.25 µs a row (1.4 ms at 5,000: measured by BenchmarkList),
// less than the two random index writes per product it saves on every
// create. Variables for the tests.
var bigCategory, promoteEvery = 5000, 64

// writerPragmas tune a writing connection (they last for the connection):
//   - a page cache of 64 MiB, so a create_many batch (some 1,500 index
//     pages touched) neither spills to the WAL mid-transaction nor re-reads
//     the indexes' upper levels;
//   - a checkpoint every 10,000 WAL pages (40 MiB) rather than 1,000: one
//     batch writes more than 1,000, and a page written by several batches
//     between checkpoints is copied to the database once (a longer WAL
//     makes every page look-up slower: it searches the WAL's index first);
//   - temporary files in memory: a multi-row statement keeps a statement
//     journal of the pages it changes, which would otherwise be a file
//     written page by page.
var writerPragmas = []string{`PRAGMA cache_size = -65536`, `PRAGMA wal_autocheckpoint = 10000`, `PRAGMA temp_store = MEMORY`}

func openSQLStore(ctx context.Context, db *store.DB) (*sqlStore, error) {
	s, err := db.SQLite(ctx, contract.ProductQueue, migrations)
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: s, prepared: map[string]*sql.Stmt{}, added: map[string]int{}}, nil
}

// sqlDoc is the part of a product kept as one JSON column.
type sqlDoc struct {
	Description string                      `json:"description"`
	Attributes  contract.AttributeValues    `json:"attributes"`
	Options     []contract.VariantSelection `json:"options"`
	Images      []contract.Image            `json:"images"`
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// writer runs the statements of one transaction, each prepared once: a
// batch of 100 products repeats the same few statements hundreds of times.
type writer struct {
	tx       *sql.Tx
	stmts    map[string]*sql.Stmt // this transaction's
	prepared map[string]*sql.Stmt // the store's
	db       *sql.DB
	unlock   func()
	added    map[string]int
	big      map[string]bool // the big categories
	// listRows and attrRows are queued by index for flush, with the
	// changes of the categories' counts (applied to the big ones).
	listRows, attrRows [][]any
	counts             map[[2]string]int
	ctx                context.Context // the transaction's
}

func (s *sqlStore) begin(ctx context.Context) (*writer, error) {
	s.wmu.Lock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		s.wmu.Unlock()
		return nil, fmt.Errorf("begin: %w", err)
	}
	for _, p := range writerPragmas {
		if _, err := tx.ExecContext(ctx, p); err != nil {
			_ = tx.Rollback()
			s.wmu.Unlock()
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	w := &writer{tx: tx, stmts: map[string]*sql.Stmt{}, prepared: s.prepared, db: s.db, unlock: s.wmu.Unlock, added: s.added, big: map[string]bool{}, ctx: ctx, counts: map[[2]string]int{}}
	if err := w.loadBig(ctx); err != nil {
		w.done(&err)
		return nil, err
	}
	return w, nil
}

func (w *writer) loadBig(ctx context.Context) error {
	rows, err := w.tx.QueryContext(ctx, `SELECT category_id FROM big_categories`)
	if err != nil {
		return fmt.Errorf("read big categories: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return fmt.Errorf("read big categories: %w", err)
		}
		w.big[c] = true
	}
	return rows.Err()
}

// grow notes n products added to category c and, every promoteEvery,
// makes c big if it is: its rows are copied to the sorted index.
func (w *writer) grow(ctx context.Context, c string, n int) error {
	if w.big[c] {
		return nil
	}
	if w.added[c] += n; w.added[c] < promoteEvery {
		return nil
	}
	w.added[c] = 0
	var size int
	if err := w.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM product_categories WHERE category_id = ? LIMIT ?)`, c, bigCategory).Scan(&size); err != nil {
		return fmt.Errorf("size of category %q: %w", c, err)
	}
	if size < bigCategory {
		return nil
	}
	if _, err := w.exec(ctx, `INSERT INTO big_categories (category_id) VALUES (?)`, c); err != nil {
		return fmt.Errorf("promote category %q: %w", c, err)
	}
	if _, err := w.exec(ctx, `INSERT OR IGNORE INTO product_sorted (category_id, status, price_min, product_id, name_key)
		SELECT category_id, status, price_min, product_id, name_key FROM product_categories WHERE category_id = ?`, c); err != nil {
		return fmt.Errorf("promote category %q: %w", c, err)
	}
	if _, err := w.exec(ctx, `INSERT INTO category_counts (category_id, status, n)
		SELECT category_id, status, COUNT(*) FROM product_categories WHERE category_id = ? GROUP BY status`, c); err != nil {
		return fmt.Errorf("promote category %q: %w", c, err)
	}
	// The counts include the changes queued so far in this transaction.
	for k := range w.counts {
		if k[0] == c {
			delete(w.counts, k)
		}
	}
	w.big[c] = true
	delete(w.added, c)
	return nil
}

// done commits when *err is nil, else rolls back; it closes the statements.
func (w *writer) done(err *error) {
	defer w.unlock()
	defer func() {
		for _, st := range w.stmts {
			st.Close()
		}
	}()
	if *err == nil {
		*err = w.flush(w.ctx)
	}
	if *err == nil {
		if cerr := w.tx.Commit(); cerr != nil {
			*err = fmt.Errorf("commit: %w", cerr)
		}
		return
	}
	_ = w.tx.Rollback()
}

func (w *writer) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := w.stmts[query]; st != nil {
		return st, nil
	}
	ps := w.prepared[query]
	if ps == nil {
		var err error
		if ps, err = w.db.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		w.prepared[query] = ps
	}
	st := w.tx.StmtContext(ctx, ps)
	w.stmts[query] = st
	return st, nil
}

// queryRow runs a one-row query with a prepared statement.
func (w *writer) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := w.stmt(ctx, query)
	if err != nil {
		return w.tx.QueryRowContext(ctx, query, args...) // reports err
	}
	return st.QueryRowContext(ctx, args...)
}

func (w *writer) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := w.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (w *writer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return w.tx.QueryContext(ctx, query, args...)
}

func (w *writer) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return w.tx.QueryRowContext(ctx, query, args...)
}

// dupOf names the unique key a constraint error is about.
func dupOf(err error) error {
	if !store.IsDuplicate(err) {
		return err
	}
	switch msg := err.Error(); {
	case strings.Contains(msg, "products.slug"):
		return errSlugTaken
	case strings.Contains(msg, "variants.sku"), strings.Contains(msg, "variants_by_sku"):
		return errSKUTaken
	}
	return fmt.Errorf("%w: %v", store.ErrDuplicate, err)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("product: encode %T: %v", v, err))
	}
	return string(b)
}

func firstImage(p contract.Product) string {
	if len(p.Images) == 0 {
		return ""
	}
	return mustJSON(p.Images[0])
}

func docOf(p contract.Product) string {
	return mustJSON(sqlDoc{Description: p.Description, Attributes: p.Attributes, Options: p.Options, Images: p.Images})
}

// values returns a multi-row VALUES list of n rows of k columns.
func values(n, k int) string {
	row := "(?" + strings.Repeat(",?", k-1) + ")"
	return row + strings.Repeat(","+row, n-1)
}

// insertRows inserts rows (of equal length) with multi-row statements of
// up to 100 rows, not one statement per row.
func (w *writer) insertRows(ctx context.Context, insert string, rows [][]any) error {
	for len(rows) > 0 {
		n := min(len(rows), 100)
		args := make([]any, 0, n*len(rows[0]))
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if _, err := w.exec(ctx, insert+values(n, len(rows[0])), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// listRows are a product's list index rows: under ” (all products), its
// categories (direct) and the rest of its closure.
func listRows(id string, status contract.ProductStatus, priceMin int64, name string, direct, closure []string) [][]any {
	nk := nameKey(name)
	rows := [][]any{{"", status, id, priceMin, nk, 0}}
	for _, c := range closure {
		if !slices.Contains(direct, c) {
			rows = append(rows, []any{c, status, id, priceMin, nk, 0})
		}
	}
	for _, c := range direct {
		rows = append(rows, []any{c, status, id, priceMin, nk, 1})
	}
	return rows
}

// index queues a product's list index rows (see listRows), its sorted
// rows in big categories and, with attrs, its attribute keys; flush writes
// them, a batch's worth in a few statements.
func (w *writer) index(id string, status contract.ProductStatus, priceMin int64, name string, direct, closure []string, attrs contract.AttributeValues) {
	w.listRows = append(w.listRows, listRows(id, status, priceMin, name, direct, closure)...)
	if keys := attributeKeys(attrs); len(keys) > 0 {
		w.attrRows = append(w.attrRows, []any{id, " " + strings.Join(keys, " ") + " "})
	}
}

// flush writes what index queued: the list rows, then (after any category
// they make big has been promoted) the sorted rows, then attribute keys.
func (w *writer) flush(ctx context.Context) error {
	rows := w.listRows
	w.listRows = nil
	// In key order: the B-tree cursor moves forward through neighbours.
	slices.SortFunc(rows, func(a, b []any) int {
		if c := strings.Compare(a[0].(string), b[0].(string)); c != 0 {
			return c
		}
		if c := strings.Compare(string(a[1].(contract.ProductStatus)), string(b[1].(contract.ProductStatus))); c != 0 {
			return c
		}
		return strings.Compare(a[2].(string), b[2].(string))
	})
	if err := w.insertRows(ctx, `INSERT INTO product_categories (category_id, status, product_id, price_min, name_key, direct) VALUES `, rows); err != nil {
		return fmt.Errorf("index products: %w", err)
	}
	added := map[string]int{}
	for _, r := range rows {
		added[r[0].(string)]++
		w.counts[[2]string{r[0].(string), string(r[1].(contract.ProductStatus))}]++
	}
	for c, n := range added {
		if err := w.grow(ctx, c, n); err != nil {
			return err
		}
	}
	var sorted [][]any
	for _, r := range rows {
		if c := r[0].(string); w.big[c] {
			sorted = append(sorted, []any{c, r[1], r[3], r[2], r[4]})
		}
	}
	if err := w.insertRows(ctx, `INSERT OR IGNORE INTO product_sorted (category_id, status, price_min, product_id, name_key) VALUES `, sorted); err != nil {
		return fmt.Errorf("index products: %w", err)
	}
	for k, n := range w.counts {
		if n == 0 || !w.big[k[0]] {
			continue
		}
		if _, err := w.exec(ctx, `INSERT INTO category_counts (category_id, status, n) VALUES (?, ?, ?)
			ON CONFLICT (category_id, status) DO UPDATE SET n = n + excluded.n`, k[0], k[1], n); err != nil {
			return fmt.Errorf("count products: %w", err)
		}
	}
	clear(w.counts)
	attrs := w.attrRows
	w.attrRows = nil
	if err := w.insertRows(ctx, `INSERT INTO product_attribute_keys (product_id, keys) VALUES `, attrs); err != nil {
		return fmt.Errorf("index product attributes: %w", err)
	}
	return nil
}

// indexed is what a product is indexed under, read back from its row.
type indexed struct {
	status   contract.ProductStatus
	priceMin int64
	closure  []string
	attrs    contract.AttributeValues
}

// indexOf reads what id is indexed under; store.ErrNotFound if it is gone.
func (w *writer) indexOf(ctx context.Context, id string) (indexed, int64, error) {
	var ix indexed
	var version int64
	var closure, doc string
	err := w.queryRow(ctx, `SELECT version, status, price_min, closure, doc FROM products WHERE id = ?`, id).Scan(&version, &ix.status, &ix.priceMin, &closure, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return ix, 0, store.ErrNotFound
	}
	if err != nil {
		return ix, 0, fmt.Errorf("read product %s: %w", id, err)
	}
	var d sqlDoc
	if err := json.Unmarshal([]byte(closure), &ix.closure); err != nil {
		return ix, 0, fmt.Errorf("product %s closure: %w", id, err)
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return ix, 0, fmt.Errorf("product %s doc: %w", id, err)
	}
	ix.attrs = d.Attributes
	return ix, version, nil
}

// unindex deletes a product's list index rows and, with attrs, its
// attribute keys, each by its primary key.
func (w *writer) unindex(ctx context.Context, id string, ix indexed, attrs bool) error {
	cats := append([]string{""}, ix.closure...)
	for _, c := range cats {
		w.counts[[2]string{c, string(ix.status)}]--
	}
	q := `DELETE FROM product_categories WHERE category_id IN (` + placeholders(len(cats)) + `) AND status = ? AND product_id = ?`
	if _, err := w.exec(ctx, q, append(anys(cats), ix.status, id)...); err != nil {
		return fmt.Errorf("unindex product %s: %w", id, err)
	}
	q = `DELETE FROM product_sorted WHERE category_id IN (` + placeholders(len(cats)) + `) AND status = ? AND price_min = ? AND product_id = ?`
	if _, err := w.exec(ctx, q, append(anys(cats), ix.status, ix.priceMin, id)...); err != nil {
		return fmt.Errorf("unindex product %s: %w", id, err)
	}
	if attrs {
		if _, err := w.exec(ctx, `DELETE FROM product_attribute_keys WHERE product_id = ?`, id); err != nil {
			return fmt.Errorf("unindex product %s attributes: %w", id, err)
		}
	}
	return nil
}

const insertVariants = `INSERT INTO variants (product_id, id, position, sku, sku_suffix, options, price, compare_at_price, stock) VALUES `

func variantRow(productID string, i int, v contract.Variant) []any {
	return []any{productID, v.ID, i, v.SKU, v.SKUSuffix, mustJSON(v.Options), v.Price, v.CompareAtPrice, v.Stock}
}

// insert writes one product. A failing statement undoes only itself, so
// the product row (whose slug may be taken) goes first, its variants
// (whose SKUs may be) next, undone by hand if they fail; the rest cannot
// collide. A batch thus needs neither savepoints (a sub-journal write per
// page) nor a look-up per key before writing.
func (w *writer) insert(ctx context.Context, p contract.Product, closure []string) error {
	_, err := w.exec(ctx, `INSERT INTO products (id, slug, name, status, sku, currency, price, price_min, price_max, category_ids, closure, image, doc, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Slug, p.Name, p.Status, p.SKU, p.Currency, p.Price, p.PriceMin, p.PriceMax, mustJSON(p.CategoryIDs),
		closureJSON(p.CategoryIDs, closure), firstImage(p), docOf(p), p.Version, p.CreatedAt.UnixMilli(), p.UpdatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("insert product %s: %w", p.ID, dupOf(err))
	}
	rows := make([][]any, len(p.Variants))
	for i, v := range p.Variants {
		rows[i] = variantRow(p.ID, i, v)
	}
	if err := w.insertRows(ctx, insertVariants, rows); err != nil {
		for _, q := range []string{`DELETE FROM variants WHERE product_id = ?`, `DELETE FROM products WHERE id = ?`} {
			if _, uerr := w.exec(ctx, q, p.ID); uerr != nil {
				return fmt.Errorf("undo product %s: %w (after %v)", p.ID, uerr, err)
			}
		}
		return fmt.Errorf("insert variants of %s: %w", p.ID, dupOf(err))
	}
	w.index(p.ID, p.Status, p.PriceMin, p.Name, p.CategoryIDs, closure, p.Attributes)
	return nil
}

// closureJSON is the closure as stored: with the direct categories, sorted.
func closureJSON(direct, closure []string) string {
	all := slices.Concat(direct, closure)
	slices.Sort(all)
	return mustJSON(slices.Compact(all))
}

func (s *sqlStore) Insert(ctx context.Context, items []NewProduct) (out []Inserted, err error) {
	w, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer w.done(&err)
	exists := func(ctx context.Context, slug string) (string, bool, error) {
		var id string
		err := w.queryRow(ctx, `SELECT id FROM products WHERE slug = ?`, slug).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("find slug %q: %w", slug, err)
		}
		return id, true, nil
	}
	return insertAll(ctx, items, exists, w.insert)
}

const productColumns = `id, slug, name, status, sku, currency, price, price_min, price_max, category_ids, doc, version, created_at, updated_at`

func scanProduct(row interface{ Scan(...any) error }) (contract.Product, error) {
	var p contract.Product
	var cats, doc string
	var created, updated int64
	if err := row.Scan(&p.ID, &p.Slug, &p.Name, &p.Status, &p.SKU, &p.Currency, &p.Price, &p.PriceMin, &p.PriceMax,
		&cats, &doc, &p.Version, &created, &updated); err != nil {
		return p, err
	}
	var d sqlDoc
	if err := json.Unmarshal([]byte(cats), &p.CategoryIDs); err != nil {
		return p, fmt.Errorf("product %s category_ids: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return p, fmt.Errorf("product %s doc: %w", p.ID, err)
	}
	p.Description, p.Attributes, p.Options, p.Images = d.Description, d.Attributes, d.Options, d.Images
	p.CreatedAt, p.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return p, nil
}

func placeholders(n int) string { return "?" + strings.Repeat(",?", n-1) }

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// products loads the products matching where (with args) and their variants.
func (s *sqlStore) products(ctx context.Context, q querier, where string, args ...any) ([]contract.Product, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+productColumns+` FROM products WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("load products: %w", err)
	}
	defer rows.Close()
	var out []contract.Product
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, fmt.Errorf("load products: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load products: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return nil, nil
	}
	ids := make([]string, len(out))
	for i, p := range out {
		ids[i] = p.ID
	}
	vs, err := s.variants(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Variants = vs[out[i].ID]
		for _, v := range out[i].Variants {
			out[i].TotalStock += v.Stock
		}
	}
	return out, nil
}

func (s *sqlStore) variants(ctx context.Context, q querier, productIDs []string) (map[string][]contract.Variant, error) {
	rows, err := q.QueryContext(ctx, `SELECT product_id, id, sku, sku_suffix, options, price, compare_at_price, stock FROM variants
		WHERE product_id IN (`+placeholders(len(productIDs))+`) ORDER BY product_id, position`, anys(productIDs)...)
	if err != nil {
		return nil, fmt.Errorf("load variants: %w", err)
	}
	defer rows.Close()
	out := make(map[string][]contract.Variant, len(productIDs))
	for rows.Next() {
		var pid, opts string
		var v contract.Variant
		if err := rows.Scan(&pid, &v.ID, &v.SKU, &v.SKUSuffix, &opts, &v.Price, &v.CompareAtPrice, &v.Stock); err != nil {
			return nil, fmt.Errorf("load variants: %w", err)
		}
		if err := json.Unmarshal([]byte(opts), &v.Options); err != nil {
			return nil, fmt.Errorf("variant %s options: %w", v.ID, err)
		}
		out[pid] = append(out[pid], v)
	}
	return out, rows.Err()
}

func (s *sqlStore) one(ctx context.Context, where string, arg any) (contract.Product, error) {
	ps, err := s.products(ctx, s.db, where, arg)
	if err != nil {
		return contract.Product{}, err
	}
	if len(ps) == 0 {
		return contract.Product{}, store.ErrNotFound
	}
	return ps[0], nil
}

func (s *sqlStore) Get(ctx context.Context, id string) (contract.Product, error) {
	return s.one(ctx, `id = ?`, id)
}

func (s *sqlStore) BySlug(ctx context.Context, slug string) (contract.Product, error) {
	return s.one(ctx, `slug = ?`, slug)
}

func (s *sqlStore) GetMany(ctx context.Context, ids []string) ([]contract.Product, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.products(ctx, s.db, `id IN (`+placeholders(len(ids))+`)`, anys(ids)...)
}

func (s *sqlStore) BySlugs(ctx context.Context, slugs []string) ([]contract.Product, error) {
	if len(slugs) == 0 {
		return nil, nil
	}
	return s.products(ctx, s.db, `slug IN (`+placeholders(len(slugs))+`)`, anys(slugs)...)
}

func (s *sqlStore) Update(ctx context.Context, p contract.Product, closure []string) (err error) {
	w, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer w.done(&err)
	ix, version, err := w.indexOf(ctx, p.ID)
	if err != nil {
		return err
	}
	if version != p.Version-1 {
		return errVersion
	}
	if closure == nil {
		closure = ix.closure
	}
	if _, err := w.exec(ctx, `UPDATE products SET slug = ?, name = ?, status = ?, sku = ?, currency = ?, price = ?, price_min = ?, price_max = ?,
		category_ids = ?, closure = ?, image = ?, doc = ?, version = ?, updated_at = ? WHERE id = ?`,
		p.Slug, p.Name, p.Status, p.SKU, p.Currency, p.Price, p.PriceMin, p.PriceMax, mustJSON(p.CategoryIDs), closureJSON(p.CategoryIDs, closure),
		firstImage(p), docOf(p), p.Version, p.UpdatedAt.UnixMilli(), p.ID); err != nil {
		return fmt.Errorf("update product %s: %w", p.ID, dupOf(err))
	}
	if err := w.unindex(ctx, p.ID, ix, true); err != nil {
		return err
	}
	w.index(p.ID, p.Status, p.PriceMin, p.Name, p.CategoryIDs, closure, p.Attributes)
	// Variants: delete the dropped, then write the kept (all but stock)
	// and insert the new. SKUs moving between kept variants are parked on
	// unique temporary values first, so a swap does not collide.
	old := map[string]string{} // id → sku
	rows, err := w.QueryContext(ctx, `SELECT id, sku FROM variants WHERE product_id = ?`, p.ID)
	if err != nil {
		return fmt.Errorf("read variants of %s: %w", p.ID, err)
	}
	for rows.Next() {
		var id, sku string
		if err := rows.Scan(&id, &sku); err != nil {
			rows.Close()
			return fmt.Errorf("read variants of %s: %w", p.ID, err)
		}
		old[id] = sku
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read variants of %s: %w", p.ID, err)
	}
	moved := false
	keep := make(map[string]bool, len(p.Variants))
	for _, v := range p.Variants {
		keep[v.ID] = true
		if sku, ok := old[v.ID]; ok && sku != v.SKU {
			moved = true
		}
	}
	for id := range old {
		if !keep[id] {
			if _, err := w.exec(ctx, `DELETE FROM variants WHERE product_id = ? AND id = ?`, p.ID, id); err != nil {
				return fmt.Errorf("delete variant %s: %w", id, err)
			}
		}
	}
	if moved {
		if _, err := w.exec(ctx, `UPDATE variants SET sku = '~' || id WHERE product_id = ?`, p.ID); err != nil {
			return fmt.Errorf("park SKUs of %s: %w", p.ID, err)
		}
	}
	var added [][]any
	for i, v := range p.Variants {
		if _, ok := old[v.ID]; !ok {
			added = append(added, variantRow(p.ID, i, v))
			continue
		}
		if _, err := w.exec(ctx, `UPDATE variants SET position = ?, sku = ?, sku_suffix = ?, options = ?, price = ?, compare_at_price = ? WHERE product_id = ? AND id = ?`,
			i, v.SKU, v.SKUSuffix, mustJSON(v.Options), v.Price, v.CompareAtPrice, p.ID, v.ID); err != nil {
			return fmt.Errorf("write variant %s: %w", v.SKU, dupOf(err))
		}
	}
	if err := w.insertRows(ctx, insertVariants, added); err != nil {
		return fmt.Errorf("insert variants of %s: %w", p.ID, dupOf(err))
	}
	return nil
}

func (s *sqlStore) Closure(ctx context.Context, id string) ([]string, error) {
	var closure string
	err := s.db.QueryRowContext(ctx, `SELECT closure FROM products WHERE id = ?`, id).Scan(&closure)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read categories of %s: %w", id, err)
	}
	var out []string
	if err := json.Unmarshal([]byte(closure), &out); err != nil {
		return nil, fmt.Errorf("product %s closure: %w", id, err)
	}
	return out, nil
}

// remove deletes a product with its variants and index rows.
func (w *writer) remove(ctx context.Context, id string, ix indexed) error {
	if err := w.unindex(ctx, id, ix, true); err != nil {
		return err
	}
	if _, err := w.exec(ctx, `DELETE FROM variants WHERE product_id = ?`, id); err != nil {
		return fmt.Errorf("delete variants of %s: %w", id, err)
	}
	if _, err := w.exec(ctx, `DELETE FROM products WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete product %s: %w", id, err)
	}
	return nil
}

func (s *sqlStore) Delete(ctx context.Context, id string, version int64) (err error) {
	w, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer w.done(&err)
	ix, v, err := w.indexOf(ctx, id)
	if err != nil {
		return err
	}
	if version != 0 && v != version {
		return errVersion
	}
	return w.remove(ctx, id, ix)
}

func (s *sqlStore) DeleteMany(ctx context.Context, ids []string) (deleted []string, err error) {
	if len(ids) == 0 {
		return nil, nil
	}
	w, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer w.done(&err)
	for _, id := range ids {
		ix, _, err := w.indexOf(ctx, id)
		if errors.Is(err, store.ErrNotFound) || slices.Contains(deleted, id) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := w.remove(ctx, id, ix); err != nil {
			return nil, err
		}
		deleted = append(deleted, id)
	}
	return deleted, nil
}

// sortKey is the list index column of a sort.
func sortKey(sort string) string {
	switch sort {
	case contract.SortName:
		return "name_key"
	case contract.SortPrice:
		return "price_min"
	}
	return "product_id"
}

func (s *sqlStore) List(ctx context.Context, q Query) ([]contract.ProductSummary, int, error) {
	// Pages come from the primary key in creation order, from the sorted
	// index of a big category, or from sorting a small category's range.
	// A big category's count is kept in category_counts.
	table, direct, big := "product_categories", "", false
	if q.Direct {
		direct = ` AND direct = 1`
	} else {
		var one int
		switch err := s.db.QueryRowContext(ctx, `SELECT 1 FROM big_categories WHERE category_id = ?`, q.CategoryID).Scan(&one); {
		case err == nil:
			big = true
		case !errors.Is(err, sql.ErrNoRows):
			return nil, 0, fmt.Errorf("list products: %w", err)
		}
	}
	if big && (q.Sort == contract.SortPrice || q.Sort == contract.SortName) {
		table = "product_sorted"
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	key := sortKey(q.Sort)
	order := ` ORDER BY k ` + dir + `, product_id ` + dir + ` LIMIT ?2 OFFSET ?3`
	var page, count string
	args := []any{q.CategoryID, q.Limit, q.Offset}
	countArgs := []any{q.CategoryID}
	if q.Status != "" {
		page = `SELECT product_id, ` + key + ` AS k FROM ` + table + ` WHERE category_id = ?1 AND status = ?4` + direct + order
		count = `SELECT COUNT(*) FROM product_categories WHERE category_id = ?1 AND status = ?2` + direct
		if big {
			count = `SELECT COALESCE(SUM(n), 0) FROM category_counts WHERE category_id = ?1 AND status = ?2`
		}
		args, countArgs = append(args, q.Status), append(countArgs, q.Status)
	} else {
		// One ordered range per status, merged by SQLite's compound
		// ORDER BY: a page costs its size, not a sort of the category.
		arms := make([]string, len(statuses))
		for i, st := range statuses {
			arms[i] = `SELECT product_id, ` + key + ` AS k FROM ` + table + ` WHERE category_id = ?1 AND status = '` + string(st) + `'` + direct
		}
		page = strings.Join(arms, ` UNION ALL `) + order
		count = `SELECT COUNT(*) FROM product_categories WHERE category_id = ?1` + direct
		if big {
			count = `SELECT COALESCE(SUM(n), 0) FROM category_counts WHERE category_id = ?1`
		}
	}
	rows, err := s.db.QueryContext(ctx, page, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		var k any
		if err := rows.Scan(&id, &k); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("list products: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, count, countArgs...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count products: %w", err)
	}
	items, err := s.summaries(ctx, ids)
	return items, total, err
}

// summaries loads the summaries of ids, in that order.
func (s *sqlStore) summaries(ctx context.Context, ids []string) ([]contract.ProductSummary, error) {
	out := make([]contract.ProductSummary, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, slug, status, category_ids, currency, price_min, price_max, image, version, created_at, updated_at,
		(SELECT COALESCE(SUM(stock), 0) FROM variants WHERE product_id = products.id)
		FROM products WHERE id IN (`+placeholders(len(ids))+`)`, anys(ids)...)
	if err != nil {
		return nil, fmt.Errorf("load product summaries: %w", err)
	}
	defer rows.Close()
	byID := make(map[string]contract.ProductSummary, len(ids))
	for rows.Next() {
		var p contract.ProductSummary
		var cats, image string
		var created, updated int64
		if err := rows.Scan(&p.ID, &p.Name, &p.Slug, &p.Status, &cats, &p.Currency, &p.PriceMin, &p.PriceMax, &image,
			&p.Version, &created, &updated, &p.TotalStock); err != nil {
			return nil, fmt.Errorf("load product summaries: %w", err)
		}
		if err := json.Unmarshal([]byte(cats), &p.CategoryIDs); err != nil {
			return nil, fmt.Errorf("product %s category_ids: %w", p.ID, err)
		}
		if image != "" {
			p.Image = new(contract.Image)
			if err := json.Unmarshal([]byte(image), p.Image); err != nil {
				return nil, fmt.Errorf("product %s image: %w", p.ID, err)
			}
		}
		p.CreatedAt, p.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		byID[p.ID] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load product summaries: %w", err)
	}
	for _, id := range ids {
		// A product deleted between the two reads drops out of the page.
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// AdjustStock is one conditional UPDATE: SQLite serialises writers, so
// concurrent adjustments each see the stock the previous one left and
// none is lost; one that would leave the bounds matches no row.
func (s *sqlStore) AdjustStock(ctx context.Context, variantID string, delta int64) (contract.StockLevel, error) {
	l := contract.StockLevel{VariantID: variantID}
	s.wmu.Lock()
	err := s.db.QueryRowContext(ctx, `UPDATE variants SET stock = stock + ?1 WHERE id = ?2 AND stock + ?1 BETWEEN 0 AND ?3
		RETURNING product_id, sku, stock`, delta, variantID, contract.MaxStock).Scan(&l.ProductID, &l.SKU, &l.Stock)
	s.wmu.Unlock()
	if errors.Is(err, sql.ErrNoRows) {
		var one int
		switch err := s.db.QueryRowContext(ctx, `SELECT 1 FROM variants WHERE id = ?`, variantID).Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
			return l, store.ErrNotFound
		case err != nil:
			return l, fmt.Errorf("find variant %s: %w", variantID, err)
		}
		return l, errStock
	}
	if err != nil {
		return l, fmt.Errorf("adjust stock of %s: %w", variantID, err)
	}
	return l, nil
}

func (s *sqlStore) CountAttribute(ctx context.Context, key string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM product_attribute_keys WHERE instr(keys, ?) > 0`, " "+key+" ").Scan(&n); err != nil {
		return 0, fmt.Errorf("count attribute %q: %w", key, err)
	}
	return n, nil
}

func (s *sqlStore) SKUsTaken(ctx context.Context, skus []string, productID string) ([]string, error) {
	if len(skus) == 0 {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT sku FROM variants WHERE sku IN (`+placeholders(len(skus))+`) AND product_id <> ? ORDER BY sku`,
		append(anys(skus), productID)...)
	if err != nil {
		return nil, fmt.Errorf("find SKUs: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sku string
		if err := rows.Scan(&sku); err != nil {
			return nil, fmt.Errorf("find SKUs: %w", err)
		}
		out = append(out, sku)
	}
	return out, rows.Err()
}

func (s *sqlStore) InCategory(ctx context.Context, categoryID string) (map[string][]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT p.id, p.category_ids FROM product_categories pc JOIN products p ON p.id = pc.product_id
		WHERE pc.category_id = ?`, categoryID)
	if err != nil {
		return nil, fmt.Errorf("products in category %s: %w", categoryID, err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id, cats string
		if err := rows.Scan(&id, &cats); err != nil {
			return nil, fmt.Errorf("products in category %s: %w", categoryID, err)
		}
		var ids []string
		if err := json.Unmarshal([]byte(cats), &ids); err != nil {
			return nil, fmt.Errorf("product %s category_ids: %w", id, err)
		}
		out[id] = ids
	}
	return out, rows.Err()
}

func (s *sqlStore) SetClosures(ctx context.Context, closures map[string][]string) (err error) {
	if len(closures) == 0 {
		return nil
	}
	w, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer w.done(&err)
	ids := make([]string, 0, len(closures))
	for id := range closures {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		ix, _, err := w.indexOf(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		var priceMin int64
		var name, cats string
		if err := w.queryRow(ctx, `SELECT price_min, name, category_ids FROM products WHERE id = ?`, id).Scan(&priceMin, &name, &cats); err != nil {
			return fmt.Errorf("re-index product %s: %w", id, err)
		}
		var direct []string
		if err := json.Unmarshal([]byte(cats), &direct); err != nil {
			return fmt.Errorf("product %s category_ids: %w", id, err)
		}
		if err := w.unindex(ctx, id, ix, false); err != nil {
			return err
		}
		w.index(id, ix.status, priceMin, name, direct, closures[id], nil)
		if _, err := w.exec(ctx, `UPDATE products SET closure = ? WHERE id = ?`, closureJSON(direct, closures[id]), id); err != nil {
			return fmt.Errorf("re-index product %s: %w", id, err)
		}
	}
	return nil
}
