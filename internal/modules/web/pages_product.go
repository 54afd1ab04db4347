package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/shopengine/shop/internal/contract"
)

// relatedProducts is how many products of the same category a product
// page shows.
const relatedProducts = 4

// productView is the product page.
type productView struct {
	Product contract.Product
	Images  []contract.Image
	// Variant is the chosen one (from the picker's query, else the first
	// in stock); Groups are the picker's selects.
	Variant contract.Variant
	Groups  []optionGroup
	// Attributes are the product's values grouped by attribute group, in
	// the groups' order; empty when the attribute module did not answer.
	Attributes []attributeGroupView
	Crumbs     []crumb
	Related    []contract.ProductSummary
	// MaxQuantity bounds the add-to-cart quantity.
	MaxQuantity int64
}

// optionGroup is one select of the variant picker.
type optionGroup struct {
	Code   string
	Values []optionChoice
}

type optionChoice struct {
	Code, Label string
	Selected    bool
}

type attributeGroupView struct {
	Name  string
	Items []attributeItem
}

type attributeItem struct{ Name, Value string }

// maxCartQuantity bounds the quantity field of the add-to-cart form.
const maxCartQuantity = 99

// renderProduct gathers a product page in two rounds: the product (by
// the resolved id, or the slug when seo did not resolve it), seo's meta,
// the header and the attribute catalogue, then what depends on the
// product (its category's other products), all within the page's budget.
func (m *Module) renderProduct(w http.ResponseWriter, r *http.Request, t target) {
	g := m.gather(r)
	v := m.layout(g, r)
	pv := &productView{MaxQuantity: maxCartQuantity}
	v.Page = pv
	m.withSEO(g, v)
	var catalogue contract.Page[contract.AttributeGroupWithDefinitions]
	g.Required("product", func(r *http.Request) (err error) {
		if t.ID != "" {
			pv.Product, err = shared(m, r, contract.GetProduct, contract.ProductID{ID: t.ID, PublishedOnly: true})
		} else {
			pv.Product, err = shared(m, r, contract.GetProductBySlug, contract.ProductSlug{Slug: t.Slug, PublishedOnly: true})
		}
		return err
	})
	g.Optional("attributes", "Product details cannot be shown right now.", func(r *http.Request) (err error) {
		catalogue, err = shared(m, r, contract.ListAttributes, contract.Empty{})
		return err
	})
	if err := g.Wait(); err != nil {
		m.pageError(w, r, err)
		return
	}
	p := pv.Product
	pv.Images = imagesOf(p)
	pv.Attributes = attributeGroups(p.Attributes, catalogue.Items)
	var chosen string
	pv.Groups, pv.Variant, chosen = pickVariant(p.Variants, r.URL.Query())
	if chosen != "" {
		v.Notices = append(v.Notices, notice{Kind: "warn", Text: chosen})
	}
	if len(p.CategoryIDs) > 0 {
		pv.Crumbs = crumbsOf(findTrail(v.Header.Menu, p.CategoryIDs[0]))
		g.Optional("related", "", func(r *http.Request) error {
			page, err := shared(m, r, contract.ListProducts, contract.ListProductsRequest{CategoryID: p.CategoryIDs[0],
				Status: contract.ProductPublished, PageSize: relatedProducts + 1})
			for _, s := range page.Items {
				if s.ID != p.ID && len(pv.Related) < relatedProducts {
					pv.Related = append(pv.Related, s)
				}
			}
			return err
		})
	}
	v.Meta = PageMeta{Title: p.Name, Description: firstSentence(p.Description), Canonical: "/p/" + p.Slug,
		OGType: "product", OGImage: pv.Images[0].URL}
	m.finish(w, r, g, v, "product")
}

