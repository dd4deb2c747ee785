package chunk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 11, 11, 7, 40, 46, 216_000_123, time.UTC)

// must unwraps builder results in tests.
func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// goodEvent appends a v2 event whose record is {"n": n}.
func goodEvent(dst []byte, n int) []byte {
	return must(Encoder{}.AppendEvent(dst, t0, nil, []KV{{"n", n}}))
}

// decodeAll returns the "n" field of every good event.
func decodeAll(t *testing.T, data []byte) (ns []int64, d *Decoder) {
	t.Helper()
	d = new(Decoder)
	d.Reset(data)
	var ev Event
	for d.Next(&ev) {
		v, ok := ev.Record.Get("n")
		if !ok {
			t.Fatalf("event %d: no n in record", len(ns))
		}
		n, _ := v.Int()
		ns = append(ns, n)
	}
	return ns, d
}

func TestDecodeFormsAndTimeFormats(t *testing.T) {
	for _, form := range []Form{FormV2, FormLegacy} {
		for _, tf := range []TimeFormat{TimeEventTime, TimeInt, TimeFloat} {
			t.Run(fmt.Sprintf("form%d/time%d", form, tf), func(t *testing.T) {
				enc := Encoder{Form: form, Time: tf}
				var data []byte
				var bounds []int
				for i := range 3 {
					ts := t0.Add(time.Duration(i) * time.Second)
					data = must(enc.AppendEvent(data, ts,
						[]KV{{"otlp", map[string]any{"i": i}}},
						[]KV{{"log", fmt.Sprintf("line %d", i)}, {"source", "stdout"}}))
					bounds = append(bounds, len(data))
				}
				var d Decoder
				d.Reset(data)
				var ev Event
				start := 0
				for i := range 3 {
					if !d.Next(&ev) {
						t.Fatalf("event %d missing: bad=%d err=%v", i, d.Bad(), d.Err())
					}
					want := t0.Add(time.Duration(i) * time.Second)
					switch tf {
					case TimeInt:
						want = want.Truncate(time.Second)
					case TimeFloat: // float64 seconds keep about 0.2 µs today
						if diff := ev.Time.Sub(want); diff < -time.Microsecond || diff > time.Microsecond {
							t.Errorf("event %d: time %v, want %v", i, ev.Time, want)
						}
						want = ev.Time
					}
					if !ev.Time.Equal(want) || ev.Time.Location() != time.UTC {
						t.Errorf("event %d: time %v, want %v UTC", i, ev.Time, want)
					}
					if ev.Legacy != (form == FormLegacy) {
						t.Errorf("event %d: Legacy = %v", i, ev.Legacy)
					}
					if form == FormLegacy {
						if ev.Meta.Len() != 0 {
							t.Errorf("event %d: legacy meta has %d pairs", i, ev.Meta.Len())
						}
					} else {
						otlp, _ := ev.Meta.Get("otlp")
						m, _ := otlp.Map()
						iv, _ := m.Get("i")
						if n, _ := iv.Int(); n != int64(i) {
							t.Errorf("event %d: meta otlp.i = %d", i, n)
						}
					}
					log, ok := ev.Record.Get("log")
					if !ok || string(log.Bytes()) != fmt.Sprintf("line %d", i) {
						t.Errorf("event %d: log = %q", i, log.Bytes())
					}
					if !bytes.Equal(ev.Raw, data[start:bounds[i]]) {
						t.Errorf("event %d: Raw is not the event's bytes", i)
					}
					start = bounds[i]
				}
				if d.Next(&ev) || d.Bad() != 0 || d.Groups() != 0 || d.Err() != nil || d.Offset() != len(data) {
					t.Errorf("end: bad=%d groups=%d err=%v offset=%d/%d", d.Bad(), d.Groups(), d.Err(), d.Offset(), len(data))
				}
			})
		}
	}
}

func hexTS(b ...byte) []byte { return b }

