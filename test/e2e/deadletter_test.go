package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/deadletter"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

const deadPrefix = "envoy-dead-letter/"

// deadLetters reads every dead letter of bucket: manifest by object key, and checks
// that each object has its manifest and each manifest its object.
func deadLetters(t *testing.T, m *miniotest.Server, bucket string) map[string]deadletter.Manifest {
	t.Helper()
	objs := map[string]bool{}
	mans := map[string]deadletter.Manifest{}
	for _, o := range m.List(bucket, deadPrefix) {
		switch {
		case strings.HasSuffix(o.Key, deadletter.ObjectExt):
			objs[o.Key] = true
		case strings.HasSuffix(o.Key, deadletter.ManifestExt):
			var man deadletter.Manifest
			if err := json.Unmarshal(m.Get(bucket, o.Key), &man); err != nil {
				t.Fatalf("manifest %s: %v", o.Key, err)
			}
			mans[strings.TrimSuffix(o.Key, deadletter.ManifestExt)+deadletter.ObjectExt] = man
		default:
			t.Errorf("unexpected object %s under the dead-letter prefix", o.Key)
		}
	}
	for k := range objs {
		if _, ok := mans[k]; !ok {
			t.Errorf("dead letter %s has no manifest", k)
		}
	}
	for k := range mans {
		if !objs[k] {
			t.Errorf("manifest of %s has no object", k)
		}
	}
	return mans
}

