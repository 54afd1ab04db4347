package seo

import (
	"context"
	"strings"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/feed"
	"github.com/shopengine/shop/internal/store"
)

// Store is the seo module's narrow view of its database: the slug
// registry's change feed (written by the module's event consumers, tailed
// by every instance) and the admins' metadata overrides. Both
// implementations return store.ErrNotFound, store.ErrDuplicate (an override
// created twice) and store.ErrStale (a version moved) alike.
//
// seo publishes no events, so its store has no outbox.
type Store interface {
	// Registry is the slug registry's feed: one entry per entity (key
	// "<type>:<id>") at the entity's version, so a redelivered or
	// reordered event is refused by the feed itself.
	Registry() feed.Log
	// Override returns the override stored under key (overrideKey).
	Override(ctx context.Context, key string) (contract.SEOOverride, error)
	// PutOverride stores o (at o.Version) under key: a new one when
	// expected is 0 (ErrDuplicate if there is one), else only while the
	// stored one is at expected.
	PutOverride(ctx context.Context, key string, o contract.SEOOverride, expected int64) error
	// DeleteOverride removes key's override, if at expected (0: any).
	DeleteOverride(ctx context.Context, key string, expected int64) error
}

// OpenStore returns the Store for db's backend, with its schema, indexes
// and registry feed in place.
func OpenStore(ctx context.Context, db *store.DB) (Store, error) {
	return store.OpenModule[Store](ctx, db, contract.SEOQueue, openSQLStore, openMongoStore)
}

// registryFeed is the name of the registry's feed.
const registryFeed = "registry"

// overrideKey is the stored key of an override: "path:/x" or "<type>:<id>".
func overrideKey(k contract.SEOOverrideKey) string {
	if k.Path != "" {
		return "path:" + k.Path
	}
	return key(k.Type, k.ID)
}

// keyOf is overrideKey's inverse.
func keyOf(stored string) contract.SEOOverrideKey {
	if p, ok := strings.CutPrefix(stored, "path:"); ok {
		return contract.SEOOverrideKey{Path: p}
	}
	t, id, _ := strings.Cut(stored, ":")
	return contract.SEOOverrideKey{Type: contract.SEOEntityType(t), ID: id}
}
