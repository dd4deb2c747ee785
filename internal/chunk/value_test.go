package chunk

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"
)

func read(t *testing.T, b []byte) Value {
	t.Helper()
	v, rest, err := ReadValue(b)
	if err != nil || len(rest) != 0 {
		t.Fatalf("ReadValue(% x): rest % x, err %v", b, rest, err)
	}
	return v
}

// TestIntegerEncodings reads every integer encoding, minimal or not, through
// Int and Uint.
func TestIntegerEncodings(t *testing.T) {
	tests := []struct {
		enc      []byte
		kind     Kind
		i        int64
		iok      bool
		u        uint64
		uok      bool
		wantJSON string
	}{
		{[]byte{0x00}, KindUint, 0, true, 0, true, "0"},
		{[]byte{0x7f}, KindUint, 127, true, 127, true, "127"},
		{[]byte{0xe0}, KindInt, -32, true, 0, false, "-32"},
		{[]byte{0xff}, KindInt, -1, true, 0, false, "-1"},
		{[]byte{0xcc, 0xff}, KindUint, 255, true, 255, true, "255"},
		{[]byte{0xcd, 0xff, 0xff}, KindUint, 65535, true, 65535, true, "65535"},
		{[]byte{0xce, 0xff, 0xff, 0xff, 0xff}, KindUint, math.MaxUint32, true, math.MaxUint32, true, "4294967295"},
		{[]byte{0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, KindUint, math.MaxInt64, true, math.MaxInt64, true, "9223372036854775807"},
		{[]byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, KindUint, 0, false, math.MaxUint64, true, "18446744073709551615"},
		{[]byte{0xd0, 0x80}, KindInt, -128, true, 0, false, "-128"},
		{[]byte{0xd0, 0x05}, KindInt, 5, true, 5, true, "5"},
		{[]byte{0xd1, 0x80, 0x00}, KindInt, math.MinInt16, true, 0, false, "-32768"},
		{[]byte{0xd2, 0x80, 0, 0, 0}, KindInt, math.MinInt32, true, 0, false, "-2147483648"},
		{[]byte{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, KindInt, math.MinInt64, true, 0, false, "-9223372036854775808"},
		{[]byte{0xd3, 0, 0, 0, 0, 0, 0, 0, 9}, KindInt, 9, true, 9, true, "9"},
	}
	var e JSONEncoder
	for _, tt := range tests {
		v := read(t, tt.enc)
		i, iok := v.Int()
		u, uok := v.Uint()
		if v.Kind() != tt.kind || i != tt.i || iok != tt.iok || u != tt.u || uok != tt.uok {
			t.Errorf("% x: kind %v Int %d,%v Uint %d,%v", tt.enc, v.Kind(), i, iok, u, uok)
		}
		if _, ok := v.Float(); ok {
			t.Errorf("% x: Float ok for an integer", tt.enc)
		}
		if got := e.AppendValue(nil, v); string(got) != tt.wantJSON {
			t.Errorf("% x: JSON %s, want %s", tt.enc, got, tt.wantJSON)
		}
	}
}

func TestAppendIntRoundTrip(t *testing.T) {
	for _, i := range []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64} {
		v := read(t, AppendInt(nil, i))
		if got, ok := v.Int(); !ok || got != i {
			t.Errorf("AppendInt(%d) reads back %d, %v", i, got, ok)
		}
	}
	for _, u := range []uint64{0, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64} {
		v := read(t, AppendUint(nil, u))
		if got, ok := v.Uint(); !ok || got != u {
			t.Errorf("AppendUint(%d) reads back %d, %v", u, got, ok)
		}
	}
}

// TestStringAndBinEncodings checks each length boundary of str and bin.
func TestStringAndBinEncodings(t *testing.T) {
	for _, n := range []int{0, 1, 31, 32, 255, 256, 65535, 65536} {
		s := bytes.Repeat([]byte{'x'}, n)
		for _, enc := range [][]byte{AppendStringBytes(nil, s), AppendBin(nil, s)} {
			v := read(t, enc)
			if !bytes.Equal(v.Bytes(), s) || v.Len() != n || !v.EqualString(string(s)) || v.EqualString(string(s)+"y") {
				t.Errorf("n=%d tag %#x: Bytes len %d Len %d", n, enc[0], len(v.Bytes()), v.Len())
			}
			if n > 0 && &v.Bytes()[0] != &enc[len(enc)-n] {
				t.Errorf("n=%d tag %#x: Bytes is a copy, want a view", n, enc[0])
			}
		}
	}
	if v := read(t, AppendInt(nil, 5)); v.Bytes() != nil || v.EqualString("") {
		t.Error("an integer has Bytes")
	}
	if (Value{}).EqualString("") || (Value{}).Kind() != KindNil {
		t.Error("zero Value must be nil and no string")
	}
}

func TestFloatBoolNil(t *testing.T) {
	if f, ok := read(t, AppendFloat(nil, 1.25)).Float(); !ok || f != 1.25 {
		t.Errorf("float64: %v %v", f, ok)
	}
	if f, ok := read(t, AppendFloat32(nil, 0.1)).Float(); !ok || f != float64(float32(0.1)) {
		t.Errorf("float32: %v %v", f, ok)
	}
	for _, b := range []bool{true, false} {
		v := read(t, AppendBool(nil, b))
		if got, ok := v.Bool(); !ok || got != b || v.Kind() != KindBool {
			t.Errorf("bool %v: %v %v", b, got, ok)
		}
	}
	v := read(t, AppendNil(nil))
	if _, ok := v.Bool(); ok || v.Kind() != KindNil {
		t.Error("nil reads as bool")
	}
}

// TestExtEncodings covers fixext 1..16 and ext 8/16/32, and EventTime.
func TestExtEncodings(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 8, 16, 17, 255, 256, 70000} {
		data := bytes.Repeat([]byte{0xab}, n)
		v := read(t, AppendExt(nil, 42, data))
		typ, got, ok := v.Ext()
		if !ok || typ != 42 || !bytes.Equal(got, data) || v.Kind() != KindExt {
			t.Errorf("ext len %d: type %d len %d ok %v", n, typ, len(got), ok)
		}
		if _, ok := v.Time(); ok {
			t.Errorf("ext type 42 len %d reads as a time", n)
		}
	}
	ts := time.Date(2025, 11, 11, 7, 40, 46, 216_000_123, time.UTC)
	v := read(t, AppendEventTime(nil, ts))
	if got, ok := v.Time(); !ok || !got.Equal(ts) || got.Location() != time.UTC {
		t.Errorf("EventTime reads back %v %v", got, ok)
	}
	if _, ok := read(t, AppendExt(nil, 0, make([]byte, 4))).Time(); ok {
		t.Error("4-byte ext 0 reads as a time")
	}
}

