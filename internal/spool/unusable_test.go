package spool

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// fourBatches leaves four open batches of 230 records each (920) in root and
// returns their file paths in partition order.
func fourBatches(t *testing.T, root string) []string {
	t.Helper()
	s := mustOpen(t, root, "id", testOpts())
	for i := 0; i < 4; i++ {
		if err := s.Append([]Part{part(fmt.Sprint("p", i), i*1000, 230)}); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	var paths []string
	for i := 0; i < 4; i++ {
		paths = append(paths, filepath.Join(s.openDir, s.open[fmt.Sprint("p", i)].name))
	}
	s.mu.Unlock()
	s.Close()
	return paths
}

// chattr sets or clears the immutable flag; ok is false where that is impossible
// (not root, or a file system without the flag).
func chattr(t *testing.T, flag, path string) bool {
	t.Helper()
	bin, err := exec.LookPath("chattr")
	if err != nil {
		return false
	}
	return exec.Command(bin, flag, path).Run() == nil
}

// One batch file that cannot be opened read-write (immutable: EPERM even for root),
// one whose open fails with EIO (injected: a disk error cannot be made on demand),
// and a non-regular entry named like a batch never fail Open nor stop the other
// batches; each is logged once with the remedy and taken up by Recheck once usable.
func TestUnusableFileDoesNotStopTheRest(t *testing.T) {
	root := t.TempDir()
	paths := fourBatches(t, root)
	immutable := chattr(t, "+i", paths[0])
	if immutable {
		t.Cleanup(func() { chattr(t, "-i", paths[0]) })
		if f, err := os.OpenFile(paths[0], os.O_RDWR, 0); err == nil {
			f.Close()
			t.Fatal("chattr +i did not make the file read-only")
		}
	} else {
		t.Log("chattr +i is not available here (not root, or no such flag on this file system): the immutable case is not exercised")
	}
	eio := filepath.Base(paths[1])
	failing := true
	fault := func(op string) error {
		if failing && op == "recover "+eio {
			return &os.PathError{Op: "open", Path: paths[1], Err: syscall.EIO}
		}
		return nil
	}
	dirEntry := filepath.Join(filepath.Dir(paths[0]), "ffffffffffffffff-000001"+fileExt)
	if err := os.Mkdir(dirEntry, 0o700); err != nil {
		t.Fatal(err)
	}
	var l logs
	s, err := open(root, "id", l.opts(), fault)
	if err != nil {
		t.Fatalf("Open failed because of one bad file: %v", err)
	}
	defer s.Close()
	records := func(v []*Sealed) (n int, data []byte) {
		for _, b := range v {
			n += b.Records
			d, _ := readAll(t, s, b)
			data = append(data, d...)
		}
		return n, data
	}
	wantGood := 2 * 230
	if !immutable {
		wantGood = 3 * 230
	}
	if n, _ := records(s.Recovered()); n != wantGood {
		t.Fatalf("recovered %d records next to the bad files, want %d", n, wantGood)
	}
	bad := s.Unusable()
	sort.Strings(bad)
	wantBad := []string{paths[1], dirEntry}
	if immutable {
		wantBad = append(wantBad, paths[0])
	}
	sort.Strings(wantBad)
	if fmt.Sprint(bad) != fmt.Sprint(wantBad) {
		t.Fatalf("unusable %q, want %q", bad, wantBad)
	}
	if len(l.error) != len(wantBad) {
		t.Fatalf("%d error lines for %d bad files: %q", len(l.error), len(wantBad), l.error)
	}
	for _, e := range l.error {
		if !strings.Contains(e, "chattr -i") || !strings.Contains(e, "retried") {
			t.Fatalf("error line without the remedy: %q", e)
		}
	}
	// Still broken: retried silently.
	if got := s.Recheck(); len(got) != 0 || len(l.error) != len(wantBad) {
		t.Fatalf("Recheck of still-bad files returned %d batches, logged %d lines", len(got), len(l.error))
	}
	// Fixed: the records arrive.
	failing = false
	if immutable {
		chattr(t, "-i", paths[0])
	}
	os.Remove(dirEntry)
	n, data := records(s.Recheck())
	if want := 920 - wantGood; n != want {
		t.Fatalf("Recheck after the fix recovered %d records, want %d", n, want)
	}
	if !bytes.Contains(data, lines(1000, 230)) {
		t.Fatal("the EIO batch's records did not arrive")
	}
	if len(s.Unusable()) != 0 {
		t.Fatalf("still unusable: %q", s.Unusable())
	}
}

// A batch file this user may read but not write (EACCES on a read-write open: a
// chmod 0444 file for a non-root user; injected, since root ignores modes) is
// delivered from a rewritten copy.
func TestReadOnlyFileIsRewritten(t *testing.T) {
	root := t.TempDir()
	paths := fourBatches(t, root)
	ro := filepath.Base(paths[2])
	fault := func(op string) error {
		if op == "openrw "+ro {
			return &os.PathError{Op: "open", Path: paths[2], Err: syscall.EACCES}
		}
		return nil
	}
	before, _ := os.Stat(paths[2])
	s, err := open(root, "id", testOpts(), fault)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	for _, b := range s.Recovered() {
		n += b.Records
		if filepath.Base(b.path) == ro {
			after, err := os.Stat(b.path)
			if err != nil || os.SameFile(before, after) {
				t.Fatalf("the read-only batch was not rewritten into a new file (%v)", err)
			}
		}
	}
	if n != 920 || len(s.Unusable()) != 0 {
		t.Fatalf("recovered %d records, want 920; unusable %q", n, s.Unusable())
	}
}
