package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// fields reads a JSON object strictly: each accessor consumes a field, checks
// its type and range, and records the first problem with the field's name;
// done reports fields nobody asked for. Reading fields one by one (rather
// than unmarshalling into a struct) is what lets every 400 name its param
// and lets PATCH tell an absent field from an explicit null.
type fields struct {
	m      map[string]json.RawMessage
	used   map[string]bool
	prefix string
	err    *apiError
}

func parseFields(raw []byte) (*fields, *apiError) {
	f := &fields{m: map[string]json.RawMessage{}, used: map[string]bool{}}
	if len(bytes.TrimSpace(raw)) == 0 {
		return f, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	m, dup, err := decodeObject(dec)
	if err != nil {
		return nil, &apiError{Status: 400, Type: typeInvalidRequest, Code: "body_parse_error", Message: "The request body is not a JSON object."}
	}
	if dec.More() {
		return nil, &apiError{Status: 400, Type: typeInvalidRequest, Code: "body_parse_error", Message: "The request body has data after its JSON object."}
	}
	if m == nil {
		return nil, &apiError{Status: 400, Type: typeInvalidRequest, Code: "body_parse_error", Message: "The request body must be a JSON object, not null."}
	}
	if dup != "" {
		return nil, errDuplicate(dup)
	}
	f.m = m
	return f, nil
}

// decodeObject reads one JSON object (or null, which gives a nil map) field
// by field, so that a key given twice is reported rather than resolved
// silently in favour of the last one, as json.Unmarshal would. dup is the
// first repeated key.
func decodeObject(dec *json.Decoder) (m map[string]json.RawMessage, dup string, err error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, "", err
	}
	if tok == nil {
		return nil, "", nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, "", errors.New("not an object")
	}
	m = map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, "", err
		}
		k, _ := tok.(string) // inside an object the decoder yields only string keys
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, "", err
		}
		if _, seen := m[k]; seen && dup == "" {
			dup = k
		}
		m[k] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, "", err
	}
	return m, dup, nil
}

func errDuplicate(param string) *apiError {
	return &apiError{Status: 400, Type: typeValidation, Code: "parameter_duplicated", Param: param,
		Message: fmt.Sprintf("Parameter '%s' appears more than once; send it once.", param)}
}

func (f *fields) name(n string) string { return f.prefix + n }

func (f *fields) fail(e *apiError) {
	if f.err == nil {
		f.err = e
	}
}

