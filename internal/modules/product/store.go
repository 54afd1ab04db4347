package product

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/validate"
)

// Store is the product module's narrow view of its database. Both
// implementations keep the same model:
//
//   - a product's content (everything but stock) changes only through
//     Update, conditional on its version;
//   - a variant's stock is its own counter, changed only by AdjustStock
//     with one conditional atomic write, so no content write overwrites a
//     concurrent sale and no sale is lost;
//   - SKUs are unique across the catalogue, slugs across products
//     (errSKUTaken, errSlugTaken, both store.ErrDuplicate);
//   - each product is indexed under its categories and all their
//     ancestors (the "closure", computed by the module from the category
//     tree), so a list of a category with its descendants is one range of
//     an index, not a merge of many;
//   - every write that announces something commits its events with it
//     (the transactional outbox, package outbox): the write takes a
//     builder (Events, StockEvents) and calls it with what it is about to
//     commit, inside its atomic unit (the SQLite transaction; on MongoDB
//     the single-document write that makes the change), so an event is
//     never lost between a commit and a publish, and never announces a
//     write that did not happen. A write that fails leaves no event. A
//     nil builder announces nothing. The module's relay publishes what
//     Outbox holds.
type Store interface {
	// Insert creates the products of items, each with its variants and
	// their stock and the events of item.Events, built for the slug
	// candidate actually written: on SQLite in one transaction. The
	// results follow the items; an item's Err is errSlugTaken or
	// errSKUTaken (after the retries Next allows). Any other error fails
	// the call: on SQLite it creates nothing (nil results); on MongoDB
	// without transactions the results come back with it, the products
	// created (their events committed in their documents) and, for the
	// rest, that error as their Err.
	Insert(ctx context.Context, items []NewProduct) ([]Inserted, error)
	Get(ctx context.Context, id string) (contract.Product, error)
	BySlug(ctx context.Context, slug string) (contract.Product, error)
	// GetMany and BySlugs return the products found, in no order.
	GetMany(ctx context.Context, ids []string) ([]contract.Product, error)
	// ProductsOfVariants maps those of variantIDs that exist to their
	// products' ids.
	ProductsOfVariants(ctx context.Context, variantIDs []string) (map[string]string, error)
	BySlugs(ctx context.Context, slugs []string) ([]contract.Product, error)
	// Update writes p if the stored product is at version p.Version-1
	// (else errVersion, or store.ErrNotFound): all its content and its
	// index entries under closure (nil: the closure it has); variants not
	// in p are deleted, new ones inserted with their Stock, kept ones keep
	// their stock. events gets p as written and the closure it is indexed
	// under; p's stock is the committed one on SQLite, as read just
	// before on MongoDB (stock is not part of a content write).
	Update(ctx context.Context, p contract.Product, closure []string, events Events) error
	// Delete deletes a product, if version > 0 only at that version (else
	// errVersion, or store.ErrNotFound). events gets the product as it
	// was last written (its version is the last write's) and its closure.
	Delete(ctx context.Context, id string, version int64, events Events) error
	// DeleteMany deletes the products that exist and returns their ids;
	// events is called for each, as by Delete.
	DeleteMany(ctx context.Context, ids []string, events Events) ([]string, error)
	// List returns one page of summaries (from q.Offset, or after q.After)
	// and the number of all matches.
	List(ctx context.Context, q Query) ([]contract.ProductSummary, int, error)
	// AdjustStock adds delta to a variant's stock in one atomic write if
	// the result stays within 0..MaxStock (else errStock, or
	// store.ErrNotFound; errContended when, on MongoDB, concurrent changes
	// of the same variant kept winning). events gets the variant's new
	// level (exact: the stock and stock version this write commits) and
	// its product with the closure: read in the same transaction on
	// SQLite, just before the write on MongoDB (advisory there: another
	// write may land in between).
	AdjustStock(ctx context.Context, variantID string, delta int64, events StockEvents) (contract.StockLevel, error)
	// CountAttribute counts the products carrying an attribute key (see
	// attributeKeys).
	CountAttribute(ctx context.Context, key string) (int, error)
	// SKUsTaken returns those of skus that products other than productID
	// use, to name them in a conflict.
	SKUsTaken(ctx context.Context, skus []string, productID string) ([]string, error)
	// InCategory returns the products indexed under categoryID (directly
	// or below it) with their category ids.
	InCategory(ctx context.Context, categoryID string) (map[string][]string, error)
	// SetClosures re-indexes products under new closures (after the
	// category tree changed), without touching their content or version:
	// it announces nothing (the category module's event that caused it
	// is the announcement; a read model derives the closures itself).
	SetClosures(ctx context.Context, closures map[string][]string) error
	// Sweep removes what a write that died between its steps left behind
	// before `before` (SKU reservations and stock of no product) and
	// returns how many: on MongoDB without transactions. SQLite writes in
	// transactions with foreign keys, so it has nothing to sweep.
	Sweep(ctx context.Context, before time.Time) (int, error)
	// Outbox is where the events the writes committed wait for the relay.
	Outbox() outbox.Source
}

// Events builds the events announcing a write of p, indexed under
// closure (its categories and their ancestors, sorted). The store calls it
// inside the write's atomic unit with what it commits; an error fails the
// write.
type Events func(p contract.Product, closure []string) ([]outbox.Event, error)

// StockEvents builds the events announcing a stock change: l is the
// variant's level after it, p (with l's stock) and closure its product.
type StockEvents func(p contract.Product, closure []string, l contract.StockLevel) ([]outbox.Event, error)

