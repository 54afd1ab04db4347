package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// DecodeStrict decodes a request body into v, refusing what a handler must
// never see: malformed JSON, unknown fields, wrong types (which is also how
// operator injection such as {"name": {"$gt": ""}} is stopped: an object is
// not a string), and trailing data. An empty body decodes as the zero value.
// The error is an invalid *Error whose message names the field.
func DecodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	// encoding/json turns invalid UTF-8 into U+FFFD without a word, so a
	// name sent as bytes that are no text would be stored as "a\uFFFDb".
	if !utf8.Valid(body) {
		return &Error{Code: CodeInvalid, Message: "body: not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := describeJSONError(err)
		if field := failingField(body, v); field != "" && !strings.Contains(msg, field) {
			msg = fmt.Sprintf("field %q: %s", field, msg)
		}
		return &Error{Code: CodeInvalid, Message: msg, Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Error{Code: CodeInvalid, Message: "unexpected data after the JSON value"}
	}
	return nil
}

func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("body: expected %s, got %s", typ.Type, typ.Value)
		}
		return fmt.Sprintf("field %q: expected %s, got %s", typ.Field, typ.Type, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: unexpected end of input"
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + f
	}
	return strings.TrimPrefix(msg, "json: ")
}

// failingField names the top-level field of body that does not decode
// into its field of the struct v points to, for the errors encoding/json
// reports without a field: those of a type's own UnmarshalJSON, such as
// time.Time's parse error ("tomorrow" as publish_at). "" when body is no
// JSON object, v no struct, or no single field fails on its own.
func failingField(body []byte, v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return ""
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return ""
	}
	st := rv.Elem().Type()
	for i := range st.NumField() {
		f := st.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		raw, ok := fields[name]
		if !ok || !f.IsExported() {
			continue
		}
		if json.Unmarshal(raw, reflect.New(f.Type).Interface()) != nil {
			return name
		}
	}
	return ""
}