// raw returns a present, non-null field.
func (f *fields) raw(n string) (json.RawMessage, bool) {
	f.used[n] = true
	v, ok := f.m[n]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

// has reports whether the field is present at all (even as null).
func (f *fields) has(n string) bool {
	_, ok := f.m[n]
	return ok
}

// null reports whether the field is present as an explicit null.
func (f *fields) null(n string) bool {
	f.used[n] = true
	v, ok := f.m[n]
	return ok && string(v) == "null"
}

func (f *fields) str(n string, required bool, maxLen int) string {
	p := f.optStr(n, maxLen)
	if p == nil {
		if required {
			f.fail(errMissing(f.name(n)))
		}
		return ""
	}
	if required && strings.TrimSpace(*p) == "" {
		f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must not be empty.", f.name(n))))
	}
	return *p
}

func (f *fields) optStr(n string, maxLen int) *string {
	v, ok := f.raw(n)
	if !ok {
		return nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must be a string.", f.name(n))))
		return nil
	}
	if len(s) > maxLen {
		f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must be at most %d characters.", f.name(n), maxLen)))
		return nil
	}
	return &s
}

func (f *fields) enum(n string, required bool, allowed []string) string {
	p := f.optStr(n, 64)
	if p == nil {
		if required {
			f.fail(errMissing(f.name(n)))
		}
		return ""
	}
	for _, a := range allowed {
		if *p == a {
			return a
		}
	}
	f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must be one of: %s.", f.name(n), strings.Join(allowed, ", "))))
	return ""
}

// int reads an integer in [min, max]; nil when absent.
func (f *fields) int(n string, required bool, min, max int64) *int64 {
	v, ok := f.raw(n)
	if !ok {
		if required {
			f.fail(errMissing(f.name(n)))
		}
		return nil
	}
	var num json.Number
	// json.Number would also accept a quoted string; a count or an amount
	// must be a JSON number.
	if c := v[0]; (c < '0' || c > '9') && c != '-' || json.Unmarshal(v, &num) != nil {
		f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must be an integer.", f.name(n))))
		return nil
	}
	i, err := num.Int64()
	if err != nil {
		// Allow 12.0 but not 12.5, and report overflow as out of range.
		fl, ferr := num.Float64()
		if ferr != nil || fl != math.Trunc(fl) {
			f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must be an integer.", f.name(n))))
			return nil
		}
		f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must be between %s and %s.", f.name(n), groupDigits(min), groupDigits(max))))
		return nil
	}
	if i < min || i > max {
		f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must be between %s and %s.", f.name(n), groupDigits(min), groupDigits(max))))
		return nil
	}
	return &i
}

func (f *fields) boolean(n string) *bool {
	v, ok := f.raw(n)
	if !ok {
		return nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must be true or false.", f.name(n))))
		return nil
	}
	return &b
}

// object reads a free-form JSON object (metadata), bounded in size.
func (f *fields) object(n string, maxBytes int) map[string]any {
	v, ok := f.raw(n)
	if !ok {
		return nil
	}
	if len(v) > maxBytes {
		f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must be at most %d bytes of JSON.", f.name(n), maxBytes)))
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(v, &m); err != nil || m == nil {
		f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must be an object.", f.name(n))))
		return nil
	}
	return m
}

// strings reads an array of strings.
func (f *fields) strings(n string, maxItems, maxLen int) ([]string, bool) {
	v, ok := f.raw(n)
	if !ok {
		return nil, false
	}
	var out []string
	if err := json.Unmarshal(v, &out); err != nil {
		f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must be an array of strings.", f.name(n))))
		return nil, false
	}
	if len(out) > maxItems {
		f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must have at most %d items.", f.name(n), maxItems)))
		return nil, false
	}
	for _, s := range out {
		if len(s) > maxLen {
			f.fail(errInvalid(f.name(n), fmt.Sprintf("each of '%s' must be at most %d characters.", f.name(n), maxLen)))
			return nil, false
		}
	}
	return out, true
}

// sub reads a nested object field as its own fields, whose params are named
// "parent.child".
func (f *fields) sub(n string) *fields {
	v, ok := f.raw(n)
	if !ok {
		return nil
	}
	s := &fields{used: map[string]bool{}, prefix: f.name(n) + "."}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	m, dup, err := decodeObject(dec)
	if err != nil || m == nil {
		f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must be an object.", f.name(n))))
		return nil
	}
	if dup != "" {
		f.fail(errDuplicate(s.name(dup)))
		return nil
	}
	s.m = m
	return s
}

// done returns the first problem: a field error, or else an unknown field.
func (f *fields) done() *apiError {
	if f.err != nil {
		return f.err
	}
	var unknown []string
	for k := range f.m {
		if !f.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return &apiError{Status: 400, Type: typeValidation, Code: "parameter_unknown", Param: f.name(unknown[0]), Message: fmt.Sprintf("Unknown parameter '%s'.", f.name(unknown[0]))}
	}
	return nil
}

// join merges a nested reader's outcome into its parent.
func (f *fields) join(s *fields) {
	if s == nil {
		return
	}
	if e := s.done(); e != nil {
		f.fail(e)
	}
}

// tokenAmount reads a token amount (a JSON number or decimal string of
// token units, 1 unit = 100 cents) exactly, without floating point. An
// amount no balance could hold is refused as too large, with the bound.
func (f *fields) tokenAmount(n string, maxCents int64) (string, int64) {
	v, ok := f.raw(n)
	if !ok {
		f.fail(errMissing(f.name(n)))
		return "", 0
	}
	s := strings.Trim(string(v), `"`)
	bad := errInvalid(f.name(n), fmt.Sprintf("'%s' must be a positive number of token units with at most 2 decimal places.", f.name(n)))
	tooLarge := errInvalid(f.name(n), fmt.Sprintf("'%s' is too large: it must be at most %s.%02d token units.", f.name(n), groupDigits(maxCents/100), maxCents%100))
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || (hasDot && frac == "") {
		f.fail(bad)
		return "", 0
	}
	digits := whole + (frac + "00")[:2]
	if strings.Trim(digits, "0123456789") != "" {
		f.fail(bad)
		return "", 0
	}
	var cents int64
	for _, c := range digits {
		d := int64(c - '0')
		if cents > (maxCents-d)/10 {
			f.fail(tooLarge)
			return "", 0
		}
		cents = cents*10 + d
	}
	if cents <= 0 {
		f.fail(bad)
		return "", 0
	}
	return s, cents
}

// groupDigits writes n with its thousands separated by commas. Bounds in
// error messages are written so: every run of 12 or more digits in an
// error is masked as a possible card number (see writeError).
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
