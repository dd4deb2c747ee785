package e2e

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/faultproxy"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
)

// Two Fluent Bit processes (the C host with the real .so), each with two instances
// whose spool directories differ, share one store_dir and write one bucket with the
// key format i/$INDEX: no key is PUT twice and every record lands (an overwritten
// object would lose its records).
func TestIndexUniqueAcrossProcesses(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "index"
	m := env(t, bucket)
	px := faultproxy.New(m.Endpoint)
	t.Cleanup(px.Close)
	task := chunkgen.DefaultTask()
	lines := accessOnly(gen.New(31).Mixed(3200))
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 50, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	storeDir := t.TempDir()
	var args []string
	for _, other := range []string{"o1/$UUID", "o2/$UUID"} {
		args = append(args, instanceArgs(map[string]string{
			"bucket": bucket, "region": m.Region, "endpoint": px.URL(), "store_dir": storeDir,
			"s3_key_format": "i/$INDEX", "other_key_format": other, "total_file_size": "32K",
			"redact_query_params": "none", "redact_detectors": "none",
		})...)
	}
	hosts := []*hosttest.Host{
		hosttest.Start(t, host, so, args...),
		hosttest.Start(t, host, so, args...),
	}
	var wg sync.WaitGroup
	for h, hh := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := h; i < len(files); i += len(hosts) {
				if rc := hh.Flush(i/len(hosts)%2, files[i], task.Tag()); rc != hosttest.FLBOK {
					t.Errorf("host %d flush rc %d", h, rc)
				}
			}
		}()
	}
	wg.Wait()
	for h, hh := range hosts {
		if r := hh.Exit(); r.ExitRC(0) != hosttest.FLBOK {
			t.Fatalf("host %d exit rc %d\n%s", h, r.ExitRC(0), r.Stderr)
		}
	}
	puts := map[string]int{}
	for _, q := range px.Requests() {
		if q.Method == http.MethodPut {
			puts[q.Path]++
		}
	}
	for path, n := range puts {
		if n > 1 {
			t.Errorf("%s was PUT %d times", path, n)
		}
	}
	objs := objects(t, m, bucket, "i/", compress.Gzip)
	if len(objs) < 8 {
		t.Fatalf("only %d objects: the test needs each instance to write several", len(objs))
	}
	t.Logf("%d objects from 4 instances in 2 processes", len(objs))
	diff(t, "access", wantAccess(task, lines), lineCounts(objs))
}
