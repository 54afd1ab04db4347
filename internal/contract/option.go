package contract

import (
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// OptionGroup is a product option with its selectable values ("Size": S,
// M, L), from which variants are generated.
type OptionGroup struct {
	ID        string        `json:"id"`
	Code      string        `json:"code"` // unique, [a-z0-9_]+
	Name      string        `json:"name"`
	Values    []OptionValue `json:"values"` // ordered by position
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// OptionValue is one value of an option group.
type OptionValue struct {
	ID       string `json:"id"`
	Code     string `json:"code"` // unique within the group, [a-z0-9_]+
	Label    string `json:"label"`
	Position int    `json:"position"`
}

// VariantSelection picks an option group and, optionally, a subset of its
// values (empty: all values).
type VariantSelection struct {
	GroupID  string   `json:"group_id"`
	ValueIDs []string `json:"value_ids,omitempty"`
}

// GenerateVariantsRequest asks for the cartesian product of the groups.
type GenerateVariantsRequest struct {
	Groups []VariantSelection `json:"groups"`
}

// VariantOption is one group's value in a combination.
type VariantOption struct {
	GroupID   string `json:"group_id"`
	GroupCode string `json:"group_code"`
	ValueID   string `json:"value_id"`
	ValueCode string `json:"value_code"`
	Label     string `json:"label"`
}

// VariantCombination is one generated variant: one value per group, in the
// order the groups were given, and a SKU suffix that depends only on the
// value codes (e.g. "M-RED"), so regenerating gives the same suffixes.
type VariantCombination struct {
	Options   []VariantOption `json:"options"`
	SKUSuffix string          `json:"sku_suffix"`
}

// GenerateVariantsReply lists the combinations in a deterministic order
// (groups as given, values by position).
type GenerateVariantsReply struct {
	Variants []VariantCombination `json:"variants"`
}

// MaxVariantCombinations bounds generate_variants; more is invalid.
const MaxVariantCombinations = 1000

// GenerateVariants is how product turns option groups into variants.
var GenerateVariants = bus.Endpoint[GenerateVariantsRequest, GenerateVariantsReply]{Queue: OptionQueue, Op: "generate_variants"}
