package filter

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/feed"
)

// genCatalog is a generated catalogue of the seeder's shape: 126
// categories (6 roots, 4 children each, 4 grandchildren each), 8
// attributes (6 filterable: two selects, a multiselect, a boolean, two
// numbers; a text and a select that are not), 2 option groups (colour,
// size), and products in the leaves. It is the data of the brute-force
// test and of the benchmarks, fed to an Index as feed changes.
type genCatalog struct {
	rng        *rand.Rand
	categories map[string]categoryDoc
	leaves     []string
	attributes map[string]contract.AttributeDefinitionEvent // by id
	groups     map[string]contract.AttributeGroupEvent
	options    map[string]contract.OptionGroupEvent
	products   map[string]productDoc
	ids        []string // product ids, in creation order
	stock      map[string]stockDoc
	versions   map[string]int64 // feed key → version
	// wordCache holds the brute force's words of each name and
	// description it read (model and description words are unique
	// enough per product to key on).
	wordCache map[string][numFields][]string
}

var (
	genColours   = []string{"red", "blue", "green", "black", "white", "yellow", "grey", "pink"}
	genSizes     = []string{"xs", "s", "m", "l", "xl", "xxl"}
	genNouns     = []string{"Shirt", "Jacket", "Lamp", "Chair", "Kettle", "Phone", "Tablet", "Boot", "Sneaker", "Backpack", "Watch", "Mug", "Desk", "Sofa", "Blender", "Camera"}
	genAdjs      = []string{"Café", "Classic", "Modern", "Rustic", "Compact", "Deluxe", "Smart", "Eco", "Vintage", "Urban", "Nordic", "Crème", "Sport", "Travel", "Pro", "Mini"}
	genDescWords = []string{"durable", "lightweight", "handmade", "stylish", "comfortable", "waterproof", "elegant", "versatile", "premium", "recycled", "soft", "sturdy", "portable", "timeless", "bright", "quiet", "fast", "warm", "natural", "crafted"}
)

func newGenCatalog(seed uint64) *genCatalog {
	g := &genCatalog{
		rng:        rand.New(rand.NewPCG(seed, 7)),
		categories: map[string]categoryDoc{}, attributes: map[string]contract.AttributeDefinitionEvent{},
		groups: map[string]contract.AttributeGroupEvent{}, options: map[string]contract.OptionGroupEvent{},
		products: map[string]productDoc{}, stock: map[string]stockDoc{}, versions: map[string]int64{}, wordCache: map[string][numFields][]string{},
	}
	for r := range 6 {
		root := fmt.Sprintf("cat-%d", r)
		g.categories[root] = categoryDoc{Name: fmt.Sprintf("Department %d", r), Slug: fmt.Sprintf("department-%d", r), Position: r}
		for c := range 4 {
			mid := fmt.Sprintf("%s-%d", root, c)
			g.categories[mid] = categoryDoc{Name: fmt.Sprintf("Aisle %d.%d", r, c), Slug: fmt.Sprintf("aisle-%d-%d", r, c), ParentID: root, Position: 3 - c}
			for l := range 4 {
				leaf := fmt.Sprintf("%s-%d", mid, l)
				g.categories[leaf] = categoryDoc{Name: fmt.Sprintf("Shelf %d.%d.%d", r, c, l), Slug: fmt.Sprintf("shelf-%d-%d-%d", r, c, l), ParentID: mid, Position: l}
				g.leaves = append(g.leaves, leaf)
			}
		}
	}
	g.groups["grp-main"] = contract.AttributeGroupEvent{ID: "grp-main", Version: 1, Name: "Main", Slug: "main", Position: 0}
	g.groups["grp-tech"] = contract.AttributeGroupEvent{ID: "grp-tech", Version: 1, Name: "Technical", Slug: "technical", Position: 1}
	values := func(prefix string, n int) []contract.AllowedValue {
		var vs []contract.AllowedValue
		for i := range n {
			vs = append(vs, contract.AllowedValue{Code: fmt.Sprintf("%s_%d", prefix, i), Label: fmt.Sprintf("%s %d", strings.ToUpper(prefix[:1])+prefix[1:], i)})
		}
		return vs
	}
	for i, a := range []contract.AttributeDefinitionEvent{
		{Code: "brand", Name: "Brand", GroupID: "grp-main", Type: contract.AttributeSelect, Values: values("brand", 60), Filterable: true},
		{Code: "material", Name: "Material", GroupID: "grp-main", Type: contract.AttributeSelect, Values: values("material", 8), Filterable: true},
		{Code: "features", Name: "Features", GroupID: "grp-main", Type: contract.AttributeMultiselect, Values: values("feature", 10), Filterable: true},
		{Code: "waterproof", Name: "Waterproof", GroupID: "grp-tech", Type: contract.AttributeBoolean, Filterable: true},
		{Code: "weight", Name: "Weight", GroupID: "grp-tech", Type: contract.AttributeNumber, Unit: "g", Filterable: true},
		{Code: "power", Name: "Power", GroupID: "grp-tech", Type: contract.AttributeNumber, Unit: "W", Filterable: true},
		{Code: "model", Name: "Model", GroupID: "grp-tech", Type: contract.AttributeText},
		{Code: "origin", Name: "Origin", GroupID: "grp-tech", Type: contract.AttributeSelect, Values: values("origin", 5)},
	} {
		a.ID, a.Version, a.Position = "attr-"+a.Code, 1, i%4
		g.attributes[a.ID] = a
	}
	for _, o := range []struct {
		code   string
		values []string
	}{{"colour", genColours}, {"size", genSizes}} {
		og := contract.OptionGroupEvent{ID: "opt-" + o.code, Version: 1, Code: o.code, Name: strings.ToUpper(o.code[:1]) + o.code[1:]}
		for i, v := range o.values {
			og.Values = append(og.Values, contract.OptionValue{ID: o.code + "-" + v, Code: v, Label: strings.ToUpper(v), Position: len(o.values) - i})
		}
		g.options[og.ID] = og
	}
	return g
}

