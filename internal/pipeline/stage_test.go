package pipeline

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/internal/spool"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// linesOf returns every line of every object, sorted.
func linesOf(objs map[string][]byte) [][]byte {
	var out [][]byte
	for _, o := range objs {
		for l := range bytes.SplitSeq(bytes.TrimSuffix(o, []byte("\n")), []byte("\n")) {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, bytes.Compare)
	return out
}

// bigChunk is a chunk whose lines are several times spillBytes in each stream.
func bigChunk(t *testing.T) []byte {
	return chunkOf(t, gen.New(11).Mixed(8000))
}

// A flush far larger than spillBytes holds about spillBytes of lines per partition:
// the rest goes to the stage as it is made, and lands as if held whole.
func TestLargeFlushIsStaged(t *testing.T) {
	kv := map[string]string{"compression": "none", "other_logs": "s3", "total_file_size": "100M", "upload_timeout": "1h"}
	data := bigChunk(t)

	staged := &memPut{}
	p := newPipeline(t, kv, staged)
	for i := range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if retry, err := p.Flush(data, "tag"); err != nil || retry {
			t.Fatalf("flush %d: retry=%v err=%v", i, retry, err)
		}
		runtime.ReadMemStats(&after)
		w := p.workers.Get()
		var held, stagedRaw int64
		for _, pt := range w.parts {
			held += int64(cap(pt.lines))
			stagedRaw += pt.stagedRaw
		}
		p.workers.Put(w)
		if stagedRaw < 4*spillBytes {
			t.Fatalf("flush %d staged %d bytes: a chunk of %d bytes should have spilled", i, stagedRaw, len(data))
		}
		if held > 3*2*spillBytes { // two streams, each at most about two spills' worth of capacity
			t.Fatalf("flush %d: partitions hold %d bytes of line buffers after staging %d", i, held, stagedRaw)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; i > 0 && alloc > uint64(stagedRaw/8) {
			t.Fatalf("flush %d allocated %d bytes for %d bytes of lines: lines are held, not staged", i, alloc, stagedRaw)
		}
	}
	p.Close(context.Background())

	whole := &memPut{}
	kv["store_dir"] = "off" // the memory store holds a flush whole: the reference
	ref := newPipeline(t, kv, whole)
	for range 3 {
		if retry, err := ref.Flush(data, "tag"); err != nil || retry {
			t.Fatalf("reference flush: retry=%v err=%v", retry, err)
		}
	}
	ref.Close(context.Background())
	got, want := linesOf(staged.objs), linesOf(whole.objs)
	if len(want) < 3*7000 || !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("staged flushes stored %d lines, the memory store %d (or they differ)", len(got), len(want))
	}
}

// A staged flush refused for a full store_dir leaves nothing behind: its retry,
// once uploads made room, lands exactly once.
func TestStagedFlushRefusedLandsOnce(t *testing.T) {
	data := bigChunk(t)
	put := &gatedPut{open: make(chan struct{})}
	p := newPipeline(t, map[string]string{"compression": "none", "other_logs": "s3", "total_file_size": "1M",
		"store_dir_limit_size": "10M", "upload_timeout": "1h"}, put)
	if retry, err := p.Flush(data, "tag"); err != nil || retry {
		t.Fatalf("first flush: retry=%v err=%v", retry, err)
	}
	size := p.store.(*spoolStore).sp.Size()
	retry, err := p.Flush(data, "tag")
	if !retry || !errors.Is(err, ErrBufferFull) {
		t.Fatalf("second flush over the limit: retry=%v err=%v, want RETRY with ErrBufferFull", retry, err)
	}
	if got := p.store.(*spoolStore).sp.Size(); got != size {
		t.Fatalf("a refused flush changed store_dir from %d to %d bytes", size, got)
	}
	close(put.open)
	// Uploads make room in the background: retry as Fluent Bit would, for a while.
	for deadline := time.Now().Add(30 * time.Second); ; {
		retry, err = p.Flush(data, "tag")
		if !retry {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the flush still answered RETRY 30 s after uploads resumed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	p.Close(context.Background())
	counts := map[string]int{}
	for _, l := range linesOf(put.objs) {
		counts[string(l)]++
	}
	twice := 0
	for _, n := range counts {
		if n%2 != 0 {
			t.Fatalf("a line stored %d times after two accepted flushes of one chunk", n)
		}
		twice += n
	}
	if twice < 2*7000 {
		t.Fatalf("stored %d lines, want twice the chunk's", twice)
	}
}

// failingStager refuses every stage.
type failingStager struct{}

func (failingStager) takeStage() (*spool.Stage, error) {
	return nil, errors.New("no space for a stage")
}
func (failingStager) giveStage(*spool.Stage) {}

// When no stage can be had, the flush holds its lines in memory and stores them all;
// the failure is logged once, not at every flush.
func TestStagingFailureKeepsLines(t *testing.T) {
	data := bigChunk(t)
	put := &memPut{}
	g := mapGetter{"bucket": "test-bucket", "region": "us-east-1", "store_dir": t.TempDir(), "compression": "none", "other_logs": "s3"}
	cfg, err := config.Parse(g, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuf
	p, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(&logs, "t", flblog.Info), Putter: put})
	if err != nil {
		t.Fatal(err)
	}
	var ws []*worker
	for range 4 { // every idle worker of the instance
		w := p.workers.Get()
		w.stager = failingStager{}
		ws = append(ws, w)
	}
	for _, w := range ws {
		p.workers.Put(w)
	}
	for range 2 {
		if retry, err := p.Flush(data, "tag"); err != nil || retry {
			t.Fatalf("flush: retry=%v err=%v", retry, err)
		}
	}
	p.Close(context.Background())
	if n := len(linesOf(put.objs)); n < 2*7000 {
		t.Fatalf("stored %d lines of two flushes that could not stage", n)
	}
	if n := strings.Count(logs.String(), "cannot stage"); n != 1 {
		t.Fatalf("the staging failure was logged %d times over two flushes, want once:\n%s", n, logs.String())
	}
}
