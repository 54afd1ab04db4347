package filter

import (
	"context"
	"fmt"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/feed"
	"github.com/shopengine/shop/internal/store"
)

// Store is the filter module's read model: one feed (package feed) in its
// own store, "feed_catalog" in filter.db on SQLite or in the shop_filter
// database on MongoDB, holding one document per published product (and
// per definition it facets on; see document.go). The feed package is the
// store's two implementations: its Log writes each entry with the
// source's version, refusing what is not newer, on either backend, and
// gives every instance the snapshot and the changes to tail.
type Store interface {
	// Put writes doc under key at version, unless the store holds that
	// version or a newer one (applied false).
	Put(ctx context.Context, key string, version int64, doc any) (applied bool, err error)
	// Delete leaves a tombstone under key at version, under the same rule.
	Delete(ctx context.Context, key string, version int64) (applied bool, err error)
	// Write applies writes in order, as Put and Delete would one by one,
	// in one transaction where the backend has them (SQLite): a burst of
	// events costs one commit. A write that Put would refuse fails them all
	// (feed.ErrInvalid) and nothing is written.
	Write(ctx context.Context, writes []docWrite) error
	// Log is the feed the instances tail.
	Log() feed.Log
}

// docWrite is one write of Store.Write: doc under key at version, or a
// tombstone when doc is nil.
type docWrite struct {
	key     string
	version int64
	doc     any
}

// feedName is the read model's feed.
const feedName = "catalog"

// OpenStore opens the filter module's store on db, by backend as every
// module does (store_sqlite.go, store_mongo.go); both are the feed.
func OpenStore(ctx context.Context, db *store.DB) (Store, error) {
	return store.OpenModule[Store](ctx, db, contract.FilterQueue, openSQLStore, openMongoStore)
}

// openFeedStore is both backends' store: the feed package keeps the
// entries in the module's SQLite file or MongoDB database.
func openFeedStore(ctx context.Context, db *store.DB) (feedStore, error) {
	l, err := feed.Open(ctx, db, contract.FilterQueue, feedName)
	if err != nil {
		return feedStore{}, fmt.Errorf("open filter store: %w", err)
	}
	return feedStore{l}, nil
}

type feedStore struct{ log feed.Log }

func (s feedStore) Put(ctx context.Context, key string, version int64, doc any) (bool, error) {
	body, err := encodeDoc(doc)
	if err != nil {
		return false, fmt.Errorf("encode %s: %w", key, err)
	}
	return s.log.Put(ctx, key, version, body)
}

func (s feedStore) Delete(ctx context.Context, key string, version int64) (bool, error) {
	return s.log.Delete(ctx, key, version)
}

func (s feedStore) Write(ctx context.Context, writes []docWrite) error {
	entries := make([]feed.Entry, len(writes))
	for i, w := range writes {
		entries[i] = feed.Entry{Key: w.key, Version: w.version, Deleted: w.doc == nil}
		if w.doc == nil {
			continue
		}
		body, err := encodeDoc(w.doc)
		if err != nil {
			return fmt.Errorf("encode %s: %w", w.key, err)
		}
		entries[i].Body = body
	}
	_, err := feed.Write(ctx, s.log, entries)
	return err
}

func (s feedStore) Log() feed.Log { return s.log }
