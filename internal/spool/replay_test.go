package spool

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// crashCopy copies the spool tree under root to a new directory, as a crash at this
// moment would leave it (the page cache survives a killed process).
func crashCopy(t *testing.T, root string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// A crash at any write of an Append that spans three files leaves all of it or none of
// it, and Seen says which: the replay of that chunk is then stored exactly once.
func TestCrashAtEveryWriteOfAnAppendIsAllOrNothing(t *testing.T) {
	chunk := ChunkOf("tag", []byte("the chunk's bytes"))
	parts := []Part{part("a", 100, 3), part("b", 200, 5), part("c", 300, 7)}
	want := map[string][]byte{"a": lines(100, 3), "b": lines(200, 5), "c": lines(300, 7)}
	for crashAt := 1; ; crashAt++ {
		root := t.TempDir()
		writes, snap, armed := 0, "", false
		s, err := open(root, "id", testOpts(), func(op string) error {
			if op == "write" && armed {
				writes++
				if writes == crashAt {
					snap = crashCopy(t, root)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Earlier acknowledged data in every file, which must survive either way.
		if err := s.Append([]Part{part("a", 0, 2), part("b", 10, 2), part("c", 20, 2)}); err != nil {
			t.Fatal(err)
		}
		armed = true
		if err := s.AppendChunk(chunk, parts); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if snap == "" {
			if crashAt < 7 {
				t.Fatalf("the Append made only %d writes", crashAt-1)
			}
			break // every write of the Append was crashed before
		}
		var l logs
		r := mustOpen(t, snap, "id", l.opts())
		got := map[string][]byte{}
		for _, b := range r.Recovered() {
			d, _ := readAll(t, r, b)
			got[string(b.Meta.Partition)] = d
		}
		stored := 0
		for _, p := range []string{"a", "b", "c"} {
			earlier := map[string][]byte{"a": lines(0, 2), "b": lines(10, 2), "c": lines(20, 2)}[p]
			switch {
			case bytes.Equal(got[p], append(bytes.Clone(earlier), want[p]...)):
				stored++
			case bytes.Equal(got[p], earlier):
			default:
				t.Fatalf("crash before write %d: partition %s recovered\n%s", crashAt, p, got[p])
			}
		}
		if stored != 0 && stored != 3 {
			t.Fatalf("crash before write %d: the chunk is stored in %d of its 3 files", crashAt, stored)
		}
		if r.Seen(chunk) != (stored == 3) {
			t.Fatalf("crash before write %d: stored in %d files, Seen = %v", crashAt, stored, r.Seen(chunk))
		}
		t.Logf("crash before write %d: stored in %d of 3 files", crashAt, stored)
		r.Close()
	}
}

// A chunk stays known after its batch is uploaded and removed, across restarts, for
// the window of chunks; older ones are forgotten.
func TestSeenSurvivesUploadAndRestart(t *testing.T) {
	defer func(w int) { window = w }(window)
	window = 1024 // ReplayWindow fsynced Appends take long on a slow disk; the rule is the same
	root := t.TempDir()
	s := mustOpen(t, root, "id", testOpts())
	first := ChunkOf("tag", []byte("first"))
	if s.Seen(first) {
		t.Fatal("Seen before any Append")
	}
	if err := s.AppendChunk(first, []Part{part("a", 0, 1)}); err != nil {
		t.Fatal(err)
	}
	if s.Seen(first) {
		t.Fatal("Seen is true for a chunk of this run: Fluent Bit sends a chunk again only after a restart")
	}
	for _, b := range s.SealAll() {
		if err := s.Remove(b); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = mustOpen(t, root, "id", testOpts())
	if !s.Seen(first) {
		t.Fatal("a chunk whose batch was uploaded is forgotten after a restart")
	}
	if s.Seen(ChunkOf("other-tag", []byte("first"))) {
		t.Fatal("the same bytes under another tag are taken for the chunk stored")
	}
	// ReplayWindow more chunks, each uploaded: the first falls out of the window.
	for i := range window {
		id := ChunkOf("tag", []byte{byte(i), byte(i >> 8), 1})
		if err := s.AppendChunk(id, []Part{part("a", i, 1)}); err != nil {
			t.Fatal(err)
		}
		if i%512 == 0 {
			for _, b := range s.SealAll() {
				s.Remove(b)
			}
		}
	}
	for _, b := range s.SealAll() {
		s.Remove(b)
	}
	s.Close()
	s = mustOpen(t, root, "id", testOpts())
	defer s.Close()
	if s.Seen(first) {
		t.Error("a chunk older than ReplayWindow is still known")
	}
	n := window - 1
	last := ChunkOf("tag", []byte{byte(n), byte(n >> 8), 1})
	if !s.Seen(last) {
		t.Error("the last chunk stored is forgotten after a restart")
	}
	if fi, err := os.Stat(filepath.Join(s.Dir(), ReplayFile)); err != nil || fi.Size() > int64(2*window*replayRec) {
		t.Errorf("journal %v: size %d, at most %d", err, fi.Size(), 2*window*replayRec)
	}
}

// DATA that no COMMIT closes, in an open batch, is cut with one line saying why; a
// damaged COMMIT never costs the records it closes.
func TestUncommittedTailIsCutAndSaid(t *testing.T) {
	root := t.TempDir()
	s := mustOpen(t, root, "id", testOpts())
	if err := s.Append([]Part{part("a", 0, 2)}); err != nil {
		t.Fatal(err)
	}
	path := openFile(t, s)
	s.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(appendSegment(nil, segData, 3, lines(5, 3))) // an Append cut before its COMMIT
	f.Close()
	var l logs
	r := mustOpen(t, root, "id", l.opts())
	defer r.Close()
	rec := r.Recovered()
	if len(rec) != 1 {
		t.Fatalf("%d batches recovered", len(rec))
	}
	if d, _ := readAll(t, r, rec[0]); !bytes.Equal(d, lines(0, 2)) {
		t.Fatalf("recovered\n%s\nwant only the committed records", d)
	}
	said := strings.Join(l.warn, "\n")
	if !strings.Contains(said, "cut 3 record(s)") || !strings.Contains(said, "never acknowledged") {
		t.Fatalf("no line says the uncommitted records were cut: %q", l.warn)
	}
	if r.Lost().Records != 0 || len(l.error) != 0 {
		t.Fatalf("an unacknowledged tail is reported as a loss: %+v %q", r.Lost(), l.error)
	}
}

// BenchmarkChunkOf is the digest a flush pays for the replay check, per byte of chunk.
func BenchmarkChunkOf(b *testing.B) {
	data := bytes.Repeat(lines(0, 5000), 1) // about 250 KB of NDJSON, as a chunk's size order
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		ChunkOf("ecs-service-connect-AbCd-firelens-0123456789abcdef", data)
	}
}
