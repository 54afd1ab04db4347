package contract

import (
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// ProductStatus is where a product is in its life: only published
// products are shown to shoppers.
type ProductStatus string

// Product statuses.
const (
	ProductDraft     ProductStatus = "draft"
	ProductPublished ProductStatus = "published"
	ProductArchived  ProductStatus = "archived"
)

// Limits of the product module, checked on every write.
const (
	// MaxProductCategories bounds a product's category ids.
	MaxProductCategories = 50
	// MaxProductImages bounds a product's images.
	MaxProductImages = 50
	// MaxPrice bounds every amount, in minor units (ten billion in a
	// currency with cents), far from int64 overflow in sums.
	MaxPrice = 1_000_000_000_000
	// MaxStock bounds a variant's stock.
	MaxStock = 1_000_000_000
	// MaxBatch bounds create_many, delete_many, get_many and
	// get_many_by_slugs.
	MaxBatch = 100
	// MaxPageSize bounds a list page; DefaultPageSize is used when none is
	// given.
	MaxPageSize     = 100
	DefaultPageSize = 20
)

// Product is a sellable item with its variants. Money is in integer minor
// units of Currency (one currency per product, ISO 4217: "EUR"), never
// floats. Every product has at least one variant: the one "default"
// variant of a product without options, or one per option combination.
type Product struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Slug        string          `json:"slug"`
	Description string          `json:"description"`
	Status      ProductStatus   `json:"status"`
	CategoryIDs []string        `json:"category_ids"`
	Attributes  AttributeValues `json:"attributes"` // normalised by the attribute module
	// Options are the option groups (and, optionally, the subset of their
	// values) the variants are generated from; a change takes effect at
	// the next regenerate_variants.
	Options []VariantSelection `json:"options"`
	// SKU is the base SKU; generated variants get SKU-<suffix>.
	SKU      string    `json:"sku"`
	Currency string    `json:"currency"`
	Price    int64     `json:"price"` // base price: of new variants
	Variants []Variant `json:"variants"`
	Images   []Image   `json:"images"`
	// PriceMin and PriceMax are the range of the variants' prices.
	PriceMin   int64 `json:"price_min"`
	PriceMax   int64 `json:"price_max"`
	TotalStock int64 `json:"total_stock"`
	// Version counts the writes of the product's content (not of its
	// stock, which sales change concurrently with edits): update requires
	// the version the caller read, and fails conflict when it moved;
	// set_status, regenerate_variants and delete take it optionally (0:
	// whatever the product is at). HTTP carries it as the ETag.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ETagVersion implements Versioned.
func (p Product) ETagVersion() int64 { return p.Version }

// Variant is one purchasable form of a product: one value per option group.
type Variant struct {
	ID  string `json:"id"`
	SKU string `json:"sku"` // unique across the catalogue
	// SKUSuffix is the option module's suffix of the combination ("" for a
	// product without options): regenerating keeps the variants whose
	// suffix survives.
	SKUSuffix      string          `json:"sku_suffix"`
	Options        []VariantOption `json:"options"`
	Price          int64           `json:"price"`
	CompareAtPrice int64           `json:"compare_at_price,omitempty"` // 0: none; else ≥ Price
	Stock          int64           `json:"stock"`                      // ≥ 0; changed by adjust_stock
}

// Image is a product picture.
type Image struct {
	URL string `json:"url"` // absolute http or https
	Alt string `json:"alt"`
}

// VariantInput describes a variant to create with its product.
type VariantInput struct {
	// OptionValueIDs picks the combination: one value id per option group
	// of the product (none for a product without options).
	OptionValueIDs []string `json:"option_value_ids,omitempty"`
	SKU            string   `json:"sku,omitempty"`   // default: the product's SKU-<suffix>
	Price          *int64   `json:"price,omitempty"` // default: the product's price
	CompareAtPrice int64    `json:"compare_at_price,omitempty"`
	Stock          int64    `json:"stock,omitempty"`
}

// CreateProductRequest creates a product. Slug is generated from Name when
// empty (with a numeric suffix when taken), SKU from the slug. Without
// Variants the product gets every combination of Options (or one default
// variant without options) at Price with stock 0; with Variants exactly
// those. Status defaults to draft.
type CreateProductRequest struct {
	Name        string             `json:"name"`
	Slug        string             `json:"slug,omitempty"`
	Description string             `json:"description,omitempty"`
	Status      ProductStatus      `json:"status,omitempty"`
	CategoryIDs []string           `json:"category_ids"`
	Attributes  AttributeValues    `json:"attributes,omitempty"`
	Options     []VariantSelection `json:"options,omitempty"`
	SKU         string             `json:"sku,omitempty"`
	Currency    string             `json:"currency"`
	Price       int64              `json:"price"`
	Variants    []VariantInput     `json:"variants,omitempty"`
	Images      []Image            `json:"images,omitempty"`
}

// VariantPatch changes the set fields of an existing variant. Stock is not
// here: it changes only through adjust_stock, so that no edit overwrites a
// concurrent sale.
type VariantPatch struct {
	ID             string  `json:"id"`
	SKU            *string `json:"sku,omitempty"`
	Price          *int64  `json:"price,omitempty"`
	CompareAtPrice *int64  `json:"compare_at_price,omitempty"` // 0 removes it
}

// UpdateProductRequest changes the fields that are set, if the product is
// still at Version (required: else conflict). Status has its own endpoint;
// the set of variants changes with regenerate_variants. Over HTTP it is
// the PATCH body as it is, with the id from the path.
type UpdateProductRequest struct {
	ID          string              `json:"id"`
	Version     int64               `json:"version"`
	Name        *string             `json:"name,omitempty"`
	Slug        *string             `json:"slug,omitempty"`
	Description *string             `json:"description,omitempty"`
	CategoryIDs *[]string           `json:"category_ids,omitempty"`
	Attributes  *AttributeValues    `json:"attributes,omitempty"`
	Options     *[]VariantSelection `json:"options,omitempty"`
	SKU         *string             `json:"sku,omitempty"` // base SKU; existing variants keep theirs
	Currency    *string             `json:"currency,omitempty"`
	Price       *int64              `json:"price,omitempty"` // base price; existing variants keep theirs
	Images      *[]Image            `json:"images,omitempty"`
	Variants    []VariantPatch      `json:"variants,omitempty"`
}

// SetProductStatusRequest moves a product to Status; with Version > 0
// only if the product is still at that version. Without one it applies
// to whatever version is there (re-reading after a concurrent write):
// publishing or archiving means the same whatever was edited meanwhile.
type SetProductStatusRequest struct {
	ID      string        `json:"id"`
	Status  ProductStatus `json:"status"`
	Version int64         `json:"version,omitempty"`
}

// DeleteProductRequest deletes a product; with Version > 0 only if it is
// still at that version (the admin UI sends the version it shows; a
// script cleaning up need not).
type DeleteProductRequest struct {
	ID      string `json:"id"`
	Version int64  `json:"version,omitempty"`
}

// DeleteProductsReply lists the ids deleted (ids that did not exist are
// not listed).
type DeleteProductsReply struct {
	Deleted []string `json:"deleted"`
}

// RegenerateVariantsRequest rebuilds the variants from the product's
// options (over the bus, with the option module): combinations whose SKU
// suffix survives keep their id, SKU, price and stock; new ones get the
// base price and stock 0; the others are deleted. With Version > 0 only if
// the product is still at that version.
type RegenerateVariantsRequest struct {
	ID      string `json:"id"`
	Version int64  `json:"version,omitempty"`
}

// ProductID addresses one product; PublishedOnly answers not_found for a
// product that is not published (what shoppers may see).
type ProductID struct {
	ID            string `json:"id"`
	PublishedOnly bool   `json:"published_only,omitempty"`
}

// ProductSlug addresses one product by slug.
type ProductSlug struct {
	Slug          string `json:"slug"`
	PublishedOnly bool   `json:"published_only,omitempty"`
}

// ProductIDs addresses up to MaxBatch products.
type ProductIDs struct {
	IDs           []string `json:"ids"`
	PublishedOnly bool     `json:"published_only,omitempty"`
}

// ProductSlugs addresses up to MaxBatch products by slug.
type ProductSlugs struct {
	Slugs         []string `json:"slugs"`
	PublishedOnly bool     `json:"published_only,omitempty"`
}

// ProductList is the products found, in the order asked; Missing lists the
// ids or slugs that were not (or not visible).
type ProductList struct {
	Items   []Product `json:"items"`
	Missing []string  `json:"missing"`
}

// Product list sort keys and orders.
const (
	SortCreated = "created"
	SortName    = "name"
	SortPrice   = "price" // by the lowest variant price
	OrderAsc    = "asc"
	OrderDesc   = "desc"
)

// ListProductsRequest asks for one page of products. CategoryID filters
// to the products in that category (with IncludeDescendants: in it or any
// category below it); Status "" means any status. Sort defaults to
// created, Order to desc for created and asc otherwise; PageSize
// (1..MaxPageSize) to DefaultPageSize.
//
// Every sort has a keyset (its key, then the id), so the reply's
// NextCursor continues after the page it ends: pass it as Cursor, with the
// same filter, sort and order, and the next page costs its size however
// deep it is. Page (from 1, default 1) is an offset kept for page-numbered
// navigation (a storefront's "page 3 of 12"): it costs the rows it skips,
// so it is bounded, and it cannot be combined with a cursor.
type ListProductsRequest struct {
	CategoryID         string        `json:"category_id,omitempty"`
	IncludeDescendants bool          `json:"include_descendants,omitempty"`
	Status             ProductStatus `json:"status,omitempty"`
	Sort               string        `json:"sort,omitempty"`
	Order              string        `json:"order,omitempty"`
	Cursor             string        `json:"cursor,omitempty"`
	Page               int           `json:"page,omitempty"`
	PageSize           int           `json:"page_size,omitempty"`
}

// ProductSummary is a product as lists show it.
type ProductSummary struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	Slug        string        `json:"slug"`
	Status      ProductStatus `json:"status"`
	CategoryIDs []string      `json:"category_ids"`
	Currency    string        `json:"currency"`
	PriceMin    int64         `json:"price_min"`
	PriceMax    int64         `json:"price_max"`
	TotalStock  int64         `json:"total_stock"`
	Image       *Image        `json:"image,omitempty"` // the first image
	Version     int64         `json:"version"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// VariantIDs addresses up to MaxBatch variants by id, whatever products
// they belong to; PublishedOnly as in ProductIDs.
type VariantIDs struct {
	IDs           []string `json:"ids"`
	PublishedOnly bool     `json:"published_only,omitempty"`
}

// VariantInfo is one variant with what a cart line shows of its product:
// the price and stock right now, and the product's status, so that a
// caller holding a variant id (the cart) needs one call, not a lookup of
// the product first.
type VariantInfo struct {
	VariantID   string          `json:"variant_id"`
	ProductID   string          `json:"product_id"`
	ProductName string          `json:"product_name"`
	Slug        string          `json:"slug"`
	Status      ProductStatus   `json:"status"`
	SKU         string          `json:"sku"`
	Options     []VariantOption `json:"options"`
	Image       *Image          `json:"image,omitempty"` // the product's first
	Currency    string          `json:"currency"`
	Price       int64           `json:"price"`
	Stock       int64           `json:"stock"`
}

// VariantList is the variants found, in the order asked; Missing lists the
// ids that were not (no such variant, or its product is not visible).
type VariantList struct {
	Items   []VariantInfo `json:"items"`
	Missing []string      `json:"missing"`
}

// AdjustStockRequest adds Delta (negative: takes) to a variant's stock,
// atomically; a result below 0 (or above MaxStock) is a conflict and
// changes nothing.
type AdjustStockRequest struct {
	VariantID string `json:"variant_id"`
	Delta     int64  `json:"delta"`
}

// StockLevel is a variant's stock after a change.
type StockLevel struct {
	VariantID string `json:"variant_id"`
	ProductID string `json:"product_id"`
	SKU       string `json:"sku"`
	Stock     int64  `json:"stock"`
	// StockVersion counts the variant's stock changes (see VariantStock).
	StockVersion int64 `json:"stock_version"`
}

// CreateProductsRequest creates up to MaxBatch products (the seeder's
// call). SkipExisting treats an item whose slug (given, or generated from
// its name) exists as skipped instead of an error, so seeding twice
// creates nothing new.
type CreateProductsRequest struct {
	Items        []CreateProductRequest `json:"items"`
	SkipExisting bool                   `json:"skip_existing,omitempty"`
}

// Results of one create_many item.
const (
	ItemCreated = "created"
	ItemSkipped = "skipped"
	ItemFailed  = "failed"
)

// CreateProductResult is the outcome of one item: created (ID of the new
// product), skipped (ID of the existing one) or failed (Code and Message,
// as a bus error of a single create would have).
type CreateProductResult struct {
	Result  string   `json:"result"`
	ID      string   `json:"id,omitempty"`
	Slug    string   `json:"slug,omitempty"`
	Code    bus.Code `json:"code,omitempty"`
	Message string   `json:"message,omitempty"`
}

// CreateProductsReply has one result per item, in order, and the counts.
type CreateProductsReply struct {
	Results []CreateProductResult `json:"results"`
	Created int                   `json:"created"`
	Skipped int                   `json:"skipped"`
	Failed  int                   `json:"failed"`
}

// AttributeUsageRequest asks how many products use an attribute, or, with
// Value, one allowed value of a select/multiselect attribute.
type AttributeUsageRequest struct {
	Code  string `json:"code"`
	Value string `json:"value,omitempty"`
}

// AttributeUsage is the answer: how many products (any status) use it.
type AttributeUsage struct {
	Count int `json:"count"`
}

// ProductsUsingAttribute is how the attribute module refuses changes that
// would orphan product data (a type change, an allowed value removed).
var ProductsUsingAttribute = bus.Endpoint[AttributeUsageRequest, AttributeUsage]{Queue: ProductQueue, Op: "count_products_using_attribute"}

// Product endpoints. Ops are verb_noun on the product queue (the noun
// "product" is the queue's): create, get_by_slug, get_many_by_slugs…
// Writes to one product take its expected version (see Product.Version);
// adjust_stock takes none, being one atomic conditional change of a
// counter, and the batch writes (create_many, delete_many: the seeder's
// and clean-up scripts') none either.
var (
	CreateProduct      = bus.Endpoint[CreateProductRequest, Product]{Queue: ProductQueue, Op: "create"}
	UpdateProduct      = bus.Endpoint[UpdateProductRequest, Product]{Queue: ProductQueue, Op: "update"}
	SetProductStatus   = bus.Endpoint[SetProductStatusRequest, Product]{Queue: ProductQueue, Op: "set_status"}
	DeleteProduct      = bus.Endpoint[DeleteProductRequest, DeleteProductsReply]{Queue: ProductQueue, Op: "delete"}
	GetProduct         = bus.Endpoint[ProductID, Product]{Queue: ProductQueue, Op: "get"}
	GetProductBySlug   = bus.Endpoint[ProductSlug, Product]{Queue: ProductQueue, Op: "get_by_slug"}
	GetProducts        = bus.Endpoint[ProductIDs, ProductList]{Queue: ProductQueue, Op: "get_many"}
	GetProductsBySlugs = bus.Endpoint[ProductSlugs, ProductList]{Queue: ProductQueue, Op: "get_many_by_slugs"}
	// GetVariants is the cart's check of every add and every read: does
	// each variant exist, is its product published, its price and stock.
	GetVariants        = bus.Endpoint[VariantIDs, VariantList]{Queue: ProductQueue, Op: "get_variants"}
	ListProducts       = bus.Endpoint[ListProductsRequest, Page[ProductSummary]]{Queue: ProductQueue, Op: "list"}
	RegenerateVariants = bus.Endpoint[RegenerateVariantsRequest, Product]{Queue: ProductQueue, Op: "regenerate_variants"}
	AdjustStock        = bus.Endpoint[AdjustStockRequest, StockLevel]{Queue: ProductQueue, Op: "adjust_stock"}
	CreateProducts     = bus.Endpoint[CreateProductsRequest, CreateProductsReply]{Queue: ProductQueue, Op: "create_many"}
	DeleteProducts     = bus.Endpoint[ProductIDs, DeleteProductsReply]{Queue: ProductQueue, Op: "delete_many"}
)

// VariantStock is one variant's stock in a stock_changed event.
// StockVersion counts the variant's stock changes (the product's Version
// counts content writes only, which a sale is not): a consumer keeps, per
// variant, the stock of the highest StockVersion it has seen and ignores
// an event at or below it (redelivered, or overtaken). Stock and
// StockVersion are exactly what the adjustment committed, on every
// backend: they are the authoritative part of a stock_changed event.
type VariantStock struct {
	VariantID    string `json:"variant_id"`
	SKU          string `json:"sku"`
	Stock        int64  `json:"stock"`
	Delta        int64  `json:"delta"`
	StockVersion int64  `json:"stock_version"`
}

// ProductEvent is the payload of every product event (the one event type
// of the product.* topics): what a read model of the catalogue (the filter
// module's faceted search) needs without asking back. ID and Version are
// the entity's: a consumer ignores a created, updated, status_changed or
// deleted event whose Version is not newer than the one it holds. A
// deleted event carries the version the delete made (one past the last
// write), so it is newer than every event before it; a stock_changed event
// carries the content version unchanged, and the variant's StockVersion.
// The rest of a stock_changed event (name, categories, TotalStock, the
// content Version) is a snapshot of the product for convenience: exact on
// SQLite (read in the adjustment's transaction), but on MongoDB read just
// before the adjustment and so advisory (a content write or another
// variant's sale may land in between); a consumer takes content from
// created/updated/status_changed events by Version, and stock from
// Variants by StockVersion (TotalStock in any event is, on MongoDB, the
// stock read around the write: stock is not part of a content write).
// Events are published at least once, after
// their write committed (transactional outbox): each has one event id on
// every delivery, and a product's content events are published in commit
// order, as are each variant's stock events (a redelivery may still
// repeat an older one: hence the versions).
// The event's own id travels in the bus envelope (bus.Event.ID), not here.
// AllCategoryIDs is the product's categories with all their ancestors
// (from the category tree at the time of the write). Variants is set on
// stock_changed only: the variant whose stock changed.
//
// Description, Image (the first), Options (the distinct option values of
// the variants, in variant order), Stock and CreatedAt are what a search
// index lists and facets on. Stock is every variant's stock as the write
// read it, with StockVersion 0: a snapshot, which a consumer uses for a
// variant until it has a stock_changed event of it.
type ProductEvent struct {
	ID             string          `json:"id"`
	Slug           string          `json:"slug"`
	Name           string          `json:"name"`
	Description    string          `json:"description,omitempty"`
	Image          *Image          `json:"image,omitempty"`
	Options        []VariantOption `json:"options,omitempty"`
	Stock          []VariantStock  `json:"stock,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	Status         ProductStatus   `json:"status"`
	PreviousStatus ProductStatus   `json:"previous_status,omitempty"` // status_changed only
	CategoryIDs    []string        `json:"category_ids"`
	AllCategoryIDs []string        `json:"all_category_ids"`
	Attributes     AttributeValues `json:"attributes"`
	Currency       string          `json:"currency"`
	PriceMin       int64           `json:"price_min"`
	PriceMax       int64           `json:"price_max"`
	TotalStock     int64           `json:"total_stock"`
	Variants       []VariantStock  `json:"variants,omitempty"`
	Version        int64           `json:"version"`
}

// Product events.
var (
	ProductCreated       = bus.EventType[ProductEvent]{Topic: "product.created"}
	ProductUpdated       = bus.EventType[ProductEvent]{Topic: "product.updated"}
	ProductDeleted       = bus.EventType[ProductEvent]{Topic: "product.deleted"}
	ProductStatusChanged = bus.EventType[ProductEvent]{Topic: "product.status_changed"}
	ProductStockChanged  = bus.EventType[ProductEvent]{Topic: "product.stock_changed"}
)
