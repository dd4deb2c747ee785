// Package chunk reads the msgpack "chunk" Fluent Bit hands to a Go output
// plugin's flush callback, and renders msgpack values as JSON.
//
// Fluent Bit's own Go decoder (fluent-bit-go) copies the chunk, builds a
// map[interface{}]interface{} per record and silently stops at the first
// timestamp it does not expect. This package instead returns views into the
// chunk bytes: no copies, no allocations per record, and a malformed event is
// counted and skipped rather than ending the chunk.
//
// Every Value, Map and Array aliases the bytes given to Decoder.Reset or
// ReadValue. In a flush callback those bytes belong to Fluent Bit and are valid
// only during the call: copy what must outlive it. Views are read-only:
// never write through Raw or Bytes.
package chunk

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// MaxDepth is the deepest nesting of arrays and maps accepted in one event
// (the event's own array counts as one level). It bounds the recursion of the
// JSON renderer; deeper events are counted as bad and skipped.
const MaxDepth = 64

var (
	// ErrTruncated means a msgpack value runs past the end of the data: its
	// extent cannot be known, so decoding of the chunk stops.
	ErrTruncated = errors.New("chunk: msgpack value truncated (chunk ends inside a value)")
	// ErrInvalid means the data holds the byte 0xc1, which msgpack never uses.
	ErrInvalid = errors.New("chunk: invalid msgpack type byte 0xc1")
	// ErrGarbled means malformed events follow one another with no good event
	// between them: bytes of a damaged event read out of step.
	ErrGarbled = errors.New("chunk: malformed bytes between events (a damaged event)")
	// ErrTooDeep means arrays and maps nest deeper than MaxDepth.
	ErrTooDeep = errors.New("chunk: msgpack value nested deeper than MaxDepth")
)

// Kind of a msgpack value.
type Kind uint8

// Kinds of msgpack values. The zero Value is KindNil.
const (
	KindNil Kind = iota
	KindBool
	KindInt   // encoded as a signed integer (int8..int64, negative fixint)
	KindUint  // encoded as an unsigned integer (uint8..uint64, positive fixint)
	KindFloat // float32 or float64
	KindStr
	KindBin
	KindArray
	KindMap
	KindExt
	kindInvalid // the byte 0xc1; never seen in a Value
)

var kindNames = [...]string{"nil", "bool", "int", "uint", "float", "str", "bin", "array", "map", "ext", "invalid"}

// String names the kind, for test failures and diagnostics.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// kindOf maps a msgpack type byte to its Kind.
var kindOf = func() (t [256]Kind) {
	for c := 0; c < 256; c++ {
		var k Kind
		switch {
		case c <= 0x7f, c >= 0xcc && c <= 0xcf:
			k = KindUint
		case c <= 0x8f, c == 0xde, c == 0xdf:
			k = KindMap
		case c <= 0x9f, c == 0xdc, c == 0xdd:
			k = KindArray
		case c <= 0xbf, c >= 0xd9 && c <= 0xdb:
			k = KindStr
		case c == 0xc0:
			k = KindNil
		case c == 0xc1:
			k = kindInvalid
		case c == 0xc2, c == 0xc3:
			k = KindBool
		case c >= 0xc4 && c <= 0xc6:
			k = KindBin
		case c >= 0xc7 && c <= 0xc9, c >= 0xd4 && c <= 0xd8:
			k = KindExt
		case c == 0xca, c == 0xcb:
			k = KindFloat
		default: // 0xd0..0xd3, 0xe0..0xff
			k = KindInt
		}
		t[c] = k
	}
	return t
}()

