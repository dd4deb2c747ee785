package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
)

// A piece of a split line acknowledged by one flush survives SIGKILL: after a restart
// on the same store_dir, the next piece completes the line (one access log in S3), and
// a piece whose sibling never comes is written as it came at exit (but for the word
// at its cut, redact.Piece). Nothing acknowledged is lost.
func TestPartialPiecesSurviveKill(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "partial-kill"
	m := env(t, bucket)
	task := chunkgen.DefaultTask()
	ts := time.Now().UTC()
	head := fmt.Sprintf(`[%s] "GET /search?q=`, ts.Format("2006-01-02T15:04:05.000Z"))
	long := head + strings.Repeat("q", 30000) + ` HTTP/1.1" 200 0 11 1 1 "-" "curl/8" "req-split" "backend" "10.0.0.1:80"`
	joined := task.Pieces([]byte(long), "stdout", "joined-after-kill", chunkgen.DockerPartSize)
	orphan := task.Pieces([]byte(strings.Repeat("word ", 4000)), "stdout", "orphan", chunkgen.DockerPartSize)
	dir := t.TempDir()
	write := func(name string, recs ...[]chunk.KV) string {
		data, err := chunkgen.Records(chunk.Encoder{}, recs, ts)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := write("first", joined[0], orphan[0])
	second := write("second", joined[1])
	args := instanceArgs(map[string]string{
		"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint, "store_dir": t.TempDir(), "compression": "none",
	})
	h := hosttest.Start(t, host, so, args...)
	if rc := h.Flush(0, first, task.Tag()); rc != hosttest.FLBOK {
		t.Fatalf("flush rc %d\n%s", rc, h.Stderr())
	}
	h.Kill() // the chunk was acknowledged: Fluent Bit will not send it again
	r := hosttest.Start(t, host, so, args...)
	if rc := r.Flush(0, second, task.Tag()); rc != hosttest.FLBOK {
		t.Fatalf("flush rc %d after restart\n%s", rc, r.Stderr())
	}
	res := r.Exit()
	if res.ExitRC(0) != hosttest.FLBOK {
		t.Fatalf("exit rc %d\n%s", res.ExitRC(0), res.Stderr)
	}
	var access, other []map[string]any
	for key, lines := range objects(t, m, bucket, "", compress.None) {
		for _, l := range lines {
			var rec map[string]any
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			if strings.HasPrefix(key, "envoy-access-logs/") {
				access = append(access, rec)
			} else {
				other = append(other, rec)
			}
		}
	}
	if len(access) != 1 || access[0]["request_id"] != "req-split" || len(access[0]["path"].(string)) < 30000 {
		t.Fatalf("want the split line once, whole, as an access log; got %d access records", len(access))
	}
	// As it came, but for the word at its cut, which could be half a secret.
	if want := strings.Repeat("word ", chunkgen.DockerPartSize/5) + "[REDACTED]"; len(other) != 1 || other[0]["partial_id"] != "orphan" || other[0]["log"] != want {
		t.Fatalf("want the orphan piece once, as it came but for the word at its cut; got %d other records", len(other))
	}
	if !strings.Contains(res.Stderr, "piece(s) of split records in store_dir from an earlier run") {
		t.Errorf("the restart did not say it found held pieces:\n%s", res.Stderr)
	}
}
