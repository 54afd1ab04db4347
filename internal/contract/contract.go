// Package contract is the shared type library of the modules: for each
// module, one file with its entities, the requests and replies of its
// endpoints, and its events. A module imports contract for the types of
// the others, never their packages, so message formats are checked by the
// compiler on both sides of the bus.
package contract

// Queue names: one per module, consumed by every instance of it.
const (
	AuthQueue      = "auth"
	ProductQueue   = "product"
	CategoryQueue  = "category"
	AttributeQueue = "attribute"
	OptionQueue    = "option"
	CartQueue      = "cart"
	FilterQueue    = "filter"
	ArticleQueue   = "article"
	SEOQueue       = "seo"
)

// Empty is the request or reply of an endpoint that carries nothing.
type Empty struct{}