// head reads the header of the value at b[off:]. For a scalar it returns the
// offset just past the whole value (payload bounds-checked); for an array or
// map it returns the offset of the first element and the number of elements
// that follow (twice the pair count for a map).
func head(b []byte, off int) (end int, kids uint64, err error) {
	if off >= len(b) {
		return 0, 0, ErrTruncated
	}
	c := b[off]
	var size uint64 // header bytes + payload bytes for scalars
	switch {
	case c <= 0x7f || c >= 0xe0:
		return off + 1, 0, nil
	case c <= 0x8f:
		return off + 1, uint64(c&0x0f) * 2, nil
	case c <= 0x9f:
		return off + 1, uint64(c & 0x0f), nil
	case c <= 0xbf:
		size = 1 + uint64(c&0x1f)
	default:
		rem := len(b) - off
		switch c {
		case 0xc0, 0xc2, 0xc3:
			return off + 1, 0, nil
		case 0xc1:
			return 0, 0, ErrInvalid
		case 0xcc, 0xd0:
			size = 2
		case 0xcd, 0xd1:
			size = 3
		case 0xca, 0xce, 0xd2:
			size = 5
		case 0xcb, 0xcf, 0xd3:
			size = 9
		case 0xd4:
			size = 3
		case 0xd5:
			size = 4
		case 0xd6:
			size = 6
		case 0xd7:
			size = 10
		case 0xd8:
			size = 18
		case 0xc4, 0xd9: // bin8, str8
			if rem < 2 {
				return 0, 0, ErrTruncated
			}
			size = 2 + uint64(b[off+1])
		case 0xc5, 0xda: // bin16, str16
			if rem < 3 {
				return 0, 0, ErrTruncated
			}
			size = 3 + uint64(binary.BigEndian.Uint16(b[off+1:]))
		case 0xc6, 0xdb: // bin32, str32
			if rem < 5 {
				return 0, 0, ErrTruncated
			}
			size = 5 + uint64(binary.BigEndian.Uint32(b[off+1:]))
		case 0xc7: // ext8: len, type, data
			if rem < 2 {
				return 0, 0, ErrTruncated
			}
			size = 3 + uint64(b[off+1])
		case 0xc8:
			if rem < 3 {
				return 0, 0, ErrTruncated
			}
			size = 4 + uint64(binary.BigEndian.Uint16(b[off+1:]))
		case 0xc9:
			if rem < 5 {
				return 0, 0, ErrTruncated
			}
			size = 6 + uint64(binary.BigEndian.Uint32(b[off+1:]))
		case 0xdc:
			if rem < 3 {
				return 0, 0, ErrTruncated
			}
			return off + 3, uint64(binary.BigEndian.Uint16(b[off+1:])), nil
		case 0xdd:
			if rem < 5 {
				return 0, 0, ErrTruncated
			}
			return off + 5, uint64(binary.BigEndian.Uint32(b[off+1:])), nil
		case 0xde:
			if rem < 3 {
				return 0, 0, ErrTruncated
			}
			return off + 3, 2 * uint64(binary.BigEndian.Uint16(b[off+1:])), nil
		case 0xdf:
			if rem < 5 {
				return 0, 0, ErrTruncated
			}
			return off + 5, 2 * uint64(binary.BigEndian.Uint32(b[off+1:])), nil
		}
	}
	if size > uint64(len(b)-off) {
		return 0, 0, ErrTruncated
	}
	return off + int(size), 0, nil
}

// scan returns the offset just past the value starting at b[off:], checking
// every length against the data. If the value nests deeper than maxDepth it
// still finds the end (without recursion) and returns it with ErrTooDeep;
// with any other error the end is unknown.
func scan(b []byte, off, maxDepth int) (int, error) {
	var stack [MaxDepth]uint64 // elements left at each open level
	if maxDepth > MaxDepth {
		maxDepth = MaxDepth
	}
	depth := 0
	for {
		end, kids, err := head(b, off)
		if err != nil {
			return 0, err
		}
		off = end
		if depth > 0 {
			stack[depth-1]--
		}
		if kids > 0 {
			// Every element takes at least one byte: a count larger than
			// the rest of the data is garbage, found without looping over it.
			if kids > uint64(len(b)-off) {
				return 0, ErrTruncated
			}
			if depth == maxDepth {
				pending := kids
				for _, n := range stack[:depth] {
					pending += n
				}
				end, err := scanFlat(b, off, pending)
				if err != nil {
					return 0, err
				}
				return end, ErrTooDeep
			}
			stack[depth] = kids
			depth++
		}
		for depth > 0 && stack[depth-1] == 0 {
			depth--
		}
		if depth == 0 {
			return off, nil
		}
	}
}

