package modules

import (
	"context"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// writeOps are the catalogue's and the editorial admin-only ops, by queue.
var writeOps = map[string][]string{
	contract.ArticleQueue:   {contract.CreateArticle.Op, contract.UpdateArticle.Op, contract.DeleteArticle.Op, contract.PublishArticle.Op, contract.UnpublishArticle.Op},
	contract.CategoryQueue:  {contract.CreateCategory.Op, contract.UpdateCategory.Op, contract.MoveCategory.Op, contract.DeleteCategory.Op},
	contract.AttributeQueue: {contract.CreateAttributeGroup.Op, contract.UpdateAttributeGroup.Op, contract.DeleteAttributeGroup.Op, contract.CreateAttributeDefinition.Op, contract.UpdateAttributeDefinition.Op, contract.DeleteAttributeDefinition.Op},
	contract.OptionQueue:    {contract.CreateOptionGroup.Op, contract.UpdateOptionGroup.Op, contract.DeleteOptionGroup.Op, contract.AddOptionValue.Op, contract.UpdateOptionValue.Op, contract.RemoveOptionValue.Op},
	contract.ProductQueue:   {contract.CreateProduct.Op, contract.CreateProducts.Op, contract.UpdateProduct.Op, contract.SetProductStatus.Op, contract.DeleteProduct.Op, contract.DeleteProducts.Op, contract.RegenerateVariants.Op, contract.AdjustStock.Op},
}

// TestModulesAuthoriseWritesFromThePrincipal: every catalogue write over
// the bus is refused to a caller with no principal (unauthorized) and to
// a customer (forbidden), whatever its body says — before the body is
// looked at — and a trusted machine gets past the check (to the body's
// validation).
func TestModulesAuthoriseWritesFromThePrincipal(t *testing.T) {
	b := startModules(t, store.SQLiteURL(t.TempDir()), contract.ArticleQueue)
	customer := contract.Principal{UserID: "0192d1c4-7a2e-7000-8000-000000000001", Role: contract.RoleCustomer, SessionID: "0192d1c4-7a2e-7000-8000-000000000002"}
	callers := []struct {
		name string
		p    contract.Principal
		want bus.Code
	}{
		{"nobody", contract.Principal{}, bus.CodeUnauthorized},
		{"customer", customer, bus.CodeForbidden},
		{"machine", contract.Principal{Machine: "test"}, bus.CodeInvalid},
	}
	for queue, ops := range writeOps {
		for _, op := range ops {
			for _, c := range callers {
				ctx, cancel := context.WithTimeout(contract.WithPrincipal(t.Context(), c.p), 5*time.Second)
				// A body an admin would be told is invalid: the check of
				// the caller comes first.
				_, err := b.Request(ctx, queue, op, []byte(`{}`))
				cancel()
				if got := bus.CodeOf(err); got != c.want {
					t.Errorf("%s/%s as %s: %v, want %s", queue, op, c.name, err, c.want)
				}
			}
		}
	}
}

// TestDraftsAreShownToAdminsOnly: product reads decide from the caller's
// principal, not from the request's published_only field or status filter.
func TestDraftsAreShownToAdminsOnly(t *testing.T) {
	b := startModules(t, store.SQLiteURL(t.TempDir()))
	admin := contract.WithPrincipal(t.Context(), contract.Principal{Machine: "test"})
	cat, err := bus.Call(admin, b, contract.CreateCategory, contract.CreateCategoryRequest{Name: "Lamps"})
	if err != nil {
		t.Fatal(err)
	}
	draft, err := bus.Call(admin, b, contract.CreateProduct, contract.CreateProductRequest{
		Name: "Secret lamp", Status: contract.ProductDraft, CategoryIDs: []string{cat.ID}, Currency: "EUR", Price: 1000})
	if err != nil {
		t.Fatal(err)
	}
	nobody := t.Context()
	if _, err := bus.Call(nobody, b, contract.GetProduct, contract.ProductID{ID: draft.ID}); bus.CodeOf(err) != bus.CodeNotFound {
		t.Fatalf("a draft read by nobody without published_only: %v, want not_found", err)
	}
	if _, err := bus.Call(nobody, b, contract.GetProductBySlug, contract.ProductSlug{Slug: draft.Slug}); bus.CodeOf(err) != bus.CodeNotFound {
		t.Fatalf("a draft read by slug by nobody: %v, want not_found", err)
	}
	if l, err := bus.Call(nobody, b, contract.GetProducts, contract.ProductIDs{IDs: []string{draft.ID}}); err != nil || len(l.Items) != 0 {
		t.Fatalf("get_many of a draft by nobody: %+v %v, want none", l, err)
	}
	if _, err := bus.Call(nobody, b, contract.ListProducts, contract.ListProductsRequest{Status: contract.ProductDraft}); bus.CodeOf(err) != bus.CodeForbidden {
		t.Fatalf("listing drafts as nobody: %v, want forbidden", err)
	}
	if p, err := bus.Call(nobody, b, contract.ListProducts, contract.ListProductsRequest{}); err != nil || p.Total != 0 {
		t.Fatalf("list by nobody: %+v %v, want no published product", p, err)
	}
	if _, err := bus.Call(admin, b, contract.GetProduct, contract.ProductID{ID: draft.ID}); err != nil {
		t.Fatalf("the draft read by an admin: %v", err)
	}
	if p, err := bus.Call(admin, b, contract.ListProducts, contract.ListProductsRequest{Status: contract.ProductDraft}); err != nil || p.Total != 1 {
		t.Fatalf("drafts listed by an admin: %+v %v", p, err)
	}
}
