package product

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/validate"
)

// Input checks every handler shares: the limits of a product and its
// parts, and the normal form products cross the bus in.

const (
	maxNameLen        = 200
	maxDescriptionLen = 20_000
	maxSKULen         = 150
	maxURLLen         = 2000
	maxAltLen         = 500
	maxOptionGroups   = 10
	maxPage           = 100_000
	// maxProductSize keeps a product (with up to
	// contract.MaxVariantCombinations variants) well within a bus message.
	maxProductSize = bus.MaxBodySize / 2
	// statusAttempts bounds the re-reads of a write without an expected
	// version that lost a race.
	statusAttempts = 5
)

var (
	skuRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

func invalid(format string, args ...any) error { return bus.Errorf(bus.CodeInvalid, format, args...) }

func checkStatus(field string, s contract.ProductStatus) error {
	switch s {
	case contract.ProductDraft, contract.ProductPublished, contract.ProductArchived:
		return nil
	}
	return invalid("%s %q: want draft, published or archived", field, s)
}

func checkSKU(field, sku string) error {
	if sku == "" {
		return invalid("%s: required", field)
	}
	if len(sku) > maxSKULen || !skuRE.MatchString(sku) {
		return invalid("%s %.40q: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most %d", field, sku, maxSKULen)
	}
	return nil
}

func checkCurrency(field, c string) error {
	if !currencyRE.MatchString(c) {
		return invalid("%s %q: want an ISO 4217 code of 3 upper-case letters (EUR)", field, c)
	}
	return nil
}

func checkPrice(field string, v int64) error {
	if v < 0 || v > contract.MaxPrice {
		return invalid("%s %d: want 0 to %d minor units", field, v, contract.MaxPrice)
	}
	return nil
}

func checkCompareAt(field string, v, price int64) error {
	if v == 0 {
		return nil
	}
	if err := checkPrice(field, v); err != nil {
		return err
	}
	if v < price {
		return invalid("%s %d: must not be below the price %d", field, v, price)
	}
	return nil
}

func checkCategoryIDs(ids []string) error {
	if len(ids) == 0 {
		return invalid("category_ids: at least one category is required")
	}
	if len(ids) > contract.MaxProductCategories {
		return invalid("category_ids: %d given, at most %d", len(ids), contract.MaxProductCategories)
	}
	for i, id := range ids {
		if err := validate.ID(fmt.Sprintf("category_ids[%d]", i), id); err != nil {
			return err
		}
		if j := slices.Index(ids[:i], id); j >= 0 {
			return invalid("category_ids[%d] %s: already given as category_ids[%d]", i, id, j)
		}
	}
	return nil
}

func checkOptions(sels []contract.VariantSelection) error {
	if len(sels) > maxOptionGroups {
		return invalid("options: %d groups given, at most %d", len(sels), maxOptionGroups)
	}
	for i, s := range sels {
		if err := validate.ID(fmt.Sprintf("options[%d].group_id", i), s.GroupID); err != nil {
			return err
		}
		for k, v := range s.ValueIDs {
			if err := validate.ID(fmt.Sprintf("options[%d].value_ids[%d]", i, k), v); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkImages(images []contract.Image) error {
	if len(images) > contract.MaxProductImages {
		return invalid("images: %d given, at most %d", len(images), contract.MaxProductImages)
	}
	for i, im := range images {
		if err := validate.WebURL(fmt.Sprintf("images[%d].url", i), im.URL, maxURLLen); err != nil {
			return err
		}
		if len(im.Alt) > 0 {
			if _, err := validate.Name(fmt.Sprintf("images[%d].alt", i), im.Alt, maxAltLen); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkStock(field string, v int64) error {
	if v < 0 || v > contract.MaxStock {
		return invalid("%s %d: want 0 to %d", field, v, contract.MaxStock)
	}
	return nil
}

// joinSKU is a generated variant's SKU: the base and the option suffix.
func joinSKU(base, suffix string) string {
	if suffix == "" {
		return base
	}
	return base + "-" + suffix
}

// skuOf is the base SKU generated from a slug.
func skuOf(slug string) string { return strings.ToUpper(slug) }

// priceRange sets the product's price range from its variants.
func priceRange(p *contract.Product) {
	p.PriceMin, p.PriceMax, p.TotalStock = 0, 0, 0
	for i, v := range p.Variants {
		if i == 0 || v.Price < p.PriceMin {
			p.PriceMin = v.Price
		}
		if v.Price > p.PriceMax {
			p.PriceMax = v.Price
		}
		p.TotalStock += v.Stock
	}
}

// checkVariants checks what every write must leave true of the variants.
func checkVariants(p contract.Product) error {
	if len(p.Variants) == 0 {
		return invalid("variants: a product needs at least one")
	}
	seen := make(map[string]int, len(p.Variants))
	for i, v := range p.Variants {
		if err := checkSKU(fmt.Sprintf("variants[%d].sku", i), v.SKU); err != nil {
			return err
		}
		if j, dup := seen[v.SKU]; dup {
			return invalid("variants[%d].sku %q: also the SKU of variants[%d]", i, v.SKU, j)
		}
		seen[v.SKU] = i
		if err := checkPrice(fmt.Sprintf("variants[%d].price", i), v.Price); err != nil {
			return err
		}
		if err := checkCompareAt(fmt.Sprintf("variants[%d].compare_at_price", i), v.CompareAtPrice, v.Price); err != nil {
			return err
		}
	}
	if b, err := json.Marshal(p); err != nil || len(b) > maxProductSize {
		return invalid("variants: the product would be %d bytes, over the limit of %d; use fewer options", len(b), maxProductSize)
	}
	return nil
}

// normal gives a product's empty lists and maps as [] and {} on the wire.
func normal(p contract.Product) contract.Product {
	if p.CategoryIDs == nil {
		p.CategoryIDs = []string{}
	}
	if p.Attributes == nil {
		p.Attributes = contract.AttributeValues{}
	}
	if p.Options == nil {
		p.Options = []contract.VariantSelection{}
	}
	if p.Images == nil {
		p.Images = []contract.Image{}
	}
	if p.Variants == nil {
		p.Variants = []contract.Variant{}
	}
	for i := range p.Variants {
		if p.Variants[i].Options == nil {
			p.Variants[i].Options = []contract.VariantOption{}
		}
	}
	return p
}
