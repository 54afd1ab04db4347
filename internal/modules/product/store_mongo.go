package product

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// The MongoDB store keeps to the operations FerretDB honours (no
// positional $, no $elemMatch, no arrayFilters), and uses multi-document
// transactions only where the server has them (store_mongo_tx.go):
//
//   - "products": one document per product with its variants embedded,
//     without their stock; content writes set it whole, conditionally on
//     its version, and push their events into its outbox in the same
//     update (outbox.Pending, outbox.Push).
//   - "stock": one document per variant, {_id: variant id, product_id,
//     stock, version, outbox}; adjust_stock is a compare-and-set on it
//     (filtered on its version) that also pushes the stock_changed event,
//     so the event carries the exact level and version it commits.
//   - "skus": one document per SKU in use, {_id: sku, product_id, op,
//     at}: the unique _id makes SKUs unique across products, whatever a
//     server does with unique indexes on array fields. SKUs are reserved
//     before the product document is written and released after; a
//     failed write releases what it reserved (op: its token), nothing
//     else.
//   - "counts": the list totals (store_mongo_count.go).
//
// A product write touches several documents: on a replica set they are
// one transaction; without transactions they are several single-document
// writes, ordered so that readers (who go through "products") never see a
// product without its SKUs and stock, and undone on failure (see write in
// store_mongo_tx.go); a crash between them can leave a reserved SKU or a
// stock document without a product, which the orphan sweep removes. The
// write that carries the events is the one that makes the
// change visible (the product document's insert or update, the stock
// document's update); a delete records its events with outbox.DeleteWith.
// The relay's source covers the events in both kinds of document and in
// the outbox collection; a product's content events are published in
// commit order, and so are a variant's stock events (consumers keep
// Version and StockVersion apart).
type mongoStore struct {
	db                    *mongo.Database
	products, stock, skus *mongo.Collection
	counts                *mongo.Collection // list totals, see store_mongo_count.go
	// stockLocks queues this process's adjustments of one variant, so
	// that they do not race each other's compare-and-set (50 concurrent
	// sales of one variant would otherwise retry some 50 times each); the
	// compare-and-set still guards against other processes.
	stockLocks keyedMutex
	// tx: the server runs multi-document transactions, and the writes of
	// several documents use them (see write).
	tx bool
	// hook, in tests, is called at named points of a write, to replay
	// races and failures deterministically.
	hook func(ctx context.Context, step string) error
}

func openMongoStore(ctx context.Context, db *store.DB) (*mongoStore, error) {
	idx := func(name string, keys ...string) mongo.IndexModel {
		d := bson.D{}
		for _, k := range keys {
			d = append(d, bson.E{Key: k, Value: 1})
		}
		return mongo.IndexModel{Keys: d, Options: options.Index().SetName(name)}
	}
	mdb, err := db.Mongo(ctx, contract.ProductQueue, store.Indexes{
		"products": {
			{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true).SetName("slug_unique")},
			// One index per list shape (see List): the filter's
			// equality fields (a category, the status or, for "any
			// status", status $in every status, which the planner merges
			// in sort order), then the sort key, then _id, the
			// tie-breaker of every sort and of the keyset.
			idx("by_tree_price", "category_tree", "status", "price_min", "_id"),
			idx("by_tree_name", "category_tree", "status", "name_key", "_id"),
			idx("by_tree_created", "category_tree", "status", "_id"),
			idx("by_category", "category_ids", "status", "_id"),
			idx("by_category_price", "category_ids", "status", "price_min", "_id"),
			idx("by_category_name", "category_ids", "status", "name_key", "_id"),
			idx("by_status_created", "status", "_id"),
			idx("by_status_price", "status", "price_min", "_id"),
			idx("by_status_name", "status", "name_key", "_id"),
			idx("by_attribute", "attr_keys"),
			outbox.Index(),
		},
		"stock": {idx("by_product", "product_id"), outbox.Index()},
		"skus":  {idx("by_product", "product_id")},
	})
	if err != nil {
		return nil, err
	}
	tx, err := store.MongoTransactions(ctx, mdb)
	if err != nil {
		return nil, err
	}
	s := &mongoStore{db: mdb, products: mdb.Collection("products"), stock: mdb.Collection("stock"), skus: mdb.Collection("skus"),
		counts: mdb.Collection("counts"), tx: tx}
	if err := s.recountAll(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *mongoStore) Outbox() outbox.Source {
	return outbox.Mongo(s.db, s.products.Name(), s.stock.Name())
}

