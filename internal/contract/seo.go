package contract

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// The storefront's URL space, owned by seo's slug registry. Every public
// page path maps to one entity, whatever its type:
//
//	/<category>/<child>/…   a category: its slug under its ancestors' slugs
//	/p/<product-slug>       a product (one segment: a product in many
//	                        categories has one URL, and a category move
//	                        never changes it)
//	/blog/<article-slug>    an article
//
// A path no registry entry owns is the storefront's or nobody's.
const (
	ProductPathPrefix = "/p/"
	ArticlePathPrefix = "/blog/"
)

// ReservedPrefixes are the first path segments that no entity may take:
// the storefront's own routes and the registry's product and article
// prefixes. A category whose root slug is one of them gets no path (it
// does not resolve, and seo logs it). The storefront appends the routes it
// adds here, at init, before the seo module starts.
var ReservedPrefixes = []string{
	"/api", "/static", "/media", "/cart", "/account", "/login", "/register", "/logout", "/search",
	"/blog", "/p", "/sitemap.xml", "/robots.txt", "/healthz", "/readyz", "/metrics", "/dev", "/favicon.ico",
}

// IsReserved reports whether path is a reserved prefix or under one
// ("/api", "/api/v1/…", but not "/apiary").
func IsReserved(path string) bool {
	for _, p := range ReservedPrefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// MaxPathLength bounds a path the seo endpoints accept.
const MaxPathLength = 2048

// SEOEntityType names what a registry path leads to.
type SEOEntityType string

// The entity types of the URL space.
const (
	SEOProduct  SEOEntityType = "product"
	SEOCategory SEOEntityType = "category"
	SEOArticle  SEOEntityType = "article"
)

// ResolveKind is the answer of resolve.
type ResolveKind string

// What a path is: an entity's page; a superseded path of one (301 to
// Target); a deleted entity's path (410 Gone); or nobody's (404), which is
// also the answer for an entity that is not public (a draft or archived
// product, an unpublished article: it may come back, so it is not gone).
const (
	ResolveEntity   ResolveKind = "entity"
	ResolveRedirect ResolveKind = "redirect"
	ResolveGone     ResolveKind = "gone"
	ResolveNotFound ResolveKind = "not_found"
)

// ResolveRequest asks what Path (starting with '/', no query) is.
type ResolveRequest struct {
	Path string `json:"path"`
}

// Resolution is what a path is. Type and ID name the entity of an entity
// answer (and of a redirect); Target is the path a redirect leads to (the
// entity's current path); Path is the path asked.
type Resolution struct {
	Kind   ResolveKind   `json:"kind"`
	Path   string        `json:"path"`
	Type   SEOEntityType `json:"type,omitempty"`
	ID     string        `json:"id,omitempty"`
	Target string        `json:"target,omitempty"`
}

// MetaRequest asks for the metadata of the page at Path with the query
// string Query (without '?'; facet and sort parameters make a category page
// noindex). BaseURL is the shop's absolute origin ("https://shop.example"),
// from which canonical and JSON-LD URLs are made; web fills it.
type MetaRequest struct {
	Path    string `json:"path"`
	Query   string `json:"query,omitempty"`
	BaseURL string `json:"base_url"`
}

// Robots values of a page.
const (
	RobotsIndex           = "index, follow"
	RobotsNoindexFollow   = "noindex, follow"
	RobotsNoindexNofollow = "noindex, nofollow"
)

// Meta is a page's metadata: what its <head> needs. Canonical and OGImage
// are absolute URLs; JSONLD are the page's structured-data objects, each
// one <script type="application/ld+json">.
type Meta struct {
	Resolution  Resolution        `json:"resolution"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Canonical   string            `json:"canonical,omitempty"`
	Robots      string            `json:"robots"`
	OGImage     string            `json:"og_image,omitempty"`
	JSONLD      []json.RawMessage `json:"json_ld,omitempty"`
}

// SEOOverrideKey names what an override is for: an entity (Type and ID)
// or a path (such as the home page "/"); exactly one of the two.
type SEOOverrideKey struct {
	Path string        `json:"path,omitempty"`
	Type SEOEntityType `json:"type,omitempty"`
	ID   string        `json:"id,omitempty"`
}

// SEOOverride is what an admin set for a page instead of the defaults
// derived from its entity; an empty field keeps the default. A path
// override wins over an entity override of the entity at that path.
type SEOOverride struct {
	SEOOverrideKey
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Canonical   string    `json:"canonical"` // a path ("/x") or an absolute URL
	Robots      string    `json:"robots"`    // one of the Robots values
	OGImage     string    `json:"og_image"`  // absolute http(s) URL
	Version     int64     `json:"version"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ETagVersion implements Versioned.
func (o SEOOverride) ETagVersion() int64 { return o.Version }

// PutOverrideRequest sets the override of the key to the fields given
// (replacing the whole override). Version is the version read: 0 creates
// one that must not exist yet, > 0 replaces one still at that version.
type PutOverrideRequest struct {
	SEOOverrideKey
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Canonical   string `json:"canonical,omitempty"`
	Robots      string `json:"robots,omitempty"`
	OGImage     string `json:"og_image,omitempty"`
	Version     int64  `json:"version"`
}

// DeleteOverrideRequest removes an override; with Version > 0 only while
// it is at that version.
type DeleteOverrideRequest struct {
	SEOOverrideKey
	Version int64 `json:"version,omitempty"`
}

// SitemapChunkSize is the most URLs one sitemap file holds (the protocol's
// limit is 50,000).
const SitemapChunkSize = 50_000

// MaxSitemapPage bounds one page of a sitemap chunk over the bus.
const MaxSitemapPage = 5_000

// SitemapIndex lists the sitemap chunks (/sitemap-1.xml …) of the live
// public paths, in path order, SitemapChunkSize each. Rev is the registry
// revision it was made from: the ETag of the sitemap files.
type SitemapIndex struct {
	Chunks []SitemapChunk `json:"chunks"`
	Total  int            `json:"total"`
	Rev    int64          `json:"rev"`
}

// SitemapChunk is one sitemap file: its number (from 1) and the newest
// lastmod of its URLs.
type SitemapChunk struct {
	N       int       `json:"n"`
	LastMod time.Time `json:"lastmod"`
}

// SitemapPageRequest asks for up to Limit (1..MaxSitemapPage) URLs of chunk
// N (from 1) whose paths sort after After ("" from the chunk's start): a
// chunk is read in pages, since a bus reply is not a stream.
type SitemapPageRequest struct {
	N     int    `json:"n"`
	After string `json:"after,omitempty"`
	Limit int    `json:"limit"`
}

// SitemapURL is one <url>: a path and its lastmod.
type SitemapURL struct {
	Path    string    `json:"path"`
	LastMod time.Time `json:"lastmod"`
}

// SitemapPage is one page of a chunk; Next is the After of the next page,
// empty when the chunk is done.
type SitemapPage struct {
	URLs []SitemapURL `json:"urls"`
	Next string       `json:"next,omitempty"`
	Rev  int64        `json:"rev"`
}

// SEO endpoints. Resolve, GetMeta and the sitemaps are public and answered
// from each instance's memory (GetMeta asks the entity's module for what
// the registry does not hold); the overrides are admin-only.
var (
	Resolve         = bus.Endpoint[ResolveRequest, Resolution]{Queue: SEOQueue, Op: "resolve"}
	GetMeta         = bus.Endpoint[MetaRequest, Meta]{Queue: SEOQueue, Op: "get_meta"}
	GetSitemapIndex = bus.Endpoint[Empty, SitemapIndex]{Queue: SEOQueue, Op: "get_sitemap_index"}
	GetSitemapPage  = bus.Endpoint[SitemapPageRequest, SitemapPage]{Queue: SEOQueue, Op: "get_sitemap_page"}
	GetOverride     = bus.Endpoint[SEOOverrideKey, SEOOverride]{Queue: SEOQueue, Op: "get_override"}
	PutOverride     = bus.Endpoint[PutOverrideRequest, SEOOverride]{Queue: SEOQueue, Op: "put_override"}
	DeleteOverride  = bus.Endpoint[DeleteOverrideRequest, Empty]{Queue: SEOQueue, Op: "delete_override"}
)
