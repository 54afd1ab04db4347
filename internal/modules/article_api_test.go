package modules

import (
	"encoding/xml"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

func TestArticleAPI(t *testing.T) {
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(t.TempDir()), AdminToken: adminToken})

	var draft, pub, got contract.Article
	r := s.admin(t, "POST", "/api/v1/admin/articles", `{"title":"Draft & <Plans>","body_markdown":"# Plans\n\n<script>x()</script>secret","tags":["Plans"]}`)
	if r.status != 201 || r.header.Get("ETag") != `"1"` {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	r.decode(t, &draft)
	if draft.Slug != "draft-and-plans" || strings.Contains(draft.BodyHTML, "script") || draft.Status != contract.ArticleDraft {
		t.Fatalf("created %+v", draft)
	}
	s.admin(t, "POST", "/api/v1/admin/articles", `{"title":"Hello <World>","body_markdown":"Hi & welcome.","tags":["news","Go"],"status":"published","featured":true,"author_name":"Ann"}`).decode(t, &pub)
	if !pub.Public || pub.PublishedAt == nil {
		t.Fatalf("published %+v", pub)
	}

	// Public reads see the published one only, even with the admin token.
	if r := s.get(t, "/api/v1/articles/by-slug/draft-and-plans"); r.status != 404 || r.errorCode(t) != "not_found" {
		t.Fatalf("public draft by slug: %d %s", r.status, r.body)
	}
	if r := s.admin(t, "GET", "/api/v1/articles/"+draft.ID, ""); r.status != 404 {
		t.Fatalf("public route, admin token, draft: %d %s", r.status, r.body)
	}
	r = s.get(t, "/api/v1/articles/by-slug/hello-world")
	r.decode(t, &got)
	if r.status != 200 || got.ID != pub.ID || r.header.Get("ETag") != `"1"` {
		t.Fatalf("public by slug: %d %s", r.status, r.body)
	}
	var list contract.Page[contract.ArticleSummary]
	s.get(t, "/api/v1/articles").decode(t, &list)
	if list.Total != 1 || list.Items[0].ID != pub.ID || strings.Contains(string(s.get(t, "/api/v1/articles").body), "body_html") {
		t.Fatalf("public list %+v", list)
	}
	for _, q := range []string{"?tag=go", "?featured=true", "?tag=news&featured=true&limit=5"} {
		list = contract.Page[contract.ArticleSummary]{}
		if s.get(t, "/api/v1/articles"+q).decode(t, &list); list.Total != 1 {
			t.Fatalf("list%s: %+v", q, list)
		}
	}
	list = contract.Page[contract.ArticleSummary]{}
	if s.get(t, "/api/v1/articles?featured=false").decode(t, &list); list.Total != 0 {
		t.Fatalf("not featured %+v", list)
	}
	var tags contract.Page[contract.ArticleTag]
	s.get(t, "/api/v1/articles/tags").decode(t, &tags)
	if want := []contract.ArticleTag{{Tag: "go", Count: 1}, {Tag: "news", Count: 1}}; !slices.Equal(tags.Items, want) {
		t.Fatalf("public tags %+v", tags)
	}
	list = contract.Page[contract.ArticleSummary]{}
	s.admin(t, "GET", "/api/v1/admin/articles?status=draft", "").decode(t, &list)
	if list.Total != 1 || list.Items[0].ID != draft.ID {
		t.Fatalf("admin drafts %+v", list)
	}

	// Writes: If-Match, publish, unpublish, delete.
	if r := s.adminIfMatch(t, "PATCH", "/api/v1/admin/articles/"+draft.ID, `"5"`, `{"title":"Stale"}`); r.status != 412 {
		t.Fatalf("stale patch: %d %s", r.status, r.body)
	}
	r = s.adminIfMatch(t, "PATCH", "/api/v1/admin/articles/"+draft.ID, `"1"`, `{"excerpt":"Our plans.","tags":["plans","go"]}`)
	r.decode(t, &got)
	if r.status != 200 || got.Version != 2 || got.Excerpt != "Our plans." || r.header.Get("ETag") != `"2"` {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	r = s.admin(t, "POST", "/api/v1/admin/articles/"+draft.ID+"/publish", ``)
	r.decode(t, &got)
	if r.status != 200 || got.Status != contract.ArticlePublished || got.Version != 3 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	r = s.adminIfMatch(t, "POST", "/api/v1/admin/articles/"+pub.ID+"/publish", `"1"`, `{"publish_at":"`+later+`"}`)
	r.decode(t, &got)
	if r.status != 200 || got.Status != contract.ArticleScheduled || got.Public {
		t.Fatalf("reschedule: %d %s", r.status, r.body)
	}
	if r := s.get(t, "/api/v1/articles/by-slug/hello-world"); r.status != 404 {
		t.Fatalf("rescheduled article still public: %d", r.status)
	}
	s.admin(t, "POST", "/api/v1/admin/articles/"+pub.ID+"/publish", `{}`)
	third := contract.Article{}
	s.admin(t, "POST", "/api/v1/admin/articles", `{"title":"Gone soon","status":"published","tags":["go"]}`).decode(t, &third)
	if r := s.admin(t, "POST", "/api/v1/admin/articles/"+third.ID+"/unpublish", ``); r.status != 200 {
		t.Fatalf("unpublish: %d %s", r.status, r.body)
	}
	if r := s.admin(t, "DELETE", "/api/v1/admin/articles/"+third.ID, ``); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := s.admin(t, "GET", "/api/v1/admin/articles/"+third.ID, ``); r.status != 404 {
		t.Fatalf("deleted: %d %s", r.status, r.body)
	}

	// The feeds: both published articles, newest first; per tag.
	for _, path := range []string{"/blog/rss.xml", "/blog/tag/go/rss.xml"} {
		feed := rssFeed(t, s, path)
		link, self := feed.link(s.url + path)
		if feed.Channel.Title == "" || !absolute(link) || !self || feed.Channel.Description == "" || feed.Version != "2.0" {
			t.Fatalf("%s: channel %+v", path, feed.Channel)
		}
		if len(feed.Channel.Items) != 2 || feed.Channel.Items[0].Title != "Hello <World>" || feed.Channel.Items[1].Title != "Draft & <Plans>" {
			t.Fatalf("%s: items %+v", path, feed.Channel.Items)
		}
		for _, it := range feed.Channel.Items {
			if _, err := time.Parse(time.RFC1123Z, it.PubDate); err != nil || it.GUID == "" || !absolute(it.Link) || it.Description == "" {
				t.Fatalf("%s: item %+v (%v)", path, it, err)
			}
		}
		if feed.Channel.Items[0].Link != s.url+"/blog/hello-world" || !slices.Contains(feed.Channel.Items[0].Categories, "news") {
			t.Fatalf("%s: first item %+v", path, feed.Channel.Items[0])
		}
	}
	if feed := rssFeed(t, s, "/blog/tag/news/rss.xml"); len(feed.Channel.Items) != 1 || feed.Channel.Title != "Blog: news" {
		t.Fatalf("news feed %+v", feed.Channel)
	}
	if feed := rssFeed(t, s, "/blog/tag/nothing/rss.xml"); len(feed.Channel.Items) != 0 {
		t.Fatalf("empty tag feed %+v", feed.Channel)
	}
	for _, path := range []string{"/blog/atom.xml", "/blog/tag/go/atom.xml", "/blog/tag/plans/atom.xml"} {
		feed := atomFeed(t, s, path)
		if feed.XMLName.Space != "http://www.w3.org/2005/Atom" || feed.ID == "" || feed.Title == "" || feed.Updated == "" {
			t.Fatalf("%s: feed %+v", path, feed)
		}
		want := 2
		if strings.Contains(path, "plans") {
			want = 1
		}
		if len(feed.Entries) != want || feed.Author.Name == "" && feed.Entries[0].Author.Name == "" {
			t.Fatalf("%s: entries %+v", path, feed.Entries)
		}
		for _, e := range feed.Entries {
			_, err1 := time.Parse(time.RFC3339, e.Updated)
			_, err2 := time.Parse(time.RFC3339, e.Published)
			if err1 != nil || err2 != nil || !strings.HasPrefix(e.ID, "urn:uuid:") || e.Title == "" || !absolute(e.Link.Href) || e.Link.Rel != "alternate" {
				t.Fatalf("%s: entry %+v", path, e)
			}
		}
		if !slices.ContainsFunc(feed.Links, func(l atomLinkXML) bool { return l.Rel == "self" && l.Href == s.url+path }) {
			t.Fatalf("%s: no self link in %+v", path, feed.Links)
		}
	}
	if r := s.get(t, "/blog/tag/Not%20A%20Tag/rss.xml"); r.status != 400 {
		t.Fatalf("bad tag feed: %d %s", r.status, r.body)
	}
	if r := s.get(t, "/blog/rss.xml?page=2"); r.status != 400 {
		t.Fatalf("feed with a query: %d %s", r.status, r.body)
	}
}

func absolute(link string) bool {
	u, err := url.Parse(link)
	return err == nil && u.IsAbs() && u.Host != ""
}

// The feeds' shapes as a reader decodes them (encoding/xml): RSS 2.0's
// channel and items, Atom's feed and entries.
type rssXML struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title string `xml:"title"`
		// RSS's own <link> and the Atom self link, told apart by namespace.
		Links         []rssLinkXML `xml:"link"`
		Description   string       `xml:"description"`
		LastBuildDate string       `xml:"lastBuildDate"`
		Items         []struct {
			Title       string   `xml:"title"`
			Link        string   `xml:"link"`
			GUID        string   `xml:"guid"`
			Description string   `xml:"description"`
			PubDate     string   `xml:"pubDate"`
			Categories  []string `xml:"category"`
		} `xml:"item"`
	} `xml:"channel"`
}

