package spool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

// stagedPart stages lines from..from+n-1 in pieces of per records and keeps the
// rest (up to rest records) in memory, as a flush that spilled does.
func stagedPart(t *testing.T, st *Stage, p string, from, n, per, rest int) Part {
	t.Helper()
	pt := part(p, 0, 0)
	for i := from; i < from+n; i += per {
		k := min(per, from+n-i)
		pc, err := st.Write(lines(i, k), k)
		if err != nil {
			t.Fatal(err)
		}
		pt.Staged = append(pt.Staged, pc)
	}
	pt.Lines, pt.Records = lines(from+n, rest), rest
	return pt
}

// TestStagedPiecesLandInOrder runs with the kernel's copy_file_range and with the
// buffered copy used where it is missing.
func TestStagedPiecesLandInOrder(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		t.Run(fmt.Sprintf("buffered=%v", buffered), func(t *testing.T) {
			was := noCopyFileRange.Load()
			noCopyFileRange.Store(buffered)
			defer noCopyFileRange.Store(was)
			testStagedPiecesLandInOrder(t)
		})
	}
}

func testStagedPiecesLandInOrder(t *testing.T) {
	root := t.TempDir()
	s := mustOpen(t, root, "id", testOpts())
	if err := s.Append([]Part{part("a", 0, 3)}); err != nil {
		t.Fatal(err)
	}
	st, err := s.NewStage()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	flush := []Part{stagedPart(t, st, "a", 3, 25, 10, 4), stagedPart(t, st, "b", 100, 7, 3, 0)}
	if err := s.Append(flush); err != nil {
		t.Fatal(err)
	}
	if s.Size() != diskSize(t, s) {
		t.Fatalf("Size %d after an Append with staged pieces, but %d bytes on disk", s.Size(), diskSize(t, s))
	}
	sealed := byPartition(s.SealAll())
	want := map[string][]byte{"a": lines(0, 32), "b": lines(100, 7)}
	wantSegs := map[string]int{"a": 1 + 3 + 1, "b": 3}
	for p, w := range want {
		b := sealed[p]
		if b == nil {
			t.Fatalf("partition %s not sealed", p)
		}
		data, segs := readAll(t, s, b)
		if !bytes.Equal(data, w) {
			t.Fatalf("partition %s holds\n%s\nwant\n%s", p, data, w)
		}
		if segs != wantSegs[p] || b.Records != bytes.Count(w, []byte("\n")) || b.RawBytes != int64(len(w)) {
			t.Fatalf("partition %s: %d segments, %d records, %d raw bytes; want %d, %d, %d", p, segs, b.Records, b.RawBytes, wantSegs[p], bytes.Count(w, []byte("\n")), len(w))
		}
	}
	s.Close()
	// What was sealed is recovered the same after a restart.
	s2 := mustOpen(t, root, "id", testOpts())
	defer s2.Close()
	for p, b := range byPartition(s2.Recovered()) {
		if data, _ := readAll(t, s2, b); !bytes.Equal(data, want[p]) {
			t.Fatalf("recovered %s differs", p)
		}
	}
}