// scanFlat skips pending values without tracking depth: for values already
// checked, and for values known to be too deep, whose end decoding still needs.
func scanFlat(b []byte, off int, pending uint64) (int, error) {
	for pending > 0 {
		end, kids, err := head(b, off)
		if err != nil {
			return 0, err
		}
		off = end
		pending += kids - 1
		if pending > uint64(len(b)-off) {
			return 0, ErrTruncated
		}
	}
	return off, nil
}

// skip returns the end of the value at b[off:], or -1 if it is malformed.
// Inside data already checked by scan it cannot fail; the checks stay so a
// bug can never become an out-of-range slice.
func skip(b []byte, off int) int {
	end, kids, err := head(b, off)
	if err != nil {
		return -1
	}
	if kids == 0 {
		return end
	}
	end, err = scanFlat(b, end, kids)
	if err != nil {
		return -1
	}
	return end
}

// ReadValue reads one msgpack value from the front of b and returns it and
// the bytes after it. The Value aliases b.
func ReadValue(b []byte) (v Value, rest []byte, err error) {
	end, err := scan(b, 0, MaxDepth)
	if err != nil {
		return Value{}, b, err
	}
	return Value{b: b[:end:end]}, b[end:], nil
}

// Value is a view of one encoded msgpack value inside the chunk bytes. The
// zero Value is nil. Accessors never copy and report false on a kind mismatch.
type Value struct {
	b []byte // exactly the encoded value
}

// Kind reports the value's msgpack kind.
func (v Value) Kind() Kind {
	if len(v.b) == 0 {
		return KindNil
	}
	return kindOf[v.b[0]]
}

// Raw returns the whole encoded value (nil for the zero Value).
func (v Value) Raw() []byte { return v.b }

// Bytes returns the payload of a str or bin value (a view, not a copy), or
// nil for other kinds.
func (v Value) Bytes() []byte {
	if len(v.b) == 0 {
		return nil
	}
	var start int
	c := v.b[0]
	switch {
	case c >= 0xa0 && c <= 0xbf:
		start = 1
	case c == 0xc4 || c == 0xd9:
		start = 2
	case c == 0xc5 || c == 0xda:
		start = 3
	case c == 0xc6 || c == 0xdb:
		start = 5
	default:
		return nil
	}
	if start > len(v.b) {
		return nil
	}
	return v.b[start:len(v.b):len(v.b)]
}

// EqualString reports whether v is a str or bin whose bytes equal s.
func (v Value) EqualString(s string) bool {
	k := v.Kind()
	return (k == KindStr || k == KindBin) && string(v.Bytes()) == s
}

// Int returns an integer value that fits in int64, whichever integer
// encoding it uses.
func (v Value) Int() (int64, bool) {
	if len(v.b) == 0 {
		return 0, false
	}
	c := v.b[0]
	switch {
	case c <= 0x7f:
		return int64(c), true
	case c >= 0xe0:
		return int64(int8(c)), true
	}
	switch c {
	case 0xd0:
		if len(v.b) == 2 {
			return int64(int8(v.b[1])), true
		}
	case 0xd1:
		if len(v.b) == 3 {
			return int64(int16(binary.BigEndian.Uint16(v.b[1:]))), true
		}
	case 0xd2:
		if len(v.b) == 5 {
			return int64(int32(binary.BigEndian.Uint32(v.b[1:]))), true
		}
	case 0xd3:
		if len(v.b) == 9 {
			return int64(binary.BigEndian.Uint64(v.b[1:])), true
		}
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, ok := v.Uint()
		if ok && u <= math.MaxInt64 {
			return int64(u), true
		}
	}
	return 0, false
}

