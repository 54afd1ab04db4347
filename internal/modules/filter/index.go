package filter

import (
	"encoding/json"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/feed"
)

// Index is one instance's in-memory search index of the published
// catalogue. The shape, in one paragraph: every product gets a small
// dense number (its doc); everything a query filters or counts on is a
// roaring bitmap of docs — a posting — keyed by what it stands for (a
// category the product is listed in, an attribute value, an option value,
// a word of a text field; see postingKey); what it sorts or ranges on is
// a column indexed by doc (price, number attributes). A query ANDs and ORs
// postings and counts their intersections (query.go, facets.go). Updates
// come from the feed (Apply), a product at a time: its old postings are
// left, its new ones joined.
//
// The index holds the definitions too (categories, attributes, option
// groups: catalog.go), and reads them at query time, so renaming a label
// or making an attribute filterable changes replies without touching a
// posting.
//
// Safe for concurrent use: queries share a read lock, Apply takes the
// write lock.
type Index struct {
	mu  sync.RWMutex
	log *slog.Logger

	docOf map[string]uint32 // product id → doc
	docs  []*listing        // by doc; nil when free
	free  []uint32          // docs to reuse
	live  *roaring.Bitmap   // every indexed product
	// inStock holds the products with stock in some variant.
	inStock *roaring.Bitmap

	postingID map[string]uint32
	postings  []postingList
	// unsettledPostings are the postings that changed in this batch and
	// need a settle (posting.go).
	unsettledPostings []uint32
	keyBuf            []byte // scratch for posting keys
	// valueSlot numbers the postings of facet values (attribute and
	// option values) densely, so small sets are counted in a short array
	// (facets.go).
	valueSlot map[uint32]uint32

	price column // lowest variant price, by doc
	// Sort keys by doc (sort.go): newest first, and name order.
	newestKey, nameKey []uint64
	numbers            map[string]*numberIndex // number attribute code → values

	vocab vocabulary
	// neverByDoc makes every count intersect postings (byDoc): a test's
	// small catalogue would otherwise only ever be counted doc by doc.
	neverByDoc bool

	catalog
	// under holds, per category id, the products listed in it or in any
	// category below it: derived from the category postings and the tree
	// (refreshUnder), so that a moved category needs no product write.
	under     map[string]*roaring.Bitmap
	treeDirty bool

	// revision counts the batches applied; orders are the presorted
	// docs per sort (presorted.go), each made at some revision, ordering
	// the sorts being rebuilt.
	revision uint64
	ordersMu sync.Mutex
	orders   map[string]presorted
	ordering map[string]bool

	// stock is each variant's level from its latest stock_changed event,
	// which wins over the snapshot in its product's document.
	stock map[string]stockDoc
}

// listing is what the index keeps of a product: its listing fields, and
// what it needs to take the product out again.
type listing struct {
	id, name, slug, currency string
	sortName                 string // folded name, for sort=name
	priceMin, priceMax       int64
	image                    *contract.Image
	created                  time.Time
	postings                 []uint32 // every posting holding this doc
	valueSlots               []uint32 // the facet-value ones, as valueSlot numbers them
	variants                 []variantLevel
}

// numberIndex is one number attribute's values: has is its posting
// (products with a value), values the column.
type numberIndex struct {
	has *roaring.Bitmap
	column
}

// NewIndex returns an empty index.
func NewIndex(log *slog.Logger) *Index {
	x := &Index{log: log, orders: map[string]presorted{}, ordering: map[string]bool{}}
	x.reset()
	return x
}

func (x *Index) reset() {
	x.docOf = map[string]uint32{}
	x.docs = nil
	x.free = nil
	x.live = roaring.New()
	x.inStock = roaring.New()
	x.postingID = map[string]uint32{}
	x.postings = nil
	x.unsettledPostings = nil
	x.valueSlot = map[uint32]uint32{}
	x.price = column{}
	x.newestKey, x.nameKey = nil, nil
	x.numbers = map[string]*numberIndex{}
	x.vocab = vocabulary{}
	x.catalog = newCatalog()
	x.under = map[string]*roaring.Bitmap{}
	x.stock = map[string]stockDoc{}
}

// Posting keys. A NUL cannot occur in a code or a folded word. The
// append forms build a key in a scratch buffer while indexing, so that
// looking a posting up allocates nothing.
func categoryPosting(id string) string          { return string(appendCategoryKey(nil, id)) }
func attrPosting(code, value string) string     { return string(appendValueKey(nil, 'a', code, value)) }
func optionPosting(group, value string) string  { return string(appendValueKey(nil, 'o', group, value)) }
func numberPosting(code string) string          { return "n\x00" + code }
func wordPosting(field int, word string) string { return string(appendWordKey(nil, field, word)) }

