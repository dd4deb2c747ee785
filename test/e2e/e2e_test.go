// Package e2e drives the real envoy_s3.so through the C stand-in for Fluent Bit's Go
// proxy, into a real MinIO, and reads every object back.
package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/parquetenc"
	"github.com/envoy-s3/envoy_s3/internal/parquetread"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

// env starts MinIO with a bucket and points the AWS SDK's default chain at it.
func env(t testing.TB, bucket string) *miniotest.Server {
	t.Helper()
	m := miniotest.Start(t)
	m.CreateBucket(bucket)
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return m
}

// instanceArgs renders --instance key=value arguments.
func instanceArgs(kv map[string]string) []string {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := []string{"--instance"}
	for _, k := range keys {
		args = append(args, k+"="+kv[k])
	}
	return args
}

// objects downloads and decompresses every object under prefix: key -> lines.
func objects(t *testing.T, m *miniotest.Server, bucket, prefix string, codec compress.Codec) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, o := range m.List(bucket, prefix) {
		if !strings.HasSuffix(o.Key, codec.Ext()) {
			t.Errorf("object %s lacks the %s extension", o.Key, codec.Ext())
		}
		body, err := compress.Decode(codec, m.Get(bucket, o.Key))
		if err != nil {
			t.Fatalf("decompressing %s: %v", o.Key, err)
		}
		text := strings.TrimSuffix(string(body), "\n")
		if text == "" {
			t.Errorf("object %s is empty", o.Key)
			continue
		}
		out[o.Key] = strings.Split(text, "\n")
	}
	return out
}

// parquetObjects downloads every Parquet object of access logs under prefix and
// renders its rows back as the normalised lines they were spooled as: key -> lines.
func parquetObjects(t *testing.T, m *miniotest.Server, bucket, prefix string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, o := range m.List(bucket, prefix) {
		if !strings.HasSuffix(o.Key, parquetenc.Ext) {
			t.Errorf("object %s lacks the %s extension", o.Key, parquetenc.Ext)
		}
		cols, rows, err := parquetread.Rows(m.Get(bucket, o.Key))
		if s, ok := parquetenc.SchemaOf(cols); err != nil || !ok || s != parquetenc.Access {
			t.Fatalf("reading %s: schema %d, %v", o.Key, s, err)
		}
		for _, r := range rows {
			out[o.Key] = append(out[o.Key], string(parquetread.AppendAccessLine(nil, r)))
		}
	}
	return out
}

// expectedAccess renders the normalised line the plugin must write for l.
func expectedAccess(task chunkgen.Task, l gen.Labeled) string {
	x := *l.Want
	for k, v := range task.Meta(chunkgen.Source(l)) {
		x.Set(k, v)
	}
	return string(x.AppendJSON(nil))
}

