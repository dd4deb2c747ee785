package e2e

import (
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/faultproxy"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
)

// faultStall is how long a stalled request is held; the plugin's per-attempt timeout
// (ENVOY_S3_ATTEMPT_TIMEOUT) is set much shorter, so a stall ends by the plugin giving
// up on the attempt and retrying, as a hung connection to S3 would. It is longer than
// the shutdown timeout: a stall the plugin did not cut would leave records
// undelivered, a failure that no slow machine can cause (a bound on the run's wall
// time could be).
const (
	faultStall     = 10 * time.Minute
	attemptTimeout = "3s"
)

// A loopback proxy between the plugin and MinIO answers the first ~30% of PUTs
// with 500s, 503 SlowDown, resets (before and after the object was stored) and two
// stalls; every record still lands exactly once, and every fault costs exactly one
// extra attempt: no retry storm, no lost retry.
func TestFaultsStillDeliver(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "faults"
	m := env(t, bucket)
	px := faultproxy.New(m.Endpoint)
	t.Cleanup(px.Close)
	px.SetStall(faultStall)

	task := chunkgen.DefaultTask()
	lines := accessOnly(gen.New(21).Mixed(4000))
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 50, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	raw := 0
	for _, l := range lines {
		x := expectedAccess(task, l)
		want[x]++
		raw += len(x) + 1
	}
	const fileSize = 64 << 10
	faulty := max(6, raw/fileSize/4) // ~30% of the objects: batches cut a little below fileSize
	mix := []faultproxy.Fault{faultproxy.Status500, faultproxy.SlowDown503, faultproxy.Reset, faultproxy.ResetAfterUpstream}
	puts := 0
	px.SetPlan(func(_ int, r *http.Request) faultproxy.Fault {
		if r.Method != http.MethodPut {
			return faultproxy.None
		}
		p := puts
		puts++
		switch {
		case p >= faulty:
			return faultproxy.None
		case p == 1 || p == 4:
			return faultproxy.Stall
		default:
			return mix[p%len(mix)]
		}
	})

	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "60s")
	t.Setenv("ENVOY_S3_ATTEMPT_TIMEOUT", attemptTimeout)
	args := append([]string{"--exit", "current", "--tag", task.Tag()}, instanceArgs(map[string]string{
		"bucket": bucket, "region": m.Region, "endpoint": px.URL(),
		"s3_key_format": "f/$UUID", "total_file_size": "64K", "other_logs": "drop",
		"redact_query_params": "none", "redact_detectors": "none",
	})...)
	for _, f := range files {
		args = append(args, "--flush", f)
	}
	start := time.Now()
	r := hosttest.Run(t, host, so, args...)
	took := time.Since(start)
	requireAllOK(t, r)

	objs := objects(t, m, bucket, "f/", compress.Gzip)
	diff(t, "access", want, lineCounts(objs))

	// Attempts per key, in arrival order.
	attempts := map[string][]time.Time{}
	nput := 0
	for _, q := range px.Requests() {
		if q.Method == http.MethodPut {
			nput++
			attempts[q.Path] = append(attempts[q.Path], q.At)
		}
	}
	faults := px.Faults()
	t.Logf("%d records, %d objects, %d PUTs, %d faults (500 %d, SlowDown %d, reset %d, reset after store %d, stall %d), host ran %v",
		len(lines), len(objs), nput, faults, px.Count(faultproxy.Status500), px.Count(faultproxy.SlowDown503),
		px.Count(faultproxy.Reset), px.Count(faultproxy.ResetAfterUpstream), px.Count(faultproxy.Stall), took.Round(time.Millisecond))
	if faults != faulty {
		t.Fatalf("%d faults injected, planned %d: the test did not exercise what it claims", faults, faulty)
	}
	if len(objs) < 2*faulty {
		t.Errorf("only %d objects for %d faults: faults should hit ~30%% of the uploads, not most", len(objs), faulty)
	}
	if len(attempts) != len(objs) {
		t.Errorf("PUTs went to %d distinct keys, the bucket holds %d objects: a retry changed the key", len(attempts), len(objs))
	}
	// Retries are neither lost nor multiplied: each fault costs exactly one more PUT.
	if nput != len(objs)+faults {
		t.Errorf("%d PUTs for %d objects and %d faults, want exactly %d", nput, len(objs), faults, len(objs)+faults)
	}
	var gaps []time.Duration
	for _, ts := range attempts {
		for i := 1; i < len(ts); i++ {
			gaps = append(gaps, ts[i].Sub(ts[i-1]))
		}
	}
	if len(gaps) == 0 {
		t.Fatal("no key was retried")
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	var sum time.Duration
	for _, g := range gaps {
		sum += g
	}
	mean := sum / time.Duration(len(gaps))
	t.Logf("retry gaps: min %v, median %v, mean %v, max %v", gaps[0], gaps[len(gaps)/2], mean, gaps[len(gaps)-1])
	if mean < time.Millisecond {
		t.Errorf("retries of one key come %v apart on average: backoff is missing", mean)
	}
}

