package filter

import (
	"context"

	"github.com/shopengine/shop/internal/store"
)

// openSQLStore opens the read model in filter.db: the file holds the
// catalog feed's table and nothing else (the feed package owns its
// schema), so the module has no schema/ of its own.
func openSQLStore(ctx context.Context, db *store.DB) (feedStore, error) {
	return openFeedStore(ctx, db)
}
