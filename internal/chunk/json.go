package chunk

import (
	"github.com/envoy-s3/envoy_s3/internal/jsonstr"

	"math"
	"strconv"
	"time"
)

// StringFilter appends s, possibly rewritten (redacted), to dst and returns
// the extended slice. It must not keep s or dst.
type StringFilter func(dst, s []byte) []byte

// JSONEncoder renders msgpack values as JSON. It is reusable and allocates
// nothing once its scratch buffers have grown; it is not safe for concurrent
// use.
//
// The output is always valid JSON, matching encoding/json (without HTML
// escaping) where both can express a value:
//   - str and bin are JSON strings: bin is read as text, because senders
//     disagree on which one carries a log line (Docker sends str, some
//     forwarders send bin). Invalid UTF-8 becomes U+FFFD. Filter, if set, sees
//     every str and bin value before escaping; map keys are never filtered.
//   - NaN and ±Inf are null.
//   - ext type 0 with 8 bytes (EventTime) is an RFC 3339 string in UTC;
//     other ext values are null.
//   - a map key that is not a str or bin is rendered to JSON, and that text
//     becomes the key string: {1: "a"} renders as {"1":"a"}. Keys nested
//     inside such a key stay unquoted ({{1: 2}: "v"} renders as
//     {"{1:2}":"v"}), so the output grows linearly with the input.
//   - duplicate map keys are kept, in order, as encoded.
//   - with FilterKeys, str and bin map keys go through Filter too.
//   - when SecretKey reports a str or bin map key secret, every string and
//     number below it goes through Secret instead (a number as its JSON text,
//     written as a string); true, false and null stay.
type JSONEncoder struct {
	Filter     StringFilter
	FilterKeys bool
	SecretKey  func(key []byte) bool
	Secret     StringFilter

	filtered []byte // Filter output
	keyText  []byte // JSON text of a non-string key
	number   []byte // JSON text of a secret number
}

// AppendValue appends v as JSON to dst.
func (e *JSONEncoder) AppendValue(dst []byte, v Value) []byte {
	return e.value(dst, v.b, 0, e.Filter, false, false)
}

// AppendMap appends m as a JSON object to dst.
func (e *JSONEncoder) AppendMap(dst []byte, m Map) []byte {
	return e.AppendValue(dst, m.Value())
}

// AppendString appends s through Filter (if set) as a JSON string.
func (e *JSONEncoder) AppendString(dst, s []byte) []byte {
	return e.str(dst, s, e.Filter)
}

func (e *JSONEncoder) str(dst, s []byte, filter StringFilter) []byte {
	if filter != nil {
		e.filtered = filter(e.filtered[:0], s)
		s = e.filtered
	}
	return jsonstr.Append(dst, s)
}

// value appends the JSON of the encoded value b. inKey is set while
// rendering the text of a non-string map key (see key).
func (e *JSONEncoder) value(dst, b []byte, depth int, filter StringFilter, inKey, secret bool) []byte {
	v := Value{b: b}
	if secret {
		switch v.Kind() {
		case KindInt, KindUint, KindFloat:
			n := len(dst)
			dst = e.value(dst, b, depth, nil, inKey, false)
			e.number = append(e.number[:0], dst[n:]...)
			return e.str(dst[:n], e.number, e.Secret)
		}
	}
	switch v.Kind() {
	case KindNil:
		return append(dst, "null"...)
	case KindBool:
		t, _ := v.Bool()
		if t {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case KindInt:
		if i, ok := v.Int(); ok {
			return strconv.AppendInt(dst, i, 10)
		}
	case KindUint:
		if u, ok := v.Uint(); ok {
			return strconv.AppendUint(dst, u, 10)
		}
	case KindFloat:
		if f, bits, ok := v.float(); ok {
			return AppendJSONFloat(dst, f, bits)
		}
	case KindStr, KindBin:
		return e.str(dst, v.Bytes(), filter)
	case KindExt:
		if t, ok := v.Time(); ok {
			dst = append(dst, '"')
			dst = t.AppendFormat(dst, time.RFC3339Nano)
			return append(dst, '"')
		}
	case KindArray:
		a, ok := v.Array()
		if !ok || depth > MaxDepth {
			break
		}
		dst = append(dst, '[')
		it := a.Iter()
		for i := 0; it.Next(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.value(dst, it.v.b, depth+1, filter, inKey, secret)
		}
		return append(dst, ']')
	case KindMap:
		m, ok := v.Map()
		if !ok || depth > MaxDepth {
			break
		}
		dst = append(dst, '{')
		it := m.Iter()
		for i := 0; it.Next(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.key(dst, it.k, depth, inKey)
			dst = append(dst, ':')
			vfilter, vsecret := filter, secret
			if !vsecret && !inKey && e.SecretKey != nil {
				if kk := it.k.Kind(); (kk == KindStr || kk == KindBin) && e.SecretKey(it.k.Bytes()) {
					vfilter, vsecret = e.Secret, true
				}
			}
			dst = e.value(dst, it.v.b, depth+1, vfilter, inKey, vsecret)
		}
		return append(dst, '}')
	}
	return append(dst, "null"...)
}

// key appends a map key as a JSON string, filtered only with FilterKeys. A key that is not a
// str or bin is rendered as JSON text and that text quoted. Inside such a
// key (inKey), further non-string keys are left unquoted: quoting at every
// level would double the escapes per level, and a few dozen nested keys
// would render as gigabytes.
func (e *JSONEncoder) key(dst []byte, k Value, depth int, inKey bool) []byte {
	switch k.Kind() {
	case KindStr, KindBin:
		if e.FilterKeys && e.Filter != nil && !inKey {
			return e.str(dst, k.Bytes(), e.Filter)
		}
		return jsonstr.Append(dst, k.Bytes())
	}
	if inKey {
		return e.value(dst, k.b, depth+1, nil, true, false)
	}
	// Render the key's text in place, move it aside, and quote it.
	n := len(dst)
	dst = e.value(dst, k.b, depth+1, nil, true, false)
	e.keyText = append(e.keyText[:0], dst[n:]...)
	return jsonstr.Append(dst[:n], e.keyText)
}

// AppendJSONFloat appends f as encoding/json would (bits is 32 or 64), except
// that NaN and ±Inf, which JSON cannot express, become null.
func AppendJSONFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// AppendJSONString appends s as a quoted JSON string (see package jsonstr).
func AppendJSONString(dst, s []byte) []byte { return jsonstr.Append(dst, s) }
