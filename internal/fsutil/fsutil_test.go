package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestSyncDir(t *testing.T) {
	dir := t.TempDir()
	if err := SyncDir(dir); err != nil {
		t.Fatalf("SyncDir(%s) = %v", dir, err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	// Linux answers O_DIRECTORY|O_NOFOLLOW on a symlink with ENOTDIR, others ELOOP.
	if err := SyncDir(link); !errors.Is(err, syscall.ENOTDIR) && !errors.Is(err, syscall.ELOOP) {
		t.Errorf("SyncDir(symlink) = %v, want ENOTDIR or ELOOP (never follows a symlink)", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(file); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("SyncDir(file) = %v, want ENOTDIR", err)
	}
	if err := SyncDir(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("SyncDir(missing) = %v, want ErrNotExist", err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, data := range []string{"first contents\n", "2\n"} {
		if err := WriteFileAtomic(path, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("after writing %q: %q, %v", data, got, err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Lstat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

func TestWriteFileAtomicNeverFollowsAStaleTemp(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "f")
	if err := os.Symlink(victim, path+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "keep" {
		t.Errorf("write went through the planted symlink: victim holds %q", got)
	}
	if got, _ := os.ReadFile(path); string(got) != "new" {
		t.Errorf("path holds %q, want %q", got, "new")
	}
}

func TestWriteFileAtomicFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	// path is a non-empty directory: the rename fails after the data was written.
	path := filepath.Join(dir, "d")
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("data")); err == nil {
		t.Fatal("WriteFileAtomic over a non-empty directory succeeded")
	}
	if _, err := os.Lstat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left behind after a failed rename: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Errorf("the target changed: %v, %v", fi, err)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("write into a missing directory = %v, want ErrNotExist", err)
	}
}

func TestFlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	// flock locks belong to the open file, so two opens contend within one process.
	a, b := open(), open()
	if err := Flock(a, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("first lock: %v", err)
	}
	if err := Flock(b, syscall.LOCK_EX|syscall.LOCK_NB); err != syscall.EWOULDBLOCK {
		t.Fatalf("second lock while held = %v, want EWOULDBLOCK", err)
	}
	// A waiting lock keeps waiting through signals and is granted on release.
	got := make(chan error, 1)
	go func() { got <- Flock(b, syscall.LOCK_EX) }()
	for i := 0; i < 20; i++ {
		syscall.Kill(os.Getpid(), syscall.SIGURG) // ignored by Go programs; interrupts system calls
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-got:
		t.Fatalf("blocking lock returned %v while the lock was held", err)
	default:
	}
	if err := Flock(a, syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("blocking lock after release: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking lock not granted after release")
	}
}