func TestMapGetAndIter(t *testing.T) {
	// {"a":1, "b":2, "a":3, 7:"seven", bin"c":4, "":5, "long...":6}
	long := string(bytes.Repeat([]byte("k"), 40))
	b := AppendMapHeader(nil, 7)
	b = AppendInt(AppendString(b, "a"), 1)
	b = AppendInt(AppendString(b, "b"), 2)
	b = AppendInt(AppendString(b, "a"), 3)
	b = AppendString(AppendInt(b, 7), "seven")
	b = AppendInt(AppendBin(b, []byte("c")), 4)
	b = AppendInt(AppendString(b, ""), 5)
	b = AppendInt(AppendString(b, long), 6)
	m, ok := read(t, b).Map()
	if !ok || m.Len() != 7 || !bytes.Equal(m.Raw(), b) {
		t.Fatalf("Map: ok %v len %d", ok, m.Len())
	}
	for key, want := range map[string]int64{"a": 1, "b": 2, "c": 4, "": 5, long: 6} {
		v, ok := m.Get(key)
		if got, _ := v.Int(); !ok || got != want {
			t.Errorf("Get(%q) = %d, %v; want %d", key, got, ok, want)
		}
	}
	for _, key := range []string{"7", "seven", "x", "aa", "A"} {
		if _, ok := m.Get(key); ok {
			t.Errorf("Get(%q) found a value", key)
		}
	}
	var keys []string
	it := m.Iter()
	for it.Next() {
		keys = append(keys, string(it.Key().Raw()))
	}
	if len(keys) != 7 || keys[2] != "\xa1a" || keys[3] != "\x07" {
		t.Errorf("Iter keys %q", keys)
	}
	if it.Next() {
		t.Error("Next after the end")
	}
	var zero Map
	if _, ok := zero.Get("a"); ok || zero.Len() != 0 {
		t.Error("zero Map not empty")
	}
	zi := zero.Iter()
	if zi.Next() {
		t.Error("zero Map iterates")
	}
	if _, ok := read(t, b).Array(); ok {
		t.Error("map reads as array")
	}
}

