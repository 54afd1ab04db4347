package contract

import (
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// OptionGroup is a product option with its selectable values ("Size": S,
// M, L), from which variants are generated. The values are part of the
// group, not entities of their own: the group's version counts their
// changes too.
type OptionGroup struct {
	ID        string        `json:"id"`
	Code      string        `json:"code"` // unique, [a-z0-9_]+
	Name      string        `json:"name"`
	Values    []OptionValue `json:"values"`  // ordered by position
	Version   int64         `json:"version"` // 1 when created, +1 on every write, of the group or a value
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// ETagVersion implements Versioned.
func (g OptionGroup) ETagVersion() int64 { return g.Version }

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

// NewOptionValue is a value given when a group is created; its position is
// its place in the list.
type NewOptionValue struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

// CreateOptionGroupRequest creates an option group with its initial values
// (possibly none).
type CreateOptionGroupRequest struct {
	Code   string           `json:"code"`
	Name   string           `json:"name"`
	Values []NewOptionValue `json:"values,omitempty"`
}

// UpdateOptionGroupRequest changes the fields that are set, if the group
// is still at Version (required).
type UpdateOptionGroupRequest struct {
	ID      string  `json:"id"`
	Version int64   `json:"version"`
	Code    *string `json:"code,omitempty"`
	Name    *string `json:"name,omitempty"`
}

// DeleteOptionGroupRequest deletes a group with its values; with
// Version > 0 only if it is still at that version.
type DeleteOptionGroupRequest struct {
	ID      string `json:"id"`
	Version int64  `json:"version,omitempty"`
}

// OptionGroupID addresses one option group.
type OptionGroupID struct {
	ID string `json:"id"`
}

// OptionGroupCode addresses one option group by code.
type OptionGroupCode struct {
	Code string `json:"code"`
}

// DeleteOptionGroupReply names the group deleted (with its values).
type DeleteOptionGroupReply struct {
	Deleted string `json:"deleted"`
}

// ListOptionGroupsRequest asks for one page of the option groups, ordered
// by code: Limit of them (0: DefaultOptionGroupsPage, at most
// MaxOptionGroupsPage) after Cursor, the NextCursor of the page before
// (empty: from the first).
type ListOptionGroupsRequest struct {
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// Page sizes of list (option groups, each with up to 200 values).
const (
	DefaultOptionGroupsPage = 50
	MaxOptionGroupsPage     = 200
)

// AddOptionValueRequest adds a value to a group at Position (nil: last);
// with Version > 0 only if the group is still at that version.
type AddOptionValueRequest struct {
	GroupID  string `json:"group_id"`
	Version  int64  `json:"version,omitempty"`
	Code     string `json:"code"`
	Label    string `json:"label"`
	Position *int   `json:"position,omitempty"`
}

// UpdateOptionValueRequest changes the fields that are set, if the group
// is still at Version (required); Position moves the value among its
// group's values.
type UpdateOptionValueRequest struct {
	GroupID  string  `json:"group_id"`
	ValueID  string  `json:"value_id"`
	Version  int64   `json:"version"`
	Code     *string `json:"code,omitempty"`
	Label    *string `json:"label,omitempty"`
	Position *int    `json:"position,omitempty"`
}

// RemoveOptionValueRequest removes a value from its group; with
// Version > 0 only if the group is still at that version.
type RemoveOptionValueRequest struct {
	GroupID string `json:"group_id"`
	ValueID string `json:"value_id"`
	Version int64  `json:"version,omitempty"`
}

// Option endpoints. The value operations reply with the whole group as it
// is after the change (values renumbered 0, 1, … by position), at its new
// version. List is keyset-paged by code.
var (
	CreateOptionGroup    = bus.Endpoint[CreateOptionGroupRequest, OptionGroup]{Queue: OptionQueue, Op: "create"}
	UpdateOptionGroup    = bus.Endpoint[UpdateOptionGroupRequest, OptionGroup]{Queue: OptionQueue, Op: "update"}
	DeleteOptionGroup    = bus.Endpoint[DeleteOptionGroupRequest, DeleteOptionGroupReply]{Queue: OptionQueue, Op: "delete"}
	GetOptionGroup       = bus.Endpoint[OptionGroupID, OptionGroup]{Queue: OptionQueue, Op: "get"}
	GetOptionGroupByCode = bus.Endpoint[OptionGroupCode, OptionGroup]{Queue: OptionQueue, Op: "get_by_code"}
	ListOptionGroups     = bus.Endpoint[ListOptionGroupsRequest, Page[OptionGroup]]{Queue: OptionQueue, Op: "list"}
	AddOptionValue       = bus.Endpoint[AddOptionValueRequest, OptionGroup]{Queue: OptionQueue, Op: "add_value"}
	UpdateOptionValue    = bus.Endpoint[UpdateOptionValueRequest, OptionGroup]{Queue: OptionQueue, Op: "update_value"}
	RemoveOptionValue    = bus.Endpoint[RemoveOptionValueRequest, OptionGroup]{Queue: OptionQueue, Op: "remove_value"}
)

// OptionGroupEvent is the payload of every option event: the group with
// its values as it is after the change (value operations included; for
// deleted: as it was, at the version of the delete). The event's id is
// the bus envelope's (bus.Event.ID).
type OptionGroupEvent struct {
	ID      string        `json:"id"`
	Version int64         `json:"version"`
	Code    string        `json:"code"`
	Name    string        `json:"name"`
	Values  []OptionValue `json:"values"`
}

// Option events.
var (
	OptionGroupCreated = bus.EventType[OptionGroupEvent]{Topic: "option.group.created"}
	OptionGroupUpdated = bus.EventType[OptionGroupEvent]{Topic: "option.group.updated"}
	OptionGroupDeleted = bus.EventType[OptionGroupEvent]{Topic: "option.group.deleted"}
)
