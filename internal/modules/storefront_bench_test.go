package modules

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkStorefrontPages measures the storefront's pages against
// /healthz in the same run (the floor: the same server, router and
// middleware with no bus call and no template): every module in one
// process on the memory bus, a seeded catalogue of 2,000 products,
// anonymous shoppers in parallel. Compare each page's ns/op with
// healthz's.
func BenchmarkStorefrontPages(b *testing.B) {
	sf := startStorefront(b, 2000)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, c := range []struct{ name, path string }{
		{"healthz", "/healthz"},
		{"home", "/"},
		{"category", sf.categoryPath},
		{"department", "/" + strings.Split(sf.categoryPath, "/")[1]}, // the root: every product below it
		{"product", "/p/" + sf.withVariants.Slug},
	} {
		b.Run(c.name, func(b *testing.B) {
			url := sf.url + c.path
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("%s: %d", c.path, resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
