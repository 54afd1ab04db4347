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
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

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
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

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
// the input normalised (numbers as numbers, multiselect codes sorted).
type ValidateAttributesReply struct {
	Valid    bool               `json:"valid"`
	Problems []AttributeProblem `json:"problems"`
	Values   AttributeValues    `json:"values,omitempty"`
}

// ValidateAttributes is how product checks a product's attribute values.
var ValidateAttributes = bus.Endpoint[ValidateAttributesRequest, ValidateAttributesReply]{Queue: AttributeQueue, Op: "validate"}
