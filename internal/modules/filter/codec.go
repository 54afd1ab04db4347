package filter

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/shopengine/shop/internal/contract"
)

// The product document's encoding in the feed. Loading the snapshot at
// start decodes every product, and JSON decoding was half of that cost,
// so a product is stored in a compact binary form instead: a version
// byte, then its fields in a fixed order, strings and lists
// length-prefixed (uvarint), numbers as varints. The feed takes JSON
// bodies only, so the bytes go in as one JSON string, base64: decoding
// that is a copy, not a parse. A JSON object (the first byte is '{') is
// still read, so a feed written before stays readable. Definitions and
// stock levels, few and small, stay JSON.

// productCodecV1 is the first byte of a binary product document.
const productCodecV1 = 1

// Attribute value tags in the binary form.
const (
	tagJSON   = iota // any other value: its JSON
	tagString        // a select or text value
	tagBool
	tagNumber
	tagStrings // a multiselect's codes
)

var errTruncated = errors.New("truncated document")

// encodeDoc is a feed entry's body: a product in the binary form, any
// other document as JSON.
func encodeDoc(doc any) ([]byte, error) {
	if d, ok := doc.(productDoc); ok {
		return encodeProduct(d)
	}
	return json.Marshal(doc)
}

// encodeProduct is d in the binary form, as a JSON string.
func encodeProduct(d productDoc) ([]byte, error) {
	raw, err := encodeProductBinary(d)
	if err != nil {
		return nil, err
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(len(raw))+2)
	out[0], out[len(out)-1] = '"', '"'
	base64.StdEncoding.Encode(out[1:], raw)
	return out, nil
}

func encodeProductBinary(d productDoc) ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, productCodecV1)
	for _, s := range []string{d.Name, d.Slug, d.Description, d.Currency} {
		b = appendString(b, s)
	}
	b = binary.AppendVarint(b, d.PriceMin)
	b = binary.AppendVarint(b, d.PriceMax)
	if d.Image == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = appendString(appendString(b, d.Image.URL), d.Image.Alt)
	}
	b = binary.AppendUvarint(b, uint64(len(d.CategoryIDs)))
	for _, c := range d.CategoryIDs {
		b = appendString(b, c)
	}
	b = binary.AppendUvarint(b, uint64(len(d.Attributes)))
	for code, v := range d.Attributes {
		var err error
		if b, err = appendValue(appendString(b, code), v); err != nil {
			return nil, fmt.Errorf("attribute %s: %w", code, err)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(d.Options)))
	for _, o := range d.Options {
		b = appendString(appendString(b, o.Group), o.Value)
	}
	b = binary.AppendUvarint(b, uint64(len(d.Stock)))
	for _, v := range d.Stock {
		b = binary.AppendVarint(appendString(b, v.ID), v.Stock)
	}
	b = binary.AppendVarint(b, d.CreatedAt.Unix())
	return binary.AppendUvarint(b, uint64(d.CreatedAt.Nanosecond())), nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendString(append(b, tagString), v), nil
	case bool:
		if v {
			return append(b, tagBool, 1), nil
		}
		return append(b, tagBool, 0), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagNumber), math.Float64bits(v)), nil
	case []any:
		if codes, ok := allStrings(v); ok {
			b = binary.AppendUvarint(append(b, tagStrings), uint64(len(codes)))
			for _, c := range codes {
				b = appendString(b, c)
			}
			return b, nil
		}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return appendString(append(b, tagJSON), string(raw)), nil
}

func allStrings(vs []any) ([]string, bool) {
	out := make([]string, len(vs))
	for i, v := range vs {
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

// decodeProduct reads a product document in either form.
func decodeProduct(body []byte) (productDoc, error) {
	d, _, err := decodeProductBuf(body, nil)
	return d, err
}

// decodeProductBuf is decodeProduct reading the binary form into buf
// (grown as needed, and returned for the next document): the document
// keeps copies of its strings, never the buffer.
func decodeProductBuf(body, buf []byte) (productDoc, []byte, error) {
	var d productDoc
	if len(body) > 0 && body[0] == '{' {
		err := json.Unmarshal(body, &d)
		return d, buf, err
	}
	if len(body) < 2 || body[0] != '"' || body[len(body)-1] != '"' {
		return d, buf, errors.New("product document neither an object nor a string")
	}
	if n := base64.StdEncoding.DecodedLen(len(body) - 2); cap(buf) < n {
		buf = make([]byte, n)
	}
	raw := buf[:cap(buf)]
	n, err := base64.StdEncoding.Decode(raw, body[1:len(body)-1])
	if err != nil {
		return d, buf, fmt.Errorf("product document: %w", err)
	}
	d, err = decodeBinary(raw[:n])
	return d, buf, err
}

// decodeBinary reads the binary form.
func decodeBinary(body []byte) (productDoc, error) {
	var d productDoc
	if len(body) == 0 || body[0] != productCodecV1 {
		return d, errors.New("unknown product document encoding")
	}
	r := reader{b: body[1:]}
	d.Name, d.Slug, d.Description, d.Currency = r.string(), r.string(), r.string(), r.string()
	d.PriceMin, d.PriceMax = r.varint(), r.varint()
	if r.byte() == 1 {
		d.Image = &contract.Image{URL: r.string(), Alt: r.string()}
	}
	d.CategoryIDs = make([]string, r.count())
	for i := range d.CategoryIDs {
		d.CategoryIDs[i] = r.string()
	}
	if n := r.count(); n > 0 {
		d.Attributes = make(contract.AttributeValues, n)
		for range n {
			code := r.string()
			d.Attributes[code] = r.value()
		}
	}
	if n := r.count(); n > 0 {
		d.Options = make([]optionRef, n)
		for i := range d.Options {
			d.Options[i] = optionRef{Group: r.string(), Value: r.string()}
		}
	}
	if n := r.count(); n > 0 {
		d.Stock = make([]variantLevel, n)
		for i := range d.Stock {
			d.Stock[i] = variantLevel{ID: r.string(), Stock: r.varint()}
		}
	}
	sec := r.varint()
	d.CreatedAt = time.Unix(sec, int64(r.uvarint())).UTC()
	if r.err != nil {
		return productDoc{}, r.err
	}
	return d, nil
}

// reader reads the binary form; the first failure sticks and every later
// read returns zero.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail(errTruncated)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(errTruncated)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(errTruncated)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a list's length, bounded by the bytes left (every element
// takes at least one), so a corrupt length cannot allocate much.
func (r *reader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail(errTruncated)
		return 0
	}
	return int(n)
}

func (r *reader) bytes() []byte {
	n := r.count()
	if r.err != nil {
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) string() string { return string(r.bytes()) }

func (r *reader) value() any {
	switch r.byte() {
	case tagString:
		return r.string()
	case tagBool:
		return r.byte() == 1
	case tagNumber:
		if len(r.b) < 8 {
			r.fail(errTruncated)
			return nil
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
		r.b = r.b[8:]
		return v
	case tagStrings:
		vs := make([]any, r.count())
		for i := range vs {
			vs[i] = r.string()
		}
		return vs
	case tagJSON:
		var v any
		if err := json.Unmarshal(r.bytes(), &v); err != nil {
			r.fail(err)
		}
		return v
	}
	r.fail(errors.New("unknown attribute value tag"))
	return nil
}
