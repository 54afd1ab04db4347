package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
		return &Error{Code: CodeInvalid, Message: describeJSONError(err), Err: err}
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