// product makes a random product document.
func (g *genCatalog) product(i int) productDoc {
	r := g.rng
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	d := productDoc{
		Name:     fmt.Sprintf("%s %s %s %d", pick(genAdjs), pick(genColours), pick(genNouns), i),
		Slug:     fmt.Sprintf("product-%d", i),
		Currency: "EUR",
		Image:    &contract.Image{URL: fmt.Sprintf("https://img.example.com/p/%d.jpg", i)},
		// Many products share a creation second, so that the id breaks ties.
		CreatedAt:   time.Unix(1_700_000_000+int64(r.IntN(1000)), 0).UTC(),
		CategoryIDs: []string{pick(g.leaves)},
		Attributes:  contract.AttributeValues{},
	}
	if r.IntN(5) == 0 {
		d.CategoryIDs = append(d.CategoryIDs, pick(g.leaves))
	}
	var desc []string
	for range 4 + r.IntN(6) {
		desc = append(desc, pick(genDescWords))
	}
	d.Description = strings.Join(desc, " ")
	d.PriceMin = int64(100 + r.IntN(200)*r.IntN(200))
	d.PriceMax = d.PriceMin + int64(r.IntN(3)*500)
	attrs := g.attributes
	if r.IntN(10) > 0 {
		d.Attributes["brand"] = attrs["attr-brand"].Values[r.IntN(60)*r.IntN(60)/60].Code
	}
	if r.IntN(3) > 0 {
		d.Attributes["material"] = attrs["attr-material"].Values[r.IntN(8)].Code
	}
	if r.IntN(2) == 0 {
		var fs []any
		for _, v := range attrs["attr-features"].Values {
			if r.IntN(4) == 0 {
				fs = append(fs, v.Code)
			}
		}
		if len(fs) > 0 {
			d.Attributes["features"] = fs
		}
	}
	if r.IntN(2) == 0 {
		d.Attributes["waterproof"] = r.IntN(3) == 0
	}
	if r.IntN(4) > 0 {
		d.Attributes["weight"] = float64(50 + r.IntN(5000))
	}
	if r.IntN(3) == 0 {
		d.Attributes["power"] = float64(r.IntN(40)) * 25
	}
	if r.IntN(2) == 0 {
		d.Attributes["model"] = fmt.Sprintf("MX-%d %s", r.IntN(100), pick(genDescWords))
	}
	if r.IntN(4) == 0 {
		d.Attributes["origin"] = attrs["attr-origin"].Values[r.IntN(5)].Code
	}
	nVariants := 1
	if r.IntN(3) > 0 {
		for _, c := range genColours {
			if r.IntN(4) == 0 {
				d.Options = append(d.Options, optionRef{Group: "colour", Value: c})
			}
		}
		for _, s := range genSizes {
			if r.IntN(3) == 0 {
				d.Options = append(d.Options, optionRef{Group: "size", Value: s})
			}
		}
		nVariants = max(1, len(d.Options))
	}
	for v := range nVariants {
		stock := int64(0)
		if r.IntN(3) > 0 {
			stock = int64(r.IntN(20))
		}
		d.Stock = append(d.Stock, variantLevel{ID: fmt.Sprintf("v-%d-%d", i, v), Stock: stock})
	}
	return d
}

