package filter

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the SQL peer's database

	"github.com/shopengine/shop/internal/contract"
)

// The peers: the benchmark queries run on the index and, in the same
// run, on a plain SQL baseline over the same generated documents, and the
// ratios are reported (sql/shop-x: how many times the index is faster).
//
// The SQL baseline is what a shop without a search index would do on its
// SQLite store: a products table and a product_values table (one row per
// product and facet value, category it is listed under, ancestors
// included, and word), indexed both ways; a query is an IN (SELECT)
// per condition, a COUNT(*), a page with ORDER BY, and facet counts by
// GROUP BY, disjunctive as the index counts them: one query for the
// facets without a selection, one per selected facet leaving its own
// selection out. It counts the value facets only (not the number facets
// or the price histogram), which favours it.

// sqlPeer is the SQL baseline's database.
type sqlPeer struct {
	db     *sql.DB
	facets []string // the value facets it counts
}

// openSQLPeer loads the same n products benchIndex indexes into a fresh
// SQLite file.
func openSQLPeer(b *testing.B, n int) *sqlPeer {
	b.Helper()
	db, err := sql.Open("sqlite", filepath.Join(b.TempDir(), "peer.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	for _, stmt := range []string{
		`PRAGMA journal_mode = OFF`, `PRAGMA synchronous = OFF`,
		`CREATE TABLE products (id INTEGER PRIMARY KEY, key TEXT NOT NULL, name TEXT NOT NULL, price INTEGER NOT NULL, created INTEGER NOT NULL)`,
		`CREATE TABLE product_values (product INTEGER NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL)`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			b.Fatal(err)
		}
	}
	g := newGenCatalog(42) // as buildDirect: the same documents
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	addProduct, _ := tx.Prepare(`INSERT INTO products (id, key, name, price, created) VALUES (?, ?, ?, ?, ?)`)
	addValue, _ := tx.Prepare(`INSERT INTO product_values (product, facet, value) VALUES (?, ?, ?)`)
	must := func(_ sql.Result, err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		d := g.product(i)
		must(addProduct.Exec(i, fmt.Sprintf("p-%08d", i), d.Name, d.PriceMin, d.CreatedAt.UnixMicro()))
		for _, row := range peerRows(g, d) {
			must(addValue.Exec(i, row[0], row[1]))
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE INDEX product_values_by_value ON product_values (facet, value, product)`,
		`CREATE INDEX product_values_by_product ON product_values (product, facet, value)`,
		`CREATE INDEX products_by_price ON products (price, key)`,
		`CREATE INDEX products_by_created ON products (created, key)`,
		`ANALYZE`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			b.Fatal(err)
		}
	}
	return &sqlPeer{db: db, facets: []string{"brand", "material", "features", "waterproof", "colour", "size"}}
}

// peerRows are a product's product_values rows: (facet, value).
func peerRows(g *genCatalog, d productDoc) [][2]string {
	var rows [][2]string
	seen := map[[2]string]bool{}
	add := func(facet, value string) {
		if r := [2]string{facet, value}; !seen[r] {
			seen[r] = true
			rows = append(rows, r)
		}
	}
	for _, cat := range d.CategoryIDs {
		for c := cat; c != ""; c = g.categories[c].ParentID {
			add("_cat", c)
		}
	}
	text := d.Name + " " + d.Description
	for code, v := range d.Attributes {
		switch v := v.(type) {
		case string:
			if code == "model" {
				text += " " + v
			} else {
				add(code, v)
			}
		case bool:
			add(code, boolCode(v))
		case []any:
			for _, e := range v {
				add(code, e.(string))
			}
		}
	}
	for _, w := range words(text) {
		add("_word", w)
	}
	for _, o := range d.Options {
		add(o.Group, o.Value)
	}
	return rows
}

// where is req's conditions on products p, leaving out facet skip's
// selection.
func (s *sqlPeer) where(req contract.SearchRequest, skip string) (string, []any) {
	conds, args := []string{"1 = 1"}, []any{}
	has := func(cond string, a ...any) {
		conds = append(conds, "p.id IN (SELECT x.product FROM product_values x WHERE "+cond+")")
		args = append(args, a...)
	}
	if req.Category != "" {
		has("x.facet = '_cat' AND x.value = ?", req.Category)
	}
	ws := words(req.Q)
	for i, w := range ws {
		if i == len(ws)-1 {
			has("x.facet = '_word' AND x.value >= ? AND x.value < ?", w, w+"\xff")
		} else {
			has("x.facet = '_word' AND x.value = ?", w)
		}
	}
	if req.PriceMin != nil {
		conds, args = append(conds, "p.price >= ?"), append(args, *req.PriceMin)
	}
	if req.PriceMax != nil {
		conds, args = append(conds, "p.price <= ?"), append(args, *req.PriceMax)
	}
	for _, code := range slices.Sorted(func(yield func(string) bool) {
		for c := range req.Facets {
			if !yield(c) {
				return
			}
		}
	}) {
		if code == skip {
			continue
		}
		vals := req.Facets[code]
		a := []any{code}
		for _, v := range vals {
			a = append(a, v)
		}
		has("x.facet = ? AND x.value IN (?"+strings.Repeat(", ?", len(vals)-1)+")", a...)
	}
	return strings.Join(conds, " AND "), args
}

// search answers req: the total, the page's keys and the facet counts.
func (s *sqlPeer) search(req contract.SearchRequest) (total int, page []string, counts map[string]int, err error) {
	where, args := s.where(req, "")
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM products p WHERE `+where, args...).Scan(&total); err != nil {
		return 0, nil, nil, fmt.Errorf("count: %w", err)
	}
	order := "p.created DESC, p.key DESC"
	if req.Sort == contract.SortPriceAsc {
		order = "p.price, p.key"
	}
	page, err = s.strings(`SELECT p.key FROM products p WHERE `+where+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, req.PageSize, (max(req.Page, 1)-1)*req.PageSize)...)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("page: %w", err)
	}
	counts = map[string]int{}
	var unselected []any
	for _, f := range s.facets {
		if len(req.Facets[f]) == 0 {
			unselected = append(unselected, f)
		}
	}
	if len(unselected) > 0 {
		q := `SELECT v.facet, v.value, COUNT(*) FROM product_values v JOIN products p ON p.id = v.product
			WHERE v.facet IN (?` + strings.Repeat(", ?", len(unselected)-1) + `) AND ` + where + ` GROUP BY v.facet, v.value`
		if err := s.count(counts, q, append(unselected, args...)...); err != nil {
			return 0, nil, nil, err
		}
	}
	for _, f := range s.facets {
		if len(req.Facets[f]) > 0 {
			w, a := s.where(req, f)
			q := `SELECT v.facet, v.value, COUNT(*) FROM product_values v JOIN products p ON p.id = v.product
				WHERE v.facet = ? AND ` + w + ` GROUP BY v.facet, v.value`
			if err := s.count(counts, q, append([]any{f}, a...)...); err != nil {
				return 0, nil, nil, err
			}
		}
	}
	return total, page, counts, nil
}