// damagedSpool acknowledges lines for a missing bucket through the real .so, then
// flips a byte in a random DATA segment of one batch file. It returns the records
// of the damaged segment and the segment's bytes.
func damagedSpool(t *testing.T, so, host string, kv map[string]string, lines []gen.Labeled, seed uint64) (lost int, seg []byte) {
	t.Helper()
	task := chunkgen.DefaultTask()
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 40, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	spoolRun(t, so, host, kv, files, task.Tag())
	batches, _ := filepath.Glob(filepath.Join(kv["store_dir"], "*", "*", "*.spl"))
	if len(batches) < 2 {
		t.Fatalf("%d batch files spooled, want several", len(batches))
	}
	data, err := os.ReadFile(batches[0])
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
	segs := dataSegments(data)
	s := segs[rng.IntN(len(segs))]
	lost = bytes.Count(data[s.off+13:s.end], []byte("\n"))
	data[s.off+13+rng.Int64N(s.end-s.off-13)] ^= 0x10
	seg = append([]byte(nil), data[s.off:s.end]...) // as quarantined: the flipped byte too
	if err := os.WriteFile(batches[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	return lost, seg
}

// A quarantined range goes to the bucket under dead_letter_prefix, as it was on
// disk, with a manifest whose records are those the damaged segment held: the
// delivered records and the manifest's account for every record spooled, and
// nothing is left in store_dir. With dead_letter_prefix off the range stays in
// <store_dir>/quarantine/, as before, and the exit line says so.
func TestDeadLetterQuarantinedRange(t *testing.T) {
	so, host := artifacts(t)
	for _, mode := range []string{"on", "off"} {
		t.Run(mode, func(t *testing.T) {
			const bucket = "dead-q"
			m := env(t, "unrelated")
			t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "1s")
			lines := accessOnly(gen.New(51).Mixed(2000))
			store := t.TempDir()
			kv := map[string]string{
				"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint, "store_dir": store,
				"other_logs": "drop", "redact_query_params": "none", "redact_detectors": "none",
				"total_file_size": "200K",
			}
			if mode == "off" {
				kv["dead_letter_prefix"] = "off"
			} else {
				kv["s3_object_tags"] = "stream=$STREAM,cluster=$CLUSTER"
			}
			lost, seg := damagedSpool(t, so, host, kv, lines, 9)
			m.CreateBucket(bucket)
			t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "30s")
			stderr := spoolRun(t, so, host, kv, nil, chunkgen.DefaultTask().Tag())
			delivered := countLines(t, m, bucket, "envoy-access-logs/")
			if delivered != len(lines)-lost {
				t.Fatalf("%d records delivered, want %d (all but the %d of the damaged segment)\n%s", delivered, len(lines)-lost, lost, stderr)
			}
			dead := deadLetters(t, m, bucket)
			left, _ := filepath.Glob(filepath.Join(store, "quarantine", "*.bad"))
			if mode == "off" {
				if len(dead) != 0 || len(left) != 1 {
					t.Fatalf("dead_letter_prefix off: %d dead letters, %d ranges in quarantine; want 0 and 1\n%s", len(dead), len(left), stderr)
				}
				want := fmt.Sprintf("1 quarantined range(s) of %d bytes (about %d records)", len(seg), lost)
				if !strings.Contains(stderr, want) || !strings.Contains(stderr, "dead_letter_prefix is off") {
					t.Fatalf("the exit line does not say %q and why:\n%s", want, stderr)
				}
				return
			}
			if len(dead) != 1 || len(left) != 0 {
				t.Fatalf("%d dead letters, %d ranges left in quarantine; want 1 and 0\n%s", len(dead), len(left), stderr)
			}
			for key, man := range dead {
				if int(man.Records) != lost || !man.RecordsExact || man.Reason != "damaged" || man.Content != deadletter.ContentSpoolBytes ||
					man.ByteRange[1]-man.ByteRange[0] != int64(len(seg)) || man.Bytes != int64(len(seg)) || !strings.HasSuffix(man.SpoolFile, ".spl") || man.PluginVersion == "" {
					t.Fatalf("manifest %+v, want %d exact records of a %d-byte damaged range", man, lost, len(seg))
				}
				t.Logf("%s\n%s", key, m.Get(bucket, strings.TrimSuffix(key, deadletter.ObjectExt)+deadletter.ManifestExt))
				if body := m.Get(bucket, key); !bytes.Equal(body, seg) {
					t.Fatalf("dead letter %s holds %d bytes that are not the damaged segment as it was on disk", key, len(body))
				}
				for k, want := range map[string]string{key: "application/octet-stream", strings.TrimSuffix(key, deadletter.ObjectExt) + deadletter.ManifestExt: "application/json"} {
					head, err := m.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
					if err != nil || aws.ToString(head.ContentType) != want {
						t.Errorf("%s: Content-Type %v (%v), want %s", k, head, err, want)
					}
				}
				tags, err := m.Client().GetObjectTagging(context.Background(), &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				got := map[string]string{}
				for _, tg := range tags.TagSet {
					got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
				}
				if err != nil || got["stream"] != "dead_letter" || got["cluster"] != chunkgen.DefaultTask().Cluster {
					t.Errorf("dead letter %s tagged %v (%v); want stream=dead_letter and its cluster", key, got, err)
				}
				if parts := strings.Split(strings.TrimPrefix(key, deadPrefix), "/"); len(parts) != 3 || parts[0] != chunkgen.DefaultTask().Cluster {
					t.Fatalf("dead letter key %s is not <prefix><cluster>/<task>/<time>-<id>.bin", key)
				}
			}
			if q, _ := os.ReadDir(filepath.Join(store, "quarantine")); len(q) != 0 {
				t.Fatalf("%d files left in quarantine after shipping", len(q))
			}
			if !strings.Contains(stderr, "nothing is left on local disk at exit") {
				t.Fatalf("no exit line saying nothing is left:\n%s", stderr)
			}
			t.Logf("%d records spooled: %d delivered, %d in the dead letter's manifest", len(lines), delivered, lost)
		})
	}
}

// An adopted batch whose recorded bucket no longer exists, with two instances in the
// process (so neither bucket is certain, and none takes it), arrives under the
// adopting instance's dead-letter prefix as the object it would have been, with a
// manifest naming its bucket and key; the manifests account for every record, and
// the stranded directory is gone.
func TestDeadLetterAdoptedBatchOfGoneBucket(t *testing.T) {
	so, host := artifacts(t)
	for _, mode := range []string{"on", "off"} {
		t.Run(mode, func(t *testing.T) { adoptedOfGoneBucket(t, so, host, mode) })
	}
}

func adoptedOfGoneBucket(t *testing.T, so, host, mode string) {
	const good = "dead-good"
	m := env(t, good)
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "1s")
	t.Setenv("ENVOY_S3_PERMANENT_RETRY", "1s")
	task := chunkgen.DefaultTask()
	lines := accessOnly(gen.New(52).Mixed(1500))[:1000]
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 50, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	extra, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, accessOnly(gen.New(53).Mixed(40))[:10], 10, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	base := map[string]string{
		"region": m.Region, "endpoint": m.Endpoint, "store_dir": store,
		"other_logs": "drop", "redact_query_params": "none", "redact_detectors": "none",
	}
	with := func(kv map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range kv {
			out[k] = v
		}
		return out
	}
	spoolRun(t, so, host, with(map[string]string{"bucket": "dead-gone"}), files, task.Tag())
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "30s")
	if mode == "off" {
		base["dead_letter_prefix"] = "off"
		t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "3s") // the batches are refused until the end
	}
	args := append([]string{"--exit", "current"}, instanceArgs(with(map[string]string{"bucket": good}))...)
	args = append(args, instanceArgs(with(map[string]string{"bucket": good, "s3_key_format": "b/$UUID"}))...)
	h := hosttest.Start(t, host, so, args...)
	for _, f := range extra {
		if rc := h.Flush(0, f, task.Tag()); rc != hosttest.FLBOK {
			t.Fatalf("flush rc %d\n%s", rc, h.Stderr())
		}
	}
	r := h.Exit()
	stderr := r.Stderr
	if r.ExitRC(0) != hosttest.FLBOK || r.ExitRC(1) != hosttest.FLBOK {
		t.Fatalf("exit rcs %d %d\n%s", r.ExitRC(0), r.ExitRC(1), stderr)
	}
	dead := deadLetters(t, m, good)
	if n := countLines(t, m, good, "envoy-access-logs/"); n != 10 {
		t.Fatalf("%d records in the access prefix, want only the 10 new ones", n)
	}
	left, _ := filepath.Glob(filepath.Join(store, "*", "*", "*.spl"))
	if mode == "off" {
		// As before: they stay, one line says how to move them, the exit line counts them.
		if len(dead) != 0 || len(left) == 0 || !strings.Contains(stderr, "they stay there") || !strings.Contains(stderr, "1000 records in ") {
			t.Fatalf("dead_letter_prefix off: %d dead letters, %d batch files left\n%s", len(dead), len(left), stderr)
		}
		t.Log(stderr[strings.LastIndex(stderr, "left on local disk at exit"):])
		return
	}
	var records int64
	for key, man := range dead {
		body, err := compress.Decode(compress.Gzip, m.Get(good, key))
		if err != nil {
			t.Fatalf("dead letter %s is not the gzip object it would have been: %v", key, err)
		}
		if n := bytes.Count(body, []byte("\n")); int64(n) != man.Records || man.Reason != deadletter.ReasonGone ||
			man.IntendedBucket != "dead-gone" || !strings.HasPrefix(man.IntendedKey, "envoy-access-logs/") || man.Content != deadletter.ContentObject {
			t.Fatalf("dead letter %s: %d lines, manifest %+v", key, n, man)
		}
		records += man.Records
	}
	if records != 1000 {
		t.Fatalf("the manifests account for %d records, want the 1000 stranded\n%s", records, stderr)
	}
	if len(left) != 0 {
		t.Fatalf("batch files left: %v\n%s", left, stderr)
	}
	if !strings.Contains(stderr, "uploaded as dead letters to s3://"+good+"/"+deadPrefix) || !strings.Contains(stderr, "nothing is left on local disk at exit") {
		t.Fatalf("the log does not tell the story:\n%s", stderr)
	}
}

