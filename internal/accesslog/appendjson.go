package accesslog

import (
	"github.com/envoy-s3/envoy_s3/internal/jsonstr"

	"strconv"
)

// keyPrefix[id] is `"name":`, preceded by a comma for every field but the
// first; keyNull[id] is the same followed by null, and keyQuote[id] by the
// opening quote of a plain string, each written in one append.
var keyPrefix, keyNull, keyQuote = func() (p, n, q [NumFields]string) {
	for id := range NumFields {
		s := `"` + fieldNames[id] + `":`
		if id > 0 {
			s = "," + s
		}
		p[id], n[id], q[id] = s, s+"null", s+`"`
	}
	return p, n, q
}()

// AppendJSON appends e as one JSON object (no trailing newline): the schema
// fields in order, null for unset ones, then the Extra keys in input order.
// Strings are escaped here, so values rewritten after Parse are safe. The
// escaping matches encoding/json without HTML escaping: invalid UTF-8 becomes
// U+FFFD and U+2028/U+2029 are escaped.
func (e *Entry) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for id := range NumFields {
		f := &e.Fields[id]
		if f.Kind == Null {
			dst = append(dst, keyNull[id]...)
			continue
		}
		if f.Kind == String && f.plainStr() {
			dst = append(dst, keyQuote[id]...)
			dst = append(dst, f.Str...)
			dst = append(dst, '"')
			continue
		}
		dst = append(dst, keyPrefix[id]...)
		dst = appendField(dst, f)
	}
	for i := range e.Extra {
		x := &e.Extra[i]
		dst = append(dst, ',')
		dst = jsonstr.Append(dst, x.Key)
		dst = append(dst, ':')
		if len(x.RawJSON) > 0 {
			dst = append(dst, x.RawJSON...)
		} else {
			dst = appendField(dst, &x.Val)
		}
	}
	return append(dst, '}')
}

func appendField(dst []byte, f *Field) []byte {
	switch f.Kind {
	case String:
		if f.plainStr() {
			dst = append(dst, '"')
			dst = append(dst, f.Str...)
			return append(dst, '"')
		}
		return jsonstr.Append(dst, f.Str)
	case Int:
		return strconv.AppendInt(dst, f.Int, 10)
	}
	return append(dst, "null"...)
}