// Uint returns a non-negative integer value, whichever integer encoding it
// uses.
func (v Value) Uint() (uint64, bool) {
	if len(v.b) == 0 {
		return 0, false
	}
	c := v.b[0]
	if c <= 0x7f {
		return uint64(c), true
	}
	switch c {
	case 0xcc:
		if len(v.b) == 2 {
			return uint64(v.b[1]), true
		}
	case 0xcd:
		if len(v.b) == 3 {
			return uint64(binary.BigEndian.Uint16(v.b[1:])), true
		}
	case 0xce:
		if len(v.b) == 5 {
			return uint64(binary.BigEndian.Uint32(v.b[1:])), true
		}
	case 0xcf:
		if len(v.b) == 9 {
			return binary.BigEndian.Uint64(v.b[1:]), true
		}
	case 0xd0, 0xd1, 0xd2, 0xd3:
		i, ok := v.Int()
		if ok && i >= 0 {
			return uint64(i), true
		}
	}
	return 0, false
}

// Float returns a float32 or float64 value as float64. Integers report false:
// callers that accept both ask Int or Uint too.
func (v Value) Float() (float64, bool) {
	f, _, ok := v.float()
	return f, ok
}

// float also reports the encoded width (32 or 64), which JSON rendering needs
// to print the shortest text that reads back as the same float32.
func (v Value) float() (float64, int, bool) {
	switch {
	case len(v.b) == 5 && v.b[0] == 0xca:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(v.b[1:]))), 32, true
	case len(v.b) == 9 && v.b[0] == 0xcb:
		return math.Float64frombits(binary.BigEndian.Uint64(v.b[1:])), 64, true
	}
	return 0, 0, false
}

// Bool returns a boolean value.
func (v Value) Bool() (bool, bool) {
	if len(v.b) == 1 && (v.b[0] == 0xc2 || v.b[0] == 0xc3) {
		return v.b[0] == 0xc3, true
	}
	return false, false
}

// Ext returns an extension value's type and data (a view).
func (v Value) Ext() (typ int8, data []byte, ok bool) {
	if len(v.b) == 0 {
		return 0, nil, false
	}
	var start int
	switch c := v.b[0]; c {
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		start = 2
	case 0xc7:
		start = 3
	case 0xc8:
		start = 4
	case 0xc9:
		start = 6
	default:
		return 0, nil, false
	}
	if start > len(v.b) {
		return 0, nil, false
	}
	return int8(v.b[start-1]), v.b[start:len(v.b):len(v.b)], true
}

// Time decodes Fluent's EventTime: ext type 0 holding big-endian uint32
// seconds and uint32 nanoseconds. The result is in UTC.
func (v Value) Time() (time.Time, bool) {
	typ, d, ok := v.Ext()
	if !ok || typ != 0 || len(d) != 8 {
		return time.Time{}, false
	}
	sec := binary.BigEndian.Uint32(d)
	nsec := binary.BigEndian.Uint32(d[4:])
	return time.Unix(int64(sec), int64(nsec)).UTC(), true
}

// Len returns the byte length of a str or bin, the element count of an
// array, the pair count of a map, and 0 otherwise.
func (v Value) Len() int {
	switch v.Kind() {
	case KindStr, KindBin:
		return len(v.Bytes())
	case KindArray:
		a, _ := v.Array()
		return a.Len()
	case KindMap:
		m, _ := v.Map()
		return m.Len()
	}
	return 0
}

// container parses an array or map header; n counts elements or pairs.
func (v Value) container() (off, n int, ok bool) {
	end, kids, err := head(v.b, 0)
	if err != nil || end > len(v.b) {
		return 0, 0, false
	}
	return end, int(kids), true
}

// Map returns a map value.
func (v Value) Map() (Map, bool) {
	if v.Kind() != KindMap {
		return Map{}, false
	}
	off, kids, ok := v.container()
	if !ok {
		return Map{}, false
	}
	return Map{b: v.b, off: off, n: kids / 2}, true
}

// Array returns an array value.
func (v Value) Array() (Array, bool) {
	if v.Kind() != KindArray {
		return Array{}, false
	}
	off, kids, ok := v.container()
	if !ok {
		return Array{}, false
	}
	return Array{b: v.b, off: off, n: kids}, true
}

// Map is a view of a msgpack map. The zero Map is empty.
type Map struct {
	b   []byte // the whole encoded map
	off int    // first key
	n   int    // pairs
}