func eventTime(sec, nsec uint32) []byte { return AppendEventTimeRaw(nil, sec, nsec) }

// TestDecodeTimestamps puts each timestamp encoding between two good events,
// in both forms, and checks how it is classified and what time it yields.
func TestDecodeTimestamps(t *testing.T) {
	const (
		ok = iota
		group
		badTime // kept, with TimeInvalid
	)
	u64 := func(tag byte, v uint64, n int) []byte {
		b := binary.BigEndian.AppendUint64(nil, v)
		return append([]byte{tag}, b[8-n:]...)
	}
	tests := []struct {
		name  string
		ts    []byte
		class int
		want  time.Time
	}{
		{"fixint", hexTS(0x05), ok, time.Unix(5, 0)},
		{"uint8", u64(0xcc, 200, 1), ok, time.Unix(200, 0)},
		{"uint16", u64(0xcd, 60000, 2), ok, time.Unix(60000, 0)},
		{"uint32", u64(0xce, 1762846846, 4), ok, time.Unix(1762846846, 0)},
		{"uint64", u64(0xcf, 1762846846, 8), ok, time.Unix(1762846846, 0)},
		{"uint64 beyond int64", u64(0xcf, math.MaxUint64, 8), badTime, time.Time{}},
		{"int8 positive", u64(0xd0, 100, 1), ok, time.Unix(100, 0)},
		{"int16 positive", u64(0xd1, 30000, 2), ok, time.Unix(30000, 0)},
		{"int32 positive", u64(0xd2, 1762846846, 4), ok, time.Unix(1762846846, 0)},
		{"int64 positive", u64(0xd3, 1762846846, 8), ok, time.Unix(1762846846, 0)},
		{"negfixint -1 group start", hexTS(0xff), group, time.Time{}},
		{"int8 -2 group end", hexTS(0xd0, 0xfe), group, time.Time{}},
		{"int64 -1 group start", u64(0xd3, math.MaxUint64, 8), group, time.Time{}},
		{"negfixint -3", hexTS(0xfd), badTime, time.Time{}},
		{"int32 -100", u64(0xd2, uint64(0xffffff9c), 4), badTime, time.Time{}},
		{"float32", AppendFloat32(nil, 1.5), ok, time.Unix(1, 5e8)},
		{"float64", AppendFloat(nil, 1762846846.25), ok, time.Unix(1762846846, 25e7)},
		{"float64 zero", AppendFloat(nil, 0), ok, time.Unix(0, 0)},
		{"float64 -1 group start", AppendFloat(nil, -1), group, time.Time{}},
		{"float32 -2 group end", AppendFloat32(nil, -2), group, time.Time{}},
		{"float64 -0.5", AppendFloat(nil, -0.5), badTime, time.Time{}},
		{"float64 NaN", AppendFloat(nil, math.NaN()), badTime, time.Time{}},
		{"float64 +Inf", AppendFloat(nil, math.Inf(1)), badTime, time.Time{}},
		{"float64 1e300", AppendFloat(nil, 1e300), badTime, time.Time{}},
		{"eventtime fixext8", eventTime(1762846846, 216000123), ok, time.Unix(1762846846, 216000123)},
		{"eventtime ext8 len 8", append([]byte{0xc7, 8, 0}, eventTime(7, 9)[2:]...), ok, time.Unix(7, 9)},
		{"eventtime 0xfffffffd is 2106", eventTime(0xfffffffd, 0), ok, time.Unix(0xfffffffd, 0)},
		{"eventtime group start", eventTime(0xffffffff, 0), group, time.Time{}},
		{"eventtime group end", eventTime(0xfffffffe, 0), group, time.Time{}},
		{"eventtime group start with nsec", eventTime(0xffffffff, 5), badTime, time.Time{}},
		{"eventtime nsec 1e9", eventTime(1, 1e9), badTime, time.Time{}},
		{"ext0 len 4", AppendExt(nil, 0, []byte{0, 0, 0, 1}), badTime, time.Time{}},
		{"ext0 len 12", AppendExt(nil, 0, make([]byte, 12)), badTime, time.Time{}},
		{"ext0 len 16", AppendExt(nil, 0, make([]byte, 16)), badTime, time.Time{}},
		{"ext type 1 len 8", AppendExt(nil, 1, make([]byte, 8)), badTime, time.Time{}},
		{"ext -1 (msgpack timestamp)", AppendExt(nil, -1, make([]byte, 8)), badTime, time.Time{}},
		{"str", AppendString(nil, "1762846846"), badTime, time.Time{}},
		{"int milliseconds as seconds", u64(0xd3, 1764640000000, 8), badTime, time.Time{}},
		{"uint milliseconds as seconds", u64(0xcf, 1764640000000, 8), badTime, time.Time{}},
		{"float milliseconds as seconds", AppendFloat(nil, 1764640000000.5), badTime, time.Time{}},
		{"int last second of 9999", u64(0xd3, MaxUnix, 8), ok, time.Unix(MaxUnix, 0)},
		{"int first second of 10000", u64(0xd3, MaxUnix+1, 8), badTime, time.Time{}},
		{"nil", AppendNil(nil), badTime, time.Time{}},
		{"map", AppendMapHeader(nil, 0), badTime, time.Time{}},
		{"array (v2 only: in the legacy form it reads as a broken v2 header)", append([]byte{0x91}, eventTime(1, 0)...), badTime, time.Time{}},
	}
	for _, form := range []Form{FormV2, FormLegacy} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("form%d/%s", form, tt.name), func(t *testing.T) {
				if form == FormLegacy && tt.ts[0] == 0x91 {
					t.Skip("a legacy event whose timestamp is an array is a v2 event with a broken header")
				}
				rec := must(AppendAny(nil, []KV{{"n", 2}}))
				data := goodEvent(nil, 1)
				data = Encoder{Form: form}.AppendEventRaw(data, tt.ts, nil, rec)
				data = goodEvent(data, 3)
				var d Decoder
				d.Reset(data)
				var ev Event
				var got []int64
				for d.Next(&ev) {
					n, _ := must2(ev.Record.Get("n")).Int()
					got = append(got, n)
					if n == 2 && (!ev.Time.Equal(tt.want) || ev.TimeInvalid != (tt.class == badTime) || !bytes.Equal(ev.TimeValue.Raw(), tt.ts)) {
						t.Errorf("time = %v invalid=%v value=%x, want %v invalid=%v value=%x", ev.Time, ev.TimeInvalid, ev.TimeValue.Raw(), tt.want.UTC(), tt.class == badTime, tt.ts)
					}
				}
				want := []int64{1, 2, 3}
				wantGroups, wantBadTime := 0, 0
				switch tt.class {
				case group:
					want, wantGroups = []int64{1, 3}, 1
				case badTime:
					wantBadTime = 1
				}
				if fmt.Sprint(got) != fmt.Sprint(want) || d.Groups() != wantGroups || d.BadTime() != wantBadTime || d.Bad() != 0 || d.Err() != nil {
					t.Errorf("events %v groups=%d bad=%d badtime=%d err=%v; want %v groups=%d badtime=%d",
						got, d.Groups(), d.Bad(), d.BadTime(), d.Err(), want, wantGroups, wantBadTime)
				}
			})
		}
	}
}

