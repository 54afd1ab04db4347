package seo

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopengine/shop/internal/contract"
)

// JSON-LD (schema.org) objects of the storefront's pages, as Google reads
// them: Product with its Offer (merchant listings), BreadcrumbList,
// Article, and Organization and WebSite with a SearchAction on the home
// page. Each is built from what the owning module returns and goes out in
// the meta reply, one <script type="application/ld+json"> each.

const schemaOrg = "https://schema.org"

// Availability values (schema.org ItemAvailability, as full URLs).
const (
	inStock    = "https://schema.org/InStock"
	outOfStock = "https://schema.org/OutOfStock"
)

type ldProduct struct {
	Context     string   `json:"@context"`
	Type        string   `json:"@type"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Image       []string `json:"image,omitempty"`
	SKU         string   `json:"sku,omitempty"`
	URL         string   `json:"url"`
	Offers      any      `json:"offers"`
}

type ldOffer struct {
	Type          string `json:"@type"`
	Price         string `json:"price"`
	PriceCurrency string `json:"priceCurrency"`
	Availability  string `json:"availability"`
	URL           string `json:"url"`
}

// ldAggregateOffer is the offer of a product whose variants differ in price.
type ldAggregateOffer struct {
	Type          string `json:"@type"`
	LowPrice      string `json:"lowPrice"`
	HighPrice     string `json:"highPrice"`
	PriceCurrency string `json:"priceCurrency"`
	OfferCount    int    `json:"offerCount"`
	Availability  string `json:"availability"`
	URL           string `json:"url"`
}

// productLD is p's Product, its price from the variants' range in major
// units of its currency.
func productLD(p contract.Product, url string) ldProduct {
	ld := ldProduct{Context: schemaOrg, Type: "Product", Name: p.Name, Description: summary(p.Description, 5000), SKU: p.SKU, URL: url}
	for _, im := range p.Images {
		ld.Image = append(ld.Image, im.URL)
	}
	availability := outOfStock
	if p.TotalStock > 0 {
		availability = inStock
	}
	if p.PriceMin == p.PriceMax || len(p.Variants) < 2 {
		ld.Offers = ldOffer{Type: "Offer", Price: majorUnits(p.PriceMin, p.Currency), PriceCurrency: p.Currency, Availability: availability, URL: url}
	} else {
		ld.Offers = ldAggregateOffer{Type: "AggregateOffer", LowPrice: majorUnits(p.PriceMin, p.Currency), HighPrice: majorUnits(p.PriceMax, p.Currency),
			PriceCurrency: p.Currency, OfferCount: len(p.Variants), Availability: availability, URL: url}
	}
	return ld
}

// minorDigits is the ISO 4217 exponent of the currencies that do not have
// two decimals.
var minorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// majorUnits formats an amount of minor units in major units ("1234" EUR
// is "12.34"), with integer arithmetic: never through a float.
func majorUnits(minor int64, currency string) string {
	digits, ok := minorDigits[currency]
	if !ok {
		digits = 2
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	if digits == 0 {
		return fmt.Sprintf("%s%d", sign, minor)
	}
	scale := int64(1)
	for range digits {
		scale *= 10
	}
	return fmt.Sprintf("%s%d.%0*d", sign, minor/scale, digits, minor%scale)
}

type ldBreadcrumbs struct {
	Context string       `json:"@context"`
	Type    string       `json:"@type"`
	Items   []ldListItem `json:"itemListElement"`
}

type ldListItem struct {
	Type     string `json:"@type"`
	Position int    `json:"position"`
	Name     string `json:"name"`
	Item     string `json:"item,omitempty"`
}

// crumb is one step of a breadcrumb trail: a name and its absolute URL.
type crumb struct{ name, url string }

// breadcrumbsLD is the BreadcrumbList of a trail, root first, positions
// from 1.
func breadcrumbsLD(trail []crumb) ldBreadcrumbs {
	ld := ldBreadcrumbs{Context: schemaOrg, Type: "BreadcrumbList", Items: make([]ldListItem, len(trail))}
	for i, c := range trail {
		ld.Items[i] = ldListItem{Type: "ListItem", Position: i + 1, Name: c.name, Item: c.url}
	}
	return ld
}

type ldArticle struct {
	Context          string   `json:"@context"`
	Type             string   `json:"@type"`
	Headline         string   `json:"headline"`
	Description      string   `json:"description,omitempty"`
	Image            []string `json:"image,omitempty"`
	DatePublished    string   `json:"datePublished,omitempty"`
	DateModified     string   `json:"dateModified,omitempty"`
	MainEntityOfPage string   `json:"mainEntityOfPage"`
}

// maxHeadline is Google's advice for an Article headline.
const maxHeadline = 110

func articleLD(a articleInfo, url string) ldArticle {
	ld := ldArticle{Context: schemaOrg, Type: "Article", Headline: summary(a.Title, maxHeadline), Description: a.Excerpt, MainEntityOfPage: url}
	if a.CoverURL != "" {
		ld.Image = []string{a.CoverURL}
	}
	if a.PublishedAt != nil {
		ld.DatePublished = a.PublishedAt.UTC().Format(time.RFC3339)
	}
	if !a.UpdatedAt.IsZero() {
		ld.DateModified = a.UpdatedAt.UTC().Format(time.RFC3339)
	}
	return ld
}

type ldOrganization struct {
	Context string `json:"@context"`
	Type    string `json:"@type"`
	Name    string `json:"name"`
	URL     string `json:"url"`
	Logo    string `json:"logo,omitempty"`
}

type ldWebSite struct {
	Context         string         `json:"@context"`
	Type            string         `json:"@type"`
	Name            string         `json:"name"`
	URL             string         `json:"url"`
	PotentialAction ldSearchAction `json:"potentialAction"`
}

type ldSearchAction struct {
	Type       string       `json:"@type"`
	Target     ldEntryPoint `json:"target"`
	QueryInput string       `json:"query-input"`
}

type ldEntryPoint struct {
	Type        string `json:"@type"`
	URLTemplate string `json:"urlTemplate"`
}

// homeLD is the home page's Organization and WebSite, whose SearchAction
// is the storefront's /search?q=.
func homeLD(name, base, logo string) []any {
	return []any{
		ldOrganization{Context: schemaOrg, Type: "Organization", Name: name, URL: base + "/", Logo: logo},
		ldWebSite{Context: schemaOrg, Type: "WebSite", Name: name, URL: base + "/", PotentialAction: ldSearchAction{
			Type:       "SearchAction",
			Target:     ldEntryPoint{Type: "EntryPoint", URLTemplate: base + "/search?q={search_term_string}"},
			QueryInput: "required name=search_term_string",
		}},
	}
}

// encodeLD encodes JSON-LD objects for the meta reply.
func encodeLD(objs ...any) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(objs))
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("encode JSON-LD: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}