// TestStagedAppendRollsBack fails each write and sync of an Append with staged
// pieces in turn: the spool must be left exactly as before, and the retry, from
// the same stage, must land once.
func TestStagedAppendRollsBack(t *testing.T) {
	for k := 0; ; k++ {
		root := t.TempDir()
		s, ops, failAt := openFaulty(t, root)
		if err := s.Append([]Part{part("a", 0, 2)}); err != nil {
			t.Fatal(err)
		}
		st, err := s.NewStage()
		if err != nil {
			t.Fatal(err)
		}
		flush := []Part{stagedPart(t, st, "a", 2, 6, 2, 1), stagedPart(t, st, "new", 20, 4, 2, 0)}
		before, size := snapshot(t, s), s.Size()
		ops.Store(0)
		failAt.Store(int64(k))
		err = s.Append(flush)
		failAt.Store(-1)
		if err == nil {
			if k < 8 {
				t.Fatalf("Append succeeded with a failure at op %d; expected 3+2 staged copies, 2 writes of the rest and 2 syncs", k)
			}
			st.Close()
			s.Close()
			return
		}
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("op %d: error %v does not wrap ENOSPC", k, err)
		}
		if after := snapshot(t, s); fmt.Sprint(after) != fmt.Sprint(before) || s.Size() != size {
			t.Fatalf("op %d: files changed by a failed Append:\nbefore %q\nafter  %q", k, before, after)
		}
		if err := s.Append(flush); err != nil {
			t.Fatal(err)
		}
		st.Close()
		s.Close()
		s2 := mustOpen(t, root, "id", testOpts())
		rec := byPartition(s2.Recovered())
		for p, w := range map[string][]byte{"a": lines(0, 9), "new": lines(20, 4)} {
			if data, _ := readAll(t, s2, rec[p]); !bytes.Equal(data, w) {
				t.Fatalf("op %d: partition %s after the retry:\n%s\nwant\n%s", k, p, data, w)
			}
		}
		s2.Close()
	}
}

// TestStageLeavesNothing: a staging file has no name, so a flush that never
// committed (the process killed mid-flush) leaves no trace that recovery could
// deliver, and nothing to clean up.
func TestStageLeavesNothing(t *testing.T) {
	root := t.TempDir()
	s := mustOpen(t, root, "id", testOpts())
	if err := s.Append([]Part{part("a", 0, 2)}); err != nil {
		t.Fatal(err)
	}
	st, err := s.NewStage()
	if err != nil {
		t.Fatal(err)
	}
	stagedPart(t, st, "a", 2, 50, 10, 0) // staged, never appended
	ents, err := os.ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "stage") {
			t.Fatalf("staging file %s is visible in the spool directory", e.Name())
		}
	}
	// A crash: the spool is abandoned without Close, and opened again.
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.lock.Close()
	s2 := mustOpen(t, root, "id", testOpts())
	defer s2.Close()
	rec := byPartition(s2.Recovered())
	if data, _ := readAll(t, s2, rec["a"]); !bytes.Equal(data, lines(0, 2)) {
		t.Fatalf("recovered\n%s\nwant only the committed lines", data)
	}
	st.Close()
}

func TestStalePieceIsRefused(t *testing.T) {
	s := mustOpen(t, t.TempDir(), "id", testOpts())
	defer s.Close()
	st, err := s.NewStage()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pt := stagedPart(t, st, "a", 0, 4, 2, 0)
	if err := st.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append([]Part{pt}); !errors.Is(err, errStagedPiece) {
		t.Fatalf("Append of a piece from a reset stage = %v, want errStagedPiece", err)
	}
	stagedPart(t, st, "b", 100, 4, 2, 0) // the next flush's pieces, at the same offsets
	if err := s.Append([]Part{pt}); !errors.Is(err, errStagedPiece) {
		t.Fatalf("Append of a piece from before a reset, over the next flush's = %v, want errStagedPiece", err)
	}
	if s.Size() != 0 {
		t.Fatalf("a refused Append left %d bytes", s.Size())
	}
}

func TestStagedPiecesCountTowardsTheLimit(t *testing.T) {
	s := mustOpen(t, t.TempDir(), "id", Options{Namer: testNamer, Limit: 1000})
	defer s.Close()
	st, err := s.NewStage()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pt := stagedPart(t, st, "a", 0, 30, 10, 0) // about 1.3 KB staged, nothing in memory
	if err := s.Append([]Part{pt}); !errors.Is(err, ErrFull) {
		t.Fatalf("Append of %d staged bytes under a 1000-byte limit = %v, want ErrFull", len(lines(0, 30)), err)
	}
}