func TestMixedStreamLandsOnce(t *testing.T) {
	const bucket = "access-logs"
	m := env(t, bucket)
	task := chunkgen.DefaultTask()
	lines := gen.New(7).Mixed(3000)
	start := time.Date(2026, 11, 24, 20, 59, 58, 0, time.UTC) // crosses an hour boundary
	dir := t.TempDir()
	// Half the chunks in the v2 event form, half in the legacy form of Fluent Bit 1.9.
	v2, err := chunkgen.WriteFiles(dir+"/", chunk.Encoder{}, task, lines[:1500], 250, start)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{Form: chunk.FormLegacy}, task, lines[1500:], 250, start.Add(1500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// Both architectures, every codec: the codecs' assembly differs between amd64 and arm64.
	forEachTarget(t, func(t *testing.T, tg hosttest.Target) {
		for _, codec := range []compress.Codec{compress.Gzip, compress.Zstd, compress.None} {
			t.Run(codec.String(), func(t *testing.T) {
				prefix := tg.Arch + "-c-" + codec.String()
				args := instanceArgs(map[string]string{
					"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint,
					"compression":         codec.String(),
					"store_dir":           t.TempDir(),
					"s3_key_format":       prefix + "/access/cluster=$CLUSTER/family=$FAMILY/dt=%Y-%m-%d/hour=%H/$TASK_ID-%Y%m%dT%H%M%SZ-$UUID",
					"other_key_format":    prefix + "/other/$TAG/%Y/%m/%d/%H/$UUID",
					"redact_query_params": "none",
					"redact_detectors":    "none",
				})
				args = append(args, "--tag", task.Tag())
				for _, f := range append(append([]string{}, v2...), legacy...) {
					args = append(args, "--flush", f)
				}
				r := tg.Run(t, args...)
				requireAllOK(t, r)

				wantAccess := map[string]int{}
				wantOther := map[string]int{}
				for _, l := range lines {
					if l.IsAccess {
						wantAccess[expectedAccess(task, l)]++
					} else {
						wantOther[jsonText(l.Line)]++
					}
				}
				keyRE := regexp.MustCompile(`^` + prefix + `/access/cluster=prod/family=backend/dt=2026-11-24/hour=(20|21)/0123456789abcdef0123456789abcdef-20261124T(20|21)\d{4}Z-[0-9a-z]{16}` + regexp.QuoteMeta(codec.Ext()) + `$`)
				gotAccess := map[string]int{}
				for key, ls := range objects(t, m, bucket, prefix+"/access/", codec) {
					if !keyRE.MatchString(key) {
						t.Errorf("access key %q does not follow s3_key_format", key)
					}
					for _, l := range ls {
						gotAccess[l]++
					}
				}
				gotOther := map[string]int{}
				for key, ls := range objects(t, m, bucket, prefix+"/other/", codec) {
					if !strings.HasPrefix(key, prefix+"/other/"+task.Tag()+"/2026/11/24/") {
						t.Errorf("other key %q does not follow other_key_format", key)
					}
					for _, l := range ls {
						var rec map[string]any
						if err := json.Unmarshal([]byte(l), &rec); err != nil {
							t.Fatalf("other object %s holds invalid JSON %q: %v", key, l, err)
						}
						if rec["ecs_task_arn"] != task.TaskARN() {
							t.Errorf("other record lost its FireLens metadata: %v", rec)
						}
						gotOther[fmt.Sprint(rec["log"])]++
					}
				}
				diff(t, "access", wantAccess, gotAccess)
				diff(t, "other", wantOther, gotOther)
			})
		}
	})
}

// requireAllOK fails the test unless instance 0's init, every flush and exit returned FLB_OK.
func requireAllOK(t *testing.T, r *hosttest.Result) {
	t.Helper()
	if r.InitRC(0) != hosttest.FLBOK {
		t.Fatalf("init rc %d\n%s", r.InitRC(0), r.Stderr)
	}
	for i, rc := range r.FlushRCs(0) {
		if rc != hosttest.FLBOK {
			t.Fatalf("flush %d rc %d\n%s", i, rc, r.Stderr)
		}
	}
	if r.ExitRC(0) != hosttest.FLBOK {
		t.Fatalf("exit rc %d\n%s", r.ExitRC(0), r.Stderr)
	}
}

// wantAccess counts the normalised lines the plugin must write for the access lines.
func wantAccess(task chunkgen.Task, lines []gen.Labeled) map[string]int {
	want := map[string]int{}
	for _, l := range lines {
		if l.IsAccess {
			want[expectedAccess(task, l)]++
		}
	}
	return want
}

// lineCounts counts every line of the objects objects returned.
func lineCounts(objs map[string][]string) map[string]int {
	got := map[string]int{}
	for _, ls := range objs {
		for _, l := range ls {
			got[l]++
		}
	}
	return got
}

// jsonText is s as it reads back from JSON: invalid UTF-8 bytes become U+FFFD,
// because a JSON document must be valid UTF-8.
func jsonText(s []byte) string {
	b, _ := json.Marshal(string(s))
	var out string
	json.Unmarshal(b, &out)
	return out
}

// diff reports records missing, duplicated or unexpected.
func diff(t *testing.T, what string, want, got map[string]int) {
	t.Helper()
	missing, extra := 0, 0
	for k, n := range want {
		if got[k] != n {
			missing++
			if missing <= 3 {
				t.Errorf("%s record seen %d times, want %d:\n  %s", what, got[k], n, k)
			}
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			extra++
			if extra <= 3 {
				t.Errorf("unexpected %s record (x%d):\n  %s", what, n, k)
			}
		}
	}
	if missing+extra > 0 {
		t.Fatalf("%s: %d expected records missing or duplicated, %d unexpected (want %d distinct)", what, missing, extra, len(want))
	}
}
