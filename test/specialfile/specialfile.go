// Package specialfile makes the special files a review plants where a regular file is
// expected (a FIFO, a socket, a directory), and runs code that must not hang on them,
// for the tests of every package that opens files in store_dir.
package specialfile

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// Kinds are the special files Plant makes.
var Kinds = []string{"fifo", "socket", "directory"}

// Plant makes a special file of kind at path, replacing a file already there.
func Plant(t testing.TB, kind, path string) {
	t.Helper()
	os.Remove(path)
	var err error
	switch kind {
	case "fifo":
		err = syscall.Mkfifo(path, 0o600)
	case "socket":
		err = syscall.Mknod(path, syscall.S_IFSOCK|0o600, 0) // a bound socket's inode, without the path-length limit
	case "directory":
		err = os.Mkdir(path, 0o700)
	default:
		t.Fatalf("specialfile: no kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Within runs f and fails the test if it has not returned after 5 s (a FIFO opened
// for reading waits for a writer forever).
func Within(t testing.TB, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s hangs", what)
	}
}