func must2(v Value, ok bool) Value {
	if !ok {
		panic("missing value")
	}
	return v
}

func TestDecodeGroups(t *testing.T) {
	for _, tf := range []TimeFormat{TimeEventTime, TimeInt, TimeFloat} {
		enc := Encoder{Time: tf}
		data := must(enc.AppendGroupStart(nil, []KV{{"schema", "otlp"}}, []KV{{"resource", map[string]any{"service.name": "x"}}}))
		data = goodEvent(data, 1)
		data = goodEvent(data, 2)
		data = enc.AppendGroupEnd(data)
		data = must(enc.AppendGroupStart(data, nil, nil))
		data = goodEvent(data, 3)
		data = enc.AppendGroupEnd(data)
		got, d := decodeAll(t, data)
		if fmt.Sprint(got) != "[1 2 3]" || d.Groups() != 4 || d.Bad() != 0 || d.Err() != nil {
			t.Errorf("time%d: events %v groups=%d bad=%d err=%v", tf, got, d.Groups(), d.Bad(), d.Err())
		}
	}
}

// TestDecodeBadShapes surrounds each malformed but complete event with good
// ones: the good ones must survive and the bad one be counted once.
func TestDecodeBadShapes(t *testing.T) {
	ts := eventTime(1, 0)
	rec := must(AppendAny(nil, []KV{{"n", 99}}))
	v2 := func(parts ...[]byte) []byte {
		b := AppendArrayHeader(nil, len(parts))
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	deep := func(levels int) []byte { // record {"n": [[[...nil...]]]}
		b := AppendMapHeader(nil, 1)
		b = AppendString(b, "n")
		for range levels {
			b = AppendArrayHeader(b, 1)
		}
		return AppendNil(b)
	}
	tests := []struct {
		name  string
		event []byte
	}{
		{"root map", must(AppendAny(nil, []KV{{"a", 1}}))},
		{"root int", AppendInt(nil, 7)},
		{"root nil", AppendNil(nil)},
		{"root str", AppendString(nil, "hello")},
		{"root empty array", v2()},
		{"root array 1", v2(ts)},
		{"root array 3", v2(ts, rec, rec)},
		{"root array16 of 3", append([]byte{0xdc, 0, 3}, append(append(append([]byte{}, ts...), rec...), rec...)...)},
		{"header array 1", v2(v2(ts), rec)},
		{"header array 3", v2(v2(ts, AppendMapHeader(nil, 0), AppendMapHeader(nil, 0)), rec)},
		{"meta not map", v2(v2(ts, AppendString(nil, "m")), rec)},
		{"meta nil", v2(v2(ts, AppendNil(nil)), rec)},
		{"record str", v2(v2(ts, AppendMapHeader(nil, 0)), AppendString(nil, "r"))},
		{"record array", v2(v2(ts, AppendMapHeader(nil, 0)), v2(AppendString(nil, "n")))},
		{"record nil legacy", v2(ts, AppendNil(nil))},
		{"legacy record bin", v2(ts, AppendBin(nil, rec))},
		{"too deep", v2(v2(ts, AppendMapHeader(nil, 0)), deep(MaxDepth))},
		{"far too deep", v2(v2(ts, AppendMapHeader(nil, 0)), deep(100000))},
		{"group marker with bad record", v2(v2(eventTime(0xffffffff, 0), AppendMapHeader(nil, 0)), AppendNil(nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := goodEvent(nil, 1)
			data = append(data, tt.event...)
			data = goodEvent(data, 2)
			got, d := decodeAll(t, data)
			if fmt.Sprint(got) != "[1 2]" || d.Bad() != 1 || d.Groups() != 0 || d.Err() != nil {
				t.Errorf("events %v bad=%d groups=%d err=%v; want [1 2] bad=1", got, d.Bad(), d.Groups(), d.Err())
			}
		})
	}
}

// TestDecodeDepthLimit checks the deepest record accepted: the event array,
// the record map and the nested arrays together reach MaxDepth.
func TestDecodeDepthLimit(t *testing.T) {
	for _, extra := range []int{0, 1} {
		levels := MaxDepth - 2 + extra // event array + record map + levels
		rec := AppendMapHeader(nil, 1)
		rec = AppendString(rec, "n")
		for range levels {
			rec = AppendArrayHeader(rec, 1)
		}
		rec = AppendInt(rec, 5)
		data := Encoder{Form: FormLegacy}.AppendEventRaw(nil, eventTime(1, 0), nil, rec)
		var d Decoder
		d.Reset(data)
		var ev Event
		got := d.Next(&ev)
		if got != (extra == 0) || d.Bad() != extra {
			t.Errorf("levels %d: Next = %v, bad = %d", levels, got, d.Bad())
		}
		if got {
			var e JSONEncoder
			js := e.AppendMap(nil, ev.Record)
			if want := `{"n":` + string(bytes.Repeat([]byte("["), levels)) + "5" + string(bytes.Repeat([]byte("]"), levels)) + "}"; string(js) != want {
				t.Errorf("deepest record renders as %s", js)
			}
		}
	}
}

// TestDecodeTruncated cuts a chunk at every byte: the events before the cut
// are returned, then decoding stops with ErrTruncated and one bad event.
func TestDecodeTruncated(t *testing.T) {
	var data []byte
	var ends []int
	for i := range 3 {
		data = must(Encoder{}.AppendEvent(data, t0, []KV{{"m", []any{1, "x"}}},
			[]KV{{"n", i}, {"log", string(bytes.Repeat([]byte("y"), 40*i))}, {"f", 1.5}}))
		ends = append(ends, len(data))
	}
	for cut := 0; cut <= len(data); cut++ {
		wantN, boundary := 0, cut == 0
		for _, e := range ends {
			if e <= cut {
				wantN++
			}
			boundary = boundary || e == cut
		}
		got, d := decodeAll(t, data[:cut:cut])
		if len(got) != wantN {
			t.Fatalf("cut %d: %d events, want %d", cut, len(got), wantN)
		}
		if boundary {
			if d.Bad() != 0 || d.Err() != nil {
				t.Fatalf("cut %d at boundary: bad=%d err=%v", cut, d.Bad(), d.Err())
			}
		} else if d.Bad() != 1 || !errors.Is(d.Err(), ErrTruncated) {
			t.Fatalf("cut %d: bad=%d err=%v, want 1 and ErrTruncated", cut, d.Bad(), d.Err())
		}
	}
}

// TestDecodeHugeLengths: length prefixes far beyond the data must stop the
// chunk at once, without allocating or looping over the claimed length.
func TestDecodeHugeLengths(t *testing.T) {
	ff := []byte{0xff, 0xff, 0xff, 0xff}
	tests := []struct {
		name string
		tail []byte
		err  error
	}{
		{"str32", append([]byte{0x92, 0x01, 0x81, 0xa1, 'n', 0xdb}, ff...), ErrTruncated},
		{"bin32", append([]byte{0x92, 0x01, 0x81, 0xa1, 'n', 0xc6}, ff...), ErrTruncated},
		{"ext32", append([]byte{0x92, 0x01, 0x81, 0xa1, 'n', 0xc9}, append(ff, 0)...), ErrTruncated},
		{"array32", append([]byte{0x92, 0x01, 0xdd}, ff...), ErrTruncated},
		{"map32", append([]byte{0x92, 0x01, 0xdf}, ff...), ErrTruncated},
		{"root array32", append([]byte{0xdd}, ff...), ErrTruncated},
		{"map16 of nils", append([]byte{0x92, 0x01, 0xde, 0xff, 0xff}, bytes.Repeat([]byte{0xc0}, 1000)...), ErrTruncated},
		{"deep truncated", bytes.Repeat([]byte{0x91}, 100000), ErrTruncated},
		{"str16 header cut", []byte{0x92, 0x01, 0x81, 0xa1, 'n', 0xda, 0x01}, ErrTruncated},
		{"invalid byte", []byte{0x92, 0x01, 0x81, 0xa1, 'n', 0xc1}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := goodEvent(nil, 1)
			data = append(data, tt.tail...)
			got, d := decodeAll(t, data)
			if fmt.Sprint(got) != "[1]" || d.Bad() != 1 || !errors.Is(d.Err(), tt.err) {
				t.Errorf("events %v bad=%d err=%v; want [1] bad=1 %v", got, d.Bad(), d.Err(), tt.err)
			}
			// Once stopped, Next stays false.
			var ev Event
			if d.Next(&ev) {
				t.Error("Next after stop returned an event")
			}
		})
	}
}

func TestDecoderReset(t *testing.T) {
	var d Decoder
	var ev Event
	if d.Next(&ev) {
		t.Fatal("zero Decoder returned an event")
	}
	d.Reset([]byte{0xc1})
	if d.Next(&ev) || d.Bad() != 1 || d.Err() == nil {
		t.Fatalf("bad=%d err=%v", d.Bad(), d.Err())
	}
	d.Reset(goodEvent(nil, 4))
	if !d.Next(&ev) || d.Bad() != 0 || d.Err() != nil {
		t.Fatalf("after Reset: bad=%d err=%v", d.Bad(), d.Err())
	}
}

// TestDecodeNoAllocs checks the hot path: decoding, Get and JSON rendering
// allocate nothing per record once buffers have grown.
func TestDecodeNoAllocs(t *testing.T) {
	data := benchChunk(100)
	var d Decoder
	var ev Event
	var e JSONEncoder
	e.Filter = func(dst, s []byte) []byte { return append(dst, s...) }
	buf := make([]byte, 0, 64<<10)
	run := func() {
		d.Reset(data)
		buf = buf[:0]
		for d.Next(&ev) {
			if v, ok := ev.Record.Get("log"); !ok || len(v.Bytes()) == 0 {
				t.Fatal("no log")
			}
			if _, ok := ev.Record.Get("ecs_task_definition"); !ok {
				t.Fatal("no ecs_task_definition")
			}
			buf = e.AppendMap(buf, ev.Record)
			buf = append(buf, '\n')
		}
	}
	run()
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Errorf("%v allocations per chunk, want 0", n)
	}
}

