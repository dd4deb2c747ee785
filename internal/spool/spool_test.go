package spool

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	batchpkg "github.com/envoy-s3/envoy_s3/internal/batch"
)

var keySeq atomic.Int64

func testNamer(m *Meta) string {
	return fmt.Sprintf("%s/%s/%06d", m.Partition, m.Tag, keySeq.Add(1))
}

func testOpts() Options { return Options{Namer: testNamer} }

func mustOpen(t testing.TB, root, id string, opt Options) *Spool {
	t.Helper()
	s, err := Open(root, id, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lines renders n NDJSON records with ids from..from+n-1.
func lines(from, n int) []byte {
	var b []byte
	for i := from; i < from+n; i++ {
		b = fmt.Appendf(b, `{"id":%d,"msg":"GET /api/v1/items 200"}`+"\n", i)
	}
	return b
}

func part(p string, from, n int) Part {
	return Part{Partition: []byte(p), Meta: &Meta{Meta: batchpkg.Meta{Tag: "tag-" + p, FirstTime: time.Unix(1700000000, 5).UTC()}}, Lines: lines(from, n), Records: n}
}

func readAll(t testing.TB, s *Spool, b *Sealed) (data []byte, segs int) {
	t.Helper()
	err := s.ReadSealed(b, func(l []byte) error {
		data = append(data, l...)
		segs++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return data, segs
}

// diskSize sums the batch files under s's directory, but those of a newer format
// (never uploaded by this version, so not counted).
func diskSize(t testing.TB, s *Spool) int64 {
	t.Helper()
	var n int64
	for _, d := range []string{s.openDir, s.sealedDir} {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			var h [headerSize]byte
			if b, err := os.ReadFile(filepath.Join(d, e.Name())); err == nil && len(b) >= headerSize {
				copy(h[:], b)
				if headerKind(h) == headerFuture {
					continue
				}
			}
			n += fi.Size()
		}
	}
	return n
}

func byPartition(v []*Sealed) map[string]*Sealed {
	m := map[string]*Sealed{}
	for _, b := range v {
		m[string(b.Meta.Partition)] = b
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	s := mustOpen(t, t.TempDir(), "bucket/key fmt", testOpts())
	defer s.Close()
	want := map[string][]byte{}
	id := 0
	for flush := 0; flush < 3; flush++ {
		parts := []Part{part("a/", id, 5), part("b/", id+5, 7)}
		id += 12
		if err := s.Append(parts); err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			want[string(p.Partition)] = append(want[string(p.Partition)], p.Lines...)
		}
	}
	if n, raw := s.OpenBatches(); n != 2 || raw != int64(len(want["a/"])+len(want["b/"])) {
		t.Fatalf("Open() = %d, %d", n, raw)
	}
	if got := diskSize(t, s); s.Size() != got {
		t.Fatalf("Size() = %d, files hold %d", s.Size(), got)
	}
	sealed := s.SealAll()
	if len(sealed) != 2 || sealed[0].Key > sealed[1].Key {
		t.Fatalf("SealAll returned %d batches, want 2 in key order", len(sealed))
	}
	if n, _ := s.OpenBatches(); n != 0 {
		t.Fatalf("%d batches still open after SealAll", n)
	}
	for p, b := range byPartition(sealed) {
		data, segs := readAll(t, s, b)
		if !bytes.Equal(data, want[p]) || segs != 3 {
			t.Errorf("%s: read %d segments %q, want 3 segments %q", p, segs, data, want[p])
		}
		if b.RawBytes != int64(len(want[p])) || b.Records != bytes.Count(want[p], []byte("\n")) {
			t.Errorf("%s: totals %d records %d bytes", p, b.Records, b.RawBytes)
		}
		if b.Meta.Tag != "tag-"+p || !b.Meta.FirstTime.Equal(time.Unix(1700000000, 5)) || b.Meta.Opened.IsZero() {
			t.Errorf("%s: meta not carried: %+v", p, b.Meta)
		}
		if !strings.HasPrefix(b.Key, p) {
			t.Errorf("key %q not from Namer", b.Key)
		}
	}
	if got := diskSize(t, s); s.Size() != got {
		t.Fatalf("Size() = %d after seal, files hold %d", s.Size(), got)
	}
	for _, b := range sealed {
		if err := s.Remove(b); err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(b); err != nil {
			t.Fatal(err)
		}
	}
	if s.Size() != 0 || diskSize(t, s) != 0 {
		t.Fatalf("after Remove: Size() = %d, disk %d", s.Size(), diskSize(t, s))
	}
	if len(s.SealAll()) != 0 {
		t.Fatal("SealAll on an empty spool returned batches")
	}
}

func TestReopenSealsOpenBatches(t *testing.T) {
	root := t.TempDir()
	s := mustOpen(t, root, "id", testOpts())
	if err := s.Append([]Part{part("a", 0, 3), part("b", 3, 2)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append([]Part{part("a", 5, 4)}); err != nil {
		t.Fatal(err)
	}
	pre := s.SealWhere(func(m *Meta, raw int64) bool { return string(m.Partition) == "b" })
	if len(pre) != 1 {
		t.Fatalf("SealWhere sealed %d batches, want 1", len(pre))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append([]Part{part("a", 9, 1)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
	s2 := mustOpen(t, root, "id", testOpts())
	defer s2.Close()
	rec := byPartition(s2.Recovered())
	if len(rec) != 2 {
		t.Fatalf("recovered %d batches, want 2", len(rec))
	}
	a, _ := readAll(t, s2, rec["a"])
	if want := append(lines(0, 3), lines(5, 4)...); !bytes.Equal(a, want) {
		t.Errorf("a = %q, want %q", a, want)
	}
	if rec["b"].Key != pre[0].Key {
		t.Errorf("sealed key changed across restart: %q -> %q", pre[0].Key, rec["b"].Key)
	}
	if got := diskSize(t, s2); s2.Size() != got {
		t.Fatalf("Size() = %d, files hold %d", s2.Size(), got)
	}
}

// fileContents maps partition -> lines of the batches on disk, by reopening a copy.
func snapshot(t *testing.T, s *Spool) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range []string{s.openDir, s.sealedDir} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(d, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[d+"/"+e.Name()] = string(b)
		}
	}
	return out
}

// openFaulty opens a spool whose writes and syncs fail with ENOSPC at the op
// numbered failAt (counted in ops; -1: never).
func openFaulty(t *testing.T, root string) (s *Spool, ops, failAt *atomic.Int64) {
	t.Helper()
	ops, failAt = new(atomic.Int64), new(atomic.Int64)
	failAt.Store(-1)
	fault := func(op string) error {
		if ops.Add(1)-1 == failAt.Load() {
			return fmt.Errorf("injected %s failure: %w", op, syscall.ENOSPC)
		}
		return nil
	}
	s, err := open(root, "id", testOpts(), fault)
	if err != nil {
		t.Fatal(err)
	}
	return s, ops, failAt
}

func TestRollback(t *testing.T) {
	for k := 0; ; k++ {
		root := t.TempDir()
		s, ops, failAt := openFaulty(t, root)
		if err := s.Append([]Part{part("a", 0, 2), part("b", 2, 2)}); err != nil {
			t.Fatal(err)
		}
		before, size := snapshot(t, s), s.Size()
		ops.Store(0)
		failAt.Store(int64(k))
		flush := []Part{part("a", 4, 3), part("new1", 7, 1), part("b", 8, 2), part("new2", 10, 1)}
		err := s.Append(flush)
		failAt.Store(-1)
		if err == nil {
			if k < 14 {
				t.Fatalf("Append succeeded with failure at op %d; expected 10 writes (a segment's header and lines apart) + 4 syncs", k)
			}
			s.Close()
			return
		}
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("op %d: error %v does not wrap ENOSPC", k, err)
		}
		after := snapshot(t, s)
		if fmt.Sprint(after) != fmt.Sprint(before) || s.Size() != size {
			t.Fatalf("op %d: files changed by a failed Append:\nbefore %q\nafter  %q", k, before, after)
		}
		if n, _ := s.OpenBatches(); n != 2 {
			t.Fatalf("op %d: %d open batches after rollback, want 2", k, n)
		}
		// The retry lands exactly once.
		if err := s.Append(flush); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s2 := mustOpen(t, root, "id", testOpts())
		rec := byPartition(s2.Recovered())
		want := map[string][]byte{
			"a":    append(lines(0, 2), lines(4, 3)...),
			"b":    append(lines(2, 2), lines(8, 2)...),
			"new1": lines(7, 1),
			"new2": lines(10, 1),
		}
		if len(rec) != len(want) {
			t.Fatalf("op %d: recovered %d batches, want %d", k, len(rec), len(want))
		}
		for p, w := range want {
			if got, _ := readAll(t, s2, rec[p]); !bytes.Equal(got, w) {
				t.Errorf("op %d: %s = %q, want %q", k, p, got, w)
			}
		}
		s2.Close()
	}
}

// openFile returns the only batch file in s's open/ directory.
func openFile(t testing.TB, s *Spool) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(s.openDir, "*"+fileExt))
	if len(m) != 1 {
		t.Fatalf("%d open batch files, want 1", len(m))
	}
	return m[0]
}

// threeSegments writes one batch of three DATA segments, closes the spool and returns
// the file bytes and each segment's end offset.
// fixedTimeOpts are testOpts with a fixed clock, so a file's bytes (its META holds
// the time it opened) are the same at every run: tests that damage bytes at fixed
// offsets then do the same thing every time.
func fixedTimeOpts() Options {
	o := testOpts()
	o.Now = func() time.Time { return time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.UTC) }
	return o
}

func threeSegments(t testing.TB) (file []byte, ends []int64, segs [][]byte) {
	root := t.TempDir()
	s := mustOpen(t, root, "id", fixedTimeOpts())
	for i := 0; i < 3; i++ {
		p := part("p", i*10, 3+i)
		if err := s.Append([]Part{p}); err != nil {
			t.Fatal(err)
		}
		segs = append(segs, p.Lines)
		s.mu.Lock()
		ends = append(ends, s.open["p"].size) // after the Append's COMMIT
		s.mu.Unlock()
	}
	path := openFile(t, s)
	s.Close()
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(file)) != ends[2] {
		t.Fatalf("file is %d bytes, tracked size %d", len(file), ends[2])
	}
	return file, ends, segs
}

// recoverBytes places data as an open batch in a fresh spool, opens it and returns
// what survives.
func recoverBytes(t testing.TB, data []byte) (got []byte, n int, s *Spool) {
	t.Helper()
	return recoverBytesIn(t, t.TempDir(), data)
}

func recoverBytesIn(t testing.TB, root string, data []byte) (got []byte, n int, s *Spool) {
	t.Helper()
	dir := filepath.Join(root, "id-0", "open")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x"+fileExt), data, 0o600); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, root, "id", testOpts())
	rec := s.Recovered()
	for _, b := range rec {
		d, _ := readAll(t, s, b)
		got = append(got, d...)
	}
	if sz := diskSize(t, s); s.Size() != sz {
		t.Fatalf("Size() = %d, files hold %d", s.Size(), sz)
	}
	return got, len(rec), s
}

func TestTornTailEveryOffset(t *testing.T) {
	file, ends, segs := threeSegments(t)
	for l := 0; l <= len(file); l++ {
		var want []byte
		for i, e := range ends { // a segment counts once its COMMIT is whole
			if int64(l) >= e {
				want = append(want, segs[i]...)
			}
		}
		got, n, s := recoverBytes(t, file[:l])
		if !bytes.Equal(got, want) {
			t.Fatalf("len %d: recovered %q, want %q", l, got, want)
		}
		if (len(want) > 0) != (n == 1) {
			t.Fatalf("len %d: %d batches recovered", l, n)
		}
		if n == 1 {
			b := s.Recovered()[0]
			if b.Records != bytes.Count(want, []byte("\n")) || b.RawBytes != int64(len(want)) {
				t.Fatalf("len %d: totals %d/%d", l, b.Records, b.RawBytes)
			}
		}
		s.Close()
	}
}

func TestCRCCorruption(t *testing.T) {
	file, ends, segs := threeSegments(t)
	data1 := ends[1] - commitSize // the end of the second DATA segment
	for _, off := range []int64{ends[0] + 1, ends[0] + 5, ends[0] + segHdrSize + 3, data1 - 1} {
		bad := bytes.Clone(file)
		bad[off] ^= 0x20
		got, _, s := recoverBytes(t, bad)
		if want := append(bytes.Clone(segs[0]), segs[2]...); !bytes.Equal(got, want) {
			t.Errorf("flip at %d: recovered %q, want the first and third segments", off, got)
		}
		if l := s.Lost(); l.Records != 4 || l.Bytes != data1-ends[0] {
			t.Errorf("flip at %d: lost %+v, want 4 records, %d bytes", off, l, data1-ends[0])
		}
		s.Close()
	}
	// A flipped COMMIT loses no record: what it closed is kept (at worst stored twice).
	for _, off := range []int64{data1 + 1, data1 + segHdrSize + 3, ends[1] - 1} {
		bad := bytes.Clone(file)
		bad[off] ^= 0x20
		got, _, s := recoverBytes(t, bad)
		if want := bytes.Join(segs, nil); !bytes.Equal(got, want) {
			t.Errorf("COMMIT flip at %d: recovered %q, want every segment", off, got)
		}
		if l := s.Lost(); l.Records != 0 || l.Bytes != commitSize {
			t.Errorf("COMMIT flip at %d: lost %+v, want 0 records, %d bytes", off, l, commitSize)
		}
		s.Close()
	}
	// A flipped META copy, magic or version byte loses nothing: the other copy serves.
	all := append(append(bytes.Clone(segs[0]), segs[1]...), segs[2]...)
	for _, off := range []int{0, 5, 6, 7, headerSize + segHdrSize + 2, headerSize + 2} {
		bad := bytes.Clone(file)
		bad[off] ^= 1
		got, n, s := recoverBytes(t, bad)
		if n != 1 || !bytes.Equal(got, all) || s.Lost().Records != 0 {
			t.Errorf("flip at header byte %d: recovered %d batches, %d of %d bytes, lost %+v", off, n, len(got), len(all), s.Lost())
		}
		s.Close()
	}

	// Corruption of a sealed file after sealing is reported by ReadSealed.
	s := mustOpen(t, t.TempDir(), "id", testOpts())
	defer s.Close()
	if err := s.Append([]Part{part("p", 0, 10)}); err != nil {
		t.Fatal(err)
	}
	b := s.SealAll()[0]
	f, err := os.OpenFile(b.path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{'#'}, b.size-40)
	f.Close()
	if err := s.ReadSealed(b, func([]byte) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadSealed of a corrupt batch = %v, want ErrCorrupt", err)
	}
}

func TestUnknownVersionLeftAlone(t *testing.T) {
	file, _, _ := threeSegments(t)
	file[6] = 9 // a newer writer keeps the header check byte right
	file[7] = headerCheck(file)
	got, n, s := recoverBytes(t, file)
	defer s.Close()
	if n != 0 || len(got) != 0 {
		t.Fatalf("recovered %d batches from a future version", n)
	}
	if _, err := os.Stat(filepath.Join(s.openDir, "x"+fileExt)); err != nil {
		t.Fatalf("future-version file was removed: %v", err)
	}
}

func TestDirectoryLock(t *testing.T) {
	root := t.TempDir()
	a := mustOpen(t, root, "same", testOpts())
	b := mustOpen(t, root, "same", testOpts())
	if a.dir == b.dir {
		t.Fatalf("two open spools share %s", a.dir)
	}
	if filepath.Base(a.dir) != "same-0" || filepath.Base(b.dir) != "same-1" {
		t.Fatalf("dirs %s, %s", a.dir, b.dir)
	}
	bdir := b.dir
	b.Close()
	c := mustOpen(t, root, "same", testOpts())
	if c.dir != bdir {
		t.Fatalf("after Close got %s, want %s", c.dir, bdir)
	}
	c.Close()
	a.Close()
	d := mustOpen(t, root, "same", testOpts())
	defer d.Close()
	if filepath.Base(d.dir) != "same-0" {
		t.Fatalf("got %s, want same-0", d.dir)
	}
	// Identity is one safe path element.
	e := mustOpen(t, root, "../x/y z", testOpts())
	defer e.Close()
	if filepath.Dir(e.dir) != root || strings.ContainsAny(filepath.Base(e.dir), "/ ") {
		t.Fatalf("unsanitized dir %s", e.dir)
	}
}

func TestAdoptOrphans(t *testing.T) {
	root := t.TempDir()
	a := mustOpen(t, root, "id", testOpts())
	b := mustOpen(t, root, "id", testOpts())
	if err := a.Append([]Part{part("x", 0, 2)}); err != nil {
		t.Fatal(err)
	}
	if err := b.Append([]Part{part("y", 2, 3), part("z", 5, 1)}); err != nil {
		t.Fatal(err)
	}
	zKey := b.SealWhere(func(m *Meta, _ int64) bool { return string(m.Partition) == "z" })[0].Key
	a.Close()
	// b is alive: a new spool takes id-0 and must not touch b's files.
	c := mustOpen(t, root, "id", testOpts())
	if len(c.Recovered()) != 1 {
		t.Fatalf("adopted a live sibling: %d batches", len(c.Recovered()))
	}
	c.Close()
	b.Close()
	// Restart with one instance: id-1 is adopted.
	d := mustOpen(t, root, "id", testOpts())
	defer d.Close()
	rec := byPartition(d.Recovered())
	if len(rec) != 3 {
		t.Fatalf("recovered %d batches, want 3", len(rec))
	}
	if rec["z"].Key != zKey {
		t.Errorf("adopted sealed batch changed key")
	}
	for p, w := range map[string][]byte{"y": lines(2, 3), "z": lines(5, 1)} {
		if got, _ := readAll(t, d, rec[p]); !bytes.Equal(got, w) {
			t.Errorf("%s = %q, want %q", p, got, w)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(root, "id-1", "*", "*")); len(left) != 0 {
		t.Errorf("files left in orphan dir: %v", left)
	}
	if got := diskSize(t, d); d.Size() != got {
		t.Fatalf("Size() = %d, files hold %d", d.Size(), got)
	}
}

func TestLimit(t *testing.T) {
	s := mustOpen(t, t.TempDir(), "id", Options{Namer: testNamer, Limit: 2000})
	defer s.Close()
	var err error
	n := 0
	for ; n < 100; n++ {
		if err = s.Append([]Part{part("p", n*5, 5)}); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("Append = %v, want ErrFull", err)
	}
	if n == 0 || s.Size()+int64(len(lines(n*5, 5))) <= 2000 {
		t.Fatalf("ErrFull after %d appends at size %d", n, s.Size())
	}
	size := s.Size()
	if s.Append([]Part{part("q", 0, 5)}) != ErrFull || s.Size() != size || diskSize(t, s) != size {
		t.Fatal("a rejected Append changed the spool")
	}
	for _, b := range s.SealAll() {
		if err := s.Remove(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append([]Part{part("p", 0, 5)}); err != nil {
		t.Fatalf("Append after Remove: %v", err)
	}
}

func TestConcurrentAppend(t *testing.T) {
	s := mustOpen(t, t.TempDir(), "id", testOpts())
	defer s.Close()
	const workers, rounds = 8, 40
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		sealed   []*Sealed
		stop     = make(chan struct{})
		sealDone = make(chan struct{})
	)
	go func() {
		defer close(sealDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			v := s.SealWhere(func(m *Meta, raw int64) bool { return raw > 2000 })
			s.Size()
			s.OpenBatches()
			mu.Lock()
			sealed = append(sealed, v...)
			mu.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				id := (w*rounds + r) * 4
				parts := []Part{part(strconv.Itoa(r%3), id, 2), part(strconv.Itoa(r%3+1), id+2, 2)}
				if err := s.Append(parts); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	<-sealDone
	sealed = append(sealed, s.SealAll()...)
	seen := map[string]int{}
	for _, b := range sealed {
		data, _ := readAll(t, s, b)
		for _, l := range bytes.SplitAfter(data, []byte("\n")) {
			if len(l) > 0 {
				seen[string(l)]++
			}
		}
	}
	if len(seen) != workers*rounds*4 {
		t.Fatalf("%d distinct records, want %d", len(seen), workers*rounds*4)
	}
	for l, n := range seen {
		if n != 1 {
			t.Fatalf("%q seen %d times", l, n)
		}
	}
	if got := diskSize(t, s); s.Size() != got {
		t.Fatalf("Size() = %d, files hold %d", s.Size(), got)
	}
}

// TestCrashChild is the child of TestCrashConsistency: it appends until killed and
// prints "ack <id>" after each Append that returned nil.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("SPOOL_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestCrashConsistency")
	}
	s, err := Open(dir, "crash", testOpts())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	base, _ := strconv.Atoi(os.Getenv("SPOOL_CRASH_BASE"))
	os.Stdout.WriteString("lost " + strconv.FormatInt(s.Lost().Records, 10) + "\n")
	for i := base; ; i++ {
		parts := []Part{part(strconv.Itoa(i%3), i*100, 1), part(strconv.Itoa(i%3+1), i*100+1, 40)}
		if err := s.Append(parts); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Stdout.WriteString("ack " + strconv.Itoa(i) + "\n")
		if i%25 == 0 {
			s.SealWhere(func(m *Meta, raw int64) bool { return raw > 20000 })
		}
	}
}

func TestCrashConsistency(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	totalAcked := 0
	for iter := 0; iter < 10; iter++ {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), "SPOOL_CRASH_DIR="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[int]bool{}
		done, first := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
					if n, err := strconv.Atoi(v); err == nil {
						if len(acked) == 0 {
							close(first)
						}
						acked[n] = true
					}
				}
			}
		}()
		// The kill is timed from the first acknowledgement, so a slow start (a loaded
		// machine, -race) never leaves nothing to check.
		select {
		case <-first:
		case <-done:
		}
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		cmd.Wait()
		if len(acked) == 0 {
			t.Fatalf("iteration %d: child acknowledged nothing; stderr: %s", iter, stderr.String())
		}
		totalAcked += len(acked)

		s := mustOpen(t, dir, "crash", testOpts())
		seen := map[int]int{}
		for _, b := range s.Recovered() {
			data, _ := readAll(t, s, b)
			for _, l := range bytes.SplitAfter(data, []byte("\n")) {
				if len(l) == 0 {
					continue
				}
				var id int
				if _, err := fmt.Sscanf(string(l), `{"id":%d,`, &id); err != nil || l[len(l)-1] != '\n' {
					t.Fatalf("iteration %d: bad line %q", iter, l)
				}
				seen[id]++
			}
		}
		for i := range acked {
			// Append i wrote 41 records: ids i*100 .. i*100+40.
			for id := i * 100; id <= i*100+40; id++ {
				if seen[id] != 1 {
					t.Fatalf("iteration %d: acknowledged record %d seen %d times", iter, id, seen[id])
				}
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("iteration %d: record %d seen %d times", iter, id, n)
			}
		}
		// Each part (one segment) is all-or-nothing. An append the kill interrupted may
		// leave some of its parts: the chunk was not acknowledged, Fluent Bit sends it
		// again, and those records are the duplicates allowed around a crash.
		extra := 0
		ids := make([]int, 0, len(seen))
		for id := range seen {
			if !acked[id/100] {
				extra++
			}
			ids = append(ids, id)
		}
		sort.Ints(ids)
		if extra != 0 && extra != 1 && extra != 40 && extra != 41 {
			t.Fatalf("iteration %d: %d records of an unacknowledged append survived, want whole parts (0, 1, 40 or 41)", iter, extra)
		}
		s.Close()
	}
	t.Logf("%d acknowledged appends checked across 10 kills", totalAcked)
}