func (s *sqlPeer) strings(q string, args ...any) ([]string, error) {
	rows, err := s.db.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// count adds the (facet, value, count) rows of q to counts.
func (s *sqlPeer) count(counts map[string]int, q string, args ...any) error {
	rows, err := s.db.Query(q, args...)
	if err != nil {
		return fmt.Errorf("facet counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var facet, value string
		var n int
		if err := rows.Scan(&facet, &value, &n); err != nil {
			return err
		}
		counts[facet+"="+value] = n
	}
	return rows.Err()
}

// BenchmarkPeers runs each benchmark query on the index and on the SQL
// baseline, checks that they agree on the total and the facet counts,
// and reports each one's CPU p95 and their ratio.
func BenchmarkPeers(b *testing.B) {
	for _, n := range benchSizes() {
		x := benchIndex(n)
		peer := openSQLPeer(b, n)
		for _, q := range benchQueries() {
			b.Run(fmt.Sprintf("%s/%s", sizeName(n), q.name), func(b *testing.B) {
				want, err := x.Search(q.req)
				if err != nil {
					b.Fatal(err)
				}
				total, _, counts, err := peer.search(q.req)
				if err != nil {
					b.Fatal(err)
				}
				if total != want.Total {
					b.Fatalf("SQL total %d, index %d", total, want.Total)
				}
				for _, f := range want.Facets {
					if slices.Contains(peer.facets, f.Code) {
						for _, v := range f.Values {
							if counts[f.Code+"="+v.Code] != v.Count {
								b.Fatalf("%s=%s: SQL counts %d, index %d", f.Code, v.Code, counts[f.Code+"="+v.Code], v.Count)
							}
						}
					}
				}
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				var shop, sqlTimes []time.Duration
				for b.Loop() {
					shop = append(shop, cpuOf(func() { x.Search(q.req) }))
					sqlTimes = append(sqlTimes, cpuOf(func() { peer.search(q.req) }))
				}
				b.ReportMetric(p95ms(shop), "shop-cpu-p95-ms")
				b.ReportMetric(p95ms(sqlTimes), "sql-cpu-p95-ms")
				b.ReportMetric(p95ms(sqlTimes)/max(p95ms(shop), 0.001), "sql/shop-x")
			})
		}
	}
}

// cpuOf is f's CPU time on its thread (see timeQuery).
func cpuOf(f func()) time.Duration {
	began := threadCPU()
	f()
	return threadCPU() - began
}
