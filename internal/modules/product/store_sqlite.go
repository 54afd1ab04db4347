package product

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// schema holds the SQL migrations, one file per version (see
// store.MigrationsFrom). A released file never changes: a change of the
// schema is a new file. The outbox table is not among them: it is the
// outbox package's part of the file, with a schema history of its own
// (outbox.PrepareSQLite).
//
//go:embed schema/*.sql
var schema embed.FS

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
	// reads runs the list's queries (store_sqlite_list.go), each
	// prepared once: a category page is three short indexed reads whose
	// parsing cost as much as running them.
	reads *store.Statements
	// added counts this process's inserts into categories that are not
	// big, to check their size every promoteEvery (guarded by wmu).
	added map[string]int
	// outbox is the relay's source over the outbox table in the same
	// file, which the writes' transactions add their events to.
	outbox outbox.Source
}

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
	s, src, err := outbox.OpenSQLite(ctx, db, contract.ProductQueue, schema)
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: s, prepared: map[string]*sql.Stmt{}, reads: store.NewStatements(s), added: map[string]int{}, outbox: src}, nil
}

// sqlDoc is the part of a product kept as one JSON column.
type sqlDoc struct {
	Description string                      `json:"description"`
	Attributes  contract.AttributeValues    `json:"attributes"`
	Options     []contract.VariantSelection `json:"options"`
	Images      []contract.Image            `json:"images"`
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
	// events are the transaction's events, added to the outbox table
	// just before it commits (one outbox.Add for a whole batch).
	events []outbox.Event
	ctx    context.Context // the transaction's
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
	if *err == nil && len(w.events) > 0 {
		*err = outbox.Add(w.ctx, w.tx, w.events...)
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

// QueryRowContext runs a one-row query with a prepared statement, so
// that store.QueryOne on the writer is as fast in a batch as by hand.
func (w *writer) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
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

const insertVariants = `INSERT INTO variants (product_id, id, position, sku, sku_suffix, options, price, compare_at_price, stock) VALUES `

func variantRow(productID string, i int, v contract.Variant) []any {
	return []any{productID, v.ID, i, v.SKU, v.SKUSuffix, mustJSON(v.Options), v.Price, v.CompareAtPrice, v.Stock}
}

// insert writes one product and queues its events. A failing statement
// undoes only itself, so the product row (whose slug may be taken) goes
// first, its variants (whose SKUs may be) next, undone by hand if they
// fail; the rest cannot collide. A batch thus needs neither savepoints (a
// sub-journal write per page) nor a look-up per key before writing.
func (w *writer) insert(ctx context.Context, p contract.Product, closure []string, evs []outbox.Event) error {
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
	w.events = append(w.events, evs...)
	return nil
}

func (s *sqlStore) Insert(ctx context.Context, items []NewProduct) (out []Inserted, err error) {
	w, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer w.done(&err)
	exists := func(ctx context.Context, slug string) (string, bool, error) {
		id, err := store.QueryOne(ctx, w, store.ScanValue[string], `SELECT id FROM products WHERE slug = ?`, slug)
		if errors.Is(err, store.ErrNotFound) {
			return "", false, nil
		}
		return id, err == nil, wrap(err, fmt.Sprintf("find slug %q", slug))
	}
	return insertAll(ctx, items, exists, w.insert)
}

const productColumns = `id, slug, name, status, sku, currency, price, price_min, price_max, category_ids, doc, version, created_at, updated_at`

func scanProduct(row store.Scanner) (contract.Product, error) {
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
func (s *sqlStore) products(ctx context.Context, q store.Querier, where string, args ...any) ([]contract.Product, error) {
	out, err := store.QueryAll(ctx, q, scanProduct, `SELECT `+productColumns+` FROM products WHERE `+where, args...)
	if err != nil || len(out) == 0 {
		return nil, wrap(err, "load products")
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

// productVariant is a variant row with the product it belongs to.
type productVariant struct {
	productID string
	contract.Variant
}

func scanVariant(row store.Scanner) (productVariant, error) {
	var v productVariant
	var opts string
	if err := row.Scan(&v.productID, &v.ID, &v.SKU, &v.SKUSuffix, &opts, &v.Price, &v.CompareAtPrice, &v.Stock); err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(opts), &v.Options); err != nil {
		return v, fmt.Errorf("variant %s options: %w", v.ID, err)
	}
	return v, nil
}

func (s *sqlStore) variants(ctx context.Context, q store.Querier, productIDs []string) (map[string][]contract.Variant, error) {
	vs, err := store.QueryAll(ctx, q, scanVariant, `SELECT product_id, id, sku, sku_suffix, options, price, compare_at_price, stock FROM variants
		WHERE product_id IN (`+placeholders(len(productIDs))+`) ORDER BY product_id, position`, anys(productIDs)...)
	if err != nil {
		return nil, fmt.Errorf("load variants: %w", err)
	}
	out := make(map[string][]contract.Variant, len(productIDs))
	for _, v := range vs {
		out[v.productID] = append(out[v.productID], v.Variant)
	}
	return out, nil
}

// wrap names what failed; nil stays nil.
func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
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

func (s *sqlStore) ProductsOfVariants(ctx context.Context, variantIDs []string) (map[string]string, error) {
	if len(variantIDs) == 0 {
		return map[string]string{}, nil
	}
	pairs, err := store.QueryAll(ctx, s.db, func(row store.Scanner) (p [2]string, err error) {
		return p, row.Scan(&p[0], &p[1])
	}, `SELECT id, product_id FROM variants WHERE id IN (`+placeholders(len(variantIDs))+`)`, anys(variantIDs)...)
	if err != nil {
		return nil, fmt.Errorf("find the products of %d variants: %w", len(variantIDs), err)
	}
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		out[p[0]] = p[1]
	}
	return out, nil
}

func (s *sqlStore) BySlugs(ctx context.Context, slugs []string) ([]contract.Product, error) {
	if len(slugs) == 0 {
		return nil, nil
	}
	return s.products(ctx, s.db, `slug IN (`+placeholders(len(slugs))+`)`, anys(slugs)...)
}

func (s *sqlStore) Update(ctx context.Context, p contract.Product, closure []string, events Events) (err error) {
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
	kept, err := store.QueryAll(ctx, w, func(r store.Scanner) ([2]string, error) {
		var v [2]string
		return v, r.Scan(&v[0], &v[1])
	}, `SELECT id, sku FROM variants WHERE product_id = ?`, p.ID)
	if err != nil {
		return fmt.Errorf("read variants of %s: %w", p.ID, err)
	}
	old := make(map[string]string, len(kept)) // id → sku
	for _, v := range kept {
		old[v[0]] = v[1]
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
	if events == nil {
		return nil
	}
	// The event carries the stock this transaction sees, not the stock
	// the caller read before: a sale may have landed in between.
	stock, err := store.QueryAll(ctx, w, func(r store.Scanner) (contract.Variant, error) {
		var v contract.Variant
		return v, r.Scan(&v.ID, &v.Stock)
	}, `SELECT id, stock FROM variants WHERE product_id = ?`, p.ID)
	if err != nil {
		return fmt.Errorf("read stock of %s: %w", p.ID, err)
	}
	level := make(map[string]int64, len(stock))
	for _, v := range stock {
		level[v.ID] = v.Stock
	}
	p.Variants, p.TotalStock = slices.Clone(p.Variants), 0
	for i := range p.Variants {
		p.Variants[i].Stock = level[p.Variants[i].ID]
		p.TotalStock += p.Variants[i].Stock
	}
	evs, err := build(events, p, indexedUnder(p.CategoryIDs, closure))
	if err != nil {
		return err
	}
	w.events = append(w.events, evs...)
	return nil
}

// closureIn reads the categories a product is indexed under (its own and
// their ancestors) through q.
func closureIn(ctx context.Context, q store.Querier, id string) ([]string, error) {
	closure, err := store.QueryOne(ctx, q, store.ScanValue[string], `SELECT closure FROM products WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("read categories of %s: %w", id, err)
	}
	var out []string
	if err := json.Unmarshal([]byte(closure), &out); err != nil {
		return nil, fmt.Errorf("product %s closure: %w", id, err)
	}
	return out, nil
}

// remove deletes a product with its variants and index rows, and queues
// the events of events (nil: none) about the product as it was.
func (w *writer) remove(ctx context.Context, s *sqlStore, id string, ix indexed, events Events) error {
	if events != nil {
		ps, err := s.products(ctx, w, `id = ?`, id)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return store.ErrNotFound
		}
		evs, err := build(events, ps[0], ix.closure)
		if err != nil {
			return err
		}
		w.events = append(w.events, evs...)
	}
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

func (s *sqlStore) Delete(ctx context.Context, id string, version int64, events Events) (err error) {
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
	return w.remove(ctx, s, id, ix, events)
}

func (s *sqlStore) DeleteMany(ctx context.Context, ids []string, events Events) (deleted []string, err error) {
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
		if err := w.remove(ctx, s, id, ix, events); err != nil {
			return nil, err
		}
		deleted = append(deleted, id)
	}
	return deleted, nil
}

// AdjustStock is one conditional UPDATE: SQLite serialises writers, so
// concurrent adjustments each see the stock the previous one left and
// none is lost; one that would leave the bounds matches no row. The same
// statement counts the variant's stock version. Its event is built from
// the product read in the same transaction, so it is exact.
func (s *sqlStore) AdjustStock(ctx context.Context, variantID string, delta int64, events StockEvents) (l contract.StockLevel, err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return l, fmt.Errorf("adjust stock of %s: begin: %w", variantID, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		} else if err = tx.Commit(); err != nil {
			err = fmt.Errorf("adjust stock of %s: commit: %w", variantID, err)
		}
	}()
	l, err = store.QueryOne(ctx, tx, func(r store.Scanner) (contract.StockLevel, error) {
		l := contract.StockLevel{VariantID: variantID}
		return l, r.Scan(&l.ProductID, &l.SKU, &l.Stock, &l.StockVersion)
	}, `UPDATE variants SET stock = stock + ?1, stock_version = stock_version + 1 WHERE id = ?2 AND stock + ?1 BETWEEN 0 AND ?3
		RETURNING product_id, sku, stock, stock_version`, delta, variantID, contract.MaxStock)
	if errors.Is(err, store.ErrNotFound) {
		// Either no such variant, or the bounds refused the change.
		if _, err := store.QueryOne(ctx, tx, store.ScanValue[int], `SELECT 1 FROM variants WHERE id = ?`, variantID); err != nil {
			return contract.StockLevel{}, wrap(err, "find variant "+variantID)
		}
		return contract.StockLevel{}, errStock
	}
	if err != nil {
		return contract.StockLevel{}, fmt.Errorf("adjust stock of %s: %w", variantID, err)
	}
	if events == nil {
		return l, nil
	}
	ps, err := s.products(ctx, tx, `id = ?`, l.ProductID)
	if err != nil {
		return contract.StockLevel{}, err
	}
	if len(ps) == 0 {
		return contract.StockLevel{}, fmt.Errorf("adjust stock of %s: product %s: %w", variantID, l.ProductID, store.ErrNotFound)
	}
	closure, err := closureIn(ctx, tx, l.ProductID)
	if err != nil {
		return contract.StockLevel{}, err
	}
	evs, err := events(ps[0], closure, l)
	if err != nil {
		return contract.StockLevel{}, fmt.Errorf("events of stock of %s: %w", variantID, err)
	}
	if err := outbox.Add(ctx, tx, evs...); err != nil {
		return contract.StockLevel{}, err
	}
	return l, nil
}

func (s *sqlStore) Outbox() outbox.Source { return s.outbox }

func (s *sqlStore) CountAttribute(ctx context.Context, key string) (int, error) {
	n, err := store.QueryOne(ctx, s.db, store.ScanValue[int], `SELECT COUNT(*) FROM product_attribute_keys WHERE instr(keys, ?) > 0`, " "+key+" ")
	return n, wrap(err, fmt.Sprintf("count attribute %q", key))
}

func (s *sqlStore) SKUsTaken(ctx context.Context, skus []string, productID string) ([]string, error) {
	if len(skus) == 0 {
		return nil, nil
	}
	out, err := store.QueryAll(ctx, s.db, store.ScanValue[string], `SELECT sku FROM variants WHERE sku IN (`+placeholders(len(skus))+`) AND product_id <> ? ORDER BY sku`,
		append(anys(skus), productID)...)
	return out, wrap(err, "find SKUs")
}
