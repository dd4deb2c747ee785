package spool

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// Directories the spool creates are 0700, store_dir included.
func TestCreatedDirectoriesArePrivate(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b")
	s := mustOpen(t, root, "id", testOpts())
	defer s.Close()
	for _, d := range []string{filepath.Dir(root), root, s.dir, s.openDir, s.sealedDir} {
		if m := mode(t, d); m != 0o700 {
			t.Errorf("%s has mode %04o, want 0700", d, m)
		}
	}
}

// store_dir must be writable by this user alone, and no directory above it may be
// writable by others unless sticky; "/" is refused outright.
func TestUnsafeStoreDirRefused(t *testing.T) {
	var unsafe *UnsafeError
	if _, err := Open("/", "id", testOpts()); !errors.As(err, &unsafe) {
		t.Fatalf("store_dir / accepted: %v", err)
	}
	base := t.TempDir()
	group := filepath.Join(base, "group")
	os.Mkdir(group, 0o700)
	os.Chmod(group, 0o770)
	if _, err := Open(group, "id", testOpts()); !errors.As(err, &unsafe) || !strings.Contains(err.Error(), "chmod 700") {
		t.Fatalf("group-writable store_dir: %v", err)
	}
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777)
	if _, err := Open(filepath.Join(open, "spool"), "id", testOpts()); !errors.As(err, &unsafe) || !strings.Contains(err.Error(), "sticky") {
		t.Fatalf("store_dir below a world-writable, non-sticky directory: %v", err)
	}
	// Like /tmp: world-writable but sticky is fine above store_dir.
	sticky := filepath.Join(base, "sticky")
	os.Mkdir(sticky, 0o700)
	os.Chmod(sticky, 0o777|os.ModeSticky)
	s, err := Open(filepath.Join(sticky, "spool"), "id", testOpts())
	if err != nil {
		t.Fatalf("store_dir below a sticky directory: %v", err)
	}
	s.Close()
	if os.Geteuid() != 0 {
		t.Log("not root: the owned-by-another-user cases need chown and are not exercised")
		return
	}
	other := filepath.Join(base, "other")
	os.Mkdir(other, 0o700)
	os.Chown(other, 65534, 65534)
	if _, err := Open(other, "id", testOpts()); !errors.As(err, &unsafe) || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Fatalf("store_dir owned by another user: %v", err)
	}
	// A symlink owned by another user on the way (the /tmp/fluent-bit attack).
	os.Mkdir(filepath.Join(base, "target"), 0o700)
	link := filepath.Join(sticky, "fluent-bit")
	os.Symlink(filepath.Join(base, "target"), link)
	os.Lchown(link, 65534, 65534)
	if _, err := Open(filepath.Join(link, "envoy_s3"), "id", testOpts()); !errors.As(err, &unsafe) || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("store_dir through another user's symlink: %v", err)
	}
}

// A spool directory pre-created by someone else, with open/ and sealed/ pointing
// outside store_dir, is refused with one line and never written through; so is one of
// ours whose open/ became a symlink, or whose lock is one.
func TestPlantedSymlinksNeverFollowed(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	planted := func(name string) {
		d := filepath.Join(root, name)
		os.Mkdir(d, 0o700)
		os.Symlink(outside, filepath.Join(d, "open"))
		os.Symlink(outside, filepath.Join(d, "sealed"))
	}
	planted("id-0")
	if os.Geteuid() == 0 {
		os.Chown(filepath.Join(root, "id-0"), 65534, 65534)
	}
	planted("id-1")
	os.Mkdir(filepath.Join(root, "id-2"), 0o700)
	os.Symlink(filepath.Join(outside, "lockfile"), filepath.Join(root, "id-2", "lock"))
	var l logs
	s := mustOpen(t, root, "id", l.opts())
	defer s.Close()
	if filepath.Base(s.dir) != "id-3" {
		t.Fatalf("spool took %s, want id-3 (the three planted ones refused)", s.dir)
	}
	if err := s.Append([]Part{part("p", 0, 3)}); err != nil {
		t.Fatal(err)
	}
	s.SealAll()
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("the spool wrote outside store_dir: %v", ents)
	}
	if len(l.error) != 3 {
		t.Fatalf("want one error line per refused directory, got %q", l.error)
	}
	// A symlink named like a batch inside our own spool is not followed either.
	os.WriteFile(filepath.Join(outside, "victim"), []byte("not a batch"), 0o600)
	os.Symlink(filepath.Join(outside, "victim"), filepath.Join(s.openDir, "0000000000000002-000001"+fileExt))
	s.Close()
	s2 := mustOpen(t, root, "id", l.opts())
	defer s2.Close()
	if b, _ := os.ReadFile(filepath.Join(outside, "victim")); string(b) != "not a batch" {
		t.Fatal("recovery wrote through a symlink")
	}
	if len(s2.Unusable()) != 1 {
		t.Fatalf("the planted symlink is not reported: %q", s2.Unusable())
	}
}