// withoutOutbox is the projection of a read: the pending events are the
// relay's business.
var withoutOutbox = bson.D{{Key: outbox.Field, Value: 0}}

type selectionDoc struct {
	GroupID  string   `bson:"group_id"`
	ValueIDs []string `bson:"value_ids"`
}

type optionDoc struct {
	GroupID   string `bson:"group_id"`
	GroupCode string `bson:"group_code"`
	ValueID   string `bson:"value_id"`
	ValueCode string `bson:"value_code"`
	Label     string `bson:"label"`
}

type variantDoc struct {
	ID             string      `bson:"id"`
	SKU            string      `bson:"sku"`
	SKUSuffix      string      `bson:"sku_suffix"`
	Options        []optionDoc `bson:"options"`
	Price          int64       `bson:"price"`
	CompareAtPrice int64       `bson:"compare_at_price"`
}

type imageDoc struct {
	URL string `bson:"url"`
	Alt string `bson:"alt"`
}

// doc is a product as stored in MongoDB.
type doc struct {
	ID           string         `bson:"_id"`
	Slug         string         `bson:"slug"`
	Name         string         `bson:"name"`
	NameKey      string         `bson:"name_key"`
	Description  string         `bson:"description"`
	Status       string         `bson:"status"`
	CategoryIDs  []string       `bson:"category_ids"`
	CategoryTree []string       `bson:"category_tree"` // the closure: categories and their ancestors
	Attributes   string         `bson:"attributes"`    // JSON, so values keep their JSON types exactly
	AttrKeys     []string       `bson:"attr_keys"`
	Options      []selectionDoc `bson:"options"`
	SKU          string         `bson:"sku"`
	Currency     string         `bson:"currency"`
	Price        int64          `bson:"price"`
	PriceMin     int64          `bson:"price_min"`
	PriceMax     int64          `bson:"price_max"`
	Variants     []variantDoc   `bson:"variants"`
	Images       []imageDoc     `bson:"images"`
	Version      int64          `bson:"version"`
	CreatedAt    time.Time      `bson:"created_at"`
	UpdatedAt    time.Time      `bson:"updated_at"`
	// Op is the token of the write that made this content (see
	// reservation): after an unclear error a write reads it back to learn
	// whether it landed.
	Op string `bson:"op,omitempty"`
	// Outbox holds the events of the writes of the document until the
	// relay has published them: set on insert, pushed to by updates.
	Outbox outbox.Pending `bson:"outbox,omitempty"`
}

