package seeder

import (
	"context"
	"fmt"

	"github.com/shopengine/shop/internal/contract"
)

// homeOverride is the home page's metadata: the same for every seed.
var homeOverride = contract.PutOverrideRequest{
	SEOOverrideKey: contract.SEOOverrideKey{Path: "/"},
	Title:          "Demo shop — clothing, outdoor, home and more",
	Description:    "A sample shop made by shop seed: a three-level catalogue with filters, variants, articles and carts.",
	Robots:         contract.RobotsIndex,
}

func sameOverride(o contract.SEOOverride, want contract.PutOverrideRequest) bool {
	return o.Title == want.Title && o.Description == want.Description && o.Canonical == want.Canonical &&
		o.Robots == want.Robots && o.OGImage == want.OGImage
}

// seedSEO sets the home page's override unless it is already the sample's;
// one that differs is replaced (at the version read) and counted updated.
func (m *Module) seedSEO(ctx context.Context, p Progress, sum *Summary) error {
	p.Start("seo overrides", 1)
	defer p.End()
	want := homeOverride
	got, err := call(ctx, m.bus, contract.GetOverride, want.SEOOverrideKey)
	switch {
	case err == nil && sameOverride(got, want):
		sum.SEOOverrides.Existing++
	case err == nil:
		want.Version = got.Version
		if _, err := call(ctx, m.bus, contract.PutOverride, want); err != nil {
			return fmt.Errorf("seo override %s: %w", want.Path, err)
		}
		sum.SEOOverrides.Updated++
	case isNotFound(err):
		if _, err := call(ctx, m.bus, contract.PutOverride, want); err != nil {
			return fmt.Errorf("seo override %s: %w", want.Path, err)
		}
		sum.SEOOverrides.Created++
	default:
		return fmt.Errorf("seo override %s: %w", want.Path, err)
	}
	p.Add(1)
	return nil
}

// resetSEO removes the home page's override.
func (m *Module) resetSEO(ctx context.Context, sum *Summary) error {
	got, err := call(ctx, m.bus, contract.GetOverride, homeOverride.SEOOverrideKey)
	if isNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("seo override %s: %w", homeOverride.Path, err)
	}
	if _, err := call(ctx, m.bus, contract.DeleteOverride, contract.DeleteOverrideRequest{SEOOverrideKey: got.SEOOverrideKey, Version: got.Version}); err != nil {
		return fmt.Errorf("seo override %s: %w", homeOverride.Path, err)
	}
	sum.SEOOverrides.Deleted++
	return nil
}
