package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/adopt"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// world is a set of in-memory buckets; a bucket it lacks answers like S3's
// NoSuchBucket, a permanent error.
type world struct {
	mu      sync.Mutex
	buckets map[string]*memPut
}

type noSuchBucket string

func (e noSuchBucket) Error() string                   { return "NoSuchBucket: " + string(e) }
func (e noSuchBucket) PermanentRemedy() (string, bool) { return "create bucket " + string(e), true }

type worldPut struct {
	w      *world
	bucket string
}

func (p worldPut) Put(ctx context.Context, key string, body delivery.Body) error {
	p.w.mu.Lock()
	b := p.w.buckets[p.bucket]
	p.w.mu.Unlock()
	if b == nil {
		return noSuchBucket(p.bucket)
	}
	return b.Put(ctx, key, body)
}

func (w *world) create(bucket string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buckets == nil {
		w.buckets = map[string]*memPut{}
	}
	w.buckets[bucket] = &memPut{}
}

// lines counts the NDJSON lines in bucket under prefix.
func (w *world) lines(bucket, prefix string) int {
	w.mu.Lock()
	b := w.buckets[bucket]
	w.mu.Unlock()
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for k, body := range b.objs {
		if strings.HasPrefix(k, prefix) {
			n += bytes.Count(body, []byte("\n"))
		}
	}
	return n
}

