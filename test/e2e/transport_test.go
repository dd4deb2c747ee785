package e2e

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
)

// Nothing listens at the endpoint: the first failed upload is logged at once, in
// one line naming the cause and the endpoint (however long the key), and the
// attempts after it are not logged again.
func TestRefusedEndpointLoggedOnceWithCause(t *testing.T) {
	so, host := artifacts(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "4s")
	task := chunkgen.DefaultTask()
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, accessOnly(gen.New(2).Mixed(400)), 100, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("k", 300)
	args := append([]string{"--tag", task.Tag()}, instanceArgs(map[string]string{
		"bucket": "refused-bucket", "region": "us-east-1", "endpoint": "http://" + addr, "store_dir": t.TempDir(),
		"s3_key_format": "refused/" + long + "/$UUID", "total_file_size": "8K", "other_logs": "drop",
	})...)
	for _, f := range files {
		args = append(args, "--flush", f)
	}
	r := hosttest.Run(t, host, so, args...)
	if r.InitRC(0) != hosttest.FLBOK {
		t.Fatalf("init rc %d\n%s", r.InitRC(0), r.Stderr)
	}
	var failed []string
	for _, line := range strings.Split(r.Stderr, "\n") {
		if strings.Contains(line, "failed, retrying") || strings.Contains(line, "still failing") {
			failed = append(failed, line)
		}
	}
	if len(failed) != 1 {
		t.Fatalf("want one line for the failing uploads, got %d:\n%s", len(failed), r.Stderr)
	}
	if !strings.Contains(failed[0], "connection refused (endpoint "+addr+")") {
		t.Fatalf("the line does not name the cause and the endpoint: %s", failed[0])
	}
	if strings.Count(failed[0], long) > 1 {
		t.Fatalf("the line repeats the key: %s", failed[0])
	}
}
