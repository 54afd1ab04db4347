package seeder

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/slugs"
)

// The sample catalogue. Everything below is derived from the --seed and
// the product count alone, so two runs with the same flags plan the same
// data, down to slugs, codes and SKUs: that is what makes seeding
// idempotent (existing slugs and codes are skipped) and --reset exact.

// categoryPlan is one category to create; Slug is explicit so that a
// second run finds it.
type categoryPlan struct {
	Name, Slug, ParentSlug string
	Children               []categoryPlan
}

var departments = []struct {
	name  string
	subs  []string
	nouns []string
}{
	{"Clothing", []string{"Tops", "Trousers", "Outerwear", "Knitwear"}, []string{"Shirt", "Tee", "Jacket", "Sweater", "Chinos", "Hoodie"}},
	{"Footwear", []string{"Sneakers", "Boots", "Sandals", "Slippers"}, []string{"Sneaker", "Boot", "Sandal", "Loafer", "Runner"}},
	{"Outdoor", []string{"Camping", "Climbing", "Hiking", "Water Sports"}, []string{"Tent", "Backpack", "Harness", "Lantern", "Paddle"}},
	{"Home", []string{"Kitchen", "Bedroom", "Bathroom", "Living Room"}, []string{"Mug", "Pillow", "Towel", "Lamp", "Throw"}},
	{"Electronics", []string{"Audio", "Cameras", "Phones", "Wearables"}, []string{"Headphones", "Speaker", "Camera", "Charger", "Watch"}},
	{"Sports", []string{"Running", "Cycling", "Fitness", "Team Sports"}, []string{"Ball", "Bottle", "Glove", "Mat", "Helmet"}},
}

var leafKinds = []string{"Essentials", "Premium", "Classics", "Outlet"}

// categories plans 6 departments × 4 sub-categories × 4 leaves (3 levels).
func categories() []categoryPlan {
	var out []categoryPlan
	for _, d := range departments {
		root := categoryPlan{Name: d.name, Slug: slugs.Make(d.name, "department")}
		for _, s := range d.subs {
			sub := categoryPlan{Name: s, Slug: root.Slug + "-" + slugs.Make(s, "sub"), ParentSlug: root.Slug}
			for _, k := range leafKinds {
				sub.Children = append(sub.Children, categoryPlan{Name: s + " " + k, Slug: sub.Slug + "-" + slugs.Make(k, "leaf"), ParentSlug: sub.Slug})
			}
			root.Children = append(root.Children, sub)
		}
		out = append(out, root)
	}
	return out
}

// attributeGroupPlan is an attribute group with its definitions.
type attributeGroupPlan struct {
	Name, Slug  string
	Definitions []contract.CreateAttributeDefinitionRequest
}

var (
	brands    = []string{"Northwind", "Alpenglow", "Brightline", "Cobalt", "Driftwood", "Emberly", "Fjell", "Granite & Co", "Harbor", "Ironbark"}
	colours   = []string{"Black", "White", "Red", "Blue", "Green", "Grey", "Yellow", "Brown"}
	materials = []string{"Cotton", "Wool", "Leather", "Polyester", "Nylon", "Steel", "Aluminium", "Bamboo"}
	careTexts = []string{"Machine wash at 30°C.", "Wipe clean with a damp cloth.", "Hand wash only.", "Do not tumble dry."}
	adjective = []string{"Classic", "Urban", "Trail", "Everyday", "Pro", "Lightweight", "Heritage", "Compact", "Deluxe", "Essential"}
)

func allowed(labels []string) []contract.AllowedValue {
	out := make([]contract.AllowedValue, len(labels))
	for i, l := range labels {
		out[i] = contract.AllowedValue{Code: strings.ReplaceAll(slugs.Make(l, "v"), "-", "_"), Label: l}
	}
	return out
}

// The allowed values of the select attributes, made once: productPlan
// draws from them for every product, and slugging them each time was 4%
// of a 100,000-product seed's CPU.
var (
	brandValues    = allowed(brands)
	colourValues   = allowed(colours)
	materialValues = allowed(materials)
)

func attributeGroups() []attributeGroupPlan {
	return []attributeGroupPlan{
		{Name: "General", Slug: "general", Definitions: []contract.CreateAttributeDefinitionRequest{
			{Code: "brand", Name: "Brand", Type: contract.AttributeSelect, Values: brandValues, Filterable: true, Required: true},
			{Code: "colour", Name: "Colour family", Type: contract.AttributeMultiselect, Values: colourValues, Filterable: true},
			{Code: "care_instructions", Name: "Care instructions", Type: contract.AttributeText},
		}},
		{Name: "Technical", Slug: "technical", Definitions: []contract.CreateAttributeDefinitionRequest{
			{Code: "weight", Name: "Weight", Type: contract.AttributeNumber, Unit: "kg", Filterable: true},
			{Code: "material", Name: "Material", Type: contract.AttributeSelect, Values: materialValues, Filterable: true},
			{Code: "waterproof", Name: "Waterproof", Type: contract.AttributeBoolean, Filterable: true},
		}},
	}
}

func optionGroups() []contract.CreateOptionGroupRequest {
	return []contract.CreateOptionGroupRequest{
		{Code: "size", Name: "Size", Values: []contract.NewOptionValue{{Code: "xs", Label: "XS"}, {Code: "s", Label: "S"}, {Code: "m", Label: "M"}, {Code: "l", Label: "L"}, {Code: "xl", Label: "XL"}}},
		{Code: "color", Name: "Colour", Values: []contract.NewOptionValue{{Code: "black", Label: "Black"}, {Code: "white", Label: "White"}, {Code: "red", Label: "Red"}, {Code: "blue", Label: "Blue"}, {Code: "green", Label: "Green"}}},
	}
}

