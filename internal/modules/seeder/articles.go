package seeder

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shopengine/shop/internal/contract"
)

// articlePlan is one sample article. Days places it in time: 0 publishes
// it at once, n > 0 schedules it n days after the run that creates it, and
// a negative value leaves it a draft.
type articlePlan struct {
	Title, Slug, Intro string
	Tags               []string
	Featured           bool
	Days               int
}

var sampleArticles = []articlePlan{
	{Title: "Welcome to the demo shop", Slug: "welcome-to-the-demo-shop", Featured: true, Tags: []string{"News", "Shop"},
		Intro: "Everything here is sample data made by `shop seed`: browse, filter, fill a cart."},
	{Title: "How to choose a tent", Slug: "how-to-choose-a-tent", Tags: []string{"Guides", "Outdoor"},
		Intro: "Weight, seasons and the number of sleepers decide most of it."},
	{Title: "Caring for wool", Slug: "caring-for-wool", Tags: []string{"Guides", "Care"},
		Intro: "Wool cleans itself more than you think: air it, wash it rarely and cold."},
	{Title: "Five running myths", Slug: "five-running-myths", Tags: []string{"Sports", "Running"},
		Intro: "No, you do not need to stretch before an easy run."},
	{Title: "A kitchen that works", Slug: "a-kitchen-that-works", Tags: []string{"Home", "Guides"},
		Intro: "Keep what you use every day within one step of the stove."},
	{Title: "The winter collection", Slug: "the-winter-collection", Tags: []string{"News", "Clothing"}, Days: 7,
		Intro: "Knitwear and outerwear for the cold months, coming soon."},
	{Title: "Spring cleaning sale", Slug: "spring-cleaning-sale", Tags: []string{"News", "Sale"}, Days: 30,
		Intro: "A month of lower prices across the home department."},
	{Title: "Notes for the next newsletter", Slug: "notes-for-the-next-newsletter", Tags: []string{"Internal"}, Days: -1,
		Intro: "A draft: only admins see it."},
}

// articleRequest returns the create request of article k: a Markdown body
// (headings, a list, a table, a quote, links to sample products) drawn
// from the seed, so the storefront's renderer has something to show.
func articleRequest(seed uint64, k int, products int, now time.Time) contract.CreateArticleRequest {
	a := sampleArticles[k]
	r := rng(seed, -1-k)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n## What to look for\n\n", a.Intro)
	for i := range 3 {
		fmt.Fprintf(&b, "- **%s** %s, %s\n", adjective[r.IntN(len(adjective))], strings.ToLower(materials[r.IntN(len(materials))]), careTexts[(i+k)%len(careTexts)])
	}
	b.WriteString("\n| Brand | Weight |\n|---|---|\n")
	for range 3 {
		fmt.Fprintf(&b, "| %s | %.1f kg |\n", brands[r.IntN(len(brands))], float64(1+r.IntN(50))/10)
	}
	fmt.Fprintf(&b, "\n> %s\n", careTexts[r.IntN(len(careTexts))])
	if products > 0 {
		b.WriteString("\n## From the catalogue\n\n")
		for range 2 {
			i := r.IntN(products)
			fmt.Fprintf(&b, "- [Sample product %d](/products/%s)\n", i+1, productSlug(seed, i))
		}
	}
	req := contract.CreateArticleRequest{Title: a.Title, Slug: a.Slug, BodyMarkdown: b.String(), Tags: a.Tags,
		AuthorName: "Demo Admin", Featured: a.Featured, Status: contract.ArticlePublished}
	switch {
	case a.Days < 0:
		req.Status = contract.ArticleDraft
	case a.Days > 0:
		at := now.Add(time.Duration(a.Days) * 24 * time.Hour).Truncate(time.Hour)
		req.Status, req.PublishAt = contract.ArticleScheduled, &at
	}
	return req
}

// seedArticles creates the sample articles that do not exist (by slug).
func (m *Module) seedArticles(ctx context.Context, opts Options, p Progress, sum *Summary) error {
	p.Start("articles", len(sampleArticles))
	defer p.End()
	now := time.Now().UTC()
	for k, a := range sampleArticles {
		_, err := call(ctx, m.bus, contract.GetArticleBySlug, contract.ArticleSlug{Slug: a.Slug})
		switch {
		case err == nil:
			sum.Articles.Existing++
		case isNotFound(err):
			if _, err := call(ctx, m.bus, contract.CreateArticle, articleRequest(opts.Seed, k, opts.Products, now)); err != nil {
				return fmt.Errorf("article %s: %w", a.Slug, err)
			}
			sum.Articles.Created++
		default:
			return fmt.Errorf("article %s: %w", a.Slug, err)
		}
		p.Add(1)
	}
	return nil
}

// resetArticles deletes the sample articles (by slug).
func (m *Module) resetArticles(ctx context.Context, sum *Summary) error {
	for _, a := range sampleArticles {
		got, err := call(ctx, m.bus, contract.GetArticleBySlug, contract.ArticleSlug{Slug: a.Slug})
		if isNotFound(err) {
			continue
		} else if err != nil {
			return fmt.Errorf("article %s: %w", a.Slug, err)
		}
		if _, err := call(ctx, m.bus, contract.DeleteArticle, contract.DeleteArticleRequest{ID: got.ID, Version: got.Version}); err != nil {
			return fmt.Errorf("article %s: %w", a.Slug, err)
		}
		sum.Articles.Deleted++
	}
	return nil
}