func toDoc(p contract.Product, closure []string) doc {
	closure = indexedUnder(p.CategoryIDs, closure)
	d := doc{
		ID: p.ID, Slug: p.Slug, Name: p.Name, NameKey: nameKey(p.Name), Description: p.Description, Status: string(p.Status),
		CategoryIDs: p.CategoryIDs, CategoryTree: closure, Attributes: mustJSON(p.Attributes), AttrKeys: attributeKeys(p.Attributes),
		SKU: p.SKU, Currency: p.Currency, Price: p.Price, PriceMin: p.PriceMin, PriceMax: p.PriceMax,
		Version: p.Version, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	for _, o := range p.Options {
		d.Options = append(d.Options, selectionDoc(o))
	}
	for _, v := range p.Variants {
		vd := variantDoc{ID: v.ID, SKU: v.SKU, SKUSuffix: v.SKUSuffix, Price: v.Price, CompareAtPrice: v.CompareAtPrice}
		for _, o := range v.Options {
			vd.Options = append(vd.Options, optionDoc(o))
		}
		d.Variants = append(d.Variants, vd)
	}
	for _, im := range p.Images {
		d.Images = append(d.Images, imageDoc(im))
	}
	return d
}

// product converts d, with the variants' stock from stock (by variant id).
func (d doc) product(stock map[string]int64) (contract.Product, error) {
	p := contract.Product{
		ID: d.ID, Slug: d.Slug, Name: d.Name, Description: d.Description, Status: contract.ProductStatus(d.Status),
		CategoryIDs: d.CategoryIDs, SKU: d.SKU, Currency: d.Currency, Price: d.Price, PriceMin: d.PriceMin, PriceMax: d.PriceMax,
		Version: d.Version, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
	if err := json.Unmarshal([]byte(d.Attributes), &p.Attributes); err != nil {
		return p, fmt.Errorf("product %s attributes: %w", d.ID, err)
	}
	for _, o := range d.Options {
		p.Options = append(p.Options, contract.VariantSelection(o))
	}
	for _, vd := range d.Variants {
		v := contract.Variant{ID: vd.ID, SKU: vd.SKU, SKUSuffix: vd.SKUSuffix, Price: vd.Price, CompareAtPrice: vd.CompareAtPrice, Stock: stock[vd.ID]}
		for _, o := range vd.Options {
			v.Options = append(v.Options, contract.VariantOption(o))
		}
		p.Variants = append(p.Variants, v)
		p.TotalStock += v.Stock
	}
	for _, im := range d.Images {
		p.Images = append(p.Images, contract.Image(im))
	}
	return p, nil
}

type stockDoc struct {
	ID        string `bson:"_id"`
	ProductID string `bson:"product_id"`
	Stock     int64  `bson:"stock"`
	// Version counts the stock's changes (absent, as 0, before any).
	Version int64 `bson:"version"`
	// Outbox holds the stock_changed events until they are published.
	Outbox outbox.Pending `bson:"outbox,omitempty"`
	// At is when the document was made, for the orphan sweep.
	At time.Time `bson:"at,omitempty"`
}

// stockOf returns the stock of the variants of productIDs.
func (s *mongoStore) stockOf(ctx context.Context, productIDs []string) (map[string]int64, error) {
	cur, err := s.stock.Find(ctx, bson.D{{Key: "product_id", Value: bson.D{{Key: "$in", Value: productIDs}}}}, options.Find().SetProjection(withoutOutbox))
	if err != nil {
		return nil, fmt.Errorf("load stock: %w", err)
	}
	var docs []stockDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("load stock: %w", err)
	}
	out := make(map[string]int64, len(docs))
	for _, d := range docs {
		out[d.ID] = d.Stock
	}
	return out, nil
}

func in(ids []string) bson.D { return bson.D{{Key: "$in", Value: ids}} }

// reservation is a SKU in use: the unique _id makes it unique across
// products. Op is the token of the write that made it, so that the undo
// of a failed write releases only what that write inserted, never the
// reservation a concurrent write of the same product made (two updates at
// one version both adding a SKU: the loser's undo would otherwise delete
// the winner's). At is when it was made, for the orphan sweep.
type reservation struct {
	SKU       string    `bson:"_id"`
	ProductID string    `bson:"product_id"`
	Op        string    `bson:"op"`
	At        time.Time `bson:"at"`
}

// reserve claims skus for productID under the write's token op; on
// failure it releases what it claimed (on the compensation context: the
// request's may be what failed) and answers errSKUTaken for a SKU in use.
// In a transaction a failure aborts everything, so there is nothing to
// release.
func (s *mongoStore) reserve(ctx context.Context, productID, op string, skus []string) error {
	if len(skus) == 0 {
		return nil
	}
	now := time.Now().UTC()
	docs := make([]any, len(skus))
	for i, sku := range skus {
		docs[i] = reservation{SKU: sku, ProductID: productID, Op: op, At: now}
	}
	_, err := s.skus.InsertMany(ctx, docs)
	if err == nil {
		return nil
	}
	if !inTx(ctx) {
		if rerr := s.undo(ctx, func(ctx context.Context) error { return s.release(ctx, productID, op, skus) }); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	if store.IsDuplicate(err) {
		return errSKUTaken
	}
	return fmt.Errorf("reserve SKUs: %w", err)
}

// release frees those of skus that productID holds: only those the write
// with token op reserved, or, with op "", whichever write reserved them
// (the SKUs a committed write dropped).
func (s *mongoStore) release(ctx context.Context, productID, op string, skus []string) error {
	if len(skus) == 0 {
		return nil
	}
	filter := bson.D{{Key: "_id", Value: in(skus)}, {Key: "product_id", Value: productID}}
	if op != "" {
		filter = append(filter, bson.E{Key: "op", Value: op})
	}
	if _, err := s.skus.DeleteMany(ctx, filter); err != nil {
		return fmt.Errorf("release SKUs: %w", err)
	}
	return nil
}

func (s *mongoStore) addStock(ctx context.Context, productID string, vs []contract.Variant) error {
	if len(vs) == 0 {
		return nil
	}
	docs := make([]any, len(vs))
	for i, v := range vs {
		docs[i] = stockDoc{ID: v.ID, ProductID: productID, Stock: v.Stock, At: time.Now().UTC()}
	}
	if _, err := s.stock.InsertMany(ctx, docs); err != nil {
		return fmt.Errorf("insert stock: %w", err)
	}
	return nil
}

// dropStock deletes stock documents, moving the stock events still
// pending in them to the outbox collection first (outbox.DeleteWith).
func (s *mongoStore) dropStock(ctx context.Context, variantIDs []string) error {
	if len(variantIDs) == 0 {
		return nil
	}
	if _, err := outbox.DeleteWith(ctx, s.db, s.stock.Name(), variantIDs); err != nil {
		return fmt.Errorf("delete stock: %w", err)
	}
	return nil
}

func variantIDs(vs []contract.Variant) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}

func (s *mongoStore) slugOwner(ctx context.Context, slug string) (string, bool, error) {
	var d struct {
		ID string `bson:"_id"`
	}
	err := s.products.FindOne(ctx, bson.D{{Key: "slug", Value: slug}}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("find slug %q: %w", slug, err)
	}
	return d.ID, true, nil
}

// insert writes one product: SKUs, then stock, then the product document
// with its events. With transactions the three are one transaction;
// without, a failed step undoes the earlier ones on the compensation
// context, except after an unclear error (the insert may have landed):
// then it reads the product back first, and a product that is there was
// written, so nothing is undone.
func (s *mongoStore) insert(ctx context.Context, p contract.Product, closure []string, evs []outbox.Event) error {
	return s.write(ctx, func(ctx context.Context) error { return s.insertSteps(ctx, p, closure, evs) })
}

func (s *mongoStore) insertSteps(ctx context.Context, p contract.Product, closure []string, evs []outbox.Event) error {
	// The unique index enforces the slug; this check only makes a taken
	// slug answer as such even when the product's SKUs (derived from the
	// slug) are taken too.
	if _, taken, err := s.slugOwner(ctx, p.Slug); err != nil {
		return err
	} else if taken {
		return errSlugTaken
	}
	op := newOp()
	if err := s.reserve(ctx, p.ID, op, skus(p.Variants)); err != nil {
		return err
	}
	undo := func(err error) error {
		if inTx(ctx) {
			return err
		}
		return errors.Join(err, s.undo(ctx, func(ctx context.Context) error {
			return errors.Join(s.dropStock(ctx, variantIDs(p.Variants)), s.release(ctx, p.ID, op, skus(p.Variants)))
		}))
	}
	if err := s.step(ctx, "insert:reserved"); err != nil {
		return undo(err)
	}
	if err := s.addStock(ctx, p.ID, p.Variants); err != nil {
		return undo(err)
	}
	d := toDoc(p, closure)
	d.Outbox, d.Op = evs, op
	_, err := s.products.InsertOne(ctx, d)
	switch {
	case err == nil:
	case store.IsDuplicate(err):
		if uerr := undo(nil); uerr != nil {
			return uerr
		}
		return errSlugTaken
	case store.Unclear(err) && !inTx(ctx) && s.landed(ctx, p.ID, op):
	default:
		return undo(fmt.Errorf("insert product %s: %w", p.ID, err))
	}
	return s.recount(ctx, nil, []*doc{&d})
}

func (s *mongoStore) find(ctx context.Context, filter bson.D) ([]contract.Product, error) {
	cur, err := s.products.Find(ctx, filter, options.Find().SetProjection(withoutOutbox))
	if err != nil {
		return nil, fmt.Errorf("find products: %w", err)
	}
	var docs []doc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("find products: %w", err)
	}
	if len(docs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	stock, err := s.stockOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]contract.Product, len(docs))
	for i, d := range docs {
		if out[i], err = d.product(stock); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *mongoStore) one(ctx context.Context, filter bson.D) (contract.Product, error) {
	ps, err := s.find(ctx, filter)
	if err != nil {
		return contract.Product{}, err
	}
	if len(ps) == 0 {
		return contract.Product{}, store.ErrNotFound
	}
	return ps[0], nil
}