// A sealed batch of staged segments cut inside its last DATA segment (its SEAL
// gone with it) reports every record of that segment lost, from the segment's
// header, not only the complete lines left before the cut, and keeps the others.
func TestCutSealedBatchReportsTheWholeSegment(t *testing.T) {
	root := t.TempDir()
	s := mustOpen(t, root, "id", testOpts())
	st, err := s.NewStage()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append([]Part{stagedPart(t, st, "a", 0, 20, 10, 10)}); err != nil { // segments of 10, 10, 10
		t.Fatal(err)
	}
	st.Close()
	b := s.SealAll()[0]
	s.Close()
	last := int64(segHdrSize + len(lines(20, 10)))
	// The file ends with the last DATA segment and the SEAL: cut the DATA segment
	// after three of its lines.
	data, err := os.ReadFile(b.path)
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.LastIndex(data, lines(20, 10)) - segHdrSize
	if start < 0 || int64(start)+last > int64(len(data)) {
		t.Fatal("last DATA segment not found")
	}
	cut := start + segHdrSize + len(lines(20, 3)) + 5
	if err := os.WriteFile(b.path, data[:cut], 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := mustOpen(t, root, "id", testOpts())
	defer s2.Close()
	if got := s2.Lost().Records; got < 10 {
		t.Fatalf("a sealed batch cut in its 10-record last segment reported %d records lost, want 10", got)
	}
	if data, _ := readAll(t, s2, byPartition(s2.Recovered())["a"]); !bytes.Equal(data, lines(0, 20)) {
		t.Fatalf("recovered\n%s\nwant the two intact segments", data)
	}
}

// A stage keeps its file's blocks from flush to flush (up to keepStageBytes), and a
// smaller flush over a larger one's bytes moves only its own lines into the batch.
func TestStageReuseMovesOnlyTheFlushsLines(t *testing.T) {
	s := mustOpen(t, t.TempDir(), "id", testOpts())
	defer s.Close()
	st, err := s.NewStage()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fileSize := func() int64 {
		fi, err := st.f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if err := s.Append([]Part{stagedPart(t, st, "a", 0, 500, 50, 0)}); err != nil {
		t.Fatal(err)
	}
	big := fileSize()
	if err := st.Reset(); err != nil {
		t.Fatal(err)
	}
	if fileSize() != big {
		t.Fatalf("Reset gave back the stage's blocks: %d bytes left of %d", fileSize(), big)
	}
	if err := s.Append([]Part{stagedPart(t, st, "a", 500, 20, 7, 2)}); err != nil {
		t.Fatal(err)
	}
	if data, _ := readAll(t, s, byPartition(s.SealAll())["a"]); !bytes.Equal(data, lines(0, 522)) {
		t.Fatalf("the batch holds %d bytes, want the %d of both flushes' lines", len(data), len(lines(0, 522)))
	}
	// Past keepStageBytes the file is cut back.
	long := bytes.Repeat([]byte("x"), 1<<20)
	long[len(long)-1] = '\n'
	for st.size <= keepStageBytes {
		if _, err := st.Write(long, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Reset(); err != nil {
		t.Fatal(err)
	}
	if n := fileSize(); n != 0 {
		t.Fatalf("a stage of more than %d bytes kept %d after Reset", keepStageBytes, n)
	}
}

// BenchmarkAppendStaged is a flush of 1,000 records written ahead to a stage in
// pieces of 100, then appended: the bytes move twice.
func BenchmarkAppendStaged(b *testing.B) {
	s := mustOpen(b, b.TempDir(), "bench", testOpts())
	defer s.Close()
	st, err := s.NewStage()
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var ln [][]byte
	size := 0
	for i := 0; i < 10; i++ {
		l := bytes.Repeat(lines(i*100, 100), 6)
		ln = append(ln, l)
		size += len(l)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pt := part("bench/", 0, 0)
		for _, l := range ln {
			pc, err := st.Write(l, 600)
			if err != nil {
				b.Fatal(err)
			}
			pt.Staged = append(pt.Staged, pc)
		}
		if err := s.Append([]Part{pt}); err != nil {
			b.Fatal(err)
		}
		if err := st.Reset(); err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			for _, sb := range s.SealAll() {
				if err := s.Remove(sb); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