func appendCategoryKey(b []byte, id string) []byte { return append(append(b, 'c', 0), id...) }
func appendValueKey(b []byte, kind byte, code, value string) []byte {
	return append(append(append(append(b, kind, 0), code...), 0), value...)
}
func appendWordKey(b []byte, field int, word string) []byte {
	return append(append(b, 't', byte('0'+field), 0), word...)
}

// wordOfKey is the word of a word posting's key, "" for any other key.
func wordOfKey(key []byte) string {
	if len(key) < 3 || key[0] != 't' {
		return ""
	}
	return string(key[3:])
}

// boolCode is the value code of a boolean: the facet's "yes" and "no".
func boolCode(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// posting returns the posting of key, nil when nothing was ever in it.
func (x *Index) posting(key string) *roaring.Bitmap {
	if id, ok := x.postingID[key]; ok {
		return x.postings[id].bitmap()
	}
	return nil
}

// joinKey is join with key built in x.keyBuf, which it keeps (grown)
// for the next key.
func (x *Index) joinKey(l *listing, d uint32, key []byte) {
	x.keyBuf = key
	x.join(l, d, key)
}

// join adds doc d to the posting of key, creating it, and notes it in l.
// key is only read (it is usually x.keyBuf). A new word posting brings
// its word into the vocabulary.
func (x *Index) join(l *listing, d uint32, key []byte) {
	id, ok := x.postingID[string(key)]
	if !ok {
		id = uint32(len(x.postings))
		x.postingID[string(key)] = id
		x.postings = append(x.postings, postingList{})
		if w := wordOfKey(key); w != "" {
			x.vocab.add(w)
		}
	}
	p := &x.postings[id]
	if p.add(d) {
		if p.unsettled() && (len(p.small) == 1 || len(p.small) == smallPosting+1) {
			x.unsettledPostings = append(x.unsettledPostings, id)
		}
		l.postings = append(l.postings, id)
		if key[0] == 'a' || key[0] == 'o' {
			slot, ok := x.valueSlot[id]
			if !ok {
				slot = uint32(len(x.valueSlot))
				x.valueSlot[id] = slot
			}
			l.valueSlots = append(l.valueSlots, slot)
		}
	}
}

// Apply is the feed.Tailer's callback: a snapshot (reset) or changes in
// feed order. Definitions are applied before products, so a batch that
// brings both indexes the products with the definitions they came with.
//
// Product documents are decoded on the other cores while this one
// indexes them (decodeAhead): at start-up, decoding is a third of the
// work and indexing, which must go one product at a time, the rest.
func (x *Index) Apply(changes []feed.Change, reset bool) {
	docs := decodeAhead(changes) // a small batch before the lock: queries go on meanwhile
	defer docs.stop()
	x.mu.Lock()
	defer x.mu.Unlock()
	if reset {
		x.reset()
		x.reserve(len(changes))
	}
	rest := make([]int, 0, len(changes))
	for i, c := range changes {
		prefix, id := splitKey(c.Key)
		if !x.applyDefinition(prefix, id, c) {
			rest = append(rest, i)
		}
	}
	for _, i := range rest {
		c := changes[i]
		prefix, id := splitKey(c.Key)
		switch prefix {
		case keyProduct:
			x.applyProduct(id, c, docs.get(i))
		case keyStock:
			x.applyStock(id, c)
		default:
			x.log.Warn("filter: unknown feed key, ignored", "key", c.Key)
		}
	}
	x.settle()
}

// reserve sizes the per-doc arrays and maps for a snapshot of about n
// products, so that building the index does not grow them step by step.
func (x *Index) reserve(n int) {
	x.docOf = make(map[string]uint32, n)
	x.docs = make([]*listing, 0, n)
	x.nameKey, x.newestKey = make([]uint64, 0, n), make([]uint64, 0, n)
	x.price.values = make([]float64, 0, n)
	x.postingID = make(map[string]uint32, n)
}

// settle brings the derived parts up to date after a batch: the category
// closure, the word list, the number buckets.
func (x *Index) settle() {
	x.revision++
	for _, id := range x.unsettledPostings {
		x.postings[id].settle()
	}
	x.unsettledPostings = x.unsettledPostings[:0]
	if x.treeDirty {
		x.refreshUnder()
		x.treeDirty = false
	}
	x.vocab.refresh()
	x.price.refreshEdges(x.live)
	for code, n := range x.numbers {
		n.has = x.posting(numberPosting(code))
		n.refreshEdges(n.has)
	}
}

// decoded is a product document decoded from its feed entry.
type decoded struct {
	doc productDoc
	err error
}

// decodeChunk is how many feed entries a decoder takes at a time.
const decodeChunk = 512

// decoding is a batch's product documents being decoded, a chunk of
// entries at a time, by decoders that keep ahead of the caller's reads.
type decoding struct {
	changes []feed.Change
	out     []decoded       // by entry; product entries only
	ready   []chan struct{} // by chunk: closed once decoded
	next    atomic.Int64    // the next chunk to take
	wg      sync.WaitGroup
}

// decodeAhead starts decoding the product documents of changes. A batch
// of one chunk is decoded at once, by the caller; a larger one by
// GOMAXPROCS-1 decoders (at least one), leaving a core to the caller.
func decodeAhead(changes []feed.Change) *decoding {
	chunks := (len(changes) + decodeChunk - 1) / decodeChunk
	dec := &decoding{changes: changes, out: make([]decoded, len(changes)), ready: make([]chan struct{}, chunks)}
	for k := range dec.ready {
		dec.ready[k] = make(chan struct{})
	}
	switch chunks {
	case 0:
		return dec
	case 1:
		dec.decode(0)
		return dec
	}
	for range max(1, runtime.GOMAXPROCS(0)-1) {
		dec.wg.Go(func() {
			var buf []byte
			for k := int(dec.next.Add(1) - 1); k < chunks; k = int(dec.next.Add(1) - 1) {
				buf = dec.decodeWith(k, buf)
			}
		})
	}
	return dec
}

func (dec *decoding) decode(k int) { dec.decodeWith(k, nil) }

// decodeWith decodes chunk k, reusing buf for the binary form, and
// returns buf for the next chunk.
func (dec *decoding) decodeWith(k int, buf []byte) []byte {
	for i := k * decodeChunk; i < min((k+1)*decodeChunk, len(dec.changes)); i++ {
		if c := dec.changes[i]; !c.Deleted && strings.HasPrefix(c.Key, keyProduct) {
			dec.out[i].doc, buf, dec.out[i].err = decodeProductBuf(c.Body, buf)
		}
	}
	close(dec.ready[k])
	return buf
}

// get returns entry i's document, waiting for its chunk, and lets the
// decoding forget it.
func (dec *decoding) get(i int) decoded {
	<-dec.ready[i/decodeChunk]
	d := dec.out[i]
	dec.out[i] = decoded{}
	return d
}

// stop waits for the decoders (an Apply that returned early leaves them
// chunks to finish).
func (dec *decoding) stop() { dec.wg.Wait() }

func (x *Index) applyProduct(id string, c feed.Change, d decoded) {
	if c.Deleted {
		x.remove(id)
		return
	}
	if d.err != nil {
		x.log.Error("filter: undecodable product document, ignored", "product", id, "err", d.err)
		return
	}
	x.put(id, d.doc)
}

func (x *Index) applyStock(variantID string, c feed.Change) {
	var productID string
	if c.Deleted {
		productID = x.stock[variantID].ProductID
		delete(x.stock, variantID)
	} else {
		var doc stockDoc
		if err := json.Unmarshal(c.Body, &doc); err != nil {
			x.log.Error("filter: undecodable stock document, ignored", "variant", variantID, "err", err)
			return
		}
		x.stock[variantID] = doc
		productID = doc.ProductID
	}
	if d, ok := x.docOf[productID]; ok {
		x.setStock(d)
	}
}

// put indexes product id as doc says, replacing what it was.
func (x *Index) put(id string, doc productDoc) {
	d, ok := x.docOf[id]
	if ok {
		x.unindex(d)
	} else {
		d = x.allocate(id)
	}
	l := &listing{
		id: id, name: doc.Name, slug: doc.Slug, currency: doc.Currency, sortName: fold(doc.Name),
		priceMin: doc.PriceMin, priceMax: doc.PriceMax, image: doc.Image, created: doc.CreatedAt, variants: doc.Stock,
	}
	// Sized once: appending a product's thirty-odd postings one by one
	// would grow the slices five times each.
	values := len(doc.Options)
	for _, v := range doc.Attributes {
		if vs, ok := v.([]any); ok {
			values += len(vs)
		} else {
			values++
		}
	}
	l.valueSlots = make([]uint32, 0, values)
	l.postings = make([]uint32, 0, len(doc.CategoryIDs)+values+
		strings.Count(doc.Name, " ")+strings.Count(doc.Description, " ")+2)
	x.docs[d] = l
	for _, cat := range doc.CategoryIDs {
		x.joinKey(l, d, appendCategoryKey(x.keyBuf[:0], cat))
		if !x.treeDirty { // else settle rebuilds every category's set
			for _, a := range x.closure(cat) {
				x.underOf(a).Add(d)
			}
		}
	}
	x.indexAttributes(l, d, doc.Attributes)
	for _, o := range doc.Options {
		x.joinKey(l, d, appendValueKey(x.keyBuf[:0], 'o', o.Group, o.Value))
	}
	x.indexText(l, d, fieldName, doc.Name)
	x.indexText(l, d, fieldDescription, doc.Description)
	x.price.set(d, float64(doc.PriceMin))
	for int(d) >= len(x.nameKey) {
		x.nameKey, x.newestKey = append(x.nameKey, 0), append(x.newestKey, 0)
	}
	x.nameKey[d], x.newestKey[d] = prefixKey(l.sortName), ^orderedInt(doc.CreatedAt.UnixMicro())
	x.live.Add(d)
	x.setStock(d)
}

// indexAttributes joins the postings of a product's attribute values,
// each as its definition's type says. A value whose definition has not
// arrived yet (the events of two modules race) is indexed every way its
// JSON could be meant, so that it facets right once the definition comes.
func (x *Index) indexAttributes(l *listing, d uint32, values contract.AttributeValues) {
	for code, v := range values {
		typ := x.attributeType(code)
		switch v := v.(type) {
		case string:
			if typ == "" || typ == contract.AttributeSelect {
				x.joinKey(l, d, appendValueKey(x.keyBuf[:0], 'a', code, v))
			}
			if typ == "" || typ == contract.AttributeText {
				x.indexText(l, d, fieldAttr, v)
			}
		case bool:
			x.joinKey(l, d, appendValueKey(x.keyBuf[:0], 'a', code, boolCode(v)))
		case float64:
			n := x.numbers[code]
			if n == nil {
				n = &numberIndex{}
				x.numbers[code] = n
			}
			x.joinKey(l, d, append(x.keyBuf[:0], numberPosting(code)...))
			n.set(d, v) // n.has follows in settle
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					x.joinKey(l, d, appendValueKey(x.keyBuf[:0], 'a', code, s))
				}
			}
		}
	}
}

