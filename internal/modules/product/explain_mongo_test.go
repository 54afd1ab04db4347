package product

import (
	"fmt"
	"os"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store/storetest"
)

// TestMongoListPlans asks a real MongoDB (SHOP_TEST_MONGO_URI) to explain
// every list shape List issues: all products, a category with its
// descendants and directly; each status and any; each sort, both ways; a
// first page, a deep offset and a keyset position. Each must be answered
// from an index: no COLLSCAN and no in-memory SORT stage. FerretDB
// ignores indexes, so only a real server can say.
func TestMongoListPlans(t *testing.T) {
	if os.Getenv(storetest.MongoURIEnv) == "" {
		t.Skipf("SKIP: %s is not set: the list plans need a real MongoDB (FerretDB ignores indexes)", storetest.MongoURIEnv)
	}
	var s *mongoStore
	for _, b := range storetest.Backends(t) {
		if b.Name == "mongodb" {
			st, err := OpenStore(t.Context(), b.Open(t))
			if err != nil {
				t.Fatal(err)
			}
			s = st.(*mongoStore)
		}
	}
	cat := newID()
	for i := range 20 {
		p := newProduct(fmt.Sprint("P", i%4), fmt.Sprint("p-", i), fmt.Sprint("P", i), statuses[i%3], []string{cat}, int64(100*(i%5)+1))
		if r := insertOne(t, s, p, []string{newID()}); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	at := &Position{ID: newID(), NameKey: "p2", PriceMin: 201}
	for _, c := range []Query{{}, {CategoryID: cat}, {CategoryID: cat, Direct: true}} {
		for _, st := range append([]contract.ProductStatus{""}, statuses...) {
			for _, sortBy := range []string{contract.SortCreated, contract.SortName, contract.SortPrice} {
				for _, desc := range []bool{false, true} {
					for _, where := range []string{"first", "offset", "keyset"} {
						q := c
						q.Status, q.Sort, q.Desc, q.Limit = st, sortBy, desc, 25
						switch where {
						case "offset":
							q.Offset = 500
						case "keyset":
							q.After = at
						}
						page, sort := listFind(q)
						var plan bson.M
						err := s.db.RunCommand(t.Context(), bson.D{
							{Key: "explain", Value: bson.D{{Key: "find", Value: s.products.Name()}, {Key: "filter", Value: page},
								{Key: "sort", Value: sort}, {Key: "skip", Value: q.Offset}, {Key: "limit", Value: q.Limit}}},
							{Key: "verbosity", Value: "queryPlanner"},
						}).Decode(&plan)
						if err != nil {
							t.Fatal(err)
						}
						stages := map[string]bool{}
						collect(plan["queryPlanner"], stages)
						if stages["COLLSCAN"] || stages["SORT"] || !stages["IXSCAN"] {
							t.Errorf("%+v (%s): plan stages %v, want an IXSCAN without COLLSCAN or SORT", q, where, stages)
						}
					}
				}
			}
		}
	}
}

// collect gathers the stage names of an explained plan.
func collect(v any, into map[string]bool) {
	switch v := v.(type) {
	case bson.M:
		for k, x := range v {
			if k == "rejectedPlans" {
				continue
			}
			if s, ok := x.(string); ok && k == "stage" {
				into[s] = true
			}
			collect(x, into)
		}
	case bson.D:
		for _, e := range v {
			if e.Key == "rejectedPlans" {
				continue
			}
			if s, ok := e.Value.(string); ok && e.Key == "stage" {
				into[s] = true
			}
			collect(e.Value, into)
		}
	case bson.A:
		for _, x := range v {
			collect(x, into)
		}
	}
}
