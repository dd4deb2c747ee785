package chunk

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// stdJSON marshals v as encoding/json does without HTML escaping.
func stdJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

var trickyStrings = []string{
	"", "plain", `quote " backslash \ slash /`, "<html>&amp;</html>",
	"\x00\x01\x07\b\f\n\r\t\x0b\x1f\x7f", "héllo wörld ✓ 日本語 🚀",
	"bad \xff utf8 \xc3\x28 \xe2\x82 end", "\xed\xa0\x80 surrogate", "sep \u2028 \u2029 seps",
	"trailing \xe2", "\xf4\x90\x80\x80 beyond U+10FFFF", "\ufffd literal replacement",
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range trickyStrings {
		got := AppendJSONString([]byte("prefix"), []byte(s))
		want := append([]byte("prefix"), stdJSON(t, s)...)
		if !bytes.Equal(got, want) {
			t.Errorf("%q:\n got %s\nwant %s", s, got, want)
		}
	}
}

func TestAppendJSONFloatMatchesEncodingJSON(t *testing.T) {
	f64 := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1.5, 1e-7, 1e-6, 123456789.123, 1e20, 1e21, 1e22, -1e-300,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 1762846846.216}
	for _, f := range f64 {
		if got, want := AppendJSONFloat(nil, f, 64), stdJSON(t, f); !bytes.Equal(got, want) {
			t.Errorf("float64 %v: got %s want %s", f, got, want)
		}
		f32 := float32(f)
		if math.IsInf(float64(f32), 0) {
			continue
		}
		if got, want := AppendJSONFloat(nil, float64(f32), 32), stdJSON(t, f32); !bytes.Equal(got, want) {
			t.Errorf("float32 %v: got %s want %s", f32, got, want)
		}
		// And through msgpack.
		var e JSONEncoder
		if got, want := e.AppendValue(nil, read(t, AppendFloat32(nil, f32))), stdJSON(t, f32); !bytes.Equal(got, want) {
			t.Errorf("msgpack float32 %v: got %s want %s", f32, got, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got := AppendJSONFloat(nil, f, 64); string(got) != "null" {
			t.Errorf("%v renders %s", f, got)
		}
	}
}

func TestJSONValues(t *testing.T) {
	ts := time.Date(2025, 11, 11, 7, 40, 46, 216_000_000, time.UTC)
	raw := func(v any) []byte { return must(AppendAny(nil, v)) }
	nested := AppendMapHeader(nil, 1) // {{1: 2}: "v"}: a map key holding a map key
	nested = AppendInt(AppendMapHeader(nested, 1), 1)
	nested = AppendString(AppendInt(nested, 2), "v")
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"nil", raw(nil), `null`},
		{"bools", raw([]any{true, false}), `[true,false]`},
		{"str", raw("a\"b"), `"a\"b"`},
		{"bin as text", raw([]byte("log line\n")), `"log line\n"`},
		{"bin invalid utf8", raw([]byte{0xff, 'a'}), `"\ufffda"`},
		{"floats", raw([]any{1.5, float32(0.25), math.NaN(), math.Inf(-1)}), `[1.5,0.25,null,null]`},
		{"eventtime", AppendEventTime(nil, ts), `"2025-11-11T07:40:46.216Z"`},
		{"ext other", AppendExt(nil, 5, []byte{1, 2}), `null`},
		{"ext0 short", AppendExt(nil, 0, []byte{1, 2, 3, 4}), `null`},
		{"empty map", raw([]KV{}), `{}`},
		{"empty array", raw([]any{}), `[]`},
		{"record", raw([]KV{{"log", "x"}, {"n", -3}, {"m", []KV{{"k", []any{1, "2"}}}}}), `{"log":"x","n":-3,"m":{"k":[1,"2"]}}`},
		{"duplicate keys kept", raw([]KV{{"a", 1}, {"a", 2}}), `{"a":1,"a":2}`},
		{"int key", append(AppendInt(AppendMapHeader(nil, 1), -7), 0xc3), `{"-7":true}`},
		{"nil key", append(AppendNil(AppendMapHeader(nil, 1)), 0x01), `{"null":1}`},
		{"float key", append(AppendFloat(AppendMapHeader(nil, 1), 2.5), 0x01), `{"2.5":1}`},
		{"array key", append(append(AppendMapHeader(nil, 1), raw([]any{"a", 1})...), 0x01), `{"[\"a\",1]":1}`},
		{"bin key", append(AppendBin(AppendMapHeader(nil, 1), []byte("k")), 0x01), `{"k":1}`},
		{"map key with int key", nested, `{"{1:2}":"v"}`},
		{"map key with str key", append(append(AppendMapHeader(nil, 1), raw([]KV{{"a", "b"}})...), 0x01), `{"{\"a\":\"b\"}":1}`},
		{"key escaping", raw([]KV{{"a\"\n\xff", 1}}), `{"a\"\n\ufffd":1}`},
	}
	var e JSONEncoder
	for _, tt := range tests {
		got := e.AppendValue(nil, read(t, tt.in))
		if string(got) != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
		if !json.Valid(got) {
			t.Errorf("%s: invalid JSON %s", tt.name, got)
		}
	}
	if got := e.AppendValue(nil, Value{}); string(got) != "null" {
		t.Errorf("zero Value renders %s", got)
	}
	if got := e.AppendMap(nil, Map{}); string(got) != "{}" {
		t.Errorf("zero Map renders %s", got)
	}
}