func (s *mongoStore) Get(ctx context.Context, id string) (contract.Product, error) {
	return s.one(ctx, bson.D{{Key: "_id", Value: id}})
}

func (s *mongoStore) BySlug(ctx context.Context, slug string) (contract.Product, error) {
	return s.one(ctx, bson.D{{Key: "slug", Value: slug}})
}

func (s *mongoStore) GetMany(ctx context.Context, ids []string) ([]contract.Product, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.find(ctx, bson.D{{Key: "_id", Value: in(ids)}})
}

// ProductsOfVariants reads the stock documents, which name their product.
func (s *mongoStore) ProductsOfVariants(ctx context.Context, variantIDs []string) (map[string]string, error) {
	docs, err := store.FindAll(ctx, s.stock, bson.D{{Key: "_id", Value: in(variantIDs)}}, bson.D{{Key: "_id", Value: 1}},
		func(d stockDoc) stockDoc { return d })
	if err != nil {
		return nil, fmt.Errorf("find the products of %d variants: %w", len(variantIDs), err)
	}
	out := make(map[string]string, len(docs))
	for _, d := range docs {
		out[d.ID] = d.ProductID
	}
	return out, nil
}

func (s *mongoStore) BySlugs(ctx context.Context, slugs []string) ([]contract.Product, error) {
	if len(slugs) == 0 {
		return nil, nil
	}
	return s.find(ctx, bson.D{{Key: "slug", Value: in(slugs)}})
}

