package seo

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// checkPath validates a storefront path given as field.
func checkPath(field, p string) error {
	switch {
	case p == "":
		return bus.Errorf(bus.CodeInvalid, "%s is required", field)
	case !strings.HasPrefix(p, "/"):
		return bus.Errorf(bus.CodeInvalid, "%s must start with '/'", field)
	case len(p) > contract.MaxPathLength:
		return bus.Errorf(bus.CodeInvalid, "%s is %d bytes, at most %d", field, len(p), contract.MaxPathLength)
	case !utf8.ValidString(p):
		return bus.Errorf(bus.CodeInvalid, "%s is not UTF-8", field)
	case strings.ContainsAny(p, "?#"):
		return bus.Errorf(bus.CodeInvalid, "%s must not contain '?' or '#' (the query goes apart)", field)
	case strings.IndexFunc(p, unicode.IsControl) >= 0:
		return bus.Errorf(bus.CodeInvalid, "%s must not contain control characters", field)
	}
	return nil
}

func (m *Module) resolve(ctx context.Context, req contract.ResolveRequest) (contract.Resolution, error) {
	if err := checkPath("path", req.Path); err != nil {
		return contract.Resolution{}, err
	}
	if err := m.loaded(ctx); err != nil {
		return contract.Resolution{}, err
	}
	return m.reg.resolve(req.Path), nil
}

func (m *Module) sitemapIndex(ctx context.Context, _ contract.Empty) (contract.SitemapIndex, error) {
	if err := m.loaded(ctx); err != nil {
		return contract.SitemapIndex{}, err
	}
	return m.reg.sitemapIndex(), nil
}

func (m *Module) sitemapPage(ctx context.Context, req contract.SitemapPageRequest) (contract.SitemapPage, error) {
	switch {
	case req.N < 1:
		return contract.SitemapPage{}, bus.Errorf(bus.CodeInvalid, "n must be at least 1")
	case req.Limit < 1 || req.Limit > contract.MaxSitemapPage:
		return contract.SitemapPage{}, bus.Errorf(bus.CodeInvalid, "limit must be 1..%d", contract.MaxSitemapPage)
	case req.After != "":
		if err := checkPath("after", req.After); err != nil {
			return contract.SitemapPage{}, err
		}
	}
	if err := m.loaded(ctx); err != nil {
		return contract.SitemapPage{}, err
	}
	page, ok := m.reg.sitemapPage(req.N, req.After, req.Limit)
	if !ok {
		return page, bus.Errorf(bus.CodeNotFound, "sitemap %d does not exist", req.N)
	}
	return page, nil
}

// Bounds of an override's fields.
const (
	maxTitle       = 200
	maxDescription = 1000
	maxURL         = 2048
)

// checkKey validates an override key: a path, or an entity type and id.
func checkKey(k contract.SEOOverrideKey) error {
	switch {
	case k.Path != "" && (k.Type != "" || k.ID != ""):
		return bus.Errorf(bus.CodeInvalid, "path and type/id: give one of the two")
	case k.Path != "":
		return checkPath("path", k.Path)
	case k.Type == "" && k.ID == "":
		return bus.Errorf(bus.CodeInvalid, "path, or type and id, is required")
	case k.Type != contract.SEOProduct && k.Type != contract.SEOCategory && k.Type != contract.SEOArticle:
		return bus.Errorf(bus.CodeInvalid, "type must be product, category or article")
	case uuid.Validate(k.ID) != nil:
		return bus.Errorf(bus.CodeInvalid, "id must be a UUID")
	}
	return nil
}

