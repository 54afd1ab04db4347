package attribute

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// This file is the check of a product's attribute values against the
// definitions (the validate_values and validate_many endpoints): pure functions of the
// definitions and the values, apart from the one read of the definitions.

func (m *Module) validateValues(ctx context.Context, req contract.ValidateAttributesRequest) (contract.ValidateAttributesReply, error) {
	defs, err := m.store.Definitions(ctx)
	if err != nil {
		return contract.ValidateAttributesReply{}, err
	}
	return check(defs, req.Values), nil
}

// validateMany checks a batch of products' values against one read of the
// definitions: the definitions cannot change within one call, and a batch
// of create_many would otherwise read them once per product.
func (m *Module) validateMany(ctx context.Context, req contract.ValidateAttributesManyRequest) (contract.ValidateAttributesManyReply, error) {
	if len(req.Items) == 0 || len(req.Items) > contract.MaxBatch {
		return contract.ValidateAttributesManyReply{}, bus.Errorf(bus.CodeInvalid, "items: %d given, want 1 to %d", len(req.Items), contract.MaxBatch)
	}
	defs, err := m.store.Definitions(ctx)
	if err != nil {
		return contract.ValidateAttributesManyReply{}, err
	}
	reply := contract.ValidateAttributesManyReply{Results: make([]contract.ValidateAttributesReply, len(req.Items))}
	for i, values := range req.Items {
		reply.Results[i] = check(defs, values)
	}
	return reply, nil
}

// check validates values against defs (see contract.ValidateAttributes).
// A null, an empty or blank text and an empty multiselect count as no
// value: left out of the normalised values, and missing if required.
func check(defs []contract.AttributeDefinition, values contract.AttributeValues) contract.ValidateAttributesReply {
	byCode := make(map[string]contract.AttributeDefinition, len(defs))
	for _, d := range defs {
		byCode[d.Code] = d
	}
	reply := contract.ValidateAttributesReply{Problems: []contract.AttributeProblem{}, Values: contract.AttributeValues{}}
	problem := func(code, kind, format string, args ...any) {
		reply.Problems = append(reply.Problems, contract.AttributeProblem{Code: code, Problem: kind, Message: "values." + code + ": " + fmt.Sprintf(format, args...)})
	}
	for code, v := range values {
		d, ok := byCode[code]
		if !ok {
			problem(code, contract.ProblemUnknown, "no such attribute")
			continue
		}
		norm, kind, msg := checkValue(d, v)
		switch {
		case kind != "":
			problem(code, kind, "%s", msg)
		case norm != nil:
			reply.Values[code] = norm
		}
	}
	for _, d := range defs {
		if _, ok := reply.Values[d.Code]; d.Required && !ok {
			if _, given := values[d.Code]; !given || isEmpty(values[d.Code]) {
				problem(d.Code, contract.ProblemMissingRequired, "required")
			}
		}
	}
	slices.SortFunc(reply.Problems, func(a, b contract.AttributeProblem) int {
		if c := strings.Compare(a.Code, b.Code); c != 0 {
			return c
		}
		return strings.Compare(a.Problem, b.Problem)
	})
	reply.Valid = len(reply.Problems) == 0
	return reply
}

// isEmpty reports whether v counts as no value.
func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(v) == ""
	case []any:
		return len(v) == 0
	}
	return false
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "true/false"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// checkValue returns v normalised for d (nil for no value), or the kind of
// problem and a message.
func checkValue(d contract.AttributeDefinition, v any) (norm any, kind, msg string) {
	if v == nil {
		return nil, "", ""
	}
	wrong := func(want string) (any, string, string) {
		return nil, contract.ProblemWrongType, fmt.Sprintf("a %s attribute takes %s, got %s", d.Type, want, describe(v))
	}
	allowed := func(code string) bool {
		return slices.ContainsFunc(d.Values, func(a contract.AllowedValue) bool { return a.Code == code })
	}
	switch d.Type {
	case contract.AttributeText:
		s, ok := v.(string)
		if !ok {
			return wrong("a string")
		}
		s = strings.TrimSpace(s)
		switch {
		case !utf8.ValidString(s):
			return nil, contract.ProblemWrongType, "invalid UTF-8"
		case utf8.RuneCountInString(s) > contract.MaxAttributeTextLen:
			return nil, contract.ProblemWrongType, fmt.Sprintf("longer than %d characters", contract.MaxAttributeTextLen)
		case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
			return nil, contract.ProblemWrongType, "contains control characters"
		case s == "":
			return nil, "", ""
		}
		return s, "", ""
	case contract.AttributeNumber:
		f, ok := v.(float64)
		if !ok {
			return wrong("a number")
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, contract.ProblemWrongType, "not a finite number"
		}
		return f, "", ""
	case contract.AttributeBoolean:
		b, ok := v.(bool)
		if !ok {
			return wrong("true or false")
		}
		return b, "", ""
	case contract.AttributeSelect:
		s, ok := v.(string)
		if !ok {
			return wrong("the code of one allowed value")
		}
		if !allowed(s) {
			return nil, contract.ProblemNotAllowed, fmt.Sprintf("%q is not an allowed value (%s)", s, codes(d.Values))
		}
		return s, "", ""
	case contract.AttributeMultiselect:
		arr, ok := v.([]any)
		if !ok {
			return wrong("an array of allowed value codes")
		}
		out := make([]string, 0, len(arr))
		seen := make(map[string]bool, len(arr))
		var bad []string
		for _, x := range arr {
			s, ok := x.(string)
			if !ok {
				return nil, contract.ProblemWrongType, fmt.Sprintf("a multiselect attribute takes allowed value codes, got %s in the array", describe(x))
			}
			if seen[s] {
				return nil, contract.ProblemWrongType, fmt.Sprintf("%q is given twice", s)
			}
			seen[s] = true
			if !allowed(s) {
				bad = append(bad, fmt.Sprintf("%q", s))
			}
			out = append(out, s)
		}
		if len(bad) > 0 {
			return nil, contract.ProblemNotAllowed, fmt.Sprintf("%s not allowed (%s)", strings.Join(bad, ", "), codes(d.Values))
		}
		if len(out) == 0 {
			return nil, "", ""
		}
		slices.Sort(out)
		return out, "", ""
	}
	return nil, contract.ProblemWrongType, fmt.Sprintf("attribute has unknown type %q", d.Type)
}

// codes lists the allowed codes for a message.
func codes(vs []contract.AllowedValue) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Code
	}
	return "allowed: " + strings.Join(out, ", ")
}
