package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The destination record matters only to another process adopting the directory:
// a full disk when writing it must not fail Open (the instance whose uploads would
// free the disk would not start). It is said once and retried by Recheck; a record
// that is already right is not written again.
func TestRecordFailureDoesNotFailOpen(t *testing.T) {
	root := t.TempDir()
	var l logs
	opt := l.opts()
	opt.Record = []byte(`{"bucket":"b"}`)
	s := mustOpen(t, root, "id", opt)
	if err := s.Append([]Part{part("p", 0, 5)}); err != nil {
		t.Fatal(err)
	}
	s.SealAll()
	s.Close()
	record := filepath.Join(root, "id-0", RecordFile)
	fi, err := os.Stat(record)
	if err != nil {
		t.Fatal(err)
	}
	// The same record again: nothing is written (a full disk cannot refuse it).
	full := func(op string) error {
		if op == "record" {
			return fmt.Errorf("write %s: %w", op, syscall.ENOSPC)
		}
		return nil
	}
	s, err = open(root, "id", opt, full)
	if err != nil {
		t.Fatalf("Open with the same record on a full disk: %v", err)
	}
	if len(s.Recovered()) != 1 || len(l.error) != 0 {
		t.Fatalf("recovered %d batches, errors %q", len(s.Recovered()), l.error)
	}
	s.Close()
	// Another record, and the disk is full: Open works, the batches are there,
	// one error line, and Recheck writes it once it can.
	opt.Record = []byte(`{"bucket":"c"}`)
	fail := true
	s, err = open(root, "id", opt, func(op string) error {
		if fail {
			return full(op)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Open on a full disk = %v: the instance would not start", err)
	}
	defer s.Close()
	if len(s.Recovered()) != 1 {
		t.Fatalf("recovered %d batches", len(s.Recovered()))
	}
	s.Recheck()
	if len(l.error) != 1 || !strings.Contains(l.error[0], "no space left on device") || !strings.Contains(l.error[0], "free space in store_dir") {
		t.Fatalf("want one error line with the cause and the remedy, got %q", l.error)
	}
	fail = false
	s.Recheck()
	if b, _ := os.ReadFile(record); string(b) != `{"bucket":"c"}` {
		t.Fatalf("record after Recheck = %q", b)
	}
	if fi2, _ := os.Stat(record); os.SameFile(fi, fi2) {
		t.Fatal("record file not replaced")
	}
}