// checkOverride validates the fields of an override.
func checkOverride(req contract.PutOverrideRequest) error {
	if err := checkKey(req.SEOOverrideKey); err != nil {
		return err
	}
	if req.Version < 0 {
		return bus.Errorf(bus.CodeInvalid, "version must not be negative")
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{{"title", req.Title, maxTitle}, {"description", req.Description, maxDescription}, {"canonical", req.Canonical, maxURL}, {"og_image", req.OGImage, maxURL}} {
		switch {
		case len(f.value) > f.max:
			return bus.Errorf(bus.CodeInvalid, "%s is %d bytes, at most %d", f.name, len(f.value), f.max)
		case !utf8.ValidString(f.value):
			return bus.Errorf(bus.CodeInvalid, "%s is not UTF-8", f.name)
		case strings.IndexFunc(f.value, unicode.IsControl) >= 0:
			return bus.Errorf(bus.CodeInvalid, "%s must not contain control characters", f.name)
		}
	}
	switch req.Robots {
	case "", contract.RobotsIndex, contract.RobotsNoindexFollow, contract.RobotsNoindexNofollow:
	default:
		return bus.Errorf(bus.CodeInvalid, "robots must be %q, %q or %q", contract.RobotsIndex, contract.RobotsNoindexFollow, contract.RobotsNoindexNofollow)
	}
	if req.Canonical != "" && !strings.HasPrefix(req.Canonical, "/") {
		if err := checkAbsolute("canonical", req.Canonical); err != nil {
			return err
		}
	} else if req.Canonical != "" {
		if err := checkPath("canonical", req.Canonical); err != nil {
			return err
		}
	}
	if req.OGImage != "" {
		return checkAbsolute("og_image", req.OGImage)
	}
	return nil
}

// checkAbsolute requires an absolute http(s) URL.
func checkAbsolute(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bus.Errorf(bus.CodeInvalid, "%s must be an absolute http or https URL", field)
	}
	return nil
}

func (m *Module) getOverride(ctx context.Context, k contract.SEOOverrideKey) (contract.SEOOverride, error) {
	if err := checkKey(k); err != nil {
		return contract.SEOOverride{}, err
	}
	o, err := m.store.Override(ctx, overrideKey(k))
	if errors.Is(err, store.ErrNotFound) {
		return o, bus.Errorf(bus.CodeNotFound, "no override for %s", overrideKey(k))
	}
	return o, err
}

func (m *Module) putOverride(ctx context.Context, req contract.PutOverrideRequest) (contract.SEOOverride, error) {
	if err := checkOverride(req); err != nil {
		return contract.SEOOverride{}, err
	}
	k := overrideKey(req.SEOOverrideKey)
	o := contract.SEOOverride{SEOOverrideKey: req.SEOOverrideKey, Title: req.Title, Description: req.Description,
		Canonical: req.Canonical, Robots: req.Robots, OGImage: req.OGImage, Version: req.Version + 1, UpdatedAt: m.now()}
	err := m.store.PutOverride(ctx, k, o, req.Version)
	switch {
	case errors.Is(err, store.ErrDuplicate):
		return o, bus.Errorf(bus.CodeConflict, "%s already has an override; give its version to replace it", k)
	case errors.Is(err, store.ErrNotFound):
		return o, bus.Errorf(bus.CodeNotFound, "no override for %s (version 0 creates one)", k)
	case errors.Is(err, store.ErrStale):
		cur, cerr := m.store.Override(ctx, k)
		if cerr != nil {
			return o, cerr
		}
		return o, contract.VersionConflict("override "+k, cur.Version, req.Version)
	case err != nil:
		return o, err
	}
	return o, nil
}

func (m *Module) deleteOverride(ctx context.Context, req contract.DeleteOverrideRequest) (contract.Empty, error) {
	if err := checkKey(req.SEOOverrideKey); err != nil {
		return contract.Empty{}, err
	}
	if req.Version < 0 {
		return contract.Empty{}, bus.Errorf(bus.CodeInvalid, "version must not be negative")
	}
	k := overrideKey(req.SEOOverrideKey)
	err := m.store.DeleteOverride(ctx, k, req.Version)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return contract.Empty{}, bus.Errorf(bus.CodeNotFound, "no override for %s", k)
	case errors.Is(err, store.ErrStale):
		cur, cerr := m.store.Override(ctx, k)
		if cerr != nil {
			return contract.Empty{}, cerr
		}
		return contract.Empty{}, contract.VersionConflict("override "+k, cur.Version, req.Version)
	}
	return contract.Empty{}, err
}
