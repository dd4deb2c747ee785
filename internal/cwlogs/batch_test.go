package cwlogs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// collect returns the sizes (events) of the batches Batches makes.
func collect(t testing.TB, evs []Event) (sizes []int, all []Event) {
	t.Helper()
	err := Batches(evs, func(b []Event) error {
		checkBatch(t, b)
		sizes = append(sizes, len(b))
		all = append(all, b...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sizes, all
}

// checkBatch fails unless b satisfies every PutLogEvents limit.
func checkBatch(t testing.TB, b []Event) {
	t.Helper()
	if len(b) == 0 || len(b) > MaxBatchEvents {
		t.Fatalf("batch of %d events", len(b))
	}
	size := 0
	for i, e := range b {
		if len(e.Message) == 0 || len(e.Message) > MaxMessageBytes || !utf8.Valid(e.Message) {
			t.Fatalf("event %d: message of %d bytes (valid UTF-8 %v)", i, len(e.Message), utf8.Valid(e.Message))
		}
		size += len(e.Message) + EventOverhead
		if i > 0 && e.Time.UnixMilli() < b[i-1].Time.UnixMilli() {
			t.Fatalf("event %d out of order", i)
		}
	}
	if size > MaxBatchBytes {
		t.Fatalf("batch of %d bytes", size)
	}
	if span := b[len(b)-1].Time.Sub(b[0].Time); span >= MaxSpan {
		t.Fatalf("batch spans %v", span)
	}
}

func TestBatchesLimits(t *testing.T) {
	fill := MaxBatchBytes/8 - EventOverhead // eight of these fill a call exactly
	cases := []struct {
		name string
		evs  []Event
		want []int
	}{
		{"empty input", nil, nil},
		{"10000", mkEvents(MaxBatchEvents, 1, now, 0), []int{MaxBatchEvents}},
		{"10001", mkEvents(MaxBatchEvents+1, 1, now, 0), []int{MaxBatchEvents, 1}},
		{"25000", mkEvents(25000, 1, now, 0), []int{10000, 10000, 5000}},
		{"exactly 1 MiB", mkEvents(8, fill, now, 0), []int{8}},
		{"1 MiB + 1", append(mkEvents(7, fill, now, 0), mkEvents(1, fill+1, now, 0)...), []int{7, 1}},
		{"span just under 24h", mkEvents(2, 1, now, MaxSpan-time.Millisecond), []int{2}},
		{"span 24h", mkEvents(3, 1, now, MaxSpan/2), []int{2, 1}},
		{"span of days", mkEvents(5, 1, now, 25*time.Hour), []int{1, 1, 1, 1, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := collect(t, tc.evs)
			if len(got) != len(tc.want) {
				t.Fatalf("batches %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("batches %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestBatchesOrder(t *testing.T) {
	evs := []Event{
		{now.Add(2 * time.Second), []byte("c")},
		{now.Add(300 * time.Microsecond), []byte("a2")}, // same millisecond as a1
		{now, []byte("a1")},
		{now.Add(time.Second), []byte("b")},
	}
	_, all := collect(t, evs)
	var got []string
	for _, e := range all {
		got = append(got, string(e.Message))
	}
	// a2 and a1 share millisecond 0 and keep their input order.
	if strings.Join(got, ",") != "a2,a1,b,c" {
		t.Fatalf("order %v", got)
	}
}

func TestBatchesRewrites(t *testing.T) {
	big := bytes.Repeat([]byte("ab€"), 100000) // 3-byte runes across the cut
	orig := bytes.Clone(big)
	invalid := []byte("ok \xff\xfe end")
	evs := []Event{{now, big}, {now, nil}, {now, invalid}, {now, []byte{}}}
	truncated, empty, err := batches(evs, func(b []Event) error {
		checkBatch(t, b)
		if len(b) != 2 {
			t.Fatalf("batch of %d", len(b))
		}
		m := b[0].Message
		if !bytes.HasSuffix(m, []byte(TruncatedMarker)) || len(m) > MaxMessageBytes || len(m) < MaxMessageBytes-3 {
			t.Fatalf("truncated to %d bytes", len(m))
		}
		if !bytes.HasPrefix(orig, m[:len(m)-len(TruncatedMarker)]) {
			t.Fatal("truncated message is not a prefix of the original")
		}
		if string(b[1].Message) != "ok \uFFFD end" {
			t.Fatalf("invalid UTF-8 became %q", b[1].Message)
		}
		return nil
	})
	if err != nil || truncated != 1 || empty != 2 {
		t.Fatalf("truncated %d, empty %d, err %v", truncated, empty, err)
	}
	if !bytes.Equal(big, orig) || string(invalid) != "ok \xff\xfe end" {
		t.Fatal("the caller's buffers were written to")
	}
}

func TestBatchesStopsAtError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := Batches(mkEvents(MaxBatchEvents*3, 1, now, 0), func([]Event) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
}

func TestClampTimes(t *testing.T) {
	evs := []Event{
		{now.Add(-MaxAge - time.Second), nil},
		{now.Add(-MaxAge + 2*time.Hour), nil},
		{now.Add(MaxAhead), nil},
		{now.Add(time.Hour), nil},
		{time.Time{}, nil},
	}
	if n := clampTimes(evs, now); n != 3 {
		t.Fatalf("clamped %d", n)
	}
	want := []time.Time{now.Add(-MaxAge + time.Hour), now.Add(-MaxAge + 2*time.Hour), now, now.Add(time.Hour), now.Add(-MaxAge + time.Hour)}
	for i := range evs {
		if !evs[i].Time.Equal(want[i]) {
			t.Errorf("event %d: %v, want %v", i, evs[i].Time, want[i])
		}
	}
}

// FuzzBatches checks that every batch obeys the limits and nothing but
// empty messages is lost, for arbitrary sizes and times.
func FuzzBatches(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(bytes.Repeat([]byte{0xff, 0x7f, 0, 0x80}, 50))
	f.Fuzz(func(t *testing.T, data []byte) {
		var evs []Event
		for len(data) >= 4 && len(evs) < 64 {
			size := int(binary.LittleEndian.Uint16(data)) * 8 // up to 512 KiB
			ms := int64(int16(binary.LittleEndian.Uint16(data[2:]))) * 60000
			data = data[4:]
			if size > 4096 && (len(data) == 0 || data[0]&2 == 0) {
				size = size % 4096 // mostly small, sometimes near the limits
			}
			msg := bytes.Repeat([]byte{'a'}, size)
			if len(data) > 0 && data[0]&1 == 1 && size > 0 {
				msg[size-1] = 0xc3 // a cut rune
			}
			evs = append(evs, Event{Time: now.Add(time.Duration(ms) * time.Millisecond), Message: msg})
		}
		want := 0
		for _, e := range evs {
			if len(e.Message) > 0 {
				want++
			}
		}
		_, all := collect(t, evs)
		if len(all) != want {
			t.Fatalf("%d events out, want %d", len(all), want)
		}
	})
}

func BenchmarkBatches(b *testing.B) {
	for _, bc := range []struct {
		name   string
		sorted bool
	}{{"sorted", true}, {"shuffled", false}} {
		b.Run(bc.name, func(b *testing.B) {
			src := mkEvents(20000, 200, now, time.Millisecond)
			if !bc.sorted {
				for i := range src {
					j := (i * 7919) % len(src)
					src[i], src[j] = src[j], src[i]
				}
			}
			evs := make([]Event, len(src))
			total := 0
			for _, e := range src {
				total += len(e.Message)
			}
			b.SetBytes(int64(total))
			b.ReportAllocs()
			fn := func(batch []Event) error { return nil }
			b.ResetTimer()
			for b.Loop() {
				copy(evs, src)
				if err := Batches(evs, fn); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(src)*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// Batches is batches without its counts, as the tests use it.
func Batches(events []Event, fn func(batch []Event) error) error {
	_, _, err := batches(events, fn)
	return err
}
