package chunk

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// nastyFilter rewrites strings into text that needs escaping, to prove the
// output stays valid JSON whatever a redactor returns.
func nastyFilter(dst, s []byte) []byte {
	dst = append(dst, '"', 0xff, '\\', '\n')
	return append(dst, s...)
}

func FuzzDecoder(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.input"))
	for _, in := range inputs {
		f.Add(readHexInput(f, in))
	}
	f.Add(benchChunk(3))
	f.Add(must(Encoder{Form: FormLegacy, Time: TimeFloat}.AppendEvent(nil, t0, nil, []KV{{"log", "x"}, {"n", []any{1.5, nil}}})))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Decoder
		var ev Event
		plain := JSONEncoder{}
		filtered := JSONEncoder{Filter: nastyFilter}
		d.Reset(data)
		events := 0
		prevEnd := 0
		for d.Next(&ev) {
			events++
			end := d.Offset()
			start := end - len(ev.Raw)
			if len(ev.Raw) == 0 || start < prevEnd || &ev.Raw[0] != &data[start] {
				t.Fatalf("event %d: Raw is not the data at [%d:%d]", events, start, end)
			}
			prevEnd = end
			if ev.TimeInvalid != ev.Time.IsZero() || !ev.TimeInvalid && (ev.Time.Location() != time.UTC || ev.Time.Unix() < 0 || ev.Time.Unix() > MaxUnix) {
				t.Fatalf("event %d: time %v (invalid %v)", events, ev.Time, ev.TimeInvalid)
			}
			for _, m := range []Map{ev.Record, ev.Meta} {
				js := plain.AppendMap(nil, m)
				if !json.Valid(js) {
					t.Fatalf("event %d: invalid JSON %q", events, js)
				}
				// Output must grow linearly with input: no value expands
				// beyond \u00XX-escaping, "null" or an RFC 3339 time.
				if len(js) > 16*len(m.Raw())+64 {
					t.Fatalf("event %d: %d bytes render as %d", events, len(m.Raw()), len(js))
				}
				if again := plain.AppendMap(nil, m); !bytes.Equal(js, again) {
					t.Fatalf("event %d: rendering not deterministic", events)
				}
				if fjs := filtered.AppendMap(nil, m); !json.Valid(fjs) {
					t.Fatalf("event %d: invalid filtered JSON %q", events, fjs)
				}
				checkGetFirstWins(t, m)
			}
		}
		if d.Offset() != len(data) {
			t.Fatalf("stopped at %d of %d bytes", d.Offset(), len(data))
		}
		if events+d.Bad()+d.Groups() > len(data) {
			t.Fatalf("%d events, %d bad, %d groups from %d bytes", events, d.Bad(), d.Groups(), len(data))
		}
		if v, _, err := ReadValue(data); err == nil {
			if js := plain.AppendValue(nil, v); !json.Valid(js) {
				t.Fatalf("ReadValue: invalid JSON %q", js)
			}
		}
	})
}

// checkGetFirstWins checks Map.Get against a walk of the pairs.
func checkGetFirstWins(t *testing.T, m Map) {
	t.Helper()
	seen := map[string]bool{}
	it := m.Iter()
	n := 0
	for it.Next() {
		n++
		k := it.Key()
		if k.Kind() != KindStr && k.Kind() != KindBin {
			continue
		}
		key := string(k.Bytes())
		got, ok := m.Get(key)
		if !ok {
			t.Fatalf("Get(%q) missed a present key", key)
		}
		if !seen[key] && !bytes.Equal(got.Raw(), it.Value().Raw()) {
			t.Fatalf("Get(%q) did not return the first pair's value", key)
		}
		seen[key] = true
	}
	if n != m.Len() {
		t.Fatalf("Iter gave %d pairs, Len %d", n, m.Len())
	}
}

// FuzzJSONString compares string escaping with encoding/json byte for byte.
func FuzzJSONString(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		got := AppendJSONString(nil, s)
		if want := stdJSON(t, string(s)); !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
	})
}

// FuzzJSONRecord builds a record from fuzz values, renders it, and checks
// that encoding/json reads back what it would have written for the same
// data (bin read as text, NaN/Inf as null, the last duplicate key winning).
func FuzzJSONRecord(f *testing.F) {
	f.Add("log", "GET /x \"q\" \x00 \xff", "n", []byte("bin\n"), int64(-5), uint64(math.MaxUint64), 1.5, float32(0.1))
	f.Add("a", "a", "a", []byte{}, int64(math.MinInt64), uint64(0), math.NaN(), float32(math.Inf(1)))
	f.Add("\u2028", "✓", "\xc3", []byte{0xff}, int64(0), uint64(7), 1e21, float32(1e-7))
	f.Fuzz(func(t *testing.T, k1, v1, k2 string, bin []byte, i int64, u uint64, fl float64, f32 float32) {
		rec := []KV{
			{k1, v1}, {k2, bin}, {"i", i}, {"u", u}, {"f", fl}, {"f32", f32},
			{"nested", []KV{{k2, []any{v1, i, nil, true}}}},
		}
		data := must(Encoder{}.AppendEvent(nil, t0, nil, rec))
		var d Decoder
		var ev Event
		d.Reset(data)
		if !d.Next(&ev) {
			t.Fatalf("record did not decode: bad=%d err=%v", d.Bad(), d.Err())
		}
		var e JSONEncoder
		got := e.AppendMap(nil, ev.Record)

		// Keys that differ only in invalid UTF-8 collide once rendered, so
		// the expected map is keyed by the text encoding/json would emit.
		key := func(k string) string { return unmarshal(t, stdJSON(t, k)).(string) }
		expect := map[string]any{}
		for _, kv := range rec {
			kv.Key = key(kv.Key)
			switch v := kv.Value.(type) {
			case []byte:
				expect[kv.Key] = string(v)
			case float64:
				if math.IsNaN(v) || math.IsInf(v, 0) {
					expect[kv.Key] = nil
				} else {
					expect[kv.Key] = v
				}
			case float32:
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					expect[kv.Key] = nil
				} else {
					expect[kv.Key] = v
				}
			case []KV:
				expect[kv.Key] = map[string]any{key(v[0].Key): v[0].Value}
			default:
				expect[kv.Key] = v
			}
		}
		want := stdJSON(t, expect)
		if !reflect.DeepEqual(unmarshal(t, got), unmarshal(t, want)) {
			t.Fatalf("round trip differs:\n got %s\nwant %s", got, want)
		}
	})
}

func unmarshal(t *testing.T, js []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("invalid JSON %q: %v", js, err)
	}
	return v
}