type rssLinkXML struct {
	XMLName xml.Name
	Href    string `xml:"href,attr"`
	Rel     string `xml:"rel,attr"`
	Text    string `xml:",chardata"`
}

// link is the channel's RSS <link>, and whether the Atom self link is
// there too, pointing at self.
func (f rssXML) link(self string) (string, bool) {
	link, hasSelf := "", false
	for _, l := range f.Channel.Links {
		switch l.XMLName.Space {
		case "":
			link = l.Text
		case "http://www.w3.org/2005/Atom":
			hasSelf = hasSelf || l.Rel == "self" && l.Href == self
		}
	}
	return link, hasSelf
}

type atomLinkXML struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
}

type atomXML struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Author  struct {
		Name string `xml:"name"`
	} `xml:"author"`
	Links   []atomLinkXML `xml:"link"`
	Entries []struct {
		ID        string      `xml:"id"`
		Title     string      `xml:"title"`
		Updated   string      `xml:"updated"`
		Published string      `xml:"published"`
		Summary   string      `xml:"summary"`
		Link      atomLinkXML `xml:"link"`
		Author    struct {
			Name string `xml:"name"`
		} `xml:"author"`
	} `xml:"entry"`
}

func feedBody(t *testing.T, s *shop, path, contentType string) []byte {
	t.Helper()
	r := s.get(t, path)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), contentType) || !strings.HasPrefix(string(r.body), "<?xml") {
		t.Fatalf("%s: %d %q %s", path, r.status, r.header.Get("Content-Type"), r.body)
	}
	return r.body
}

