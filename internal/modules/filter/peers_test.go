package filter

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
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

// BenchmarkPeers runs each benchmark query on the index, on the SQL
// baseline and on bleve, checks that they agree on the total and the
// facet counts, and reports each one's CPU p95 and the ratios (x: how
// many times the index is faster). FILTER_PEERS=sql or =bleve runs one
// peer only.
func BenchmarkPeers(b *testing.B) {
	only := os.Getenv("FILTER_PEERS")
	for _, n := range benchSizes() {
		x := benchIndex(n)
		var sqlp *sqlPeer
		var blv *blevePeer
		if only != "bleve" {
			sqlp = openSQLPeer(b, n)
		}
		if only != "sql" {
			blv = openBlevePeer(b, n)
		}
		for _, q := range benchQueries() {
			b.Run(fmt.Sprintf("%s/%s", sizeName(n), q.name), func(b *testing.B) {
				want, err := x.Search(q.req)
				if err != nil {
					b.Fatal(err)
				}
				if sqlp != nil {
					total, _, counts, err := sqlp.search(q.req)
					if err != nil {
						b.Fatal(err)
					}
					if msg := agree(want, total, counts, sqlp.facets); msg != "" {
						b.Fatalf("SQL: %s", msg)
					}
				}
				if blv != nil {
					total, page, counts, err := blv.search(q.req)
					if err != nil {
						b.Fatal(err)
					}
					if msg := agree(want, total, counts, bleveFacets); msg != "" {
						b.Fatalf("bleve: %s", msg)
					}
					// The same order unless by relevance, which bleve scores
					// its own way.
					if q.req.Q == "" {
						var ids []string
						for _, it := range want.Items {
							ids = append(ids, it.ID)
						}
						if !slices.Equal(page, ids) {
							b.Fatalf("bleve page %v, index %v", page, ids)
						}
					}
				}
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				var shop, sqlTimes, bleveTimes []time.Duration
				for b.Loop() {
					shop = append(shop, cpuOf(func() { x.Search(q.req) }))
					if sqlp != nil {
						sqlTimes = append(sqlTimes, cpuOf(func() { sqlp.search(q.req) }))
					}
					if blv != nil {
						// bleve searches on goroutines of its own: its
						// CPU is the process's.
						bleveTimes = append(bleveTimes, processCPUOf(func() { blv.search(q.req) }))
					}
				}
				b.ReportMetric(p95ms(shop), "shop-cpu-p95-ms")
				if sqlp != nil {
					b.ReportMetric(p95ms(sqlTimes), "sql-cpu-p95-ms")
					b.ReportMetric(p95ms(sqlTimes)/max(p95ms(shop), 0.001), "sql/shop-x")
				}
				if blv != nil {
					b.ReportMetric(p95ms(bleveTimes), "bleve-cpu-p95-ms")
					b.ReportMetric(p95ms(bleveTimes)/max(p95ms(shop), 0.001), "bleve/shop-x")
					b.ReportMetric(blv.build.Seconds(), "bleve-index-s")
				}
			})
		}
	}
}

// agree compares a peer's total and counts (facet=value → count) with
// the index's reply, over the facets the peer counts; "" when they agree.
func agree(want contract.SearchReply, total int, counts map[string]int, facets []string) string {
	if total != want.Total {
		return fmt.Sprintf("total %d, index %d", total, want.Total)
	}
	for _, f := range want.Facets {
		if slices.Contains(facets, f.Code) {
			for _, v := range f.Values {
				if counts[f.Code+"="+v.Code] != v.Count {
					return fmt.Sprintf("%s=%s: counts %d, index %d", f.Code, v.Code, counts[f.Code+"="+v.Code], v.Count)
				}
			}
		}
	}
	return ""
}

// processCPUOf is f's CPU time, every thread's: on a loaded machine it
// counts other goroutines' work too, which can only favour the index.
func processCPUOf(f func()) time.Duration {
	began := processCPU()
	f()
	return processCPU() - began
}

