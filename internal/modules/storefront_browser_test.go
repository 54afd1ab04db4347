package modules

import (
	"testing"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/storefronttest"
)

// TestStorefrontInBrowser walks the in-process shop in a real browser,
// with JavaScript and without: storefronttest.Walk, the same walk
// cmd/shop's end-to-end test runs against ten processes over RabbitMQ.
func TestStorefrontInBrowser(t *testing.T) {
	storefronttest.Chromium(t)
	sf := startStorefront(t, 60)
	awaitFilterCaughtUp(t, sf.shop)
	ctx, bb := adminCtx(t), sf.app.Bus()
	// Enough stock for both walks' carts, and an article for the blog.
	if _, err := bus.Call(ctx, bb, contract.AdjustStock, contract.AdjustStockRequest{VariantID: sf.withVariants.Variants[1].ID, Delta: 50}); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Call(ctx, bb, contract.CreateArticle, contract.CreateArticleRequest{Title: "How to choose a winter coat",
		BodyMarkdown: "Start with **warmth**, then think about rain.\n\n## Layers\n\nA coat is the outer layer.", Tags: []string{"guides", "winter"},
		Status: contract.ArticlePublished, AuthorName: "Ines"}); err != nil {
		t.Fatal(err)
	}
	shop := storefronttest.Discover(t, sf.url)
	if want := []string{"How to choose a winter coat", "By Ines", "Layers"}; len(shop.Article.Texts) != 3 || shop.Article.Texts[2] != want[2] {
		t.Fatalf("discovered article texts %q, want %q", shop.Article.Texts, want)
	}
	for _, js := range []bool{true, false} {
		name, email := "js-off", "walker-nojs@example.com" // each walk registers its own
		if js {
			name, email = "js-on", "walker-js@example.com"
		}
		t.Run(name, func(t *testing.T) { storefronttest.Walk(t, shop, js, email, goodPW) })
	}
}
