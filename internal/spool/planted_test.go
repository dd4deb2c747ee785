package spool

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

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

func plant(t *testing.T, kind, path string) {
	t.Helper()
	os.Remove(path)
	var err error
	switch kind {
	case "fifo":
		err = syscall.Mkfifo(path, 0o600)
	case "socket":
		err = syscall.Mknod(path, syscall.S_IFSOCK|0o600, 0)
	case "directory":
		err = os.Mkdir(path, 0o700)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// A FIFO, socket or directory where a spool metadata file is expected (the lock, the
// destination record of this or another directory, a batch file after recovery)
// never hangs Open, Orphans (adoption, at Init or exit) or ReadSealed (an upload).
func TestPlantedSpecialFilesNeverHang(t *testing.T) {
	for _, kind := range []string{"fifo", "socket", "directory"} {
		t.Run(kind, func(t *testing.T) {
			root := t.TempDir()
			opt := testOpts()
			opt.Record = []byte(`{"bucket":"b"}`)
			// other-0: a stranded directory with a batch, whose record is planted.
			o := mustOpen(t, root, "other", opt)
			if err := o.Append([]Part{part("p", 0, 3)}); err != nil {
				t.Fatal(err)
			}
			o.Close()
			plant(t, kind, filepath.Join(root, "other-0", RecordFile))
			var orphans []Orphan
			var err error
			within(t, "Orphans", func() { orphans, err = Orphans(root, nil) })
			if err != nil || len(orphans) != 1 || orphans[0].Record != nil {
				t.Fatalf("Orphans = %+v, %v; want other-0 without a record", orphans, err)
			}
			// id-0's lock and record are planted: Open takes id-1, or works.
			d := filepath.Join(root, "id-0")
			if err := os.MkdirAll(d, 0o700); err != nil {
				t.Fatal(err)
			}
			plant(t, kind, filepath.Join(d, "lock"))
			var s *Spool
			within(t, "Open", func() { s, err = Open(root, "id", opt) })
			if err != nil {
				t.Fatalf("Open with a planted lock: %v", err)
			}
			if s.Dir() == d {
				t.Fatalf("Open used %s, whose lock is a %s", d, kind)
			}
			s.Close()
			d1 := filepath.Join(root, "id-1")
			plant(t, kind, filepath.Join(d1, RecordFile))
			within(t, "Open", func() { s, err = Open(root, "id", opt) })
			if err != nil {
				t.Fatalf("Open with a planted record: %v", err)
			}
			defer s.Close()
			// A batch file replaced after recovery: its upload fails, never waits.
			if err := s.Append([]Part{part("q", 0, 3)}); err != nil {
				t.Fatal(err)
			}
			b := s.SealAll()[0]
			plant(t, kind, b.path)
			within(t, "ReadSealed", func() { err = s.ReadSealed(b, func([]byte) error { return nil }) })
			if err == nil {
				t.Fatalf("ReadSealed of a %s succeeded", kind)
			}
		})
	}
}
