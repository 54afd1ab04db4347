package contract

import "github.com/shopengine/shop/internal/bus"

// AttributeUsageRequest asks how many products use an attribute, or, with
// Value, one allowed value of a select/multiselect attribute.
type AttributeUsageRequest struct {
	Code  string `json:"code"`
	Value string `json:"value,omitempty"`
}

// AttributeUsage is the answer: how many products (any status) use it.
type AttributeUsage struct {
	Count int `json:"count"`
}

// ProductsUsingAttribute is how the attribute module refuses changes that
// would orphan product data (a type change, an allowed value removed).
var ProductsUsingAttribute = bus.Endpoint[AttributeUsageRequest, AttributeUsage]{Queue: ProductQueue, Op: "attribute_usage"}
