package keyindex

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// within runs f and fails the test if it has not returned after 5 s (a FIFO opened
// for reading waits for a writer forever).
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s hangs", what)
	}
}

// plant makes a FIFO, a socket or a directory at path.
func plant(t *testing.T, kind, path string) {
	t.Helper()
	var err error
	switch kind {
	case "fifo":
		err = syscall.Mkfifo(path, 0o600)
	case "socket":
		err = syscall.Mknod(path, syscall.S_IFSOCK|0o600, 0) // a bound socket's inode, without the path-length limit
	case "directory":
		err = os.Mkdir(path, 0o700)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// A FIFO, socket or directory where the counter or a legacy index file is expected
// never hangs Open (Init) or Take; the counter's says what it is and what to do.
func TestPlantedSpecialFiles(t *testing.T) {
	for _, kind := range []string{"fifo", "socket", "directory"} {
		for _, file := range []string{Name("", "b"), Name("", "b") + ".lock"} {
			t.Run(kind+"/"+file, func(t *testing.T) {
				dir := t.TempDir()
				plant(t, kind, filepath.Join(dir, file))
				var err error
				within(t, "Open", func() { _, err = Open(dir, "", "b") })
				if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), "remove it") {
					t.Fatalf("Open = %v, want an error saying it is no regular file and what to do", err)
				}
			})
		}
		t.Run(kind+"/legacy", func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "envoy_s3-a.index"), []byte("7\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			plant(t, kind, filepath.Join(dir, "envoy_s3-b.index"))
			var c *Counter
			var err error
			within(t, "Open", func() { c, err = Open(dir, "", "b") })
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var n uint64
			within(t, "Next", func() { n, err = c.Next() })
			if err != nil || n != 7 {
				t.Fatalf("Next = %d, %v; want 7 (after the readable legacy index)", n, err)
			}
		})
	}
}