// The bucket does not exist at first: the plugin says so once, naming the bucket,
// keeps the data, and delivers it once the bucket is created, without a restart.
func TestPermanentErrorHeals(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "late-bucket"
	m := env(t, "unrelated-bucket")
	task := chunkgen.DefaultTask()
	lines := accessOnly(gen.New(5).Mixed(1500))
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 50, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Permanent errors are retried every ENVOY_S3_PERMANENT_RETRY (60 s by default).
	t.Setenv("ENVOY_S3_PERMANENT_RETRY", "2s")
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "30s")
	args := append([]string{"--exit", "current"}, instanceArgs(map[string]string{
		"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint,
		"s3_key_format": "late/$UUID", "total_file_size": "64K", "other_logs": "drop",
		"redact_query_params": "none", "redact_detectors": "none",
	})...)
	start := time.Now()
	h := hosttest.Start(t, host, so, args...)
	half := len(files) / 2
	for i, f := range files[:half] {
		if rc := h.Flush(0, f, task.Tag()); rc != hosttest.FLBOK {
			t.Fatalf("flush %d rc %d\n%s", i, rc, h.Stderr())
		}
	}
	// Wait for the plugin to report the missing bucket.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(h.Stderr(), "[error]") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line names the missing bucket %q after 20 s:\n%s", bucket, h.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// More data while the bucket is still missing: accepted, kept, not logged again.
	for i, f := range files[half:] {
		if rc := h.Flush(0, f, task.Tag()); rc != hosttest.FLBOK {
			t.Fatalf("flush %d rc %d\n%s", half+i, rc, h.Stderr())
		}
	}
	time.Sleep(2 * time.Second)
	m.CreateBucket(bucket)
	r := h.Exit()
	took := time.Since(start)
	if r.ExitRC(0) != hosttest.FLBOK {
		t.Fatalf("exit rc %d\n%s", r.ExitRC(0), r.Stderr)
	}
	var named []string
	for _, l := range strings.Split(r.Stderr, "\n") {
		// Init's description of the endpoint names the bucket too, at info level.
		if strings.Contains(l, bucket) && (strings.Contains(l, "[error]") || strings.Contains(l, "[ warn]")) {
			named = append(named, l)
		}
	}
	if len(named) != 1 {
		t.Errorf("want exactly one line naming bucket %q after init, got %d:\n%s", bucket, len(named), strings.Join(named, "\n"))
	} else {
		t.Logf("the one line: %s", named[0])
		if !strings.Contains(named[0], "create it") {
			t.Errorf("the line does not say how to fix it: %s", named[0])
		}
	}
	objs := objects(t, m, bucket, "late/", compress.Gzip)
	t.Logf("%d records in %d objects delivered %v after start", len(lines), len(objs), took.Round(time.Millisecond))
	diff(t, "access", wantAccess(task, lines), lineCounts(objs))
}