// cpuOf is f's CPU time on its thread (see timeQuery).
func cpuOf(f func()) time.Duration {
	began := threadCPU()
	f()
	return threadCPU() - began
}

// The bleve peer: the same documents in a bleve v2 index (its default
// engine, scorch, in a temporary directory), every facet a field with
// doc values, text pre-cut into words by the index's own words() so that
// both match the same products. bleve's facets count over the query's
// hits, selections included, so disjunctive counts take what they take on
// bleve (and on Meilisearch or Typesense): one request for the page and
// the unselected facets, plus one per selected facet (and one for the
// price facet when a price range is set) with that selection left out,
// asking for that facet only.

// bleveFacets are the term facets the peer counts; the number facets
// (weight, power) and the price get fixed ranges.
var bleveFacets = []string{"brand", "material", "features", "waterproof", "colour", "size"}

type blevePeer struct {
	index bleve.Index
	build time.Duration // indexing the documents
}

// openBlevePeer indexes the same n products benchIndex indexes.
func openBlevePeer(b *testing.B, n int) *blevePeer {
	b.Helper()
	keyword := func() *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Store, f.IncludeInAll, f.IncludeTermVectors = false, false, false
		return f
	}
	number := func() *mapping.FieldMapping {
		f := bleve.NewNumericFieldMapping()
		f.Store, f.IncludeInAll = false, false
		return f
	}
	doc := bleve.NewDocumentStaticMapping()
	for _, f := range append([]string{"cat", "name", "description", "model"}, bleveFacets...) {
		doc.AddFieldMappingsAt(f, keyword())
	}
	for _, f := range []string{"price", "created", "weight", "power"} {
		doc.AddFieldMappingsAt(f, number())
	}
	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	m.StoreDynamic, m.IndexDynamic, m.DocValuesDynamic = false, false, false
	index, err := bleve.New(filepath.Join(b.TempDir(), "peer.bleve"), m)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { index.Close() })
	g := newGenCatalog(42) // as buildDirect: the same documents
	began := time.Now()
	batch := index.NewBatch()
	for i := range n {
		if err := batch.Index(fmt.Sprintf("p-%08d", i), bleveDoc(g, g.product(i))); err != nil {
			b.Fatal(err)
		}
		if batch.Size() == 1000 || i == n-1 {
			if err := index.Batch(batch); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
	return &blevePeer{index: index, build: time.Since(began)}
}

// bleveDoc is a product as the bleve peer indexes it.
func bleveDoc(g *genCatalog, d productDoc) map[string]any {
	var cats []string
	for _, row := range peerRows(g, d) {
		if row[0] == "_cat" {
			cats = append(cats, row[1])
		}
	}
	doc := map[string]any{
		"cat": cats, "name": words(d.Name), "description": words(d.Description),
		"price": float64(d.PriceMin), "created": float64(d.CreatedAt.UnixMicro()),
	}
	for code, v := range d.Attributes {
		switch v := v.(type) {
		case string:
			if code == "model" {
				doc["model"] = words(v)
			} else {
				doc[code] = v
			}
		case bool:
			doc[code] = boolCode(v)
		case float64:
			doc[code] = v
		case []any:
			doc[code] = v
		}
	}
	options := map[string][]string{}
	for _, o := range d.Options {
		options[o.Group] = append(options[o.Group], o.Value)
	}
	for group, vs := range options {
		doc[group] = vs
	}
	return doc
}

// query is req's conditions, leaving out facet skip's selection ("price":
// the price range).
func (p *blevePeer) query(req contract.SearchRequest, skip string) query.Query {
	term := func(field, v string) query.Query {
		q := bleve.NewTermQuery(v)
		q.SetField(field)
		return q
	}
	must := []query.Query{bleve.NewMatchAllQuery()}
	if req.Category != "" {
		must = append(must, term("cat", req.Category))
	}
	ws := words(req.Q)
	for i, w := range ws {
		var alts []query.Query
		for _, f := range []string{"name", "model", "description"} {
			if i == len(ws)-1 {
				q := bleve.NewPrefixQuery(w)
				q.SetField(f)
				alts = append(alts, q)
			} else {
				alts = append(alts, term(f, w))
			}
		}
		must = append(must, bleve.NewDisjunctionQuery(alts...))
	}
	if skip != "price" && (req.PriceMin != nil || req.PriceMax != nil) {
		var lo, hi *float64
		if req.PriceMin != nil {
			v := float64(*req.PriceMin)
			lo = &v
		}
		if req.PriceMax != nil {
			v := float64(*req.PriceMax)
			hi = &v
		}
		yes := true
		q := bleve.NewNumericRangeInclusiveQuery(lo, hi, &yes, &yes)
		q.SetField("price")
		must = append(must, q)
	}
	for code, vals := range req.Facets {
		if code == skip || len(vals) == 0 {
			continue
		}
		var alts []query.Query
		for _, v := range vals {
			alts = append(alts, term(code, v))
		}
		must = append(must, bleve.NewDisjunctionQuery(alts...))
	}
	return bleve.NewConjunctionQuery(must...)
}

// facet adds the request of one facet (term, or ranges for the numbers).
func addBleveFacet(r *bleve.SearchRequest, name string) {
	ranges := map[string][]float64{
		"price":  {0, 1000, 2000, 5000, 10000, 20000, 40000},
		"weight": {0, 1000, 2500, 5000},
		"power":  {0, 100, 500, 1000},
	}
	if edges, ok := ranges[name]; ok {
		f := bleve.NewFacetRequest(name, len(edges))
		for i := range edges {
			lo := edges[i]
			var hi *float64
			if i+1 < len(edges) {
				hi = &edges[i+1]
			}
			f.AddNumericRange(fmt.Sprint(lo), &lo, hi)
		}
		r.AddFacet(name, f)
		return
	}
	size := 60
	if name == "cat" {
		size = 200
	}
	r.AddFacet(name, bleve.NewFacetRequest(name, size))
}

// search answers req: the total, the page's keys, the term facet
// counts (facet=value → count), in 1 + selected facets requests.
func (p *blevePeer) search(req contract.SearchRequest) (total int, page []string, counts map[string]int, err error) {
	from := (max(req.Page, 1) - 1) * req.PageSize
	main := bleve.NewSearchRequestOptions(p.query(req, ""), req.PageSize, from, false)
	switch {
	case req.Sort == contract.SortPriceAsc:
		main.SortBy([]string{"price", "_id"})
	case strings.TrimSpace(req.Q) == "":
		main.SortBy([]string{"-created", "-_id"})
	}
	selected := map[string]bool{}
	for code, vals := range req.Facets {
		selected[code] = len(vals) > 0
	}
	selected["price"] = req.PriceMin != nil || req.PriceMax != nil
	addBleveFacet(main, "cat")
	for _, f := range append(append([]string{}, bleveFacets...), "weight", "power", "price") {
		if !selected[f] {
			addBleveFacet(main, f)
		}
	}
	res, err := p.index.Search(main)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("bleve search: %w", err)
	}
	total = int(res.Total)
	for _, h := range res.Hits {
		page = append(page, h.ID)
	}
	counts = map[string]int{}
	addCounts := func(res *bleve.SearchResult) {
		for name, f := range res.Facets {
			for _, t := range f.Terms.Terms() {
				counts[name+"="+t.Term] = t.Count
			}
		}
	}
	addCounts(res)
	for f, on := range selected {
		if !on {
			continue
		}
		own := bleve.NewSearchRequestOptions(p.query(req, f), 0, 0, false)
		addBleveFacet(own, f)
		res, err := p.index.Search(own)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("bleve search for facet %s: %w", f, err)
		}
		addCounts(res)
	}
	return total, page, counts, nil
}