// A byte flipped at random in a random event of a chunk loses that event only:
// the decoder resynchronises on the next good event, and what it lost is
// reported (Lost counts at least the events missing).
func TestDecodeFlippedByteResynchronises(t *testing.T) {
	const events = 200
	var data []byte
	var starts []int
	for i := range events {
		starts = append(starts, len(data))
		data = must(Encoder{Form: Form(i % 2)}.AppendEvent(data, t0.Add(time.Duration(i)*time.Millisecond), []KV{{"m", "x"}},
			[]KV{{"n", i}, {"log", strings.Repeat("line ", 5+i%17)}, {"ecs_cluster", "prod"}, {"f", 1.5}}))
	}
	starts = append(starts, len(data))
	neighbourLosses := 0
	for seed := range 2000 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		k := rng.IntN(events)
		at := starts[k] + rng.IntN(starts[k+1]-starts[k])
		bad := bytes.Clone(data)
		bad[at] ^= byte(1 + rng.IntN(255))
		var d Decoder
		var ev Event
		d.Reset(bad)
		seen := map[int64]bool{}
		decoded := 0
		for d.Next(&ev) {
			decoded++
			if v, ok := ev.Record.Get("n"); ok {
				n, _ := v.Int()
				seen[n] = true
			}
		}
		missing := 0
		for i := range events {
			if seen[int64(i)] {
				continue
			}
			missing++
			if i != k {
				if i != k+1 {
					t.Fatalf("seed %d: flipping byte %d of event %d lost event %d", seed, at, k, i)
				}
				neighbourLosses++
			}
		}
		// The damaged event may still decode, changed (its "n" key hit).
		if d.Lost() < events-decoded {
			t.Fatalf("seed %d: %d events missing, %d reported lost", seed, events-decoded, d.Lost())
		}
		if d.Offset() != len(bad) {
			t.Fatalf("seed %d: stopped at %d of %d", seed, d.Offset(), len(bad))
		}
	}
	t.Logf("the event after the damaged one was lost in %d of 2000 cases", neighbourLosses)
}
