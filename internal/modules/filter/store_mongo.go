package filter

import (
	"context"

	"github.com/shopengine/shop/internal/store"
)

// openMongoStore opens the read model in the shop_filter database: the
// catalog feed's collections (entries and their seq counter, indexes made
// by the feed package) and nothing else.
func openMongoStore(ctx context.Context, db *store.DB) (feedStore, error) {
	return openFeedStore(ctx, db)
}
