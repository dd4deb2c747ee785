package e2e

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
)

// spoolRun flushes files through the real .so into bucket and exits; with the bucket
// missing, what was acknowledged stays in store.
func spoolRun(t *testing.T, so, host string, kv map[string]string, files []string, tag string) string {
	t.Helper()
	h := hosttest.Start(t, host, so, append([]string{"--exit", "current"}, instanceArgs(kv)...)...)
	for i, f := range files {
		if rc := h.Flush(0, f, tag); rc != hosttest.FLBOK {
			t.Fatalf("flush %d rc %d\n%s", i, rc, h.Stderr())
		}
	}
	r := h.Exit()
	if r.InitRC(0) != hosttest.FLBOK || r.ExitRC(0) != hosttest.FLBOK {
		t.Fatalf("init rc %d, exit rc %d\n%s", r.InitRC(0), r.ExitRC(0), r.Stderr)
	}
	return r.Stderr
}

// A newcomer's case through the real .so: 1,000 records acknowledged for
// a misspelt bucket, the name fixed, the router restarted. The old spool directory is
// adopted with one line, its bucket does not exist, the process has one instance, so
// the 1,000 records arrive in the fixed bucket.
func TestStrandedSpoolOfMisspeltBucketArrives(t *testing.T) {
	so, host := artifacts(t)
	const good = "acme-access-logs"
	m := env(t, good)
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "1s")
	t.Setenv("ENVOY_S3_PERMANENT_RETRY", "1s")
	task := chunkgen.DefaultTask()
	lines := accessOnly(gen.New(41).Mixed(1500))[:1000]
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 50, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	extra, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, accessOnly(gen.New(42).Mixed(40))[:10], 10, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	kv := map[string]string{
		"bucket": "acme-acess-logs", "region": m.Region, "endpoint": m.Endpoint, "store_dir": store,
		"other_logs": "drop", "redact_query_params": "none", "redact_detectors": "none",
	}
	spoolRun(t, so, host, kv, files, task.Tag())
	if n := countLines(t, m, good, ""); n != 0 {
		t.Fatalf("%d records in the good bucket before the fix", n)
	}
	kv["bucket"] = good
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "30s")
	stderr := spoolRun(t, so, host, kv, extra, task.Tag())
	if n := countLines(t, m, good, ""); n != 1010 {
		t.Fatalf("good bucket holds %d records, want the 1000 stranded + 10 new\n%s", n, stderr)
	}
	if !strings.Contains(stderr, "adopted spool directory") || !strings.Contains(stderr, "1000 records") {
		t.Fatalf("no line about the adopted directory:\n%s", stderr)
	}
}

// A byte flipped at random in a random DATA segment of a spooled batch, and another
// batch file made immutable (chattr +i: a read-write open fails with EPERM even for
// root, which made Init fail before): the next start through the real .so succeeds,
// uploads every record of every intact segment (the immutable batch from a read-only
// open; it cannot be removed, which is said once) and reports the damaged segment's
// records at error level.
func TestDamagedSpoolThroughPlugin(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "damaged"
	m := env(t, "unrelated")
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "1s")
	task := chunkgen.DefaultTask()
	lines := accessOnly(gen.New(43).Mixed(2000))
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 40, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	kv := map[string]string{
		"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint, "store_dir": store,
		"other_logs": "drop", "redact_query_params": "none", "redact_detectors": "none",
		"total_file_size": "200K",
	}
	spoolRun(t, so, host, kv, files, task.Tag())
	batches, _ := filepath.Glob(filepath.Join(store, "*", "*", "*.spl"))
	if len(batches) < 3 {
		t.Fatalf("%d batch files spooled, want several", len(batches))
	}
	// Flip one byte in a random DATA segment of the first batch.
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	data, err := os.ReadFile(batches[0])
	if err != nil {
		t.Fatal(err)
	}
	segs := dataSegments(data)
	s := segs[rng.IntN(len(segs))]
	lost := bytes.Count(data[s.off+13:s.end], []byte("\n"))
	data[s.off+13+rng.Int64N(s.end-s.off-13)] ^= 0x10
	if err := os.WriteFile(batches[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	immutable := false
	if bin, err := exec.LookPath("chattr"); err == nil && exec.Command(bin, "+i", batches[1]).Run() == nil {
		immutable = true
		t.Cleanup(func() { exec.Command(bin, "-i", batches[1]).Run() })
	} else {
		t.Log("chattr +i unavailable here: the immutable file is not exercised")
	}
	m.CreateBucket(bucket)
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "30s")
	stderr := spoolRun(t, so, host, kv, nil, task.Tag())
	want := len(lines) - lost
	if immutable && !strings.Contains(stderr, "could not remove its spool file") {
		t.Errorf("no line about the immutable file:\n%s", stderr)
	}
	if n := countLines(t, m, bucket, "envoy-access-logs/"); n != want {
		t.Fatalf("bucket holds %d records, want %d (all but the %d of the damaged segment)\n%s", n, want, lost, stderr)
	}
	if !strings.Contains(stderr, "losing about") {
		t.Fatalf("the damaged segment is not reported:\n%s", stderr)
	}
	t.Logf("%d records spooled, %d in the damaged segment, %d delivered", len(lines), lost, want)
}

type span struct{ off, end int64 }

// dataSegments lists the DATA segments of a batch file (format in internal/spool/doc.go).
func dataSegments(data []byte) []span {
	var segs []span
	for off := int64(8); off+13 <= int64(len(data)); {
		n := int64(binary.LittleEndian.Uint32(data[off+1:]))
		if data[off] == 2 {
			segs = append(segs, span{off, off + 13 + n})
		}
		off += 13 + n
	}
	return segs
}