// catalogue is what products refer to, as created (or found) on the bus.
type catalogue struct {
	leaves  []string                        // leaf category ids, as leafDepartments
	options map[string]contract.OptionGroup // by code
	users   []contract.User                 // the sample users, as sampleUsers
}

// leafDepartments is the department of every leaf category, in the order
// seedCategories creates (and records) them.
var leafDepartments = func() []int {
	var out []int
	for d, root := range categories() {
		for _, sub := range root.Children {
			for range sub.Children {
				out = append(out, d)
			}
		}
	}
	return out
}()

func rng(seed uint64, i int) *rand.Rand { return rand.New(rand.NewPCG(seed, uint64(i))) }

// nameAndLeaf draws product i's leaf category (an index into
// leafDepartments) and name: the first draws of its generator, so that
// productSlug needs nothing from the bus.
func nameAndLeaf(r *rand.Rand) (int, string) {
	leafIdx := r.IntN(len(leafDepartments))
	dep := departments[leafDepartments[leafIdx]]
	return leafIdx, fmt.Sprintf("%s %s %s", adjective[r.IntN(len(adjective))], materials[r.IntN(len(materials))], dep.nouns[r.IntN(len(dep.nouns))])
}

// productSlug is product i's slug; the index keeps equal names apart.
func productSlug(seed uint64, i int) string {
	_, name := nameAndLeaf(rng(seed, i))
	return fmt.Sprintf("%s-%d", slugs.Make(name, "product"), i+1)
}

// productPlan returns product i of the run: name, slug, category, attribute
// values, options with per-variant prices and stock. It depends only on
// (seed, i), so any batch can be planned independently and in any order.
func productPlan(seed uint64, i int, cat *catalogue) contract.CreateProductRequest {
	r := rng(seed, i)
	leafIdx, name := nameAndLeaf(r)
	slug := fmt.Sprintf("%s-%d", slugs.Make(name, "product"), i+1)
	price := int64(499 + r.IntN(400)*50) // 4.99 … 204.49
	p := contract.CreateProductRequest{
		Name:        name,
		Slug:        slug,
		Description: fmt.Sprintf("The %s by %s: sample product %d of the demo catalogue.", strings.ToLower(name), brands[i%len(brands)], i+1),
		Status:      contract.ProductPublished,
		CategoryIDs: []string{cat.leaves[leafIdx]},
		SKU:         fmt.Sprintf("SMP-%06d", i+1),
		Currency:    "EUR",
		Price:       price,
		// No Images: the storefront draws sample products itself
		// (/media/product/<slug>.svg), so a demo shop has no broken
		// pictures and needs no network.
		Attributes: contract.AttributeValues{
			"brand":             brandValues[r.IntN(len(brands))].Code,
			"weight":            float64(1+r.IntN(50)) / 10,
			"material":          materialValues[r.IntN(len(materials))].Code,
			"waterproof":        r.IntN(3) == 0,
			"care_instructions": careTexts[r.IntN(len(careTexts))],
		},
	}
	cs := colourValues
	pick := r.Perm(len(cs))[:1+r.IntN(2)]
	codes := make([]any, len(pick))
	for k, j := range pick {
		codes[k] = cs[j].Code
	}
	p.Attributes["colour"] = codes
	if r.IntN(10) == 0 {
		p.Status = contract.ProductDraft
	}

	// Variants: half the products have none beyond the default, the
	// others come in sizes, some also in colours.
	size, color := cat.options["size"], cat.options["color"]
	var groups [][]contract.OptionValue
	switch n := r.IntN(10); {
	case n < 5:
	case n < 8:
		groups = [][]contract.OptionValue{size.Values}
		p.Options = []contract.VariantSelection{{GroupID: size.ID}}
	default:
		two := []contract.OptionValue{color.Values[r.IntN(len(color.Values))]}
		if other := color.Values[r.IntN(len(color.Values))]; other.ID != two[0].ID {
			two = append(two, other)
		}
		groups = [][]contract.OptionValue{size.Values[1:4], two}
		ids := make([]string, len(two))
		for k, v := range two {
			ids[k] = v.ID
		}
		p.Options = []contract.VariantSelection{{GroupID: size.ID, ValueIDs: []string{size.Values[1].ID, size.Values[2].ID, size.Values[3].ID}}, {GroupID: color.ID, ValueIDs: ids}}
	}
	for _, combo := range cartesian(groups) {
		vp := price + int64(r.IntN(5))*100
		v := contract.VariantInput{Price: &vp, Stock: int64(r.IntN(120))}
		for _, ov := range combo {
			v.OptionValueIDs = append(v.OptionValueIDs, ov.ID)
		}
		if r.IntN(4) == 0 {
			v.CompareAtPrice = vp + vp/5
		}
		p.Variants = append(p.Variants, v)
	}
	return p
}

// cartesian returns every combination of one value per group, in order;
// no groups give one empty combination (the default variant).
func cartesian(groups [][]contract.OptionValue) [][]contract.OptionValue {
	out := [][]contract.OptionValue{nil}
	for _, g := range groups {
		var next [][]contract.OptionValue
		for _, prefix := range out {
			for _, v := range g {
				next = append(next, append(append([]contract.OptionValue(nil), prefix...), v))
			}
		}
		out = next
	}
	return out
}
