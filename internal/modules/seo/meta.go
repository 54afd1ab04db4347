package seo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// maxQuery bounds the query string of a meta request.
const maxQuery = 4096

// defaultSiteName names the shop in the home page's JSON-LD until an admin
// sets the title of the "/" override.
const defaultSiteName = "Shop"

// maxDescription of a page (what search results show).
const descriptionLength = 160

// getMeta answers a page's metadata: defaults derived from the entity at
// the path (asking its module for what the registry does not hold), then
// the admin's override of the entity, then that of the path. A category
// page with query parameters (facets, sort, paging) is "noindex, follow"
// with the plain category as canonical, whatever the overrides say: a
// crawler following facet links must not index their combinations.
func (m *Module) getMeta(ctx context.Context, req contract.MetaRequest) (contract.Meta, error) {
	if err := checkPath("path", req.Path); err != nil {
		return contract.Meta{}, err
	}
	base, err := checkBase(req.BaseURL)
	if err != nil {
		return contract.Meta{}, err
	}
	if len(req.Query) > maxQuery {
		return contract.Meta{}, bus.Errorf(bus.CodeInvalid, "query is %d bytes, at most %d", len(req.Query), maxQuery)
	}
	query, err := url.ParseQuery(req.Query)
	if err != nil {
		return contract.Meta{}, bus.Errorf(bus.CodeInvalid, "query: %v", err)
	}
	if err := m.loaded(ctx); err != nil {
		return contract.Meta{}, err
	}
	res := m.reg.resolve(req.Path)
	meta := contract.Meta{Resolution: res, Robots: contract.RobotsIndex}
	switch res.Kind {
	case contract.ResolveEntity:
		meta.Canonical = base + res.Path
		if err := m.entityMeta(ctx, &meta, res, base); err != nil {
			return contract.Meta{}, err
		}
		if err := m.applyOverride(ctx, &meta, contract.SEOOverrideKey{Type: res.Type, ID: res.ID}, base); err != nil {
			return contract.Meta{}, err
		}
	case contract.ResolveRedirect:
		meta.Canonical, meta.Robots = base+res.Target, contract.RobotsNoindexFollow
	default:
		if req.Path != "/" {
			meta.Robots = contract.RobotsNoindexNofollow
		}
	}
	if err := m.applyOverride(ctx, &meta, contract.SEOOverrideKey{Path: req.Path}, base); err != nil {
		return contract.Meta{}, err
	}
	if req.Path == "/" {
		meta.Canonical = base + "/"
		name := meta.Title
		if name == "" {
			name = defaultSiteName
			meta.Title = name
		}
		if meta.JSONLD, err = encodeLD(homeLD(name, base, "")...); err != nil {
			return contract.Meta{}, err
		}
	}
	if res.Kind == contract.ResolveEntity && res.Type == contract.SEOCategory && len(query) > 0 {
		meta.Robots, meta.Canonical = contract.RobotsNoindexFollow, base+res.Path
	}
	return meta, nil
}

// checkBase validates the base URL: an absolute http(s) URL, the shop's
// origin and any path it is mounted under, returned without a trailing
// slash.
func checkBase(raw string) (string, error) {
	if raw == "" {
		return "", bus.Errorf(bus.CodeInvalid, "base_url is required")
	}
	if err := checkAbsolute("base_url", raw); err != nil {
		return "", err
	}
	u, _ := url.Parse(raw)
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.ForceQuery {
		return "", bus.Errorf(bus.CodeInvalid, "base_url must be scheme, host and path only")
	}
	return strings.TrimSuffix(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// entityMeta fills the defaults of an entity's page.
func (m *Module) entityMeta(ctx context.Context, meta *contract.Meta, res contract.Resolution, base string) error {
	url := base + res.Path
	switch res.Type {
	case contract.SEOProduct:
		p, err := bus.Call(ctx, m.Bus, contract.GetProduct, contract.ProductID{ID: res.ID, PublishedOnly: true})
		if err != nil {
			return fmt.Errorf("meta of product %s: %w", res.ID, err)
		}
		meta.Title, meta.Description = p.Name, summary(p.Description, descriptionLength)
		if len(p.Images) > 0 {
			meta.OGImage = p.Images[0].URL
		}
		meta.JSONLD, err = encodeLD(productLD(p, url))
		return err
	case contract.SEOCategory:
		c, err := bus.Call(ctx, m.Bus, contract.GetCategory, contract.CategoryID{ID: res.ID})
		if err != nil {
			return fmt.Errorf("meta of category %s: %w", res.ID, err)
		}
		crumbs, err := bus.Call(ctx, m.Bus, contract.GetBreadcrumbs, contract.CategoryID{ID: res.ID})
		if err != nil {
			return fmt.Errorf("breadcrumbs of category %s: %w", res.ID, err)
		}
		meta.Title, meta.Description = c.Name, summary(c.Description, descriptionLength)
		trail := make([]crumb, 0, len(crumbs.Items))
		for _, cc := range crumbs.Items {
			cr := crumb{name: cc.Name}
			if path, _, ok := m.reg.entity(contract.SEOCategory, cc.ID); ok && path != "" {
				cr.url = base + path
			}
			trail = append(trail, cr)
		}
		meta.JSONLD, err = encodeLD(breadcrumbsLD(trail))
		return err
	case contract.SEOArticle:
		_, info, ok := m.reg.entity(contract.SEOArticle, res.ID)
		if !ok || info == nil {
			return bus.Errorf(bus.CodeNotFound, "article %s is not in the registry", res.ID)
		}
		a := *info
		meta.Title, meta.Description, meta.OGImage = a.Title, summary(a.Excerpt, descriptionLength), a.CoverURL
		var err error
		meta.JSONLD, err = encodeLD(articleLD(a, url))
		return err
	}
	return nil
}

// applyOverride lays the override of k, if any, over meta.
func (m *Module) applyOverride(ctx context.Context, meta *contract.Meta, k contract.SEOOverrideKey, base string) error {
	o, err := m.store.Override(ctx, overrideKey(k))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&meta.Title, o.Title}, {&meta.Description, o.Description}, {&meta.Robots, o.Robots}, {&meta.OGImage, o.OGImage},
	} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	switch {
	case strings.HasPrefix(o.Canonical, "/"):
		meta.Canonical = base + o.Canonical
	case o.Canonical != "":
		meta.Canonical = o.Canonical
	}
	return nil
}

// summary is s with its whitespace collapsed, cut at a word boundary to at
// most n runes (with "…" when cut).
func summary(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n-1])
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}
