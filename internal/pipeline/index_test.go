package pipeline

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/envoy-s3/envoy_s3/test/gen"
)

// Two instances that write one bucket with a key format of $INDEX, in one process,
// never use the same key: with the same configuration, and with configurations whose
// spool directories differ. With store_dir off, in-process instances share one count.
func TestIndexUniqueAcrossInstances(t *testing.T) {
	for _, storeDir := range []string{"spool", "off"} {
		t.Run(storeDir, func(t *testing.T) {
			dir := t.TempDir()
			if storeDir == "off" {
				dir = "off"
			}
			puts := []*memPut{{}, {}, {}}
			var ps []*Pipeline
			for i, other := range []string{"o/$UUID", "o/$UUID", "p/$UUID"} {
				ps = append(ps, newPipeline(t, map[string]string{"store_dir": dir, "s3_key_format": "x/$INDEX",
					"other_key_format": other, "total_file_size": "8K", "endpoint": "http://127.0.0.1:1"}, puts[i]))
			}
			var wg sync.WaitGroup
			for i, p := range ps {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for f := 0; f < 5; f++ {
						if retry, err := p.Flush(chunkOf(t, gen.New(uint64(10*i+f)).Mixed(100)), "tag"); retry || err != nil {
							t.Errorf("flush: %v %v", retry, err)
						}
					}
				}()
			}
			wg.Wait()
			seen := map[string]int{}
			total := 0
			for i, p := range ps {
				p.Close(context.Background())
				for k := range puts[i].objs {
					if strings.HasPrefix(k, "x/") {
						seen[k]++
						total++
					}
				}
			}
			if total < 9 {
				t.Fatalf("only %d objects; the test needs many", total)
			}
			for k, n := range seen {
				if n > 1 {
					t.Errorf("key %s was written by %d instances", k, n)
				}
			}
		})
	}
}

// Reservations through several handles, from several goroutines, hand out every
// value once and leave no gap.
func TestIndexFileConcurrentTakes(t *testing.T) {
	dir := t.TempDir()
	name := indexName("", "b")
	var files []*indexFile
	for range 2 {
		f, err := openIndex(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.close()
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
				n, err := files[g%2].take()
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
	f, err := openIndex(dir, indexName("", "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	if n, err := f.take(); n != 41 || err != nil {
		t.Fatalf("first index %d, %v; want 41", n, err)
	}
}

// A damaged counter fails Init with one line saying what to do.
func TestIndexDamagedFailsInit(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/"+indexName("", "b"), []byte("4x\n"), 0o600)
	if _, err := openIndex(dir, indexName("", "b")); err == nil || !strings.Contains(err.Error(), "delete the file") {
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
	f, err := openIndex(dir, indexName("", "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	seen := map[uint64]string{}
	for range each {
		n, err := f.take()
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
	f, err := openIndex(dir, indexName("", "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	for range n {
		v, err := f.take()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("index=%d\n", v)
	}
}
