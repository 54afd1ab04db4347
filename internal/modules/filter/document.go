package filter

import (
	"strings"
	"time"

	"github.com/shopengine/shop/internal/contract"
)

// The read model is one feed (package feed) in filter's own store: one
// entry per published product, per variant whose stock changed, per
// category, attribute group, attribute definition and option group. The
// key's prefix says which; the entry's version is the source entity's, so
// the feed refuses an event older than what it holds. The consumer group
// writes it (consumer.go), every instance tails it into its Index.
const (
	keyProduct   = "product:"
	keyStock     = "stock:" // + variant id
	keyCategory  = "category:"
	keyAttribute = "attribute:"
	keyAttrGroup = "attribute_group:"
	keyOption    = "option:"
)

// splitKey returns a feed key's prefix and id.
func splitKey(key string) (prefix, id string) {
	i := strings.IndexByte(key, ':')
	if i < 0 {
		return "", key
	}
	return key[:i+1], key[i+1:]
}

// productDoc is a published product as filter stores it: what it lists
// and what it indexes.
type productDoc struct {
	Name        string                   `json:"name"`
	Slug        string                   `json:"slug"`
	Description string                   `json:"description,omitempty"`
	Currency    string                   `json:"currency"`
	PriceMin    int64                    `json:"price_min"`
	PriceMax    int64                    `json:"price_max"`
	Image       *contract.Image          `json:"image,omitempty"`
	CategoryIDs []string                 `json:"category_ids"`
	Attributes  contract.AttributeValues `json:"attributes,omitempty"`
	Options     []optionRef              `json:"options,omitempty"`
	Stock       []variantLevel           `json:"stock,omitempty"`
	CreatedAt   time.Time                `json:"created_at"`
}

// optionRef is one option value present in a product's variants.
type optionRef struct {
	Group string `json:"group"` // option group code
	Value string `json:"value"` // value code
}

// variantLevel is one variant's stock.
type variantLevel struct {
	ID    string `json:"id"`
	Stock int64  `json:"stock"`
}

// stockDoc is a variant's stock from its latest stock_changed event
// (versioned by the variant's stock version), which overrides the
// snapshot in its product's document.
type stockDoc struct {
	ProductID string `json:"product_id"`
	Stock     int64  `json:"stock"`
}

// categoryDoc is a category's place in the tree.
type categoryDoc struct {
	Name     string `json:"name"`
	Slug     string `json:"slug"`
	ParentID string `json:"parent_id,omitempty"`
	Position int    `json:"position"`
}

// productDocOf is the document of a product event.
func productDocOf(ev contract.ProductEvent) productDoc {
	d := productDoc{
		Name: ev.Name, Slug: ev.Slug, Description: ev.Description, Currency: ev.Currency,
		PriceMin: ev.PriceMin, PriceMax: ev.PriceMax, Image: ev.Image, CategoryIDs: ev.CategoryIDs,
		Attributes: ev.Attributes, CreatedAt: ev.CreatedAt,
	}
	for _, o := range ev.Options {
		d.Options = append(d.Options, optionRef{Group: o.GroupCode, Value: o.ValueCode})
	}
	for _, v := range ev.Stock {
		d.Stock = append(d.Stock, variantLevel{ID: v.VariantID, Stock: v.Stock})
	}
	if len(ev.Stock) == 0 && ev.TotalStock > 0 {
		// An event without per-variant levels still says whether
		// anything is in stock.
		d.Stock = []variantLevel{{Stock: ev.TotalStock}}
	}
	return d
}
