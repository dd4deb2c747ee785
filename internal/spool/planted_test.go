package spool

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/envoy-s3/envoy_s3/test/specialfile"
)

// A FIFO, socket or directory where a spool metadata file is expected (the lock, the
// destination record of this or another directory, a batch file after recovery)
// never hangs Open, Orphans (adoption, at Init or exit) or ReadSealed (an upload).
func TestPlantedSpecialFilesNeverHang(t *testing.T) {
	for _, kind := range specialfile.Kinds {
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
			specialfile.Plant(t, kind, filepath.Join(root, "other-0", RecordFile))
			var orphans []Orphan
			var err error
			specialfile.Within(t, "Orphans", func() { orphans, err = Orphans(root, nil) })
			if err != nil || len(orphans) != 1 || orphans[0].Record != nil {
				t.Fatalf("Orphans = %+v, %v; want other-0 without a record", orphans, err)
			}
			// id-0's lock and record are planted: Open takes id-1, or works.
			d := filepath.Join(root, "id-0")
			if err := os.MkdirAll(d, 0o700); err != nil {
				t.Fatal(err)
			}
			specialfile.Plant(t, kind, filepath.Join(d, "lock"))
			var s *Spool
			specialfile.Within(t, "Open", func() { s, err = Open(root, "id", opt) })
			if err != nil {
				t.Fatalf("Open with a planted lock: %v", err)
			}
			if s.Dir() == d {
				t.Fatalf("Open used %s, whose lock is a %s", d, kind)
			}
			s.Close()
			d1 := filepath.Join(root, "id-1")
			specialfile.Plant(t, kind, filepath.Join(d1, RecordFile))
			specialfile.Within(t, "Open", func() { s, err = Open(root, "id", opt) })
			if err != nil {
				t.Fatalf("Open with a planted record: %v", err)
			}
			defer s.Close()
			// A batch file replaced after recovery: its upload fails, never waits.
			if err := s.Append([]Part{part("q", 0, 3)}); err != nil {
				t.Fatal(err)
			}
			b := s.SealAll()[0]
			specialfile.Plant(t, kind, b.path)
			specialfile.Within(t, "ReadSealed", func() { err = s.ReadSealed(b, func([]byte) error { return nil }) })
			if err == nil {
				t.Fatalf("ReadSealed of a %s succeeded", kind)
			}
		})
	}
}
