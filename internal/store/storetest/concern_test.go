package storetest_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// TestMongoConcernsPinned opens a module database under a URL that asks
// for w=1 and read concern local, and watches the commands the driver
// sends: writes carry w:majority and reads readConcern majority anyway,
// because store.DB.Mongo pins them on the module database.
func TestMongoConcernsPinned(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		if b.Kind != store.KindMongo {
			continue
		}
		t.Run(b.Name, func(t *testing.T) {
			u, err := url.Parse(b.URL)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("w", "1")
			q.Set("readConcernLevel", "local")
			u.RawQuery = q.Encode()
			if u.Path == "" {
				u.Path = "/"
			}
			var mu sync.Mutex
			sent := map[string]bson.Raw{}
			mon := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
				mu.Lock()
				defer mu.Unlock()
				sent[e.CommandName] = e.Command
			}}
			ctx := t.Context()
			db, err := store.Open(ctx, u.String(), store.WithDatabasePrefix("tconcern_"+strings.ToLower(b.Name)+"_"),
				store.WithMongoClientOptions(func(o *options.ClientOptions) { o.SetMaxPoolSize(1).SetMonitor(mon) }))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close(context.Background())
			mdb, err := db.Mongo(ctx, "concern", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer mdb.Drop(context.Background()) //nolint:errcheck // best effort
			if _, err := mdb.Collection("c").InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}}); err != nil {
				t.Fatal(err)
			}
			if err := mdb.Collection("c").FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Err(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if w, ok := sent["insert"].Lookup("writeConcern", "w").StringValueOK(); !ok || w != "majority" {
				t.Errorf("insert sent writeConcern %v, want w: majority (the URL said w=1)", sent["insert"].Lookup("writeConcern"))
			}
			if lvl, ok := sent["find"].Lookup("readConcern", "level").StringValueOK(); !ok || lvl != "majority" {
				t.Errorf("find sent readConcern %v, want level majority (the URL said local)", sent["find"].Lookup("readConcern"))
			}
		})
	}
}

// TestMongoTransactionsDetected: FerretDB has no transactions and says
// so in its hello; a server at SHOP_TEST_MONGO_URI (a replica set, as the
// variable's documentation asks) has them.
func TestMongoTransactionsDetected(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		if b.Kind != store.KindMongo {
			continue
		}
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			mdb, err := db.Mongo(t.Context(), "txcheck", nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := store.MongoTransactions(t.Context(), mdb)
			if err != nil {
				t.Fatal(err)
			}
			if want := b.Name == "mongodb"; got != want {
				t.Errorf("MongoTransactions = %t on %s, want %t", got, b.Name, want)
			}
		})
	}
}