// List reads a page through the index of its shape (see openMongoStore):
// every filter names the status, "any status" as status $in every
// status, so that the sort fields follow equality fields in the index
// and no shape sorts in memory. A keyset position is a range on the sort
// key ($gte, so the index bounds start there) with the tie broken on
// _id, rather than an $or of two ranges, which the planner cannot walk
// in index order.
func (s *mongoStore) List(ctx context.Context, q Query) ([]contract.ProductSummary, int, error) {
	page, sort := listFind(q)
	cur, err := s.products.Find(ctx, page, options.Find().SetSort(sort).SetSkip(int64(q.Offset)).SetLimit(int64(q.Limit)).
		SetProjection(bson.D{{Key: "variants", Value: 0}, {Key: "description", Value: 0}, {Key: "attributes", Value: 0}, {Key: "category_tree", Value: 0}, {Key: outbox.Field, Value: 0}}))
	if err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	return s.summaries(ctx, q, cur)
}

// listFind is the filter (with the keyset position) and sort of q's page.
func listFind(q Query) (page, sort bson.D) {
	filter := listFilter(q)
	dir, after, from := 1, "$gt", "$gte"
	if q.Desc {
		dir, after, from = -1, "$lt", "$lte"
	}
	sort = bson.D{}
	var key string
	var value any
	switch q.Sort {
	case contract.SortName:
		key = "name_key"
		if q.After != nil {
			value = q.After.NameKey
		}
	case contract.SortPrice:
		key = "price_min"
		if q.After != nil {
			value = q.After.PriceMin
		}
	}
	if key != "" {
		sort = append(sort, bson.E{Key: key, Value: dir})
	}
	sort = append(sort, bson.E{Key: "_id", Value: dir})
	page = filter
	if a := q.After; a != nil {
		// After (key, id) in the sort order: a key from the position's
		// on, and of those with the same key only the greater ids (less,
		// descending).
		page = slices.Clone(filter)
		idAfter := bson.D{{Key: "_id", Value: bson.D{{Key: after, Value: a.ID}}}}
		if key == "" {
			page = append(page, idAfter...)
		} else {
			page = append(page, bson.E{Key: key, Value: bson.D{{Key: from, Value: value}}}, bson.E{Key: "$or", Value: bson.A{
				bson.D{{Key: key, Value: bson.D{{Key: after, Value: value}}}},
				idAfter,
			}})
		}
	}
	return page, sort
}

