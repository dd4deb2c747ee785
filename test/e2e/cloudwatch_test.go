package e2e

import (
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/cwserver"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
)

// other_logs cloudwatch through the real .so: while PutLogEvents fails, flushes are
// still acknowledged (the events are in store_dir); the process is killed, restarted
// on the same store_dir, and every event reaches its log stream exactly once.
func TestCloudWatchEventsSurviveRestart(t *testing.T) {
	so, host := artifacts(t)
	m := env(t, "cw-access")
	cw := cwserver.New()
	defer cw.Close()
	cw.Credentials(m.AccessKey, m.SecretKey, "")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", cw.URL())
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "20s")
	task := chunkgen.DefaultTask()
	lines := gen.New(13).Mixed(1200)
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 100, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	args := instanceArgs(map[string]string{
		"bucket": "cw-access", "region": m.Region, "endpoint": m.Endpoint, "store_dir": t.TempDir(),
		"other_logs": "cloudwatch", "log_group_name": "/ecs/backend/proxy", "auto_create_group": "true",
		"log_retention_days": "7", "log_group_class": "INFREQUENT_ACCESS",
		// Messages are compared exactly; their redaction is proven in internal/pipeline.
		"redact_query_params": "none", "redact_detectors": "none",
	})
	cw.Fail("PutLogEvents", -1, 500, "InternalFailure")
	h := hosttest.Start(t, host, so, args...)
	for _, f := range files {
		if rc := h.Flush(0, f, task.Tag()); rc != hosttest.FLBOK {
			t.Fatalf("flush rc %d while CloudWatch fails: the flush must not wait on it\n%s", rc, h.Stderr())
		}
	}
	// CloudWatch batches seal after 5 s and fail to send; the first attempt
	// creates the group and sets its retention before PutLogEvents fails. Kill
	// only once it has (a loaded machine may take longer than the 5 s): a kill
	// between CreateLogGroup and PutRetentionPolicy leaves the group without
	// retention, which this test is not about.
	time.Sleep(6 * time.Second)
	for deadline := time.Now().Add(30 * time.Second); cw.Retention("/ecs/backend/proxy") == 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	h.Kill()
	if n := len(cw.Events("/ecs/backend/proxy", task.Tag())); n != 0 {
		t.Fatalf("%d events delivered while PutLogEvents failed", n)
	}
	cw.ClearFaults()
	r := hosttest.Start(t, host, so, args...).Exit()
	if r.ExitRC(0) != hosttest.FLBOK {
		t.Fatalf("exit rc %d\n%s", r.ExitRC(0), r.Stderr)
	}
	want := map[string]int{}
	for _, l := range lines {
		if !l.IsAccess && len(l.Line) > 0 {
			want[jsonText(l.Line)]++
		}
	}
	got := map[string]int{}
	for _, e := range cw.Events("/ecs/backend/proxy", task.Tag()) {
		got[e.Message]++
	}
	if cw.Retention("/ecs/backend/proxy") != 7 || cw.Class("/ecs/backend/proxy") != "INFREQUENT_ACCESS" {
		t.Errorf("group created with retention %d, class %q", cw.Retention("/ecs/backend/proxy"), cw.Class("/ecs/backend/proxy"))
	}
	diff(t, "cloudwatch", want, got)
}
