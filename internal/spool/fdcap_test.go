package spool

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

// TestManyPartitionsChild lowers its own RLIMIT_NOFILE to 64 (a process of its own,
// so no other test runs under it) and appends to 400 partitions, each new one in its
// own flush as a $TAG per chunk would arrive.
func TestManyPartitionsChild(t *testing.T) {
	dir := os.Getenv("SPOOL_FDCAP_DIR")
	if dir == "" {
		t.Skip("run by TestOpenFileCap")
	}
	lim := syscall.Rlimit{Cur: 64, Max: 64}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, dir, "fd", testOpts())
	sealed := 0
	for i := 0; i < 400; i++ {
		if err := s.Append([]Part{part("tag-"+strconv.Itoa(i), i*2, 2)}); err != nil {
			t.Fatalf("append %d refused: %v", i, err)
		}
		sealed += len(s.SealWhere(func(*Meta, int64) bool { return false }))
	}
	open, _ := s.OpenBatches()
	fmt.Printf("open=%d sealed=%d\n", open, sealed)
	s.Close()
}

// 400 partitions under a 64-descriptor limit: the least recently written batches
// are sealed instead of new partitions being refused, and no record is lost.
func TestOpenFileCap(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestManyPartitionsChild$", "-test.v")
	cmd.Env = append(os.Environ(), "SPOOL_FDCAP_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var open, sealed int
	for _, l := range splitLines(out) {
		if _, err := fmt.Sscanf(l, "open=%d sealed=%d", &open, &sealed); err == nil {
			break
		}
	}
	if open+sealed != 400 || open > 16 {
		t.Fatalf("open %d + sealed %d batches, want 400 with at most 16 open (a quarter of 64)\n%s", open, sealed, out)
	}
	s := mustOpen(t, dir, "fd", testOpts())
	defer s.Close()
	records := 0
	for _, b := range s.Recovered() {
		records += b.Records
	}
	if records != 800 {
		t.Fatalf("%d records on disk, want 800", records)
	}
}

func splitLines(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == '\n' {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	return out
}