func TestArray(t *testing.T) {
	b := must(AppendAny(nil, []any{"x", 1, []any{true}, nil}))
	a, ok := read(t, b).Array()
	if !ok || a.Len() != 4 || read(t, b).Len() != 4 {
		t.Fatalf("Array: %v %d", ok, a.Len())
	}
	if v, ok := a.At(1); !ok || v.Kind() != KindUint {
		t.Errorf("At(1) = %v %v", v.Kind(), ok)
	}
	if _, ok := a.At(4); ok {
		t.Error("At(4) out of range succeeded")
	}
	if _, ok := a.At(-1); ok {
		t.Error("At(-1) succeeded")
	}
	var kinds []Kind
	it := a.Iter()
	for it.Next() {
		kinds = append(kinds, it.Value().Kind())
	}
	if len(kinds) != 4 || kinds[0] != KindStr || kinds[2] != KindArray || kinds[3] != KindNil {
		t.Errorf("kinds %v", kinds)
	}
	if _, ok := read(t, b).Map(); ok {
		t.Error("array reads as map")
	}
	var e JSONEncoder
	if got := e.AppendValue(nil, Array{}.Value()); string(got) != "[]" {
		t.Errorf("zero Array renders %s", got)
	}
}

func TestReadValueErrors(t *testing.T) {
	tests := []struct {
		in  []byte
		err error
	}{
		{nil, ErrTruncated},
		{[]byte{0xc1}, ErrInvalid},
		{[]byte{0x92, 0x01}, ErrTruncated},
		{[]byte{0xa5, 'a'}, ErrTruncated},
		{[]byte{0xd9}, ErrTruncated},
		{[]byte{0xcf, 0, 0}, ErrTruncated},
		{[]byte{0xd7, 0}, ErrTruncated},
		{append(bytes.Repeat([]byte{0x91}, MaxDepth+1), 0xc0), ErrTooDeep},
	}
	for _, tt := range tests {
		if _, _, err := ReadValue(tt.in); !errors.Is(err, tt.err) {
			t.Errorf("ReadValue(% x) err %v, want %v", tt.in, err, tt.err)
		}
	}
	v, rest, err := ReadValue([]byte{0x01, 0x02})
	if err != nil || !bytes.Equal(v.Raw(), []byte{1}) || !bytes.Equal(rest, []byte{2}) {
		t.Errorf("ReadValue: %v % x %v", v.Raw(), rest, err)
	}
	if _, _, err := ReadValue(append(bytes.Repeat([]byte{0x91}, MaxDepth), 0xc0)); err != nil {
		t.Errorf("MaxDepth levels rejected: %v", err)
	}
}

func TestKindString(t *testing.T) {
	if KindMap.String() != "map" || Kind(200).String() != "unknown" {
		t.Error(KindMap.String(), Kind(200).String())
	}
}
