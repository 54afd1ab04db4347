package filter

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// The reply cache: a storefront asks the same few searches over and over
// (every visit of a department page is the same query), and the answer
// of a query is a function of the query and the index's state only. The
// index counts its states (revision, bumped by every applied batch under
// the write lock), so a reply kept under (revision, request bytes) is
// exact: it is served only while the index is in the state it was
// computed from, and the first batch applied after it makes it a miss.
// It keeps the encoded reply, so a hit costs neither the query nor the
// JSON encoding; requests are the exact bytes the caller sent, so a hit
// is a request that decoded and validated before.

const (
	// replyCacheEntries and replyCacheBytes bound the cache: a few
	// hundred distinct pages of a busy storefront, a few megabytes.
	replyCacheEntries = 1024
	replyCacheBytes   = 32 << 20
)

// replyCache holds the encoded replies of one index revision.
type replyCache struct {
	mu       sync.Mutex
	revision uint64
	bytes    int
	replies  map[string][]byte // request body → encoded reply
}

// get returns the reply to body kept at revision, if any.
func (c *replyCache) get(revision uint64, body []byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.revision != revision {
		return nil, false
	}
	b, ok := c.replies[string(body)]
	return b, ok
}

// put keeps reply as the answer to body at revision. A revision newer
// than the cache's drops every reply of the old one; one older than it
// (a search that read the revision before a batch landed) is not kept.
// When full, the cache starts over rather than tracking recency: a
// revision's working set refills it in a few requests.
func (c *replyCache) put(revision uint64, body, reply []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case revision < c.revision:
		return
	case revision > c.revision || c.replies == nil ||
		len(c.replies) >= replyCacheEntries || c.bytes+len(body)+len(reply) > replyCacheBytes:
		c.revision, c.bytes, c.replies = revision, 0, map[string][]byte{}
	}
	if len(body)+len(reply) > replyCacheBytes {
		return
	}
	k := string(body)
	if old, ok := c.replies[k]; ok {
		c.bytes -= len(k) + len(old)
	}
	c.replies[k] = reply
	c.bytes += len(k) + len(reply)
}

// Revision is the index's state counter: it changes whenever an applied
// batch may have changed a reply.
func (x *Index) Revision() uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.revision
}

// handleSearch is contract.Search's handler with the reply cache in
// front of m.search; it decodes and encodes as bus.Handle does. The
// revision is read before the search, so a reply is never kept under a
// revision newer than the state it was computed from. Requests that miss
// with the same body at once share one search.
func (m *Module) handleSearch(ctx context.Context, r *bus.Request) ([]byte, error) {
	revision := m.index.Revision()
	if b, ok := m.replies.get(revision, r.Body); ok {
		return b, nil
	}
	var req contract.SearchRequest
	if err := bus.DecodeStrict(r.Body, &req); err != nil {
		return nil, err
	}
	key := strconv.FormatUint(revision, 10) + "\x00" + string(r.Body)
	v, err, _ := m.searches.Do(key, func() (any, error) {
		reply, err := m.search(ctx, req)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(reply)
		if err != nil {
			return nil, fmt.Errorf("filter: encode search reply: %w", err)
		}
		m.replies.put(revision, r.Body, b)
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}
