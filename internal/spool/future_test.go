package spool

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// futureFile is a batch file a newer envoy_s3 wrote: a header that checks out with
// format version 9 and size bytes in all.
func futureFile(t *testing.T, size int) []byte {
	t.Helper()
	file, _, _ := threeSegments(t)
	file[6] = 9 // a newer writer keeps the header check byte right
	file[7] = headerCheck(file)
	for len(file) < size {
		file = append(file, file[headerSize:]...)
	}
	return file
}

// A batch of a newer format (a rollback after a backlog) is never uploaded by this
// version: it must not count against store_dir_limit_size, or every flush answers
// RETRY forever, and it is reported once with what to do.
func TestNewerFormatDoesNotCountAgainstTheLimit(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "id-0", "sealed")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	future := filepath.Join(dir, "x"+fileExt)
	written := futureFile(t, 5000)
	if err := os.WriteFile(future, written, 0o600); err != nil {
		t.Fatal(err)
	}
	var l logs
	opt := l.opts()
	opt.Limit = 2000
	s := mustOpen(t, root, "id", opt)
	if s.Size() != 0 {
		t.Errorf("Size() = %d: a file this version never uploads counts against the limit", s.Size())
	}
	if err := s.Append([]Part{part("p", 0, 5)}); err != nil {
		t.Fatalf("Append = %v: a newer-format file blocks every flush", err)
	}
	if _, err := os.Stat(future); err != nil {
		t.Fatalf("newer-format file was removed: %v", err)
	}
	all := strings.Join(append(l.warn, l.error...), "\n")
	if n := strings.Count(all, future); n != 1 {
		t.Fatalf("the newer-format file is named in %d log lines, want 1:\n%s", n, all)
	}
	for _, want := range []string{"newer envoy_s3", "does not count it in store_dir_limit_size", "move it out of store_dir"} {
		if !strings.Contains(all, want) {
			t.Errorf("the log does not say %q:\n%s", want, all)
		}
	}
	// Recheck and a restart never count it either; a restart reports it again, once.
	s.Recheck()
	s.Close()
	l = logs{}
	s = mustOpen(t, root, "id", opt)
	defer s.Close()
	if got := diskSize(t, s); s.Size() != got {
		t.Errorf("after a restart Size() = %d, want %d (the batches this version can upload)", s.Size(), got)
	}
	if n := strings.Count(strings.Join(append(l.warn, l.error...), "\n"), future); n != 1 {
		t.Errorf("after a restart the file is named %d times, want 1", n)
	}
	if !bytes.Equal(must(os.ReadFile(future)), written) {
		t.Error("the newer-format file was changed")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