// addProducts adds n random products and returns their changes.
func (g *genCatalog) addProducts(n int) []feed.Change {
	var out []feed.Change
	for range n {
		i := len(g.ids)
		id := fmt.Sprintf("p-%08d", i)
		g.ids = append(g.ids, id)
		g.products[id] = g.product(i)
		out = append(out, g.change(keyProduct+id, g.products[id]))
	}
	return out
}

// definitions returns the changes of every definition.
func (g *genCatalog) definitions() []feed.Change {
	var out []feed.Change
	for id, c := range g.categories {
		out = append(out, g.change(keyCategory+id, c))
	}
	for id, a := range g.attributes {
		out = append(out, g.change(keyAttribute+id, a))
	}
	for id, a := range g.groups {
		out = append(out, g.change(keyAttrGroup+id, a))
	}
	for id, o := range g.options {
		out = append(out, g.change(keyOption+id, o))
	}
	return out
}

// change is a feed entry of body at key's next version.
func (g *genCatalog) change(key string, body any) feed.Change {
	b, err := encodeDoc(body)
	if err != nil {
		panic(err)
	}
	g.versions[key]++
	return feed.Change{Key: key, Version: g.versions[key], Body: b}
}

func (g *genCatalog) deletion(key string) feed.Change {
	g.versions[key]++
	return feed.Change{Key: key, Version: g.versions[key], Deleted: true}
}

// mutate makes n random changes of the kinds the events bring: products
// edited, deleted and added, stock changed, a category moved, a value
// relabelled, an attribute made filterable.
func (g *genCatalog) mutate(n int) []feed.Change {
	r := g.rng
	var out []feed.Change
	for range n {
		live := make([]string, 0, len(g.products))
		for _, id := range g.ids {
			if _, ok := g.products[id]; ok {
				live = append(live, id)
			}
		}
		id := live[r.IntN(len(live))]
		switch r.IntN(7) {
		case 0, 1:
			doc := g.product(r.IntN(1 << 20))
			g.products[id] = doc
			out = append(out, g.change(keyProduct+id, doc))
		case 2:
			delete(g.products, id)
			out = append(out, g.deletion(keyProduct+id))
		case 3:
			out = append(out, g.addProducts(1)...)
		case 4:
			v := g.products[id].Stock[0].ID
			s := stockDoc{ProductID: id, Stock: int64(r.IntN(2) * 5)}
			g.stock[v] = s
			out = append(out, g.change(keyStock+v, s))
		case 5:
			// Move a mid-level category under another root.
			mid := fmt.Sprintf("cat-%d-%d", r.IntN(6), r.IntN(4))
			c := g.categories[mid]
			c.ParentID = fmt.Sprintf("cat-%d", r.IntN(6))
			g.categories[mid] = c
			out = append(out, g.change(keyCategory+mid, c))
		case 6:
			a := g.attributes["attr-origin"]
			a.Filterable = !a.Filterable
			a.Values = append([]contract.AllowedValue(nil), a.Values...)
			a.Values[0].Label = fmt.Sprintf("Origin %d", r.IntN(100))
			g.attributes[a.ID] = a
			out = append(out, g.change(keyAttribute+a.ID, a))
		}
	}
	return out
}
