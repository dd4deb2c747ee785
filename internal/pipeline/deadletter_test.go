package pipeline

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/adopt"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/deadletter"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

// minioPipeline starts an instance writing to bucket of m through a real S3 client.
func minioPipeline(t *testing.T, m *miniotest.Server, root string, reg *adopt.Registry, log *syncBuf, kv map[string]string) *Pipeline {
	t.Helper()
	g := mapGetter{"region": m.Region, "endpoint": m.Endpoint, "store_dir": root, "compression": "none", "redact_detectors": "none", "other_logs": "drop"}
	for k, v := range kv {
		g[k] = v
	}
	cfg, err := config.Parse(g, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(log, "t", flblog.Info), SlowRetry: 50 * time.Millisecond, registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The two kinds of dead letter at pipeline level, against a real MinIO (and under
// the race detector, which the e2e tests through the .so cannot give): records
// acknowledged for a bucket that is gone, one of their segments then damaged, and
// two instances, so none takes them. The damaged segment's range and the adopted
// batches arrive under the dead-letter prefix, and the manifests account for every
// record acknowledged; nothing is left on disk.
func TestDeadLettersAccountForEveryRecord(t *testing.T) {
	m := miniotest.Start(t)
	m.CreateBucket("good")
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	root := t.TempDir()

	var log syncBuf
	old := minioPipeline(t, m, root, &adopt.Registry{}, &log, map[string]string{"bucket": "gone"})
	if retry, err := old.Flush(chunkOf(t, gen.New(61).Mixed(600)), chunkgen.DefaultTask().Tag()); err != nil || retry {
		t.Fatalf("flush: %v", err)
	}
	acked := old.Stats().Access
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	old.Close(ctx)
	cancel()

	// Flip a byte in the middle of the first DATA segment of a stranded batch.
	files, _ := filepath.Glob(filepath.Join(root, "envoy_s3_*", "*", "*.spl"))
	if len(files) == 0 {
		t.Fatal("nothing stranded")
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	for off := 8; off+13 <= len(data); {
		n := int(binary.LittleEndian.Uint32(data[off+1:]))
		if data[off] == 2 {
			data[off+13+n/2] ^= 0x10
			break
		}
		off += 13 + n
	}
	if err := os.WriteFile(files[0], data, 0o600); err != nil {
		t.Fatal(err)
	}

	reg := &adopt.Registry{}
	a := minioPipeline(t, m, root, reg, &log, map[string]string{"bucket": "good"})
	b := minioPipeline(t, m, root, reg, &log, map[string]string{"bucket": "good", "s3_key_format": "b/$UUID"})
	a.Flush(chunkOf(t, gen.New(62).Mixed(5)), chunkgen.DefaultTask().Tag()) // every instance is up
	var records int64
	var kinds map[string]bool
	waitFor(t, "dead letters of every record", &log, func() bool {
		records, kinds = 0, map[string]bool{}
		for _, o := range m.List("good", config.DefaultDeadLetterPrefix) {
			if !strings.HasSuffix(o.Key, deadletter.ManifestExt) {
				continue
			}
			var man deadletter.Manifest
			if json.Unmarshal(m.Get("good", o.Key), &man) != nil {
				return false
			}
			records += man.Records
			kinds[man.Reason] = true
		}
		return records >= acked && len(kinds) == 2
	})
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.Close(ctx)
	b.Close(ctx)
	if records != acked || !kinds["damaged"] || !kinds[deadletter.ReasonGone] {
		t.Fatalf("manifests account for %d records of kinds %v, want the %d acknowledged, damaged and gone\n%s", records, kinds, acked, log.String())
	}
	line, left := ExitLine([]*Pipeline{a, b})
	if left || !strings.Contains(line, "nothing is left on local disk at exit") {
		t.Fatalf("exit line %q", line)
	}
	if q, _ := filepath.Glob(filepath.Join(root, "quarantine", "*")); len(q) != 0 {
		t.Fatalf("left in quarantine: %v", q)
	}
}
