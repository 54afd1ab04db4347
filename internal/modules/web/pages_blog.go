package web

import (
	"html/template"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/contract"
)

// The blog's pages, on the /blog router beside the feeds (feeds.go):
//
//	/blog              the latest articles, paged by ?cursor=
//	/blog/tag/{tag}    the articles of one tag
//	/blog/{slug}       an article (through the resolver: old slugs 301)

// blogPageSize is how many articles a blog page lists.
const blogPageSize = 10

// blogView is a list page of the blog.
type blogView struct {
	Tag      string
	Articles []contract.ArticleSummary
	Tags     []contract.ArticleTag
	// Next is the link to the older articles; empty on the last page.
	Next string
	// First says this is not the first page (a link back to it).
	Paged bool
}

// articleView is an article's page. Body is the article module's
// sanitised HTML, the one field rendered as markup.
type articleView struct {
	Article contract.Article
	Body    template.HTML
	Date    time.Time // when it became public
}

// blogPageRoutes mounts the pages on the blog router, with the pages'
// middleware (the feeds keep theirs).
func (m *Module) blogPageRoutes(blog chi.Router) {
	blog.Group(func(p chi.Router) {
		m.pageMiddleware(p)
		p.Get("/", m.blogPage)
		p.Get("/tag/{tag}", m.blogPage)
		p.Get("/{slug}", m.entityPage)
	})
}

// blogPage renders /blog and /blog/tag/{tag}: a page of articles (the
// article module is required) and the tags with counts (optional).
func (m *Module) blogPage(w http.ResponseWriter, r *http.Request) {
	if err := onlyQuery(r.URL.Query(), "cursor"); err != nil {
		m.pageError(w, r, err)
		return
	}
	tag, cursor := chi.URLParam(r, "tag"), r.URL.Query().Get("cursor")
	g := m.gather(r)
	v := m.layout(g, r)
	bv := &blogView{Tag: tag, Paged: cursor != ""}
	v.Page = bv
	v.Meta = PageMeta{Title: "Journal", Description: "Guides, news and stories from the shop."}
	if tag != "" {
		v.Meta = PageMeta{Title: "Journal: " + tag, Description: "Articles about " + tag + "."}
	}
	if cursor != "" {
		v.Meta.Robots = "noindex,follow"
	}
	g.Required("articles", func(r *http.Request) error {
		page, err := shared(m, r, contract.ListArticles, contract.ListArticlesRequest{Tag: tag, PublicOnly: true, Cursor: cursor, Limit: blogPageSize})
		bv.Articles = page.Items
		if page.NextCursor != "" {
			bv.Next = withQuery(r.URL.Path, "cursor", page.NextCursor)
		}
		return err
	})
	g.Optional("tags", "", func(r *http.Request) error {
		page, err := shared(m, r, contract.ListArticleTags, contract.ListArticleTagsRequest{PublicOnly: true})
		bv.Tags = page.Items
		return err
	})
	m.finish(w, r, g, v, "blog")
}

// articlePage renders the article a blog path resolved to (by id from
// seo, by slug without it).
func (m *Module) articlePage(w http.ResponseWriter, r *http.Request, t target) {
	g := m.gather(r)
	v := m.layout(g, r)
	av := &articleView{}
	v.Page = av
	m.withSEO(g, v)
	g.Required("article", func(r *http.Request) (err error) {
		if t.ID != "" {
			av.Article, err = shared(m, r, contract.GetArticle, contract.ArticleID{ID: t.ID, PublicOnly: true})
		} else {
			av.Article, err = shared(m, r, contract.GetArticleBySlug, contract.ArticleSlug{Slug: t.Slug, PublicOnly: true})
		}
		return err
	})
	if err := g.Wait(); err != nil {
		m.pageError(w, r, err)
		return
	}
	a := av.Article
	av.Date = published(a.Summary())
	av.Body = template.HTML(a.BodyHTML) //nolint:gosec // the article module sanitises the body it renders from Markdown
	v.Meta = PageMeta{Title: a.Title, Description: firstSentence(a.Excerpt), Canonical: contract.ArticlePathPrefix + a.Slug, OGType: "article"}
	if a.Cover != nil {
		v.Meta.OGImage = a.Cover.URL
	}
	m.finish(w, r, g, v, "article")
}

// latestArticles are the home page's articles.
func (m *Module) latestArticles(r *http.Request, limit int) ([]articleCard, error) {
	page, err := shared(m, r, contract.ListArticles, contract.ListArticlesRequest{PublicOnly: true, Limit: limit})
	cards := make([]articleCard, 0, len(page.Items))
	for _, a := range page.Items {
		c := articleCard{Title: a.Title, Path: contract.ArticlePathPrefix + a.Slug, Excerpt: a.Excerpt}
		if a.Cover != nil {
			c.CoverURL = a.Cover.URL
		}
		cards = append(cards, c)
	}
	return cards, err
}