// summaries reads a page's documents from cur, with their stock, and q's
// total.
func (s *mongoStore) summaries(ctx context.Context, q Query, cur *mongo.Cursor) ([]contract.ProductSummary, int, error) {
	var docs []doc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	total, err := s.total(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	items := make([]contract.ProductSummary, len(docs))
	if len(docs) == 0 {
		return items, total, nil
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	cur, err = s.stock.Find(ctx, bson.D{{Key: "product_id", Value: in(ids)}}, options.Find().SetProjection(withoutOutbox))
	if err != nil {
		return nil, 0, fmt.Errorf("load stock: %w", err)
	}
	var stock []stockDoc
	if err := cur.All(ctx, &stock); err != nil {
		return nil, 0, fmt.Errorf("load stock: %w", err)
	}
	totals := map[string]int64{}
	for _, sd := range stock {
		totals[sd.ProductID] += sd.Stock
	}
	for i, d := range docs {
		items[i] = contract.ProductSummary{
			ID: d.ID, Name: d.Name, Slug: d.Slug, Status: contract.ProductStatus(d.Status), CategoryIDs: d.CategoryIDs,
			Currency: d.Currency, PriceMin: d.PriceMin, PriceMax: d.PriceMax, TotalStock: totals[d.ID],
			Version: d.Version, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
		}
		if len(d.Images) > 0 {
			im := contract.Image(d.Images[0])
			items[i].Image = &im
		}
	}
	return items, total, nil
}

// listFilter is the filter of q's list, without its keyset position.
func listFilter(q Query) bson.D {
	filter := bson.D{}
	switch {
	case q.CategoryID != "" && q.Direct:
		filter = append(filter, bson.E{Key: "category_ids", Value: q.CategoryID})
	case q.CategoryID != "":
		filter = append(filter, bson.E{Key: "category_tree", Value: q.CategoryID})
	}
	if q.Status != "" {
		return append(filter, bson.E{Key: "status", Value: string(q.Status)})
	}
	all := make(bson.A, len(statuses))
	for i, st := range statuses {
		all[i] = string(st)
	}
	return append(filter, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: all}}})
}

func (s *mongoStore) CountAttribute(ctx context.Context, key string) (int, error) {
	n, err := s.products.CountDocuments(ctx, bson.D{{Key: "attr_keys", Value: key}})
	if err != nil {
		return 0, fmt.Errorf("count attribute %q: %w", key, err)
	}
	return int(n), nil
}

