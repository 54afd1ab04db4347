package contract

import (
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// AttributeType is the kind of value an attribute takes.
type AttributeType string

// Attribute types. A product's value for an attribute is, on the wire:
// text → string, number → number, boolean → true/false, select → the code
// of one allowed value, multiselect → an array of allowed value codes.
const (
	AttributeText        AttributeType = "text"
	AttributeNumber      AttributeType = "number"
	AttributeBoolean     AttributeType = "boolean"
	AttributeSelect      AttributeType = "select"
	AttributeMultiselect AttributeType = "multiselect"
)

// AttributeValues maps attribute codes to values (see AttributeType).
type AttributeValues map[string]any

// AttributeGroup groups definitions for display ("Technical": weight,
// material).
type AttributeGroup struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Slug      string    `json:"slug"`
	Position  int       `json:"position"`
	Version   int64     `json:"version"` // 1 when created, +1 on every write
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ETagVersion implements Versioned.
func (g AttributeGroup) ETagVersion() int64 { return g.Version }

// AllowedValue is one choice of a select or multiselect attribute.
type AllowedValue struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

// AttributeDefinition defines an attribute products may carry.
type AttributeDefinition struct {
	ID         string         `json:"id"`
	Code       string         `json:"code"` // unique, [a-z0-9_]+
	Name       string         `json:"name"`
	GroupID    string         `json:"group_id"`
	Type       AttributeType  `json:"type"`
	Values     []AllowedValue `json:"values,omitempty"` // select types only
	Unit       string         `json:"unit,omitempty"`   // number only
	Filterable bool           `json:"filterable"`
	Required   bool           `json:"required"`
	Position   int            `json:"position"`
	Version    int64          `json:"version"` // 1 when created, +1 on every write
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

// ETagVersion implements Versioned.
func (d AttributeDefinition) ETagVersion() int64 { return d.Version }

// ValidateAttributesRequest asks whether values are acceptable for a product.
type ValidateAttributesRequest struct {
	Values AttributeValues `json:"values"`
}

// AttributeProblem is one reason values were refused.
type AttributeProblem struct {
	Code    string `json:"code"`    // the attribute code
	Problem string `json:"problem"` // unknown | wrong_type | not_allowed | missing_required
	Message string `json:"message"`
}

// Attribute problems.
const (
	ProblemUnknown         = "unknown"
	ProblemWrongType       = "wrong_type"
	ProblemNotAllowed      = "not_allowed"
	ProblemMissingRequired = "missing_required"
)

// ValidateAttributesReply lists the problems; none means valid. Values is
// the input normalised (numbers as numbers, text trimmed, multiselect codes
// sorted), without the entries that had a problem. A null, a blank text
// and an empty multiselect count as no value: they are left out of Values
// and, for a required attribute, reported as missing_required.
type ValidateAttributesReply struct {
	Valid    bool               `json:"valid"`
	Problems []AttributeProblem `json:"problems"`
	Values   AttributeValues    `json:"values,omitempty"`
}

// ValidateAttributes is how product checks a product's attribute values.
var ValidateAttributes = bus.Endpoint[ValidateAttributesRequest, ValidateAttributesReply]{Queue: AttributeQueue, Op: "validate_values"}

// ValidateAttributesManyRequest asks about the values of up to MaxBatch
// products at once (product's create_many): the attribute module reads its
// definitions once for them all instead of once a product.
type ValidateAttributesManyRequest struct {
	Items []AttributeValues `json:"items"`
}

// ValidateAttributesManyReply has one reply per item, in order, each as
// ValidateAttributes would give it.
type ValidateAttributesManyReply struct {
	Results []ValidateAttributesReply `json:"results"`
}

// ValidateAttributesMany is ValidateAttributes for a batch of products.
var ValidateAttributesMany = bus.Endpoint[ValidateAttributesManyRequest, ValidateAttributesManyReply]{Queue: AttributeQueue, Op: "validate_many"}

// Limits of attribute definitions and values.
const (
	// MaxAttributeTextLen bounds a text attribute's value, in characters.
	MaxAttributeTextLen = 1000
	// MaxAllowedValues bounds the allowed values of a select attribute.
	MaxAllowedValues = 500
)

// AttributeGroupID addresses one attribute group.
type AttributeGroupID struct {
	ID string `json:"id"`
}

// CreateAttributeGroupRequest creates a group. Slug is generated from Name
// when empty; Position nil appends after the last group.
type CreateAttributeGroupRequest struct {
	Name     string `json:"name"`
	Slug     string `json:"slug,omitempty"`
	Position *int   `json:"position,omitempty"`
}

// UpdateAttributeGroupRequest changes the fields that are set, if the
// group is still at Version (required); Position moves the group among the
// others (the slug stays when the name changes). The groups whose
// positions change get new versions too.
type UpdateAttributeGroupRequest struct {
	ID       string  `json:"id"`
	Version  int64   `json:"version"`
	Name     *string `json:"name,omitempty"`
	Slug     *string `json:"slug,omitempty"`
	Position *int    `json:"position,omitempty"`
}

// DeleteAttributeGroupRequest deletes an empty group; with Version > 0
// only if it is still at that version.
type DeleteAttributeGroupRequest struct {
	ID      string `json:"id"`
	Version int64  `json:"version,omitempty"`
}

// AttributeDefinitionID addresses one definition.
type AttributeDefinitionID struct {
	ID string `json:"id"`
}

// AttributeCode addresses one definition by its code.
type AttributeCode struct {
	Code string `json:"code"`
}

// CreateAttributeDefinitionRequest creates a definition in GroupID at
// Position among the group's definitions (nil: last). Values are required
// for select and multiselect and refused for the other types; Unit is for
// number only.
type CreateAttributeDefinitionRequest struct {
	Code       string         `json:"code"`
	Name       string         `json:"name"`
	GroupID    string         `json:"group_id"`
	Type       AttributeType  `json:"type"`
	Values     []AllowedValue `json:"values,omitempty"`
	Unit       string         `json:"unit,omitempty"`
	Filterable bool           `json:"filterable,omitempty"`
	Required   bool           `json:"required,omitempty"`
	Position   *int           `json:"position,omitempty"`
}

// UpdateAttributeDefinitionRequest changes the fields that are set. Values
// replaces the whole list. GroupID and/or Position move the definition
// (Position nil with a new group: last in it). When Type changes to one
// without values or unit and Values/Unit are not given, they are dropped.
//
// Changing Code or Type, or removing an allowed value, is refused with
// conflict while products use it, and with unavailable/timeout while the
// product module cannot say (never changed blindly).
//
// The change applies only if the definition is still at Version
// (required); the definitions renumbered by a move get new versions too.
type UpdateAttributeDefinitionRequest struct {
	ID         string          `json:"id"`
	Version    int64           `json:"version"`
	Code       *string         `json:"code,omitempty"`
	Name       *string         `json:"name,omitempty"`
	GroupID    *string         `json:"group_id,omitempty"`
	Type       *AttributeType  `json:"type,omitempty"`
	Values     *[]AllowedValue `json:"values,omitempty"`
	Unit       *string         `json:"unit,omitempty"`
	Filterable *bool           `json:"filterable,omitempty"`
	Required   *bool           `json:"required,omitempty"`
	Position   *int            `json:"position,omitempty"`
}

// DeleteAttributeDefinitionRequest deletes a definition; with Version > 0
// only if it is still at that version.
type DeleteAttributeDefinitionRequest struct {
	ID      string `json:"id"`
	Version int64  `json:"version,omitempty"`
}

// DeleteAttributeReply names what was deleted.
type DeleteAttributeReply struct {
	Deleted string `json:"deleted"`
}

// AttributeGroupWithDefinitions is a group with its definitions in
// position order: one item of the catalog.
type AttributeGroupWithDefinitions struct {
	AttributeGroup
	Definitions []AttributeDefinition `json:"definitions"`
}

// Attribute group endpoints. The groups are a short ordered list: a Page
// with every group and no cursor.
var (
	CreateAttributeGroup = bus.Endpoint[CreateAttributeGroupRequest, AttributeGroup]{Queue: AttributeQueue, Op: "create_group"}
	UpdateAttributeGroup = bus.Endpoint[UpdateAttributeGroupRequest, AttributeGroup]{Queue: AttributeQueue, Op: "update_group"}
	// DeleteAttributeGroup is refused with conflict while the group has
	// definitions.
	DeleteAttributeGroup = bus.Endpoint[DeleteAttributeGroupRequest, DeleteAttributeReply]{Queue: AttributeQueue, Op: "delete_group"}
	GetAttributeGroup    = bus.Endpoint[AttributeGroupID, AttributeGroup]{Queue: AttributeQueue, Op: "get_group"}
	ListAttributeGroups  = bus.Endpoint[Empty, Page[AttributeGroup]]{Queue: AttributeQueue, Op: "list_groups"}
)

// Attribute definition endpoints.
var (
	CreateAttributeDefinition = bus.Endpoint[CreateAttributeDefinitionRequest, AttributeDefinition]{Queue: AttributeQueue, Op: "create"}
	UpdateAttributeDefinition = bus.Endpoint[UpdateAttributeDefinitionRequest, AttributeDefinition]{Queue: AttributeQueue, Op: "update"}
	// DeleteAttributeDefinition is refused with conflict while products use
	// the attribute.
	DeleteAttributeDefinition = bus.Endpoint[DeleteAttributeDefinitionRequest, DeleteAttributeReply]{Queue: AttributeQueue, Op: "delete"}
	GetAttributeDefinition    = bus.Endpoint[AttributeDefinitionID, AttributeDefinition]{Queue: AttributeQueue, Op: "get"}
	GetAttributeByCode        = bus.Endpoint[AttributeCode, AttributeDefinition]{Queue: AttributeQueue, Op: "get_by_code"}
	// ListAttributes is the whole catalog: every group in position order,
	// each with its definitions, as a product form or the storefront shows
	// it. It is read whole (no cursor): a form needs all of it, and groups
	// and definitions are a shop's vocabulary, tens to hundreds.
	ListAttributes = bus.Endpoint[Empty, Page[AttributeGroupWithDefinitions]]{Queue: AttributeQueue, Op: "list"}
)

// AttributeGroupEvent is the payload of every attribute group event: the
// group as it is after the change (for deleted: as it was, at the version
// of the delete). The event's id is the bus envelope's (bus.Event.ID).
type AttributeGroupEvent struct {
	ID       string `json:"id"`
	Version  int64  `json:"version"`
	Name     string `json:"name"`
	Slug     string `json:"slug"`
	Position int    `json:"position"`
}

// AttributeDefinitionEvent is the payload of every attribute definition
// event, like AttributeGroupEvent: all a read model (the filter module's
// facets) needs to interpret product values.
type AttributeDefinitionEvent struct {
	ID         string         `json:"id"`
	Version    int64          `json:"version"`
	Code       string         `json:"code"`
	Name       string         `json:"name"`
	GroupID    string         `json:"group_id"`
	Type       AttributeType  `json:"type"`
	Values     []AllowedValue `json:"values,omitempty"`
	Unit       string         `json:"unit,omitempty"`
	Filterable bool           `json:"filterable"`
	Required   bool           `json:"required"`
	Position   int            `json:"position"`
}

// Attribute events. Subscribe to "attribute.#" for all,
// "attribute.definition.*" for definitions.
var (
	AttributeGroupCreated      = bus.EventType[AttributeGroupEvent]{Topic: "attribute.group.created"}
	AttributeGroupUpdated      = bus.EventType[AttributeGroupEvent]{Topic: "attribute.group.updated"}
	AttributeGroupDeleted      = bus.EventType[AttributeGroupEvent]{Topic: "attribute.group.deleted"}
	AttributeDefinitionCreated = bus.EventType[AttributeDefinitionEvent]{Topic: "attribute.definition.created"}
	AttributeDefinitionUpdated = bus.EventType[AttributeDefinitionEvent]{Topic: "attribute.definition.updated"}
	AttributeDefinitionDeleted = bus.EventType[AttributeDefinitionEvent]{Topic: "attribute.definition.deleted"}
)