// TestJSONFilter: the filter sees every str and bin value, never a key.
func TestJSONFilter(t *testing.T) {
	var seen []string
	e := JSONEncoder{Filter: func(dst, s []byte) []byte {
		seen = append(seen, string(s))
		return append(dst, strings.ToUpper(string(s))+"\"\xff"...) // must still be escaped
	}}
	// {"log":"secret", "bin":bin"b", "arr":["x",1], "m":{"k":"v"}, ["keystr"]:"w"}
	in := AppendMapHeader(nil, 5)
	in = AppendString(AppendString(in, "log"), "secret")
	in = AppendBin(AppendString(in, "bin"), []byte("b"))
	in = append(AppendString(in, "arr"), must(AppendAny(nil, []any{"x", 1}))...)
	in = append(AppendString(in, "m"), must(AppendAny(nil, []KV{{"k", "v"}}))...)
	in = AppendString(append(in, must(AppendAny(nil, []any{"keystr"}))...), "w")
	got := e.AppendValue(nil, read(t, in))
	want := `{"log":"SECRET\"\ufffd","bin":"B\"\ufffd","arr":["X\"\ufffd",1],"m":{"k":"V\"\ufffd"},"[\"keystr\"]":"W\"\ufffd"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if strings.Join(seen, ",") != "secret,b,x,v,w" {
		t.Errorf("filter saw %q", seen)
	}
	if got := e.AppendString(nil, []byte("q")); string(got) != `"Q\"\ufffd"` {
		t.Errorf("AppendString through filter: %s", got)
	}
}

// TestJSONDepthGuard renders a value deeper than any decoder returns: the
// renderer must stop recursing and still emit valid JSON.
func TestJSONDepthGuard(t *testing.T) {
	deep := append(bytes.Repeat([]byte{0x91}, 10000), 0x01)
	var e JSONEncoder
	got := e.AppendValue(nil, Value{b: deep})
	if !json.Valid(got) || !bytes.Contains(got, []byte("null")) || bytes.Count(got, []byte("[")) != MaxDepth+1 {
		t.Errorf("deep value renders %d bytes, %d levels, valid=%v", len(got), bytes.Count(got, []byte("[")), json.Valid(got))
	}
}

func TestJSONNumbersMatchEncodingJSON(t *testing.T) {
	var e JSONEncoder
	for _, i := range []int64{0, -1, 42, math.MinInt64, math.MaxInt64} {
		if got := e.AppendValue(nil, read(t, AppendInt(nil, i))); string(got) != strconv.FormatInt(i, 10) {
			t.Errorf("%d renders %s", i, got)
		}
	}
}

// TestJSONNestedKeysLinear: keys nested in keys must not multiply escapes
// (a fuzzer found 30 levels rendering for seconds into gigabytes).
func TestJSONNestedKeysLinear(t *testing.T) {
	var b []byte
	for range MaxDepth - 1 {
		b = AppendMapHeader(b, 1) // {{{...: 1}: 1}: 1}
	}
	b = AppendString(b, "k\"")
	b = AppendInt(b, 1)
	for range MaxDepth - 2 {
		b = AppendInt(b, 1)
	}
	var e JSONEncoder
	got := e.AppendValue(nil, read(t, b))
	if !json.Valid(got) || len(got) > 20*len(b) {
		t.Errorf("%d input bytes render as %d bytes (valid=%v)", len(b), len(got), json.Valid(got))
	}
	if !bytes.Contains(got, []byte(`{\"k\\\"\":1}`)) {
		t.Errorf("innermost key escaped other than twice: %.200s", got)
	}
}

// TestJSONFilterKeysAndSecret: FilterKeys sends str keys through Filter; below a key
// SecretKey accepts, every string and number goes through Secret (numbers as text,
// written as strings), while true/false/null and the structure stay.
func TestJSONFilterKeysAndSecret(t *testing.T) {
	e := JSONEncoder{
		Filter:     func(dst, s []byte) []byte { return append(dst, strings.ToUpper(string(s))...) },
		FilterKeys: true,
		SecretKey:  func(k []byte) bool { return string(k) == "password" },
		Secret:     func(dst, s []byte) []byte { return append(append(dst, 'X'), s...) },
	}
	in := must(AppendAny(nil, []KV{{"user", "bob"}, {"password", "pw"}, {"n", 5},
		{"password", []any{"a", int64(-7), 1.5, true, nil, []KV{{"k", "v"}}}}, {"m", []KV{{"password", uint64(9)}}}}))
	got := e.AppendValue(nil, read(t, in))
	want := `{"USER":"BOB","PASSWORD":"Xpw","N":5,"PASSWORD":["Xa","X-7","X1.5",true,null,{"K":"Xv"}],"M":{"PASSWORD":"X9"}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
