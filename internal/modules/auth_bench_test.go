package modules

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/modules/auth"
	"github.com/shopengine/shop/internal/store"
)

// BenchmarkTreeDuringLoginFlood measures GET /api/v1/categories/tree on a
// one-process shop (all modules, memory bus, bcrypt cost 10) without and
// then with a flood of logins (4×CPUs clients signing in back to back,
// each a bcrypt), in the same run: the bounded bcrypt slots must keep
// page and API traffic served. It reports the tree's median and p99.
func BenchmarkTreeDuringLoginFlood(b *testing.B) {
	s := startShop(b, Config{DatabaseURL: store.SQLiteURL(b.TempDir()), AdminToken: adminToken, Auth: auth.Config{BcryptCost: auth.MinCost}})
	post := func(path, token, body string) int {
		req, _ := http.NewRequest("POST", s.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 20 {
		post("/api/v1/admin/categories", adminToken, fmt.Sprintf(`{"name":"Category %d"}`, i))
	}
	if st := post("/api/v1/auth/register", "", `{"email":"ann@example.com","password":"correct horse battery staple"}`); st != 201 {
		b.Fatalf("register: %d", st)
	}
	tree := func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			start := time.Now()
			resp, err := http.Get(s.url + "/api/v1/categories/tree")
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("tree: %d", resp.StatusCode)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
	b.Run("quiet", tree)
	b.Run("flood", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		for range 4 * runtime.NumCPU() {
			wg.Go(func() {
				for ctx.Err() == nil {
					st := post("/api/v1/auth/login", "", `{"email":"ann@example.com","password":"correct horse battery staple","bearer":true}`)
					mu.Lock()
					statuses[st]++
					mu.Unlock()
				}
			})
		}
		time.Sleep(200 * time.Millisecond) // let the flood fill the slots
		tree(b)
		cancel()
		wg.Wait()
		b.Logf("logins during the flood, by status: %v", statuses)
	})
}
