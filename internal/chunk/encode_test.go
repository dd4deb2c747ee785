package chunk

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestAppendAnyRendersAsJSON(t *testing.T) {
	ts := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	v := []KV{
		{"nil", nil}, {"b", true}, {"i", -5}, {"i8", int8(-8)}, {"i16", int16(-16)}, {"i32", int32(-32)}, {"i64", int64(-64)},
		{"u", uint(1)}, {"u8", uint8(8)}, {"u16", uint16(16)}, {"u32", uint32(32)}, {"u64", uint64(64)},
		{"f32", float32(0.5)}, {"f64", 2.25}, {"s", "str"}, {"bin", []byte("bin")}, {"t", ts},
		{"arr", []any{1, "a"}}, {"map", map[string]any{"z": 1, "a": 2}}, {"raw", Raw{0xc3}},
	}
	b, err := AppendAny([]byte("keep"), v)
	if err != nil || !bytes.HasPrefix(b, []byte("keep")) {
		t.Fatalf("AppendAny: %v", err)
	}
	var e JSONEncoder
	got := e.AppendValue(nil, read(t, b[4:]))
	want := `{"nil":null,"b":true,"i":-5,"i8":-8,"i16":-16,"i32":-32,"i64":-64,"u":1,"u8":8,"u16":16,"u32":32,"u64":64,` +
		`"f32":0.5,"f64":2.25,"s":"str","bin":"bin","t":"2025-01-02T03:04:05.000000006Z","arr":[1,"a"],"map":{"a":2,"z":1},"raw":true}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestAppendAnyUnsupported(t *testing.T) {
	for _, v := range []any{struct{}{}, []KV{{"k", make(chan int)}}, []any{1, complex(1, 2)}, map[string]any{"k": []string{"x"}}} {
		if _, err := AppendAny(nil, v); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("AppendAny(%T) err %v", v, err)
		}
	}
	if _, err := (Encoder{}).AppendEvent(nil, time.Now(), []KV{{"m", struct{}{}}}, nil); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("AppendEvent bad meta: %v", err)
	}
	if _, err := (Encoder{}).AppendEvent(nil, time.Now(), nil, []KV{{"r", struct{}{}}}); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("AppendEvent bad record: %v", err)
	}
	if _, err := (Encoder{}).AppendGroupStart(nil, nil, []KV{{"r", struct{}{}}}); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("AppendGroupStart bad attrs: %v", err)
	}
}

// TestEncoderShapes pins the exact bytes of each form, as Fluent Bit writes
// them.
func TestEncoderShapes(t *testing.T) {
	ts := time.Unix(0x6912e87e, 5).UTC()
	rec := []KV{{"a", 1}}
	tests := []struct {
		enc  Encoder
		want []byte
	}{
		{Encoder{}, []byte{0x92, 0x92, 0xd7, 0x00, 0x69, 0x12, 0xe8, 0x7e, 0, 0, 0, 5, 0x80, 0x81, 0xa1, 'a', 0x01}},
		{Encoder{Form: FormLegacy}, []byte{0x92, 0xd7, 0x00, 0x69, 0x12, 0xe8, 0x7e, 0, 0, 0, 5, 0x81, 0xa1, 'a', 0x01}},
		{Encoder{Form: FormLegacy, Time: TimeInt}, []byte{0x92, 0xce, 0x69, 0x12, 0xe8, 0x7e, 0x81, 0xa1, 'a', 0x01}},
	}
	for _, tt := range tests {
		got := must(tt.enc.AppendEvent(nil, ts, nil, rec))
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%+v:\n got % x\nwant % x", tt.enc, got, tt.want)
		}
	}
	start := must(Encoder{}.AppendGroupStart(nil, nil, nil))
	if want := []byte{0x92, 0x92, 0xd7, 0x00, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x80, 0x80}; !bytes.Equal(start, want) {
		t.Errorf("group start % x, want % x", start, want)
	}
	end := Encoder{Form: FormLegacy, Time: TimeInt}.AppendGroupEnd(nil)
	if want := []byte{0x92, 0xfe, 0x80}; !bytes.Equal(end, want) {
		t.Errorf("legacy int group end % x, want % x", end, want)
	}
}

func TestContainerHeaders(t *testing.T) {
	for _, n := range []int{0, 15, 16, 65535, 65536} {
		a := AppendArrayHeader(nil, n)
		a = append(a, bytes.Repeat([]byte{0xc0}, n)...)
		if arr, ok := read(t, a).Array(); !ok || arr.Len() != n {
			t.Errorf("array of %d: %v %d", n, ok, arr.Len())
		}
		m := AppendMapHeader(nil, n)
		m = append(m, bytes.Repeat([]byte{0x01, 0xc0}, n)...)
		if mm, ok := read(t, m).Map(); !ok || mm.Len() != n {
			t.Errorf("map of %d: %v %d", n, ok, mm.Len())
		}
	}
}