// NewProduct is one product for Insert.
type NewProduct struct {
	Product contract.Product
	Closure []string
	// SkipExisting answers Skipped, with the existing product's id, when
	// the slug is taken.
	SkipExisting bool
	// Next returns the product again with its n-th slug candidate (n ≥ 2),
	// when the slug (or, with RetrySKU, a SKU derived from it) is taken;
	// false when there is none (a slug given by the user, or too many
	// tries). Nil means no retries.
	Next     func(n int) (contract.Product, bool)
	RetrySKU bool
	// Events builds the product's events (nil: none), for the candidate
	// that is written.
	Events Events
}

// Inserted is the outcome of one NewProduct.
type Inserted struct {
	ID, Slug string
	Skipped  bool
	Err      error
	// Product is what was written (the slug candidate that was free).
	Product contract.Product
}

// Query selects a page of products.
type Query struct {
	CategoryID string // "" for all products
	Direct     bool   // only products directly in CategoryID
	Status     contract.ProductStatus
	Sort       string // contract.SortCreated, SortName or SortPrice
	Desc       bool
	Offset     int
	Limit      int
	// After, when set, starts the page just after this place in the sort
	// order (keyset paging: the page costs its size however deep it is),
	// and Offset is 0.
	After *Position
}

// Position is a product's place in a list's sort order: its sort key
// (NameKey when sorted by name, PriceMin by price; by creation the id is
// the key) and its id, which breaks ties as every sort does.
type Position struct {
	ID       string
	NameKey  string
	PriceMin int64
}

// positionOf is the place of a summary in a sort order.
func positionOf(p contract.ProductSummary) Position {
	return Position{ID: p.ID, NameKey: nameKey(p.Name), PriceMin: p.PriceMin}
}

var (
	errSlugTaken = fmt.Errorf("slug taken: %w", store.ErrDuplicate)
	errSKUTaken  = fmt.Errorf("sku taken: %w", store.ErrDuplicate)
	errVersion   = errors.New("version changed")
	errStock     = errors.New("stock out of bounds")
	errContended = errors.New("too many concurrent changes")
)

// statuses lists every status, for queries over all of them.
var statuses = []contract.ProductStatus{contract.ProductArchived, contract.ProductDraft, contract.ProductPublished}

// nameKey is the sort key of a name: case-insensitive without collations,
// which FerretDB lacks.
func nameKey(name string) string { return strings.ToLower(name) }

// attributeKeys returns the keys a product is counted under for
// count_products_using_attribute: "code" for every attribute, and
// "code=value" for every value code of a select (a string) or multiselect
// (strings) value.
func attributeKeys(values contract.AttributeValues) []string {
	var keys []string
	for code, v := range values {
		keys = append(keys, code)
		switch v := v.(type) {
		case string:
			if validate.Code("value", v) == nil {
				keys = append(keys, code+"="+v)
			}
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok && validate.Code("value", s) == nil {
					keys = append(keys, code+"="+s)
				}
			}
		case []string:
			for _, s := range v {
				if validate.Code("value", s) == nil {
					keys = append(keys, code+"="+s)
				}
			}
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// skus returns the variants' SKUs.
func skus(vs []contract.Variant) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.SKU
	}
	return out
}

// OpenStore returns the Store for db's backend, with its schema or indexes
// in place.
func OpenStore(ctx context.Context, db *store.DB) (Store, error) {
	return store.OpenModule[Store](ctx, db, contract.ProductQueue, openSQLStore, openMongoStore)
}

// insertAll is Insert's loop, the same on every backend: exists finds a
// product by slug (for SkipExisting), insert writes one product with its
// events or fails with errSlugTaken or errSKUTaken and leaves nothing
// behind. Each candidate gets events of its own: they carry its slug.
func insertAll(ctx context.Context, items []NewProduct,
	exists func(ctx context.Context, slug string) (string, bool, error),
	insert func(ctx context.Context, p contract.Product, closure []string, evs []outbox.Event) error,
) ([]Inserted, error) {
	out := make([]Inserted, len(items))
	for i, it := range items {
		p := it.Product
		if it.SkipExisting {
			id, ok, err := exists(ctx, p.Slug)
			if err != nil {
				return nil, err
			}
			if ok {
				out[i] = Inserted{ID: id, Slug: p.Slug, Skipped: true}
				continue
			}
		}
		for n := 2; ; n++ {
			evs, err := build(it.Events, p, indexedUnder(p.CategoryIDs, it.Closure))
			if err != nil {
				return nil, err
			}
			err = insert(ctx, p, it.Closure, evs)
			if err == nil {
				out[i] = Inserted{ID: p.ID, Slug: p.Slug, Product: p}
				break
			}
			if !errors.Is(err, store.ErrDuplicate) {
				return nil, err
			}
			retry := errors.Is(err, errSlugTaken) || it.RetrySKU && errors.Is(err, errSKUTaken)
			var ok bool
			if retry && it.Next != nil {
				p, ok = it.Next(n)
			}
			if !ok {
				out[i] = Inserted{ID: p.ID, Slug: p.Slug, Err: err}
				break
			}
		}
	}
	return out, nil
}

// build calls events (nil: none), naming the product in an error.
func build(events Events, p contract.Product, closure []string) ([]outbox.Event, error) {
	if events == nil {
		return nil, nil
	}
	evs, err := events(p, closure)
	if err != nil {
		return nil, fmt.Errorf("events of product %s: %w", p.ID, err)
	}
	return evs, nil
}

// indexedUnder is the closure a product is indexed under, as both stores
// keep it: its direct categories and the closure given, sorted, once each.
func indexedUnder(direct, closure []string) []string {
	all := slices.Concat(direct, closure)
	slices.Sort(all)
	return slices.Compact(all)
}
