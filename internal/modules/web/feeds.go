package web

import (
	"encoding/xml"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// The blog's feeds: RSS 2.0 and Atom 1.0 of the latest
// contract.FeedArticles public articles, newest first, for the whole blog
// and for each tag:
//
//	/blog/rss.xml   /blog/atom.xml
//	/blog/tag/{tag}/rss.xml   /blog/tag/{tag}/atom.xml
//
// An article's page is /blog/{slug} (the storefront's; /blog is a
// reserved prefix of the URL space), and every link is absolute, under
// Config.PublicURL (or, without one, the scheme and host the request
// came to). Entries are identified by urn:uuid:<article id>, which a slug
// change does not move, so a reader does not show a renamed article as
// new. Items carry the excerpt, not the body: the feed is an index.
const (
	blogPrefix = "/blog"
	// feedTitle names the feeds (and, with ": <tag>", the tag feeds).
	feedTitle = "Blog"
)

// feedRoutes mounts the feeds on r, outside the JSON API, and the blog's
// pages beside them (pages_blog.go).
func (m *Module) feedRoutes(r chi.Router) {
	blog := chi.NewRouter()
	blog.Get("/rss.xml", m.feed(rss))
	blog.Get("/atom.xml", m.feed(atom))
	blog.Get("/tag/{tag}/rss.xml", m.feed(rss))
	blog.Get("/tag/{tag}/atom.xml", m.feed(atom))
	blog.NotFound(m.notFoundPage)
	m.blogPageRoutes(blog)
	r.Mount(blogPrefix, blog)
	m.track(blogPrefix, blog)
}

// feedData is what both formats are made of.
type feedData struct {
	Title, Home, Self string
	Updated           time.Time
	Items             []contract.ArticleSummary
	Base              string // the shop's public URL, no trailing slash
}

func (d feedData) link(a contract.ArticleSummary) string { return d.Base + blogPrefix + "/" + a.Slug }

// published is when a became public (summaries of public articles have
// one of the two).
func published(a contract.ArticleSummary) time.Time {
	if a.PublishedAt != nil {
		return *a.PublishedAt
	}
	if a.PublishAt != nil {
		return *a.PublishAt
	}
	return a.CreatedAt
}

// feed answers one feed in format: the list call, then the XML.
func (m *Module) feed(format func(feedData) (string, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := onlyQuery(r.URL.Query()); err != nil {
			m.writeError(w, r, err)
			return
		}
		tag := pathParam(r, "tag")
		ctx, cancel := callContext(r)
		defer cancel()
		page, err := bus.Call(ctx, m.cfg.Bus, contract.ListArticles, contract.ListArticlesRequest{Tag: tag, PublicOnly: true, Limit: contract.FeedArticles})
		if err != nil {
			m.writeError(w, r, err)
			return
		}
		d := feedData{Title: feedTitle, Base: m.publicURL(r), Items: page.Items}
		d.Home = d.Base + blogPrefix
		if tag != "" {
			d.Title += ": " + tag
			d.Home += "/tag/" + tag
		}
		d.Self = d.Base + r.URL.Path
		for _, a := range page.Items {
			if a.UpdatedAt.After(d.Updated) {
				d.Updated = a.UpdatedAt
			}
		}
		if d.Updated.IsZero() {
			d.Updated = time.Unix(0, 0).UTC()
		}
		contentType, doc := format(d)
		body, err := xml.MarshalIndent(doc, "", " ")
		if err != nil {
			m.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write([]byte(xml.Header))
		_, _ = w.Write(body)
	}
}

// publicURL is the shop's address for absolute links: the configured
// one, or the request's scheme and host.
func (m *Module) publicURL(r *http.Request) string {
	if m.cfg.PublicURL != "" {
		return strings.TrimSuffix(m.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// RSS 2.0 (https://www.rssboard.org/rss-specification), with the Atom
// self link the RSS Advisory Board recommends.
type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	AtomNS  string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	LastBuildDate string    `xml:"lastBuildDate"`
	Self          atomLink  `xml:"atom:link"`
	Items         []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string   `xml:"title"`
	Link        string   `xml:"link"`
	GUID        rssGUID  `xml:"guid"`
	Description string   `xml:"description"`
	PubDate     string   `xml:"pubDate"`
	Categories  []string `xml:"category"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

func rss(d feedData) (string, any) {
	doc := rssDoc{Version: "2.0", AtomNS: "http://www.w3.org/2005/Atom", Channel: rssChannel{
		Title: d.Title, Link: d.Home, Description: "The latest articles of " + d.Title,
		LastBuildDate: d.Updated.Format(time.RFC1123Z),
		Self:          atomLink{Href: d.Self, Rel: "self", Type: "application/rss+xml"},
		Items:         make([]rssItem, len(d.Items)),
	}}
	for i, a := range d.Items {
		doc.Channel.Items[i] = rssItem{Title: a.Title, Link: d.link(a), GUID: rssGUID{IsPermaLink: "false", Value: "urn:uuid:" + a.ID},
			Description: a.Excerpt, PubDate: published(a).Format(time.RFC1123Z), Categories: a.Tags}
	}
	return "application/rss+xml; charset=utf-8", doc
}

// Atom 1.0 (RFC 4287).
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomAuthor  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

type atomEntry struct {
	ID         string         `xml:"id"`
	Title      string         `xml:"title"`
	Updated    string         `xml:"updated"`
	Published  string         `xml:"published"`
	Link       atomLink       `xml:"link"`
	Summary    string         `xml:"summary"`
	Author     *atomAuthor    `xml:"author,omitempty"`
	Categories []atomCategory `xml:"category"`
}

func atom(d feedData) (string, any) {
	doc := atomFeed{ID: d.Self, Title: d.Title, Updated: d.Updated.Format(time.RFC3339), Author: atomAuthor{Name: feedTitle},
		Links:   []atomLink{{Href: d.Self, Rel: "self", Type: "application/atom+xml"}, {Href: d.Home, Rel: "alternate", Type: "text/html"}},
		Entries: make([]atomEntry, len(d.Items))}
	for i, a := range d.Items {
		e := atomEntry{ID: "urn:uuid:" + a.ID, Title: a.Title, Updated: a.UpdatedAt.Format(time.RFC3339),
			Published: published(a).Format(time.RFC3339), Link: atomLink{Href: d.link(a), Rel: "alternate", Type: "text/html"},
			Summary: a.Excerpt, Categories: make([]atomCategory, len(a.Tags))}
		if a.AuthorName != "" {
			e.Author = &atomAuthor{Name: a.AuthorName}
		}
		for j, t := range a.Tags {
			e.Categories[j] = atomCategory{Term: t}
		}
		doc.Entries[i] = e
	}
	return "application/atom+xml; charset=utf-8", doc
}
