package spool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// logs collects a Spool's log lines by level.
type logs struct {
	mu          sync.Mutex
	warn, error []string
}

func (l *logs) opts() Options {
	return Options{
		Namer:  testNamer,
		Logf:   func(f string, a ...any) { l.mu.Lock(); l.warn = append(l.warn, fmt.Sprintf(f, a...)); l.mu.Unlock() },
		Errorf: func(f string, a ...any) { l.mu.Lock(); l.error = append(l.error, fmt.Sprintf(f, a...)); l.mu.Unlock() },
	}
}

// sevenSegments writes one batch of seven DATA segments of 40 records each (ids
// 40*i .. 40*i+39) and returns the file, each segment's [start, end) and lines.
func sevenSegments(t testing.TB) (file []byte, spans [][2]int64, segs [][]byte) {
	root := t.TempDir()
	s := mustOpen(t, root, "id", fixedTimeOpts())
	var start int64
	for i := 0; i < 7; i++ {
		s.mu.Lock()
		if b := s.open["p"]; b != nil {
			start = b.size
		}
		s.mu.Unlock()
		p := part("p", i*40, 40)
		if err := s.Append([]Part{p}); err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		end := s.open["p"].size - commitSize // the DATA segment, without its COMMIT
		if i == 0 {
			start = end - int64(segHdrSize+len(p.Lines))
		}
		spans = append(spans, [2]int64{start, end})
		s.mu.Unlock()
		segs = append(segs, p.Lines)
	}
	path := openFile(t, s)
	s.Close()
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return file, spans, segs
}

// A byte flipped anywhere in a batch costs only the segment holding it: the other
// six segments arrive, the loss is reported at error level in records and bytes, and
// the damaged bytes are in quarantine. Open and sealed batches alike.
func TestFlipOneByteKeepsOtherSegments(t *testing.T) {
	file, spans, segs := sevenSegments(t)
	rng := rand.New(rand.NewPCG(12, 3))
	type flip struct {
		seg int
		off int64
		bit byte
	}
	// Every bit of the type, length and count of the first, a middle and the
	// last segment's header (a type byte that now reads SEAL or META must
	// still count the segment's records; a longer length on the last segment
	// of an open batch is damage, not a torn write), a bit of each CRC byte,
	// then random bits of the payloads.
	var flips []flip
	for _, seg := range []int{0, len(spans) / 2, len(spans) - 1} {
		start := spans[seg][0]
		for off := start; off < start+segHdrSize; off++ {
			for bit := range 8 {
				if off < start+9 || bit == int(off-start) {
					flips = append(flips, flip{seg, off, 1 << bit})
				}
			}
		}
	}
	for range 60 {
		seg := rng.IntN(len(spans))
		off := spans[seg][0] + segHdrSize + rng.Int64N(spans[seg][1]-spans[seg][0]-segHdrSize)
		flips = append(flips, flip{seg, off, byte(1 << rng.IntN(8))})
	}
	for _, sub := range []string{"open", "sealed"} {
		for _, f := range flips {
			seg, off := f.seg, f.off
			bad := bytes.Clone(file)
			bad[off] ^= f.bit
			if sub == "sealed" {
				// a sealed file: append a SEAL as Spool.seal would
				bad = appendSegment(bad, segSeal, 280, []byte(`{"key":"k/old","records":280,"raw":`+fmt.Sprint(len(file)-int(spans[0][0])-7*segHdrSize)+`}`))
			}
			root := t.TempDir()
			dir := filepath.Join(root, "id-0", sub)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "0000000000000001-000001"+fileExt), bad, 0o600); err != nil {
				t.Fatal(err)
			}
			var l logs
			s := mustOpen(t, root, "id", l.opts())
			var got []byte
			for _, b := range s.Recovered() {
				d, _ := readAll(t, s, b)
				got = append(got, d...)
				if b.Key == "k/old" {
					t.Fatalf("%s flip at %d: batch that lost records kept its old key", sub, off)
				}
			}
			var want []byte
			for j, sg := range segs {
				if j != seg {
					want = append(want, sg...)
				}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s flip %#x at %d (segment %d): recovered %d records, want the 240 of the intact segments", sub, f.bit, off, seg, bytes.Count(got, []byte("\n")))
			}
			lost := s.Lost()
			if lost.Records < 40 || lost.Records > 41 || lost.Bytes != spans[seg][1]-spans[seg][0] {
				t.Fatalf("%s flip %#x at %d (segment %d byte %d): reported %+v, want 40 records and %d bytes", sub, f.bit, off, seg, off-spans[seg][0], lost, spans[seg][1]-spans[seg][0])
			}
			if len(l.error) != 1 || !strings.Contains(l.error[0], "losing about") || !strings.Contains(l.error[0], QuarantineDir) {
				t.Fatalf("%s flip at %d: error lines %q", sub, off, l.error)
			}
			q, _ := filepath.Glob(filepath.Join(root, QuarantineDir, "*"+QuarantineExt))
			if len(q) != 1 {
				t.Fatalf("%s flip at %d: %d quarantine files", sub, off, len(q))
			}
			if qb, _ := os.ReadFile(q[0]); !bytes.Equal(qb, bad[spans[seg][0]:spans[seg][1]]) {
				t.Fatalf("%s flip at %d: quarantine does not hold the damaged segment", sub, off)
			}
			// Beside it, what it held: the batch file, the range, its records.
			var info QuarantineInfo
			if ij, err := os.ReadFile(q[0] + InfoExt); err != nil || json.Unmarshal(ij, &info) != nil {
				t.Fatalf("%s flip at %d: no description beside the quarantined range: %v", sub, off, err)
			}
			if info.Start != spans[seg][0] || info.End != spans[seg][1] || int64(info.Records) != lost.Records || info.Reason != "damaged" ||
				filepath.Base(info.SpoolFile) != "0000000000000001-000001"+fileExt || info.Exact != (sub == "sealed") {
				t.Fatalf("%s flip at %d: description %+v, want range %v with %d records", sub, off, info, spans[seg], lost.Records)
			}
			if sz := diskSize(t, s); s.Size() != sz {
				t.Fatalf("Size() = %d, files hold %d", s.Size(), sz)
			}
			s.Close()
		}
	}
}