func FuzzRecover(f *testing.F) {
	file, ends, _ := threeSegments(f)
	f.Add(file)
	f.Add(file[:ends[1]+7])
	f.Add(file[:ends[2]-commitSize]) // an Append cut before its COMMIT
	f.Add([]byte(magic + "\x01\x00"))
	f.Add([]byte{})
	base := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		root, err := os.MkdirTemp(base, "")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(root)
		got, n, s := recoverBytesIn(t, root, data)
		defer s.Close()
		if n > 1 {
			t.Fatalf("%d batches from one file", n)
		}
		if n == 0 {
			return
		}
		// The sealed file is valid, ends with exactly one SEAL, and each of its DATA
		// segments is one of the input's, byte for byte.
		b := s.Recovered()[0]
		disk, err := os.ReadFile(b.path)
		if err != nil {
			t.Fatal(err)
		}
		sc := scanner{r: bytes.NewReader(disk), size: int64(len(disk))}
		if _, ok, err := sc.header(); !ok || err != nil {
			t.Fatal("recovered file has no valid header")
		}
		var raw []byte
		for {
			start := sc.off
			typ, _, payload, ok, _ := sc.next()
			if !ok {
				t.Fatal("recovered file has an invalid segment")
			}
			if typ == segSeal {
				break
			}
			if typ == segData {
				if !bytes.Contains(data, disk[start:sc.off]) {
					t.Fatal("recovered a DATA segment that is not in the input")
				}
				raw = append(raw, payload...)
			}
		}
		if sc.off != int64(len(disk)) {
			t.Fatal("bytes after SEAL")
		}
		if !bytes.Equal(raw, got) || int64(len(got)) != b.RawBytes {
			t.Fatal("ReadSealed disagrees with the file")
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	s := mustOpen(b, b.TempDir(), "bench", testOpts())
	defer s.Close()
	var ln []byte
	for i := 0; i < 1000; i++ {
		ln = fmt.Appendf(ln, `{"start_time":"2024-05-01T12:00:00.000Z","method":"GET","path":"/api/v1/items/%08d","protocol":"HTTP/1.1","response_code":200,"response_flags":"-","bytes_received":0,"bytes_sent":1532,"duration":12,"upstream_service_time":"11","x_forwarded_for":"-","user_agent":"curl/8.5.0","request_id":"6f1c2a5e-1b7e-4c56-9c1d-2f4c6b8e9a01","authority":"items.local:8080","upstream_host":"10.0.1.23:8080","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`+"\n", i)
	}
	parts := []Part{{Partition: []byte("bench/"), Meta: &Meta{Meta: batchpkg.Meta{Tag: "t"}}, Lines: ln, Records: 1000}}
	if err := s.Append(parts); err != nil { // opens the batch
		b.Fatal(err)
	}
	b.SetBytes(int64(len(ln)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Append(parts); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "records/s")
}

// The caller's files in held/ (the journal of split records) move with the batches
// when an unlocked sibling is adopted; a live sibling's stay.
func TestAdoptMovesHeldFiles(t *testing.T) {
	root := t.TempDir()
	var spools []*Spool
	for range 3 {
		s := mustOpen(t, root, "id", testOpts())
		os.MkdirAll(filepath.Join(s.Dir(), HeldDir), 0o700)
		if err := os.WriteFile(filepath.Join(s.Dir(), HeldDir, "j.pjl"), []byte(s.Dir()), 0o600); err != nil {
			t.Fatal(err)
		}
		spools = append(spools, s)
	}
	spools[1].Close()
	spools[0].Close()
	// A restart takes id-0, adopts id-1 (unlocked) and leaves id-2 (alive) alone.
	d := mustOpen(t, root, "id", testOpts())
	defer d.Close()
	files, _ := filepath.Glob(filepath.Join(d.Dir(), HeldDir, "*"))
	var got []string
	for _, f := range files {
		b, _ := os.ReadFile(f)
		got = append(got, string(b))
	}
	sort.Strings(got)
	if want := []string{spools[0].Dir(), spools[1].Dir()}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("held files after adoption hold %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(spools[2].Dir(), HeldDir, "j.pjl")); err != nil {
		t.Fatalf("a live sibling's held file moved: %v", err)
	}
	spools[2].Close()
}

// A damaged header's binary fields are not lines: a META copy whose length is
// flipped and whose CRC holds a '\n' byte costs no record (it once counted one,
// as often as the time in the META made a CRC byte 0x0a).
func TestDamagedHeaderBytesAreNoLines(t *testing.T) {
	file, _, segs := threeSegments(t)
	all := append(append(bytes.Clone(segs[0]), segs[1]...), segs[2]...)
	bad := bytes.Clone(file)
	bad[headerSize+2] ^= 1   // the first META's length
	bad[headerSize+9] = '\n' // a byte of its CRC
	got, n, s := recoverBytes(t, bad)
	defer s.Close()
	if n != 1 || !bytes.Equal(got, all) || s.Lost().Records != 0 {
		t.Fatalf("recovered %d batches, %d of %d bytes, lost %+v; want everything and no record lost", n, len(got), len(all), s.Lost())
	}
}

// commitSize is the COMMIT of an Append that wrote one file.
const commitSize = segHdrSize + 16
