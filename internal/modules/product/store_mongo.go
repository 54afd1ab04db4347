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

// The MongoDB store keeps to single-document atomic operations in the
// subset FerretDB honours (no transactions, no positional $, no
// $elemMatch, no arrayFilters):
//
//   - "products": one document per product with its variants embedded,
//     without their stock; content writes set it whole, conditionally on
//     its version, and push their events into its outbox in the same
//     update (outbox.Pending, outbox.Push).
//   - "stock": one document per variant, {_id: variant id, product_id,
//     stock, version, outbox}; adjust_stock is a compare-and-set on it
//     (filtered on its version) that also pushes the stock_changed event,
//     so the event carries the exact level and version it commits.
//   - "skus": one document per SKU in use, {_id: sku, product_id}: the
//     unique _id makes SKUs unique across products, whatever a server does
//     with unique indexes on array fields. SKUs are reserved before the
//     product document is written and released after; a failed write
//     releases what it reserved.
//
// Without transactions a product write is several single-document writes,
// ordered so that readers (who go through "products") never see a product
// without its SKUs and stock; a crash between them can leave a reserved
// SKU or a stock document without a product, which only keeps that SKU
// taken. The write that carries the events is the one that makes the
// change visible (the product document's insert or update, the stock
// document's update); a delete records its events with outbox.DeleteWith.
// The relay's source covers the events in both kinds of document and in
// the outbox collection; a product's content events are published in
// commit order, and so are a variant's stock events (consumers keep
// Version and StockVersion apart).
type mongoStore struct {
	db                    *mongo.Database
	products, stock, skus *mongo.Collection
	// stockLocks queues this process's adjustments of one variant, so
	// that they do not race each other's compare-and-set (50 concurrent
	// sales of one variant would otherwise retry some 50 times each); the
	// compare-and-set still guards against other processes.
	stockLocks keyedMutex
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
			idx("by_tree_price", "category_tree", "status", "price_min", "_id"),
			idx("by_tree_name", "category_tree", "status", "name_key", "_id"),
			idx("by_tree_created", "category_tree", "status", "_id"),
			idx("by_category", "category_ids", "status", "_id"),
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
	return &mongoStore{db: mdb, products: mdb.Collection("products"), stock: mdb.Collection("stock"), skus: mdb.Collection("skus")}, nil
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

// reserve claims skus for productID; on failure it releases what it
// claimed and answers errSKUTaken for a SKU in use.
func (s *mongoStore) reserve(ctx context.Context, productID string, skus []string) error {
	if len(skus) == 0 {
		return nil
	}
	docs := make([]any, len(skus))
	for i, sku := range skus {
		docs[i] = bson.D{{Key: "_id", Value: sku}, {Key: "product_id", Value: productID}}
	}
	_, err := s.skus.InsertMany(ctx, docs)
	if err == nil {
		return nil
	}
	if rerr := s.release(ctx, productID, skus); rerr != nil {
		return errors.Join(err, rerr)
	}
	if store.IsDuplicate(err) {
		return errSKUTaken
	}
	return fmt.Errorf("reserve SKUs: %w", err)
}

// release frees those of skus that productID holds.
func (s *mongoStore) release(ctx context.Context, productID string, skus []string) error {
	if len(skus) == 0 {
		return nil
	}
	_, err := s.skus.DeleteMany(ctx, bson.D{{Key: "_id", Value: in(skus)}, {Key: "product_id", Value: productID}})
	if err != nil {
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
		docs[i] = stockDoc{ID: v.ID, ProductID: productID, Stock: v.Stock}
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
// with its events, undoing the earlier steps when a later one fails.
func (s *mongoStore) insert(ctx context.Context, p contract.Product, closure []string, evs []outbox.Event) error {
	// The unique index enforces the slug; this check only makes a taken
	// slug answer as such even when the product's SKUs (derived from the
	// slug) are taken too.
	if _, taken, err := s.slugOwner(ctx, p.Slug); err != nil {
		return err
	} else if taken {
		return errSlugTaken
	}
	if err := s.reserve(ctx, p.ID, skus(p.Variants)); err != nil {
		return err
	}
	undo := func(err error) error {
		return errors.Join(err, s.dropStock(ctx, variantIDs(p.Variants)), s.release(ctx, p.ID, skus(p.Variants)))
	}
	if err := s.addStock(ctx, p.ID, p.Variants); err != nil {
		return undo(err)
	}
	d := toDoc(p, closure)
	d.Outbox = evs
	if _, err := s.products.InsertOne(ctx, d); err != nil {
		if store.IsDuplicate(err) {
			if uerr := undo(nil); uerr != nil {
				return uerr
			}
			return errSlugTaken
		}
		return undo(fmt.Errorf("insert product %s: %w", p.ID, err))
	}
	return nil
}

func (s *mongoStore) Insert(ctx context.Context, items []NewProduct) ([]Inserted, error) {
	return insertAll(ctx, items, s.slugOwner, s.insert)
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

func (s *mongoStore) List(ctx context.Context, q Query) ([]contract.ProductSummary, int, error) {
	filter := bson.D{}
	switch {
	case q.CategoryID != "" && q.Direct:
		filter = append(filter, bson.E{Key: "category_ids", Value: q.CategoryID})
	case q.CategoryID != "":
		filter = append(filter, bson.E{Key: "category_tree", Value: q.CategoryID})
	}
	if q.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: string(q.Status)})
	}
	dir, after := 1, "$gt"
	if q.Desc {
		dir, after = -1, "$lt"
	}
	sort := bson.D{}
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
	page := filter
	if a := q.After; a != nil {
		// After (key, id) in the sort order: a greater key, or the same key
		// and a greater id (less, descending).
		page = slices.Clone(filter)
		idAfter := bson.E{Key: "_id", Value: bson.D{{Key: after, Value: a.ID}}}
		if key == "" {
			page = append(page, idAfter)
		} else {
			page = append(page, bson.E{Key: "$or", Value: bson.A{
				bson.D{{Key: key, Value: bson.D{{Key: after, Value: value}}}},
				bson.D{{Key: key, Value: value}, idAfter},
			}})
		}
	}
	cur, err := s.products.Find(ctx, page, options.Find().SetSort(sort).SetSkip(int64(q.Offset)).SetLimit(int64(q.Limit)).
		SetProjection(bson.D{{Key: "variants", Value: 0}, {Key: "description", Value: 0}, {Key: "attributes", Value: 0}, {Key: "category_tree", Value: 0}, {Key: outbox.Field, Value: 0}}))
	if err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	var docs []doc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	total, err := s.products.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("count products: %w", err)
	}
	items := make([]contract.ProductSummary, len(docs))
	if len(docs) == 0 {
		return items, int(total), nil
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
	return items, int(total), nil
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

func (s *mongoStore) SetClosures(ctx context.Context, closures map[string][]string) error {
	if len(closures) == 0 {
		return nil
	}
	models := make([]mongo.WriteModel, 0, len(closures))
	for id, c := range closures {
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: id}}).
			SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "category_tree", Value: c}}}}))
	}
	if _, err := s.products.BulkWrite(ctx, models); err != nil {
		return fmt.Errorf("re-index %d products: %w", len(closures), err)
	}
	return nil
}
