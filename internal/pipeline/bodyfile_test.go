package pipeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/object"
	"github.com/envoy-s3/envoy_s3/internal/s3sink"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// bodyDirOf is the body directory of a pipeline's spool.
func bodyDirOf(t *testing.T, p *Pipeline) string {
	t.Helper()
	s, ok := p.store.(*spoolStore)
	if !ok {
		t.Fatal("not a spool store")
	}
	return filepath.Join(s.sp.Dir(), object.BodyDirName)
}

// filePut checks, during each PUT, that the body is a file in dir holding exactly
// what is sent; the first fail attempts fail after reading half the body.
type filePut struct {
	dir  string
	fail int

	mu       sync.Mutex
	attempts int
	objs     map[string][]byte
	problems []string
}

func (f *filePut) Put(_ context.Context, key string, body delivery.Body) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	if o, ok := body.(*s3sink.Object); ok {
		body = o.Body
	}
	if _, inMemory := body.(delivery.Bytes); inMemory {
		f.problems = append(f.problems, key+": body held in memory")
	}
	ents, _ := os.ReadDir(f.dir)
	if len(ents) != 1 {
		f.problems = append(f.problems, key+": body directory does not hold exactly one file during the PUT")
	} else if fi, err := ents[0].Info(); err != nil || fi.Size() != body.Size() || fi.Mode().Perm() != 0o600 {
		f.problems = append(f.problems, key+": the body file is not the body (size or mode)")
	}
	if f.attempts <= f.fail {
		io.CopyN(io.Discard, delivery.Reader(body), body.Size()/2)
		return errors.New("connection reset")
	}
	b, err := io.ReadAll(delivery.Reader(body))
	if err != nil {
		return err
	}
	if f.objs == nil {
		f.objs = map[string][]byte{}
	}
	f.objs[key] = b
	return nil
}

// An object is streamed from a body file in the spool directory, a retry sends the
// whole file again, and the file is gone once the object is uploaded.
func TestUploadStreamsFromBodyFile(t *testing.T) {
	for _, format := range []string{"json_lines", "parquet"} {
		t.Run(format, func(t *testing.T) {
			put := &filePut{fail: 2}
			p := newPipeline(t, map[string]string{"compression": "zstd", "format": format, "other_logs": "drop"}, put)
			put.dir = bodyDirOf(t, p)
			lines := gen.New(3).Mixed(2000)
			if retry, err := p.Flush(chunkOf(t, lines), "tag"); err != nil || retry {
				t.Fatalf("flush: retry=%v err=%v", retry, err)
			}
			p.Close(context.Background())
			for _, pr := range put.problems {
				t.Error(pr)
			}
			if len(put.objs) != 1 || put.attempts != 3 {
				t.Fatalf("%d objects after %d attempts, want 1 after 3", len(put.objs), put.attempts)
			}
			for key, obj := range put.objs {
				var n int
				if format == "parquet" {
					if !bytes.HasPrefix(obj, []byte("PAR1")) || !bytes.HasSuffix(obj, []byte("PAR1")) {
						t.Fatalf("%s is not a whole Parquet file", key)
					}
					n = int(p.Stats().Access)
				} else {
					plain, err := compress.Decode(compress.Zstd, obj)
					if err != nil {
						t.Fatalf("%s: %v", key, err)
					}
					n = bytes.Count(plain, []byte("\n"))
				}
				if n == 0 || int64(n) != p.Stats().Access {
					t.Fatalf("%s holds %d records, %d access records were flushed", key, n, p.Stats().Access)
				}
			}
			if ents, _ := os.ReadDir(put.dir); len(ents) != 0 {
				t.Fatalf("%d body file(s) left after the upload", len(ents))
			}
		})
	}
}

// Body files are derived from spooled batches: a restart deletes those a crash left.
func TestStaleBodyFilesRemovedAtStart(t *testing.T) {
	store := t.TempDir()
	kv := map[string]string{"store_dir": store}
	p := newPipeline(t, kv, &memPut{})
	dir := bodyDirOf(t, p)
	p.Close(context.Background())
	stale := filepath.Join(dir, "123.body")
	if err := os.WriteFile(stale, []byte("left by a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	p = newPipeline(t, kv, &memPut{})
	defer p.Close(context.Background())
	if got := bodyDirOf(t, p); got != dir {
		t.Fatalf("spool directory changed: %s, was %s", got, dir)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale body file still there: %v", err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("body directory: %v %v", fi, err)
	}
}

// discardPut reads every body and keeps only its size.
type discardPut struct{ sent int64 }

func (d *discardPut) Put(_ context.Context, _ string, body delivery.Body) error {
	n, err := io.Copy(io.Discard, delivery.Reader(body))
	d.sent += n
	return err
}

// Encoding and uploading a large object allocates a small fraction of its size: it
// is streamed through a file, not built in memory. Allocation counts, not timings.
func TestLargeUploadAllocatesLittle(t *testing.T) {
	put := &discardPut{}
	p := newPipeline(t, map[string]string{"compression": "none", "other_logs": "drop", "total_file_size": "100M", "upload_timeout": "1h"}, put)
	data := chunkOf(t, gen.New(4).Mixed(2000))
	for raw := int64(0); raw < 40<<20; {
		if retry, err := p.Flush(data, "tag"); err != nil || retry {
			t.Fatalf("flush: retry=%v err=%v", retry, err)
		}
		_, raw = p.store.depth()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	p.Close(context.Background())
	runtime.ReadMemStats(&after)
	if put.sent < 40<<20 {
		t.Fatalf("uploaded %d bytes, want a 40 MiB object", put.sent)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(put.sent/8) {
		t.Fatalf("uploading a %d-byte object allocated %d bytes: the body is held in memory", put.sent, alloc)
	}
}