func (s *mongoStore) SKUsTaken(ctx context.Context, skus []string, productID string) ([]string, error) {
	if len(skus) == 0 {
		return nil, nil
	}
	cur, err := s.skus.Find(ctx, bson.D{{Key: "_id", Value: in(skus)}, {Key: "product_id", Value: bson.D{{Key: "$ne", Value: productID}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find SKUs: %w", err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("find SKUs: %w", err)
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.ID
	}
	return out, nil
}

func (s *mongoStore) InCategory(ctx context.Context, categoryID string) (map[string][]string, error) {
	cur, err := s.products.Find(ctx, bson.D{{Key: "category_tree", Value: categoryID}},
		options.Find().SetProjection(bson.D{{Key: "category_ids", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("products in category %s: %w", categoryID, err)
	}
	var docs []struct {
		ID          string   `bson:"_id"`
		CategoryIDs []string `bson:"category_ids"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("products in category %s: %w", categoryID, err)
	}
	out := make(map[string][]string, len(docs))
	for _, d := range docs {
		out[d.ID] = d.CategoryIDs
	}
	return out, nil
}

// reindexChunk is how many products SetClosures re-indexes per write.
var reindexChunk = 1000

// SetClosures re-indexes in chunks of reindexChunk products, each one
// unordered bulk write (one transaction on a replica set, with its
// counters), so that a big category's move neither sends one huge
// command nor holds one huge transaction. Each product's write is
// conditional on the closure it had, so an Update that changed it
// meanwhile is not overwritten.
func (s *mongoStore) SetClosures(ctx context.Context, closures map[string][]string) error {
	ids := make([]string, 0, len(closures))
	for id := range closures {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for start := 0; start < len(ids); start += reindexChunk {
		chunk := ids[start:min(start+reindexChunk, len(ids))]
		if err := s.write(ctx, func(ctx context.Context) error { return s.reindex(ctx, chunk, closures) }); err != nil {
			return fmt.Errorf("re-index %d products (from %d of %d): %w", len(chunk), start, len(ids), err)
		}
	}
	return nil
}

// reindex writes the closures of ids and moves their counters.
func (s *mongoStore) reindex(ctx context.Context, ids []string, closures map[string][]string) error {
	cur, err := s.products.Find(ctx, bson.D{{Key: "_id", Value: in(ids)}},
		options.Find().SetProjection(bson.D{{Key: "status", Value: 1}, {Key: "category_ids", Value: 1}, {Key: "category_tree", Value: 1}}))
	if err != nil {
		return err
	}
	var old []doc
	if err := cur.All(ctx, &old); err != nil {
		return err
	}
	var models []mongo.WriteModel
	var was, now []*doc
	for i := range old {
		d := &old[i]
		next := *d
		next.CategoryTree = closures[d.ID]
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: d.ID}, {Key: "category_tree", Value: d.CategoryTree}}).
			SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "category_tree", Value: next.CategoryTree}}}}))
		was, now = append(was, d), append(now, &next)
	}
	if len(models) == 0 {
		return nil
	}
	res, err := s.products.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	if err != nil {
		return err
	}
	if int(res.MatchedCount) < len(models) {
		// Some changed meanwhile (without transactions): count only those
		// now at the closure written.
		was, now, err = s.reindexed(ctx, was, now)
		if err != nil {
			return err
		}
	}
	return s.recount(ctx, was, now)
}

// reindexed keeps the pairs whose product now has the closure written.
func (s *mongoStore) reindexed(ctx context.Context, was, now []*doc) ([]*doc, []*doc, error) {
	ids := make([]string, len(was))
	for i, d := range was {
		ids[i] = d.ID
	}
	cur, err := s.products.Find(ctx, bson.D{{Key: "_id", Value: in(ids)}}, options.Find().SetProjection(bson.D{{Key: "category_tree", Value: 1}}))
	if err != nil {
		return nil, nil, err
	}
	var docs []doc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, nil, err
	}
	tree := map[string][]string{}
	for _, d := range docs {
		tree[d.ID] = d.CategoryTree
	}
	var w, n []*doc
	for i := range was {
		if t, ok := tree[was[i].ID]; ok && slices.Equal(t, now[i].CategoryTree) && !slices.Equal(t, was[i].CategoryTree) {
			w, n = append(w, was[i]), append(n, now[i])
		}
	}
	return w, n, nil
}
