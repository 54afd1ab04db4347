package seo

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopengine/shop/internal/contract"
)

// entry is one entity of the slug registry as its feed holds it (key
// "<type>:<id>", at the entity's version): what every instance needs to
// place the entity in the URL space, and the slugs it had before, so that
// its old paths redirect. A deleted entity keeps its entry (Deleted), so
// that its last path answers 410 Gone; the feed's tombstones are not used.
//
// A category's path depends on its ancestors' slugs, which its own events
// do not carry: each instance derives every category path from the
// category entries (Parent and Slug), so renaming or moving a category
// moves its descendants without a write of theirs. Old is then the
// category's own earlier (parent, slug) places; an old path of an
// ancestor redirects every path below it (see registry.resolve).
type entry struct {
	Type    contract.SEOEntityType `json:"type"`
	ID      string                 `json:"id"`
	Slug    string                 `json:"slug"`
	Parent  string                 `json:"parent,omitempty"` // a category's parent id
	Public  bool                   `json:"public"`
	Deleted bool                   `json:"deleted,omitempty"`
	LastMod time.Time              `json:"lastmod"`
	Old     []place                `json:"old,omitempty"`
	// Article is what the metadata of an article page needs: its module's
	// event carries it, so get_meta need not ask.
	Article *articleInfo `json:"article,omitempty"`
}

// place is a slug an entity had, under a parent for a category.
type place struct {
	Slug   string `json:"slug"`
	Parent string `json:"parent,omitempty"`
}

// articleInfo is the part of an ArticleEvent that meta and JSON-LD use.
type articleInfo struct {
	Title       string     `json:"title"`
	Excerpt     string     `json:"excerpt,omitempty"`
	CoverURL    string     `json:"cover_url,omitempty"`
	PublishedAt *time.Time `json:"published_at,omitempty"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// maxOld bounds the history of one entity: the oldest slugs stop
// redirecting after that many renames.
const maxOld = 32

// key is the feed key of an entity.
func key(t contract.SEOEntityType, id string) string { return string(t) + ":" + id }

// succeed returns the entry that replaces prev (nil: none) with next: next
// with prev's history, plus prev's place when next moved from it.
func succeed(prev *entry, next entry) entry {
	if prev == nil {
		return next
	}
	next.Old = append([]place(nil), prev.Old...)
	if !prev.Deleted && (prev.Slug != next.Slug || prev.Parent != next.Parent) && prev.Slug != "" {
		p := place{Slug: prev.Slug, Parent: prev.Parent}
		next.Old = append(next.Old[:0:0], dropPlace(next.Old, p)...)
		next.Old = append(next.Old, p)
	}
	// The place it has now is not an old one.
	next.Old = dropPlace(next.Old, place{Slug: next.Slug, Parent: next.Parent})
	if len(next.Old) > maxOld {
		next.Old = next.Old[len(next.Old)-maxOld:]
	}
	return next
}

func dropPlace(ps []place, p place) []place {
	out := ps[:0:0]
	for _, q := range ps {
		if q != p {
			out = append(out, q)
		}
	}
	return out
}

func decodeEntry(body []byte) (entry, error) {
	var e entry
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("decode registry entry: %w", err)
	}
	return e, nil
}