// Len returns the number of key/value pairs, duplicates included.
func (m Map) Len() int { return m.n }

// Raw returns the whole encoded map (nil for the zero Map).
func (m Map) Raw() []byte { return m.b }

// Value returns the map as a Value, for JSONEncoder.AppendValue.
func (m Map) Value() Value {
	if m.b == nil {
		return Value{b: emptyMap}
	}
	return Value{b: m.b}
}

var emptyMap = []byte{0x80}

// Get returns the value of the first pair whose key is a str or bin equal to
// key. Later duplicates are ignored. It does not allocate.
func (m Map) Get(key string) (Value, bool) {
	b, off := m.b, m.off
	for i := 0; i < m.n; i++ {
		if off >= len(b) {
			return Value{}, false
		}
		// Inline the common fixstr key; other keys go through head.
		var kend int
		match := false
		if c := b[off]; c >= 0xa0 && c <= 0xbf {
			kend = off + 1 + int(c&0x1f)
			if kend > len(b) {
				return Value{}, false
			}
			match = string(b[off+1:kend]) == key
		} else {
			kend = skip(b, off)
			if kend < 0 {
				return Value{}, false
			}
			match = Value{b: b[off:kend]}.EqualString(key)
		}
		vend := skip(b, kend)
		if vend < 0 {
			return Value{}, false
		}
		if match {
			return Value{b: b[kend:vend:vend]}, true
		}
		off = vend
	}
	return Value{}, false
}

// Iter returns an iterator over the pairs in encoded order.
func (m Map) Iter() MapIter { return MapIter{b: m.b, off: m.off, left: m.n} }

// MapIter walks a Map's pairs: for it.Next() { it.Key(); it.Value() }.
type MapIter struct {
	b    []byte
	off  int
	left int
	k, v Value
}

// Next advances to the next pair and reports whether there is one.
func (it *MapIter) Next() bool {
	if it.left <= 0 {
		return false
	}
	kend := skip(it.b, it.off)
	if kend < 0 {
		it.left = 0
		return false
	}
	vend := skip(it.b, kend)
	if vend < 0 {
		it.left = 0
		return false
	}
	it.k = Value{b: it.b[it.off:kend:kend]}
	it.v = Value{b: it.b[kend:vend:vend]}
	it.off = vend
	it.left--
	return true
}

// Key returns the current pair's key.
func (it *MapIter) Key() Value { return it.k }

// Value returns the current pair's value.
func (it *MapIter) Value() Value { return it.v }

// Array is a view of a msgpack array. The zero Array is empty.
type Array struct {
	b   []byte
	off int
	n   int
}

// Len returns the number of elements.
func (a Array) Len() int { return a.n }

// Raw returns the whole encoded array (nil for the zero Array).
func (a Array) Raw() []byte { return a.b }

// Value returns the array as a Value.
func (a Array) Value() Value {
	if a.b == nil {
		return Value{b: emptyArray}
	}
	return Value{b: a.b}
}

var emptyArray = []byte{0x90}

// At returns element i, walking from the front (O(i)).
func (a Array) At(i int) (Value, bool) {
	if i < 0 || i >= a.n {
		return Value{}, false
	}
	it := a.Iter()
	for j := 0; it.Next(); j++ {
		if j == i {
			return it.Value(), true
		}
	}
	return Value{}, false
}

// Iter returns an iterator over the elements in order.
func (a Array) Iter() ArrayIter { return ArrayIter{b: a.b, off: a.off, left: a.n} }

// ArrayIter walks an Array: for it.Next() { it.Value() }.
type ArrayIter struct {
	b    []byte
	off  int
	left int
	v    Value
}

// Next advances to the next element and reports whether there is one.
func (it *ArrayIter) Next() bool {
	if it.left <= 0 {
		return false
	}
	end := skip(it.b, it.off)
	if end < 0 {
		it.left = 0
		return false
	}
	it.v = Value{b: it.b[it.off:end:end]}
	it.off = end
	it.left--
	return true
}

// Value returns the current element.
func (it *ArrayIter) Value() Value { return it.v }