// indexText joins the word postings of text in field. Plain ASCII, most
// of a catalogue, is folded and cut (as words does) straight into the key
// buffer, allocating nothing.
func (x *Index) indexText(l *listing, d uint32, field int, text string) {
	if !isASCII(text) {
		for _, w := range words(text) {
			x.joinKey(l, d, appendWordKey(x.keyBuf[:0], field, w))
		}
		return
	}
	for i := 0; i < len(text); {
		if !isASCIIWord(text[i]) {
			i++
			continue
		}
		key := appendWordKey(x.keyBuf[:0], field, "")
		for ; i < len(text) && isASCIIWord(text[i]); i++ {
			c := text[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			key = append(key, c)
		}
		x.joinKey(l, d, key)
	}
}

// isASCIIWord reports whether c is an ASCII letter or digit: the ASCII
// that words keeps.
func isASCIIWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// setStock recomputes whether doc d has stock: each variant's latest
// stock_changed level, else its level in the product's document.
func (x *Index) setStock(d uint32) {
	var total int64
	for _, v := range x.docs[d].variants {
		if s, ok := x.stock[v.ID]; ok && v.ID != "" {
			total += s.Stock
		} else {
			total += v.Stock
		}
	}
	if total > 0 {
		x.inStock.Add(d)
	} else {
		x.inStock.Remove(d)
	}
}

func (x *Index) allocate(id string) uint32 {
	var d uint32
	if n := len(x.free); n > 0 {
		d, x.free = x.free[n-1], x.free[:n-1]
	} else {
		d = uint32(len(x.docs))
		x.docs = append(x.docs, nil)
	}
	x.docOf[id] = d
	return d
}

// unindex takes doc d out of every posting and derived set; its number
// stays allocated.
func (x *Index) unindex(d uint32) {
	for _, p := range x.docs[d].postings {
		x.postings[p].remove(d)
	}
	for _, u := range x.under {
		u.Remove(d)
	}
	x.live.Remove(d)
	x.inStock.Remove(d)
}

func (x *Index) remove(id string) {
	d, ok := x.docOf[id]
	if !ok {
		return
	}
	x.unindex(d)
	x.docs[d] = nil
	delete(x.docOf, id)
	x.free = append(x.free, d)
}

func (x *Index) underOf(cat string) *roaring.Bitmap {
	u := x.under[cat]
	if u == nil {
		u = roaring.New()
		x.under[cat] = u
	}
	return u
}

// refreshUnder rebuilds every category's products-below set from the
// category postings and the current tree: after a category moved, was
// created (a product may have been listed in it before it arrived) or
// was deleted.
func (x *Index) refreshUnder() {
	parts := map[string][]*roaring.Bitmap{}
	for key, id := range x.postingID {
		if len(key) < 2 || key[:2] != "c\x00" {
			continue
		}
		for _, a := range x.closure(key[2:]) {
			parts[a] = append(parts[a], x.postings[id].bitmap())
		}
	}
	x.under = make(map[string]*roaring.Bitmap, len(parts))
	for cat, ps := range parts {
		x.under[cat] = roaring.FastOr(ps...)
	}
}

// Len is the number of products indexed.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return int(x.live.GetCardinality())
}