// Damage to the header and to every copy of META still delivers every DATA
// segment, under the fallback Meta.
func TestDamagedHeaderKeepsData(t *testing.T) {
	file, spans, segs := sevenSegments(t)
	all := bytes.Join(segs, nil)
	bad := bytes.Clone(file)
	for off := int64(0); off < spans[0][0]; off += 7 { // magic, version and both METAs
		bad[off] ^= 0x55
	}
	var l logs
	root := t.TempDir()
	dir := filepath.Join(root, "id-0", "open")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "0000000000000001-000001"+fileExt), bad, 0o600)
	s := mustOpen(t, root, "id", l.opts())
	defer s.Close()
	rec := s.Recovered()
	if len(rec) != 1 {
		t.Fatalf("recovered %d batches", len(rec))
	}
	got, _ := readAll(t, s, rec[0])
	if !bytes.Equal(got, all) || rec[0].Records != 280 {
		t.Fatalf("recovered %d of 280 records", bytes.Count(got, []byte("\n")))
	}
	if !rec[0].Meta.Unknown || rec[0].Meta.Opened.UnixNano() != 1 {
		t.Fatalf("fallback meta %+v", rec[0].Meta)
	}
	if s.Lost().Records != 0 {
		t.Fatalf("reported %d records lost; none were", s.Lost().Records)
	}
	if !strings.Contains(strings.Join(l.error, "\n"), "metadata was damaged") {
		t.Fatalf("no error line about the metadata: %q", l.error)
	}
}

// Bytes appended after SEAL, or after the last segment of an open batch, are
// quarantined; the batch keeps every record (and its key, when sealed).
func TestAppendedGarbage(t *testing.T) {
	file, _, segs := sevenSegments(t)
	all := bytes.Join(segs, nil)
	for _, sealed := range []bool{false, true} {
		data := bytes.Clone(file)
		sub := "open"
		if sealed {
			sub = "sealed"
			data = appendSegment(data, segSeal, 280, []byte(fmt.Sprintf(`{"key":"k/same","records":280,"raw":%d}`, len(all))))
		}
		data = append(data, "\x02garbage\nmore"...)
		root := t.TempDir()
		dir := filepath.Join(root, "id-0", sub)
		os.MkdirAll(dir, 0o700)
		os.WriteFile(filepath.Join(dir, "x"+fileExt), data, 0o600)
		s := mustOpen(t, root, "id", testOpts())
		rec := s.Recovered()
		if len(rec) != 1 {
			t.Fatalf("%s: recovered %d batches", sub, len(rec))
		}
		if got, _ := readAll(t, s, rec[0]); !bytes.Equal(got, all) {
			t.Fatalf("%s: lost records to appended bytes", sub)
		}
		if sealed && rec[0].Key != "k/same" {
			t.Fatalf("sealed batch that lost nothing changed key to %s", rec[0].Key)
		}
		if s.Lost().Bytes != int64(len("\x02garbage\nmore")) {
			t.Fatalf("%s: lost %+v", sub, s.Lost())
		}
		s.Close()
	}
}
