package product

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// The other modules product asks over the bus: category (the tree, for
// the closure products are indexed under), attribute (validation of
// values) and option (variant combinations).

// categoryIndex is the category tree as child → parent.
type categoryIndex map[string]string

// categories reads the category tree from the category module (one call,
// cached there).
func (m *Module) categories(ctx context.Context) (categoryIndex, error) {
	tree, err := bus.Call(ctx, m.Bus, contract.GetCategoryTree, contract.Empty{})
	if err != nil {
		return nil, fmt.Errorf("category tree: %w", err)
	}
	ix := make(categoryIndex, tree.Count)
	var walk func(parent string, nodes []contract.CategoryNode)
	walk = func(parent string, nodes []contract.CategoryNode) {
		for _, n := range nodes {
			ix[n.ID] = parent
			walk(n.ID, n.Children)
		}
	}
	walk("", tree.Roots)
	return ix, nil
}

// closure returns ids and all their ancestors, sorted. With strict, an id
// not in the tree is invalid; without, it stands for itself.
func (ix categoryIndex) closure(ids []string, strict bool) ([]string, error) {
	seen := map[string]bool{}
	for i, id := range ids {
		if _, ok := ix[id]; !ok && strict {
			return nil, invalid("category_ids[%d] %s: no such category", i, id)
		}
		for c, depth := id, 0; c != "" && !seen[c] && depth <= 100; c, depth = ix[c], depth+1 {
			seen[c] = true
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

// attributeCheck checks a product's attribute values and returns them
// normalised: m.attributes asks the attribute module for one product,
// attributesOf answers from one question about a whole batch.
type attributeCheck func(ctx context.Context, values contract.AttributeValues) (contract.AttributeValues, error)

// attributes checks values with the attribute module and returns them
// normalised.
func (m *Module) attributes(ctx context.Context, values contract.AttributeValues) (contract.AttributeValues, error) {
	if values == nil {
		values = contract.AttributeValues{}
	}
	reply, err := bus.Call(ctx, m.Bus, contract.ValidateAttributes, contract.ValidateAttributesRequest{Values: values})
	if err != nil {
		if be := bus.AsError(err); be.Code == bus.CodeInvalid {
			return nil, invalid("attributes: %s", be.Message)
		}
		return nil, fmt.Errorf("validate attributes: %w", err)
	}
	return checkedAttributes(reply, values)
}

// checkedAttributes turns the attribute module's reply about values into
// the normalised values or the invalid error.
func checkedAttributes(reply contract.ValidateAttributesReply, values contract.AttributeValues) (contract.AttributeValues, error) {
	if !reply.Valid || len(reply.Problems) > 0 {
		msgs := make([]string, len(reply.Problems))
		for i, p := range reply.Problems {
			msgs[i] = fmt.Sprintf("%s: %s (%s)", p.Code, p.Message, p.Problem)
		}
		if len(msgs) == 0 {
			msgs = []string{"refused by the attribute module"}
		}
		return nil, invalid("attributes: %s", strings.Join(msgs, "; "))
	}
	if reply.Values != nil {
		return reply.Values, nil
	}
	return values, nil
}

// attributesOf checks the attribute values of a batch of create requests
// in one call to the attribute module (validate_many), and returns each
// item's check. Should that call fail (a value the bus refuses, an
// attribute module that does not know validate_many yet), every item is
// checked on its own instead, so that an error is the item's alone.
func (m *Module) attributesOf(ctx context.Context, items []contract.CreateProductRequest) []attributeCheck {
	out := make([]attributeCheck, len(items))
	req := contract.ValidateAttributesManyRequest{Items: make([]contract.AttributeValues, len(items))}
	for i, in := range items {
		if req.Items[i] = in.Attributes; req.Items[i] == nil {
			req.Items[i] = contract.AttributeValues{}
		}
	}
	reply, err := bus.Call(ctx, m.Bus, contract.ValidateAttributesMany, req)
	if err != nil || len(reply.Results) != len(items) {
		m.log.DebugContext(ctx, "validate_many failed, checking attributes one product at a time", "items", len(items), "err", err)
		for i := range out {
			out[i] = m.attributes
		}
		return out
	}
	for i := range out {
		r, values := reply.Results[i], req.Items[i]
		out[i] = func(context.Context, contract.AttributeValues) (contract.AttributeValues, error) {
			return checkedAttributes(r, values)
		}
	}
	return out
}

// combinations asks the option module for the variants of sels; a product
// without options has one combination, with no options and no suffix.
type combinations func(ctx context.Context, sels []contract.VariantSelection) ([]contract.VariantCombination, error)

func (m *Module) combinations(ctx context.Context, sels []contract.VariantSelection) ([]contract.VariantCombination, error) {
	if len(sels) == 0 {
		return []contract.VariantCombination{{Options: []contract.VariantOption{}}}, nil
	}
	reply, err := bus.Call(ctx, m.Bus, contract.GenerateVariants, contract.GenerateVariantsRequest{Groups: sels})
	if err != nil {
		if be := bus.AsError(err); be.Code == bus.CodeInvalid {
			return nil, invalid("options: %s", be.Message)
		}
		return nil, fmt.Errorf("generate variants: %w", err)
	}
	return reply.Variants, nil
}

// cachedCombinations answers repeated selections (a batch of products
// sharing their options) from one call each.
func (m *Module) cachedCombinations() combinations {
	cache := map[string][]contract.VariantCombination{}
	return func(ctx context.Context, sels []contract.VariantSelection) ([]contract.VariantCombination, error) {
		key := mustJSON(sels)
		if c, ok := cache[key]; ok {
			return c, nil
		}
		c, err := m.combinations(ctx, sels)
		if err == nil {
			cache[key] = c
		}
		return c, err
	}
}