func (w *world) start(t *testing.T, root string, reg *adopt.Registry, log *syncBuf, kv map[string]string) *Pipeline {
	t.Helper()
	g := mapGetter{"region": "us-east-1", "store_dir": root, "compression": "none", "redact_detectors": "none"}
	for k, v := range kv {
		g[k] = v
	}
	cfg, err := config.Parse(g, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, Options{
		Name: "t", Log: flblog.NewWriter(log, "t", flblog.Info),
		Putter: worldPut{w, cfg.Bucket}, SlowRetry: 20 * time.Millisecond,
		registry: reg, newPutter: func(c *config.Config) (delivery.Putter, error) { return worldPut{w, c.Bucket}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// acknowledge flushes n access records and leaves them in the spool: the bucket is
// missing, so nothing is uploaded before Close gives up.
func (w *world) acknowledge(t *testing.T, root string, kv map[string]string, n int) {
	t.Helper()
	var log syncBuf
	p := w.start(t, root, &adopt.Registry{}, &log, kv)
	if retry, err := p.Flush(chunkOf(t, gen.New(9).Mixed(n)), chunkgen.DefaultTask().Tag()); err != nil || retry {
		t.Fatalf("flush: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	p.Close(ctx)
}

func waitFor(t *testing.T, what string, log *syncBuf, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s; log:\n%s", what, log.String())
		}
	}
}

func strandedDirs(t *testing.T, root string) []string {
	var out []string
	m, _ := filepath.Glob(filepath.Join(root, "envoy_s3_*", "*", "*.spl"))
	for _, f := range m {
		out = append(out, filepath.Dir(filepath.Dir(f)))
	}
	return out
}

// A newcomer's case: 1,000 records acknowledged for a misspelt bucket,
// then the name fixed. The old directory is adopted, its bucket refuses, this process
// has one instance, so the records go to the fixed bucket; one line says so.
func TestStrandedSpoolRedirectedWhenAlone(t *testing.T) {
	w := &world{}
	w.create("acme-access-logs")
	root := t.TempDir()
	w.acknowledge(t, root, map[string]string{"bucket": "acme-acess-logs"}, 1000)
	if len(strandedDirs(t, root)) == 0 {
		t.Fatal("nothing left in the spool to adopt")
	}
	var log syncBuf
	reg := &adopt.Registry{}
	p := w.start(t, root, reg, &log, map[string]string{"bucket": "acme-access-logs"})
	p.Flush(chunkOf(t, gen.New(10).Mixed(10)), chunkgen.DefaultTask().Tag()) // every instance is up
	waitFor(t, "the adopted records", &log, func() bool { return w.lines("acme-access-logs", "") >= 1000 })
	p.Close(context.Background())
	if got := w.lines("acme-access-logs", ""); got != 1010 {
		t.Fatalf("bucket holds %d lines, want 1000 adopted + 10 new", got)
	}
	out := log.String()
	if strings.Count(out, "adopted spool directory") != 2 || !strings.Contains(out, "1000 records; uploading them to bucket acme-acess-logs") ||
		!strings.Contains(out, "so they go to its bucket acme-access-logs") {
		t.Fatalf("log does not tell the story:\n%s", out)
	}
	if left := strandedDirs(t, root); len(left) != 0 {
		t.Fatalf("batch files left in %v", left)
	}
}

// With two instances in the process, a refused recorded bucket keeps the batches
// where they are: no instance's bucket is certain. One error line says how to move
// them.
func TestStrandedSpoolStaysWithTwoInstances(t *testing.T) {
	w := &world{}
	w.create("acme-access-logs")
	w.create("other-team")
	root := t.TempDir()
	w.acknowledge(t, root, map[string]string{"bucket": "acme-acess-logs"}, 1000)
	var log syncBuf
	reg := &adopt.Registry{}
	a := w.start(t, root, reg, &log, map[string]string{"bucket": "acme-access-logs"})
	b := w.start(t, root, reg, &log, map[string]string{"bucket": "other-team", "s3_key_format": "b/$UUID"})
	a.Flush(chunkOf(t, gen.New(10).Mixed(10)), chunkgen.DefaultTask().Tag())
	waitFor(t, "the stuck line", &log, func() bool { return strings.Contains(log.String(), "they stay there") })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	a.Close(ctx)
	b.Close(ctx)
	if n := w.lines("acme-access-logs", "") + w.lines("other-team", ""); n != 10 {
		t.Fatalf("%d lines uploaded, want only the 10 new ones", n)
	}
	if strings.Count(log.String(), "they stay there") != 1 || !strings.Contains(log.String(), "move ") {
		t.Fatalf("want one line saying where the batches are and how to move them:\n%s", log.String())
	}
	if len(strandedDirs(t, root)) == 0 {
		t.Fatal("the stranded batches were removed")
	}
}

// A changed key format with the same, working bucket: the batches go to the
// recorded bucket under the keys of the format they were acknowledged with.
func TestStrandedSpoolGoesToRecordedDestination(t *testing.T) {
	w := &world{}
	root := t.TempDir()
	w.acknowledge(t, root, map[string]string{"bucket": "logs", "s3_key_format": "old/$UUID"}, 500)
	w.create("logs")
	w.create("new-logs")
	var log syncBuf
	reg := &adopt.Registry{}
	p := w.start(t, root, reg, &log, map[string]string{"bucket": "new-logs", "s3_key_format": "new/$UUID"})
	p.Flush(chunkOf(t, gen.New(10).Mixed(10)), chunkgen.DefaultTask().Tag())
	waitFor(t, "the adopted records", &log, func() bool { return w.lines("logs", "") >= 500 })
	p.Close(context.Background())
	if got := w.lines("logs", ""); got != 500 || w.lines("logs", "old/") == 0 {
		t.Fatalf("recorded bucket holds %d lines, want 500, access ones under old/", got)
	}
	if got := w.lines("new-logs", ""); got != 10 {
		t.Fatalf("current bucket holds %d lines, want only its own 10", got)
	}
	if strings.Contains(log.String(), "go to its bucket") {
		t.Fatal("redirected although the recorded bucket accepts")
	}
	if _, err := os.Stat(root); err != nil {
		t.Fatal(err)
	}
}

// Every configuration an instance can run with is recorded so that it parses back to
// the same destination (a key recorded out of place, or a value whose validity
// depends on another key, would strand the directory).
func TestDestinationRecordRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	defer func() {
		for _, k := range adopt.DestinationKeys {
			if !seen[k] {
				t.Errorf("adopt.DestinationKeys lists %q, which no record held", k)
			}
		}
	}()
	for _, kv := range []map[string]string{
		{},
		{"format": "parquet", "compression": "snappy", "output_format": "normalized"},
		{"other_logs": "cloudwatch", "log_group_name": "/ecs/x", "log_stream_prefix": "p-", "auto_create_group": "true", "log_retention_days": "7"},
		{"other_logs": "drop", "s3_key_format": "a/$TAG/$UUID", "endpoint": "http://127.0.0.1:9000", "total_file_size": "2G", "store_dir_limit_size": "0"},
		{"server_side_encryption": "aws:kms", "sse_kms_key_id": "arn:aws:kms:us-east-1:123456789012:key/x", "bucket_key_enabled": "true", "send_content_md5": "true", "storage_class": "STANDARD_IA", "canned_acl": "bucket-owner-full-control", "expected_bucket_owner": "123456789012", "role_arn": "arn:aws:iam::123456789012:role/r", "external_id": "ext", "sts_endpoint": "https://sts.eu-west-1.amazonaws.com"},
		{"other_logs": "cloudwatch", "log_group_name": "/ecs/y", "log_stream_name": "fixed"},
		{"checksum_algorithm": "sha1", "s3_object_tags": "service=$FAMILY,stream=$STREAM"},
	} {
		g := mapGetter{"bucket": "logs-bucket", "region": "eu-west-1", "store_dir": t.TempDir()}
		for k, v := range kv {
			g[k] = v
		}
		cfg, err := config.Parse(g, nil, func(string) string { return "" })
		if err != nil {
			t.Fatalf("%v: %v", kv, err)
		}
		rec := adopt.Record(cfg)
		var keys map[string]any
		if err := json.Unmarshal(rec, &keys); err != nil {
			t.Fatal(err)
		}
		for k := range keys {
			if !slices.Contains(adopt.DestinationKeys, k) {
				t.Errorf("%v: the record holds %q, which adopt.DestinationKeys does not list", kv, k)
			}
			seen[k] = true
		}
		back, err := adopt.ParseRecord(rec, cfg.StoreDir)
		if err != nil {
			t.Fatalf("%v: the record does not parse back: %v", kv, err)
		}
		if identityOf(back) != identityOf(cfg) || back.Format != cfg.Format || back.Compression != cfg.Compression ||
			back.OtherLogs != cfg.OtherLogs || back.LogGroupName != cfg.LogGroupName || back.ServerSideEncryption != cfg.ServerSideEncryption ||
			back.Region != cfg.Region || back.RoleARN != cfg.RoleARN || back.StorageClass != cfg.StorageClass ||
			back.ChecksumAlgorithm != cfg.ChecksumAlgorithm || back.S3ObjectTags != cfg.S3ObjectTags || back.SendContentMD5 != cfg.SendContentMD5 {
			t.Fatalf("%v: parsed back to another destination:\n%+v\n%+v", kv, cfg, back)
		}
	}
}