// pickVariant builds the picker from the variants (one select per option
// group, in the variants' group order) and picks the variant the query
// names by value code per group code (?size=m&color=red). With no choice,
// or one that no variant has, it is the first variant in stock (else the
// first); problem then says why the choice was not honoured.
func pickVariant(variants []contract.Variant, q map[string][]string) (groups []optionGroup, chosen contract.Variant, problem string) {
	if len(variants) == 0 {
		return nil, contract.Variant{}, ""
	}
	want := map[string]string{}
	for _, o := range variants[0].Options {
		if v := q[o.GroupCode]; len(v) > 0 && v[0] != "" {
			want[o.GroupCode] = v[0]
		}
	}
	chosen = variants[0]
	for _, v := range variants {
		if v.Stock > 0 {
			chosen = v
			break
		}
	}
	if len(want) > 0 {
		found := false
		for _, v := range variants {
			if matches(v, want) {
				chosen, found = v, true
				break
			}
		}
		if !found {
			problem = "That combination is not available; showing another one."
		}
	}
	for i, o := range variants[0].Options {
		g := optionGroup{Code: o.GroupCode}
		for _, v := range variants {
			if i >= len(v.Options) || slices.ContainsFunc(g.Values, func(c optionChoice) bool { return c.Code == v.Options[i].ValueCode }) {
				continue
			}
			g.Values = append(g.Values, optionChoice{Code: v.Options[i].ValueCode, Label: v.Options[i].Label})
		}
		for k := range g.Values {
			g.Values[k].Selected = i < len(chosen.Options) && g.Values[k].Code == chosen.Options[i].ValueCode
		}
		groups = append(groups, g)
	}
	return groups, chosen, problem
}

// matches reports whether v has every value of want (group → value code).
func matches(v contract.Variant, want map[string]string) bool {
	n := 0
	for _, o := range v.Options {
		if c, ok := want[o.GroupCode]; ok {
			if c != o.ValueCode {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// attributeGroups lays out a product's attribute values by the
// catalogue's groups and definitions, as shoppers read them: labels for
// select values, yes/no, units.
func attributeGroups(values contract.AttributeValues, catalogue []contract.AttributeGroupWithDefinitions) []attributeGroupView {
	var out []attributeGroupView
	for _, g := range catalogue {
		gv := attributeGroupView{Name: g.Name}
		for _, d := range g.Definitions {
			v, ok := values[d.Code]
			if !ok || v == nil {
				continue
			}
			if s := attributeText(d, v); s != "" {
				gv.Items = append(gv.Items, attributeItem{Name: d.Name, Value: s})
			}
		}
		if len(gv.Items) > 0 {
			out = append(out, gv)
		}
	}
	return out
}

// attributeText is one value as text.
func attributeText(d contract.AttributeDefinition, v any) string {
	label := func(code string) string {
		for _, a := range d.Values {
			if a.Code == code {
				return a.Label
			}
		}
		return code
	}
	switch d.Type {
	case contract.AttributeBoolean:
		if b, _ := v.(bool); b {
			return "Yes"
		}
		return "No"
	case contract.AttributeSelect:
		s, _ := v.(string)
		return label(s)
	case contract.AttributeMultiselect:
		list, _ := v.([]any)
		var labels []string
		for _, c := range list {
			if s, ok := c.(string); ok {
				labels = append(labels, label(s))
			}
		}
		return strings.Join(labels, ", ")
	case contract.AttributeNumber:
		f, ok := v.(float64)
		if !ok {
			return fmt.Sprint(v)
		}
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if d.Unit != "" {
			s += " " + d.Unit
		}
		return s
	}
	return fmt.Sprint(v)
}

// maxMetaDescription bounds a meta description, in characters.
const maxMetaDescription = 300

// firstSentence is a description's first sentence (at most
// maxMetaDescription characters), for the meta description.
func firstSentence(s string) string {
	if i := strings.IndexAny(s, ".!?"); i > 0 && i < maxMetaDescription {
		return s[:i+1]
	}
	if r := []rune(s); len(r) > maxMetaDescription {
		return string(r[:maxMetaDescription]) + "…"
	}
	return s
}
