package web

import (
	"net/http"

	"github.com/shopengine/shop/internal/contract"
)

// homeNewest is how many of the newest products the home page shows.
const homeNewest = 8

// homeArticles is how many articles the home page shows (seams.articles;
// none when the article module does not answer).
const homeArticles = 3

// homeView is the home page: the departments (the tree's roots, with
// their children), the newest products and the latest articles.
type homeView struct {
	Newest   []contract.ProductSummary
	Articles []articleCard
}

// homePage renders /. Every part is optional: without the catalogue it
// still shows the shop's frame and search box, with a notice.
func (m *Module) homePage(w http.ResponseWriter, r *http.Request) {
	g := m.gather(r)
	v := m.layout(g, r)
	home := &homeView{}
	v.Page = home
	v.Meta = PageMeta{Title: "Home", Description: "Shop the catalogue: new arrivals across every department."}
	m.withSEO(g, v)
	g.Optional("newest", "New arrivals cannot be shown right now; please try again in a moment.", func(r *http.Request) error {
		page, err := shared(m, r, contract.ListProducts, contract.ListProductsRequest{Status: contract.ProductPublished,
			Sort: contract.SortCreated, Order: contract.OrderDesc, PageSize: homeNewest})
		home.Newest = page.Items
		return err
	})
	if m.seams.articles != nil {
		g.Optional("articles", "", func(r *http.Request) (err error) {
			home.Articles, err = m.seams.articles(r, homeArticles)
			return err
		})
	}
	m.finish(w, r, g, v, "home")
}
