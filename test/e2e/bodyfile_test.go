package e2e

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
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

// With store_dir, the real plugin sends each object from a body file in its spool
// directory: while a PUT is in flight the file is there, holding exactly the bytes
// S3 ends up storing; a PUT that fails (after its body was read) is retried with the
// whole file, Content-MD5 included; and no body file is left once all is uploaded.
func TestUploadSendsBodyFile(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "bodyfile"
	m := env(t, bucket)
	px := faultproxy.New(m.Endpoint)
	t.Cleanup(px.Close)
	store := t.TempDir()

	var (
		mu       sync.Mutex
		puts     int
		problems []string
		seen     = map[string][]byte{} // request path -> body file during its first PUT
	)
	px.SetPlan(func(_ int, r *http.Request) faultproxy.Fault {
		if r.Method != http.MethodPut {
			return faultproxy.None
		}
		mu.Lock()
		defer mu.Unlock()
		puts++
		files, _ := filepath.Glob(filepath.Join(store, "*", "upload", "*"))
		var match []byte
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && int64(len(b)) == r.ContentLength {
				match = b
			}
		}
		if match == nil {
			problems = append(problems, "no body file of "+r.URL.Path+" during its PUT")
		}
		if _, again := seen[r.URL.Path]; again {
			return faultproxy.None
		}
		seen[r.URL.Path] = match
		return faultproxy.Status500 // read the body, then fail: the retry sends the file again
	})

	task := chunkgen.DefaultTask()
	lines := accessOnly(gen.New(31).Mixed(3000))
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 500, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "60s")
	args := append([]string{"--exit", "current", "--tag", task.Tag()}, instanceArgs(map[string]string{
		"bucket": bucket, "region": m.Region, "endpoint": px.URL(), "store_dir": store,
		"s3_key_format": "b/$UUID", "total_file_size": "512K", "compression": "zstd", "other_logs": "drop",
		"send_content_md5": "true", "redact_query_params": "none", "redact_detectors": "none",
	})...)
	for _, f := range files {
		args = append(args, "--flush", f)
	}
	requireAllOK(t, hosttest.Run(t, host, so, args...))

	for _, p := range problems {
		t.Error(p)
	}
	objs := m.List(bucket, "b/")
	if len(objs) < 2 || puts != 2*len(objs) {
		t.Fatalf("%d PUTs for %d objects: want two per object (one failed, one retried), over several objects", puts, len(objs))
	}
	for _, o := range objs {
		got := m.Get(bucket, o.Key)
		if f := seen["/"+bucket+"/"+o.Key]; !bytes.Equal(f, got) {
			t.Errorf("%s: stored %d bytes, the body file during the PUT held %d bytes of other content", o.Key, len(got), len(f))
		}
	}
	diff(t, "access", wantAccess(task, lines), lineCounts(objects(t, m, bucket, "b/", compress.Zstd)))
	left, _ := filepath.Glob(filepath.Join(store, "*", "upload", "*"))
	if len(left) != 0 {
		t.Errorf("body files left after every upload succeeded: %v", left)
	}
}