func rssFeed(t *testing.T, s *shop, path string) rssXML {
	t.Helper()
	var f rssXML
	if err := xml.Unmarshal(feedBody(t, s, path, "application/rss+xml"), &f); err != nil {
		t.Fatalf("%s: not RSS: %v", path, err)
	}
	return f
}

func atomFeed(t *testing.T, s *shop, path string) atomXML {
	t.Helper()
	var f atomXML
	if err := xml.Unmarshal(feedBody(t, s, path, "application/atom+xml"), &f); err != nil {
		t.Fatalf("%s: not Atom: %v", path, err)
	}
	return f
}

func TestArticleAPIRefusesBadInput(t *testing.T) {
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(t.TempDir()), AdminToken: adminToken})
	var a contract.Article
	s.admin(t, "POST", "/api/v1/admin/articles", `{"title":"Kept","body_markdown":"body"}`).decode(t, &a)
	tests := []struct {
		name, method, path, token, body string
		status                          int
		mention                         string
	}{
		{"no token", "POST", "/api/v1/admin/articles", "", `{"title":"x"}`, 401, ""},
		{"malformed JSON", "POST", "/api/v1/admin/articles", adminToken, `{"title":`, 400, ""},
		{"unknown field", "POST", "/api/v1/admin/articles", adminToken, `{"title":"x","body_html":"<script>"}`, 400, "body_html"},
		{"wrong type", "POST", "/api/v1/admin/articles", adminToken, `{"title":"x","tags":"go"}`, 400, "tags"},
		{"operator injection", "POST", "/api/v1/admin/articles", adminToken, `{"title":{"$gt":""}}`, 400, "title"},
		{"bad status", "POST", "/api/v1/admin/articles", adminToken, `{"title":"x","status":"live"}`, 400, "status"},
		{"bad publish_at", "POST", "/api/v1/admin/articles", adminToken, `{"title":"x","status":"scheduled","publish_at":"tomorrow"}`, 400, "publish_at"},
		{"bad cover", "POST", "/api/v1/admin/articles", adminToken, `{"title":"x","cover":{"url":"javascript:alert(1)"}}`, 400, "cover.url"},
		{"oversize body", "POST", "/api/v1/admin/articles", adminToken, `{"title":"x","body_markdown":"` + strings.Repeat("x", 1<<20) + `"}`, 400, ""},
		{"too long markdown", "POST", "/api/v1/admin/articles", adminToken, `{"title":"x","body_markdown":"` + strings.Repeat("x", contract.MaxArticleBody+1) + `"}`, 400, "body_markdown"},
		{"patch without version", "PATCH", "/api/v1/admin/articles/" + a.ID, adminToken, `{"title":"y"}`, 400, "version"},
		{"id in patch body", "PATCH", "/api/v1/admin/articles/" + a.ID, adminToken, `{"id":"x","version":1,"title":"y"}`, 400, "id"},
		{"bad limit", "GET", "/api/v1/articles?limit=1000", "", ``, 400, "limit"},
		{"bad featured", "GET", "/api/v1/articles?featured=maybe", "", ``, 400, "featured"},
		{"bad tag", "GET", "/api/v1/articles?tag=A%20B", "", ``, 400, "tag"},
		{"status on the public list", "GET", "/api/v1/articles?status=draft", "", ``, 400, "status"},
		{"bad cursor", "GET", "/api/v1/articles?cursor=zzz", "", ``, 400, "cursor"},
		{"bad slug", "GET", "/api/v1/articles/by-slug/NOT%20A%20SLUG", "", ``, 400, "slug"},
		{"bad id", "GET", "/api/v1/articles/not-a-uuid", "", ``, 400, "id"},
		{"query on tags", "GET", "/api/v1/articles/tags?all=true", "", ``, 400, "all"},
		{"unread query parameter", "DELETE", "/api/v1/admin/articles/" + a.ID + "?version=1", adminToken, ``, 400, "version"},
		{"bad publish body", "POST", "/api/v1/admin/articles/" + a.ID + "/publish", adminToken, `{"when":"now"}`, 400, "when"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, tt.method, tt.path, tt.token, strings.NewReader(tt.body))
			if r.status != tt.status || !strings.Contains(string(r.body), tt.mention) {
				t.Fatalf("%d %s, want %d naming %q", r.status, r.body, tt.status, tt.mention)
			}
		})
	}
	// Nothing was written.
	var list contract.Page[contract.ArticleSummary]
	s.admin(t, "GET", "/api/v1/admin/articles", "").decode(t, &list)
	if list.Total != 1 || list.Items[0].Title != "Kept" || list.Items[0].Version != 1 {
		t.Fatalf("bad input changed data: %+v", list)
	}
}