// S3 unreachable at shutdown (MinIO stopped): the exit line counts the records and
// bytes of the spool batches that stay on disk, and the quarantined range that
// could not be sent as a dead letter, with why.
func TestExitLineCountsWhatStays(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "dead-exit"
	m := env(t, "unrelated")
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "1s")
	lines := accessOnly(gen.New(54).Mixed(2000))
	store := t.TempDir()
	kv := map[string]string{
		"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint, "store_dir": store,
		"other_logs": "drop", "redact_query_params": "none", "redact_detectors": "none",
		"total_file_size": "200K",
	}
	lost, seg := damagedSpool(t, so, host, kv, lines, 11)
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "2s")
	t.Setenv("ENVOY_S3_ATTEMPT_TIMEOUT", "500ms")
	stderr := spoolRun(t, so, host, kv, nil, chunkgen.DefaultTask().Tag())
	var line string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "left on local disk at exit") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no exit line saying what is left:\n%s", stderr)
	}
	for _, want := range []string{
		fmt.Sprintf("%d records in ", len(lines)-lost),
		fmt.Sprintf("1 quarantined range(s) of %d bytes (about %d records)", len(seg), lost),
		"why: ",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("the exit line lacks %q:\n%s", want, line)
		}
	}
	t.Log(line)
}
