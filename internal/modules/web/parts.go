package web

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// DefaultPartsTTL is how long a page reuses a catalogue read that every
// shopper sees alike (a search's page, seo's resolution and meta, a
// published product, a product list, the attribute catalogue, the latest
// articles). The modules' read models follow their feeds within about a
// poll (feed.DefaultPoll, 100 ms), so with this a change shows on every
// page within about a third of a second: well inside the second that
// issue 12 promises on every instance. A storefront under load asks each
// of these a few times a second instead of once per page view.
const DefaultPartsTTL = 200 * time.Millisecond

// sharedIDs numbers the parts that pages share and never change (a
// listing panel, a category tree), so that the render memo's key can
// have a part's number instead of its encoding: no two parts of a
// process get the same number.
var sharedIDs atomic.Uint64

// partsMaxEntries bounds the parts cache; when full it drops what has
// expired, and starts over if that is not enough.
const partsMaxEntries = 4096

// partsCache holds the replies of shared catalogue reads for
// Config.PartsTTL. Only answers are kept, never errors: a module that
// comes back is used at the next page. A reply is shared by every page
// that reads it within the TTL, so the pages treat it as read-only.
type partsCache struct {
	mu      sync.Mutex
	entries map[string]partEntry
}

type partEntry struct {
	reply   any
	expires time.Time
}

func (c *partsCache) get(key string, now time.Time) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return e.reply, true
}

func (c *partsCache) put(key string, reply any, now, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]partEntry{}
	}
	if len(c.entries) >= partsMaxEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= partsMaxEntries {
			c.entries = map[string]partEntry{}
		}
	}
	c.entries[key] = partEntry{reply: reply, expires: expires}
}

// shared is call for a read whose reply is the same for every caller
// (a catalogue read, no principal in it): the reply of the same request
// made within Config.PartsTTL is reused. With PartsTTL zero it is call.
func shared[Req, Resp any](m *Module, r *http.Request, e bus.Endpoint[Req, Resp], req Req) (Resp, error) {
	return sharedIf(m, r, e, req, nil)
}

// sharedIf is shared keeping only the replies keep accepts (nil: all):
// a read model's "not yet" (seo not knowing a path created a moment ago)
// is asked again by the next page, so a new entity is not held back.
func sharedIf[Req, Resp any](m *Module, r *http.Request, e bus.Endpoint[Req, Resp], req Req, keep func(Resp) bool) (Resp, error) {
	load := func() (Resp, error) { return call(m, r, e, req) }
	body, err := json.Marshal(req)
	if err != nil {
		return load()
	}
	return sharedKeep(m, e.Queue+"\x00"+e.Op+"\x00"+string(body), load, keep)
}

// sharedBy is what load makes of shared catalogue reads, kept under key
// for Config.PartsTTL from when load ran (so it is never older than
// that); with PartsTTL zero it is load. Pages that miss the same key at
// once share one load (the first one's), so an expiry under load is one
// read, not one per page in flight.
func sharedBy[V any](m *Module, key string, load func() (V, error)) (V, error) {
	return sharedKeep(m, key, load, nil)
}

// sharedKeep is sharedBy keeping only what keep accepts (nil: all).
func sharedKeep[V any](m *Module, key string, load func() (V, error), keep func(V) bool) (V, error) {
	if m.cfg.PartsTTL <= 0 {
		return load()
	}
	if v, ok := m.parts.get(key, time.Now()); ok {
		if resp, ok := v.(V); ok {
			return resp, nil
		}
	}
	v, err, _ := m.loads.Do(key, func() (any, error) {
		now := time.Now()
		if v, ok := m.parts.get(key, now); ok {
			return v, nil
		}
		resp, err := load()
		if err == nil && (keep == nil || keep(resp)) {
			m.parts.put(key, resp, now, now.Add(m.cfg.PartsTTL))
		}
		return resp, err
	})
	resp, _ := v.(V)
	return resp, err
}
