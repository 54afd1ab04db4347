package product

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// The list index of the SQLite store and its upkeep: every product has a
// row under "" (all products) and under each category of its closure, big
// categories also sorted rows and kept counts; products are re-indexed
// when the category tree changes.

// A category is big, and gets sorted index rows, from bigCategory
// products on (counting every status); its size is checked every
// promoteEvery products added to it. Below that, sorting its whole range
// costs about 0.25 µs a row (1.4 ms at 5,000: measured by BenchmarkList),
// less than the two random index writes per product it saves on every
// create. Variables for the tests.
var bigCategory, promoteEvery = 5000, 64

func (w *writer) loadBig(ctx context.Context) error {
	big, err := store.QueryAll(ctx, w.tx, store.ScanValue[string], `SELECT category_id FROM big_categories`)
	if err != nil {
		return fmt.Errorf("read big categories: %w", err)
	}
	for _, c := range big {
		w.big[c] = true
	}
	return nil
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
	if err := w.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM product_categories WHERE category_id = ? LIMIT ?)`, c, bigCategory).Scan(&size); err != nil {
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
	var version int64
	ix, err := store.QueryOne(ctx, w, func(r store.Scanner) (indexed, error) {
		var ix indexed
		var closure, doc string
		if err := r.Scan(&version, &ix.status, &ix.priceMin, &closure, &doc); err != nil {
			return ix, err
		}
		var d sqlDoc
		if err := json.Unmarshal([]byte(closure), &ix.closure); err != nil {
			return ix, fmt.Errorf("closure: %w", err)
		}
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			return ix, fmt.Errorf("doc: %w", err)
		}
		ix.attrs = d.Attributes
		return ix, nil
	}, `SELECT version, status, price_min, closure, doc FROM products WHERE id = ?`, id)
	if errors.Is(err, store.ErrNotFound) {
		return ix, 0, err
	}
	return ix, version, wrap(err, "read product "+id)
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

// closureJSON is the closure as stored: with the direct categories, sorted.
func closureJSON(direct, closure []string) string {
	return mustJSON(indexedUnder(direct, closure))
}

func (s *sqlStore) InCategory(ctx context.Context, categoryID string) (map[string][]string, error) {
	type row struct {
		id   string
		cats []string
	}
	rows, err := store.QueryAll(ctx, s.db, func(r store.Scanner) (row, error) {
		var x row
		var cats string
		if err := r.Scan(&x.id, &cats); err != nil {
			return x, err
		}
		return x, json.Unmarshal([]byte(cats), &x.cats)
	}, `SELECT p.id, p.category_ids FROM product_categories pc JOIN products p ON p.id = pc.product_id WHERE pc.category_id = ?`, categoryID)
	if err != nil {
		return nil, fmt.Errorf("products in category %s: %w", categoryID, err)
	}
	out := make(map[string][]string, len(rows))
	for _, x := range rows {
		out[x.id] = x.cats
	}
	return out, nil
}

// Sweep has nothing to do: every SQLite write is one transaction, and
// foreign keys tie stock to its product.
func (s *sqlStore) Sweep(context.Context, time.Time) (int, error) { return 0, nil }

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
		if err := w.QueryRowContext(ctx, `SELECT price_min, name, category_ids FROM products WHERE id = ?`, id).Scan(&priceMin, &name, &cats); err != nil {
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
