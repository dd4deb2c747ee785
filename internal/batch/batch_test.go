package batch

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

// rawFrames is a FrameEncoder that marks frame boundaries so tests can count them.
type rawFrames struct{ n int }

func (r *rawFrames) AppendFrame(dst, src []byte) []byte {
	r.n++
	return append(dst, src...)
}

type collector struct {
	mu  sync.Mutex
	got []*Sealed
}

func (c *collector) seal(s *Sealed) { c.mu.Lock(); c.got = append(c.got, s); c.mu.Unlock() }

func line(i int) []byte { return []byte(fmt.Sprintf(`{"i":%d}`+"\n", i)) }

func TestSealOnSize(t *testing.T) {
	var c collector
	enc := &rawFrames{}
	b := New(Options{MaxRawBytes: 100, MaxAge: time.Hour, FrameBytes: 30, Encoder: enc, Seal: c.seal})
	meta := &Meta{Tag: "t"}
	var want bytes.Buffer
	for i := 0; i < 20; i++ {
		l := line(i)
		want.Write(l)
		b.Add([]byte("p"), meta, l, 1)
	}
	b.SealAll()
	var got bytes.Buffer
	total := 0
	for i, s := range c.got {
		got.Write(s.Body)
		total += s.Records
		if i < len(c.got)-1 && s.RawBytes < 100 {
			t.Errorf("batch %d sealed at %d bytes before the limit", i, s.RawBytes)
		}
		if s.Meta.Tag != "t" {
			t.Errorf("meta not carried: %+v", s.Meta)
		}
	}
	if got.String() != want.String() || total != 20 {
		t.Fatalf("records lost or reordered: %d records\n%s", total, got.String())
	}
	if len(c.got) < 2 {
		t.Fatalf("size limit never sealed a batch: %d batches", len(c.got))
	}
	if enc.n <= len(c.got) {
		t.Errorf("frames were not cut at FrameBytes: %d frames for %d batches", enc.n, len(c.got))
	}
}

func TestSealOnAgeAndPartitions(t *testing.T) {
	var c collector
	now := time.Unix(1000, 0)
	b := New(Options{MaxRawBytes: 1 << 20, MaxAge: 5 * time.Second, Encoder: &rawFrames{}, Seal: c.seal, Now: func() time.Time { return now }})
	b.Add([]byte("a"), &Meta{Family: "a"}, line(1), 1)
	now = now.Add(3 * time.Second)
	b.Add([]byte("b"), &Meta{Family: "b"}, line(2), 1)
	b.Add([]byte("a"), &Meta{Family: "ignored"}, line(3), 1)
	b.Tick()
	if len(c.got) != 0 {
		t.Fatalf("sealed too early: %d", len(c.got))
	}
	now = now.Add(2 * time.Second)
	b.Tick()
	if len(c.got) != 1 || c.got[0].Meta.Family != "a" || c.got[0].Records != 2 {
		t.Fatalf("want partition a sealed with 2 records and its first meta, got %+v", c.got)
	}
	if n, raw := b.OpenBatches(); n != 1 || raw != int64(len(line(2))) {
		t.Fatalf("Open() = %d, %d", n, raw)
	}
	now = now.Add(3 * time.Second)
	b.Tick()
	if len(c.got) != 2 || c.got[1].Meta.Family != "b" {
		t.Fatalf("partition b not sealed: %+v", c.got)
	}
}

func TestConcurrentAdd(t *testing.T) {
	var c collector
	b := New(Options{MaxRawBytes: 4096, MaxAge: time.Hour, FrameBytes: 512, Encoder: &rawFrames{}, Seal: c.seal})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				b.Add([]byte{byte('a' + i%3)}, &Meta{}, line(w*1000+i), 1)
			}
		}(w)
	}
	wg.Wait()
	b.SealAll()
	seen := map[string]bool{}
	for _, s := range c.got {
		for _, l := range bytes.Split(bytes.TrimSuffix(s.Body, []byte("\n")), []byte("\n")) {
			if seen[string(l)] {
				t.Fatalf("duplicate %s", l)
			}
			seen[string(l)] = true
		}
	}
	if len(seen) != 8000 {
		t.Fatalf("want 8000 records, got %d", len(seen))
	}
}

func BenchmarkAdd(b *testing.B) {
	bt := New(Options{MaxRawBytes: 50 << 20, MaxAge: time.Hour, Encoder: &rawFrames{}, Seal: func(*Sealed) {}})
	l := bytes.Repeat([]byte("x"), 400)
	meta := &Meta{}
	p := []byte("envoy-access-logs/cluster=prod/family=backend/dt=2026-11-24/hour=20/")
	b.ReportAllocs()
	b.SetBytes(int64(len(l)))
	for i := 0; i < b.N; i++ {
		bt.Add(p, meta, l, 1)
	}
}

func TestReleaseReusesBodies(t *testing.T) {
	var c collector
	b := New(Options{MaxRawBytes: 64, MaxAge: time.Hour, FrameBytes: 16, Encoder: &rawFrames{}, Seal: c.seal})
	for i := 0; i < 20; i++ {
		b.Add([]byte("p"), &Meta{}, line(100000+i), 1) // longer lines: a larger body than round two needs
	}
	if len(c.got) == 0 {
		t.Fatal("nothing sealed")
	}
	first := c.got[0].Body
	want := string(first)
	b.Release(first)
	c.got = nil
	for i := 0; i < 20; i++ {
		b.Add([]byte("p"), &Meta{}, line(i), 1)
	}
	reused := false
	for _, s := range c.got {
		if len(s.Body) > 0 && &s.Body[0] == &first[:1][0] {
			reused = true
			if string(s.Body) == want {
				t.Fatalf("reused body still holds the old records")
			}
		}
	}
	if !reused {
		t.Fatalf("a released body was not reused")
	}
}
