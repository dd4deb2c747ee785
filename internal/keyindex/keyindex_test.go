package keyindex

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Reservations through several handles, from several goroutines, hand out every
// value once and leave no gap.
func TestIndexFileConcurrentTakes(t *testing.T) {
	dir := t.TempDir()
	name := Name("", "b")
	var files []*File
	for range 2 {
		f, err := OpenFile(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	var mu sync.Mutex
	var got []uint64
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				n, err := files[g%2].Take()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, n)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	for i, n := range got {
		if n != uint64(i) {
			t.Fatalf("values %v: %d at position %d", got, n, i)
		}
	}
}

// A counter kept by an earlier version per configuration (<identity>.index) is
// continued, not restarted, so an upgrade never reuses its keys.
func TestIndexContinuesLegacyFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/envoy_s3-0123456789abcdef.index", []byte("41\n"), 0o600)
	os.WriteFile(dir+"/envoy_s3-fedcba9876543210.index", []byte("7\n"), 0o600)
	f, err := OpenFile(dir, Name("", "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n, err := f.Take(); n != 41 || err != nil {
		t.Fatalf("first index %d, %v; want 41", n, err)
	}
}

// A damaged counter fails Init with one line saying what to do.
func TestIndexDamagedFailsInit(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/"+Name("", "b"), []byte("4x\n"), 0o600)
	if _, err := OpenFile(dir, Name("", "b")); err == nil || !strings.Contains(err.Error(), "delete the file") {
		t.Fatalf("damaged index: %v", err)
	}
}

// Two processes sharing a store_dir take values from the same counter: none is
// handed out twice. The second process is this test binary run again as a helper.
func TestIndexUniqueAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("ENVOY_S3_INDEX_HELPER_DIR"); dir != "" {
		indexHelper(t, dir)
		return
	}
	dir := t.TempDir()
	const each = 150
	cmd := exec.Command(os.Args[0], "-test.run=^TestIndexUniqueAcrossProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ENVOY_S3_INDEX_HELPER_DIR="+dir, "ENVOY_S3_INDEX_HELPER_N="+strconv.Itoa(each))
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(dir, Name("", "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[uint64]string{}
	for range each {
		n, err := f.Take()
		if err != nil {
			t.Fatal(err)
		}
		seen[n] = "parent"
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out.String())
	}
	helper := 0
	for _, line := range strings.Fields(out.String()) {
		v, ok := strings.CutPrefix(line, "index=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(v, 10, 64)
		if seen[n] != "" {
			t.Fatalf("index %d handed out to both processes", n)
		}
		seen[n] = "helper"
		helper++
	}
	if helper != each || len(seen) != 2*each {
		t.Fatalf("helper took %d, %d distinct in all; want %d and %d", helper, len(seen), each, 2*each)
	}
}

func indexHelper(t *testing.T, dir string) {
	n, _ := strconv.Atoi(os.Getenv("ENVOY_S3_INDEX_HELPER_N"))
	f, err := OpenFile(dir, Name("", "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range n {
		v, err := f.Take()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("index=%d\n", v)
	}
}

// A Counter without store_dir counts in memory, one count per endpoint and bucket.
func TestMemoryCounter(t *testing.T) {
	// The counters live as long as the process: names of their own for each run.
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	a, _ := Open("", "", "mem-a-"+run)
	b, _ := Open("", "", "mem-a-"+run)
	c, _ := Open("", "", "mem-c-"+run)
	for want := uint64(0); want < 4; want += 2 {
		if n, _ := a.Next(); n != want {
			t.Fatalf("a: %d, want %d", n, want)
		}
		if n, _ := b.Next(); n != want+1 {
			t.Fatalf("b: %d, want %d", n, want+1)
		}
	}
	if n, _ := c.Next(); n != 0 {
		t.Fatalf("another bucket starts at %d", n)
	}
	a.Close()
	var none *Counter
	none.Close()
}
