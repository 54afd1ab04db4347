package filter

import (
	"encoding/json"
	"sort"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/feed"
)

// catalog is what the index knows of the other modules' definitions: the
// category tree, the attribute groups and definitions, the option groups.
// Facets are read from it at query time.
type catalog struct {
	categories map[string]categoryDoc // by id
	bySlug     map[string]string      // category slug → id
	children   map[string][]string    // parent id ("" for roots) → ids by position
	attributes map[string]contract.AttributeDefinitionEvent
	attrCode   map[string]string // attribute code → id
	groups     map[string]contract.AttributeGroupEvent
	options    map[string]contract.OptionGroupEvent
	optionCode map[string]string // option group code → id
}

func newCatalog() catalog {
	return catalog{
		categories: map[string]categoryDoc{}, bySlug: map[string]string{}, children: map[string][]string{},
		attributes: map[string]contract.AttributeDefinitionEvent{}, attrCode: map[string]string{},
		groups: map[string]contract.AttributeGroupEvent{}, options: map[string]contract.OptionGroupEvent{}, optionCode: map[string]string{},
	}
}

// applyDefinition applies c if it is a definition (reporting whether it
// was one): a category, attribute group or definition, or option group.
func (x *Index) applyDefinition(prefix, id string, c feed.Change) bool {
	var err error
	switch prefix {
	case keyCategory:
		var doc categoryDoc
		err = decodeUnlessDeleted(c, &doc)
		if err == nil {
			x.setCategory(id, doc, c.Deleted)
		}
	case keyAttribute:
		var doc contract.AttributeDefinitionEvent
		err = decodeUnlessDeleted(c, &doc)
		if err == nil {
			setDefinition(x.attributes, x.attrCode, id, doc, doc.Code, c.Deleted)
		}
	case keyAttrGroup:
		var doc contract.AttributeGroupEvent
		err = decodeUnlessDeleted(c, &doc)
		if err == nil {
			setDefinition(x.groups, nil, id, doc, "", c.Deleted)
		}
	case keyOption:
		var doc contract.OptionGroupEvent
		err = decodeUnlessDeleted(c, &doc)
		if err == nil {
			setDefinition(x.options, x.optionCode, id, doc, doc.Code, c.Deleted)
		}
	default:
		return false
	}
	if err != nil {
		x.log.Error("filter: undecodable definition, ignored", "key", c.Key, "err", err)
	}
	return true
}

func decodeUnlessDeleted(c feed.Change, v any) error {
	if c.Deleted {
		return nil
	}
	return json.Unmarshal(c.Body, v)
}

// setDefinition stores (or deletes) one definition by id, keeping the
// code → id map right when the code changed.
func setDefinition[T any](byID map[string]T, byCode map[string]string, id string, doc T, code string, deleted bool) {
	if byCode != nil {
		for c, i := range byCode {
			if i == id {
				delete(byCode, c)
			}
		}
	}
	if deleted {
		delete(byID, id)
		return
	}
	byID[id] = doc
	if byCode != nil {
		byCode[code] = id
	}
}

func (x *Index) setCategory(id string, doc categoryDoc, deleted bool) {
	if old, ok := x.categories[id]; ok {
		delete(x.bySlug, old.Slug)
	}
	if deleted {
		delete(x.categories, id)
	} else {
		x.categories[id] = doc
		x.bySlug[doc.Slug] = id
	}
	x.children = map[string][]string{}
	for cid, c := range x.categories {
		x.children[c.ParentID] = append(x.children[c.ParentID], cid)
	}
	for _, ids := range x.children {
		sort.Slice(ids, func(i, j int) bool {
			a, b := x.categories[ids[i]], x.categories[ids[j]]
			if a.Position != b.Position {
				return a.Position < b.Position
			}
			return ids[i] < ids[j]
		})
	}
	x.treeDirty = true
}

// closure is cat with its ancestors, as the tree stands now; a category
// the index does not know (yet) stands for itself. A cycle (which the
// category module never makes) ends the walk.
func (c *catalog) closure(cat string) []string {
	out := []string{cat}
	for cur := c.categories[cat].ParentID; cur != ""; cur = c.categories[cur].ParentID {
		for _, seen := range out {
			if seen == cur {
				return out
			}
		}
		out = append(out, cur)
	}
	return out
}

// category finds a category by id or slug.
func (c *catalog) category(ref string) (string, bool) {
	if _, ok := c.categories[ref]; ok {
		return ref, true
	}
	id, ok := c.bySlug[ref]
	return id, ok
}

// attributeType is the type of the attribute with code, "" when unknown.
func (c *catalog) attributeType(code string) contract.AttributeType {
	if id, ok := c.attrCode[code]; ok {
		return c.attributes[id].Type
	}
	return ""
}

// facetDefs lists the facets in their order: the filterable attributes by
// their group's position and then their own, then the option groups by
// code. An option group whose code an attribute has takes "option_" in
// front.
func (c *catalog) facetDefs() []facetDef {
	var attrs []contract.AttributeDefinitionEvent
	for _, a := range c.attributes {
		if a.Filterable && a.Type != contract.AttributeText {
			attrs = append(attrs, a)
		}
	}
	sort.Slice(attrs, func(i, j int) bool {
		gi, gj := c.groups[attrs[i].GroupID].Position, c.groups[attrs[j].GroupID].Position
		if gi != gj {
			return gi < gj
		}
		if attrs[i].Position != attrs[j].Position {
			return attrs[i].Position < attrs[j].Position
		}
		return attrs[i].Code < attrs[j].Code
	})
	var defs []facetDef
	taken := map[string]bool{}
	for _, a := range attrs {
		f := facetDef{code: a.Code, name: a.Name, kind: string(a.Type), unit: a.Unit, source: a.Code}
		switch a.Type {
		case contract.AttributeBoolean:
			f.values = []contract.AllowedValue{{Code: "yes", Label: "Yes"}, {Code: "no", Label: "No"}}
		case contract.AttributeSelect, contract.AttributeMultiselect:
			f.values = a.Values
		}
		taken[a.Code] = true
		defs = append(defs, f)
	}
	var groups []contract.OptionGroupEvent
	for _, g := range c.options {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Code < groups[j].Code })
	for _, g := range groups {
		f := facetDef{code: g.Code, name: g.Name, kind: contract.FacetOption, source: g.Code}
		if taken[g.Code] {
			f.code = "option_" + g.Code
		}
		values := append([]contract.OptionValue(nil), g.Values...)
		sort.SliceStable(values, func(i, j int) bool { return values[i].Position < values[j].Position })
		for _, v := range values {
			f.values = append(f.values, contract.AllowedValue{Code: v.Code, Label: v.Label})
		}
		defs = append(defs, f)
	}
	return defs
}

// facetDef is one facet as the definitions say: its code in requests, and
// where its postings are (source: the attribute or option group code).
type facetDef struct {
	code, name, kind, unit, source string
	values                         []contract.AllowedValue // none for number
}
