package accesslog

import (
	"github.com/envoy-s3/envoy_s3/internal/jsonstr"

	"slices"
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
	for id := range EcsCluster {
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
	dst = e.appendMeta(dst)
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
		return appendInt(dst, f.Int)
	}
	return append(dst, "null"...)
}

// pairs holds "00" to "99".
const pairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendInt appends v in decimal as strconv.AppendInt(dst, v, 10) does, but
// writes the digits in place, two at a time, instead of formatting into a
// buffer and copying it.
func appendInt(dst []byte, v int64) []byte {
	u := uint64(v)
	if v < 0 {
		dst = append(dst, '-')
		u = -u // two's complement: right for math.MinInt64 too
	}
	n := 1
	for t := u; t >= 10; t /= 10 {
		n++
	}
	dst = slices.Grow(dst, n)
	i := len(dst) + n
	dst = dst[:i]
	for u >= 100 {
		q := u / 100
		r := (u - q*100) * 2
		i -= 2
		dst[i], dst[i+1] = pairs[r], pairs[r+1]
		u = q
	}
	if u >= 10 {
		dst[i-2], dst[i-1] = pairs[u*2], pairs[u*2+1]
	} else {
		dst[i-1] = byte('0' + u)
	}
	return dst
}

// The FireLens metadata fields (EcsCluster to Source) come last in the schema
// and hold the same values in nearly every record of a task, so AppendJSON
// keeps their last rendering: metaVals and metaOut bound what it keeps.
const (
	numMeta  = NumFields - EcsCluster
	metaVals = 1024
	metaOut  = 2048
)

// metaCache is the rendering of the metadata fields of the last record, with
// the values it was made from. It lives in fixed arrays inside the Entry, so a
// copied Entry never shares it, and is served only when every value is
// byte-equal to the one it was made from: it cannot be stale.
type metaCache struct {
	ok    bool
	kinds [numMeta]FieldKind
	ends  [numMeta]uint16 // end of each String value in vals
	nOut  uint16
	vals  [metaVals]byte
	out   [metaOut]byte
}

// appendMeta appends the metadata fields: the cached rendering when the values
// are those it was made from, else a fresh one, which it keeps when it fits.
func (e *Entry) appendMeta(dst []byte) []byte {
	c := &e.meta
	if c.ok && c.matches(&e.Fields) {
		return append(dst, c.out[:c.nOut]...)
	}
	start := len(dst)
	cacheable := true
	for id := EcsCluster; id < NumFields; id++ {
		f := &e.Fields[id]
		if f.Kind == Null {
			dst = append(dst, keyNull[id]...)
			continue
		}
		cacheable = cacheable && f.Kind == String
		dst = append(dst, keyPrefix[id]...)
		dst = appendField(dst, f)
	}
	c.store(&e.Fields, dst[start:], cacheable)
	return dst
}

func (c *metaCache) matches(fields *[NumFields]Field) bool {
	off := uint16(0)
	for k := range numMeta {
		f := &fields[EcsCluster+FieldID(k)]
		if f.Kind != c.kinds[k] {
			return false
		}
		if f.Kind == String {
			if string(f.Str) != string(c.vals[off:c.ends[k]]) {
				return false
			}
			off = c.ends[k]
		}
	}
	return true
}

func (c *metaCache) store(fields *[NumFields]Field, out []byte, cacheable bool) {
	c.ok = false
	if !cacheable || len(out) > metaOut {
		return
	}
	n := 0
	for k := range numMeta {
		f := &fields[EcsCluster+FieldID(k)]
		c.kinds[k] = f.Kind
		if f.Kind == String {
			if n+len(f.Str) > metaVals {
				return
			}
			n += copy(c.vals[n:], f.Str)
			c.ends[k] = uint16(n)
		}
	}
	c.nOut = uint16(copy(c.out[:], out))
	c.ok = true
}
