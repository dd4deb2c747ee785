package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/flblog"

	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/cwserver"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// cwEnv starts a loopback CloudWatch Logs server and points the SDK at it.
func cwEnv(t testing.TB) *cwserver.Server {
	t.Helper()
	srv := cwserver.New()
	t.Cleanup(srv.Close)
	srv.Credentials("AKIDTESTCLOUDWATCH", "secret-for-tests", "")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", srv.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTESTCLOUDWATCH")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-for-tests")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return srv
}

// other_logs cloudwatch: every other record reaches its log stream once, in time
// order, as its log line with the redaction rules applied; access logs still go to S3.
func TestOtherLogsToCloudWatch(t *testing.T) {
	for _, storeDir := range []string{"spool", "off"} {
		t.Run(storeDir, func(t *testing.T) {
			srv := cwEnv(t)
			put := &memPut{}
			kv := map[string]string{"other_logs": "cloudwatch", "log_group_name": "/ecs/$CLUSTER/$FAMILY",
				"log_stream_prefix": "$TASK_ID-", "auto_create_group": "true", "compression": "zstd"}
			if storeDir == "off" {
				kv["store_dir"] = "off"
			}
			p := newPipeline(t, kv, put)
			lines := gen.New(8).Mixed(800)
			tag := chunkgen.DefaultTask().Tag()
			if retry, err := p.Flush(chunkOf(t, lines), tag); err != nil || retry {
				t.Fatalf("flush: %v %v", retry, err)
			}
			p.Close(context.Background())
			var want []string
			for _, l := range lines {
				// CloudWatch takes no empty message: those are counted and skipped.
				if !l.IsAccess && len(l.Line) > 0 {
					want = append(want, jsonRoundTrip(string(l.Line)))
				}
			}
			task := chunkgen.DefaultTask()
			got := srv.Events("/ecs/"+task.Cluster+"/"+task.Family, task.TaskID+"-"+tag)
			if len(got) != len(want) {
				t.Fatalf("%d events in CloudWatch, want %d (groups %v, failures %v)", len(got), len(want), srv.Groups(), srv.Failures())
			}
			redacted := 0
			for i, e := range got {
				if i > 0 && e.Timestamp < got[i-1].Timestamp {
					t.Fatalf("events out of time order at %d", i)
				}
				if strings.Contains(e.Message, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0") {
					t.Fatalf("a JWT reached CloudWatch: %s", e.Message)
				}
				if e.Message != want[i] {
					redacted++
				}
			}
			if redacted == len(got) {
				t.Fatalf("no message arrived as sent; first: %q want %q", got[0].Message, want[0])
			}
			for key := range put.objs {
				if !strings.HasPrefix(key, "envoy-access-logs/") {
					t.Errorf("other records also went to S3: %s", key)
				}
			}
			if st := p.Stats(); st.CWBatches == 0 || st.Objects != int64(len(put.objs)) {
				t.Errorf("stats count CloudWatch batches as objects: %+v", st)
			}
			// The generator's one empty line is skipped, and the stats line says so.
			if line := p.StatsLine(); !strings.Contains(line, "cloudwatch_empty_skipped=1 ") ||
				!strings.Contains(line, fmt.Sprintf("cloudwatch_events=%d ", len(want))) {
				t.Errorf("stats line does not account for CloudWatch events: %s", line)
			}
		})
	}
}

// jsonRoundTrip is s as it reads back from JSON: invalid UTF-8 bytes become U+FFFD.
func jsonRoundTrip(s string) string {
	b, _ := json.Marshal(s)
	var out string
	json.Unmarshal(b, &out)
	return out
}

// syncBuf is a log sink safe for the upload workers.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// oneErrorLine checks that logs hold exactly one error line, and that it says each of want.
func oneErrorLine(t *testing.T, logs string, want ...string) {
	t.Helper()
	errs := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "[error]") {
			errs++
			for _, w := range want {
				if !strings.Contains(l, w) {
					t.Errorf("error line does not say %s: %s", w, l)
				}
			}
		}
	}
	if errs != 1 {
		t.Fatalf("want one error line, got %d:\n%s", errs, logs)
	}
}

// A missing group with auto_create_group off is said once, naming the group and the
// fix; the events stay held and arrive once the group exists, without a restart.
func TestCloudWatchMissingGroupHeals(t *testing.T) {
	srv := cwEnv(t)
	g := mapGetter{"bucket": "test-bucket", "region": "us-east-1", "store_dir": t.TempDir(),
		"other_logs": "cloudwatch", "log_group_name": "/ecs/missing", "auto_create_group": "false"}
	cfg, err := config.Parse(g, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuf
	p, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(&logs, "t", flblog.Info), Putter: &memPut{}, SlowRetry: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	lines := gen.New(2).Mixed(200)
	p.Flush(chunkOf(t, lines), "tag")
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(logs.String(), "[error]") {
		if time.Now().After(deadline) {
			t.Fatalf("no error line about the missing group:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(600 * time.Millisecond) // several slow retries
	srv.CreateGroup("/ecs/missing")
	p.Close(context.Background())
	oneErrorLine(t, logs.String(), `"/ecs/missing"`, "auto_create_group")
	want := 0
	for _, l := range lines {
		if !l.IsAccess && len(l.Line) > 0 {
			want++
		}
	}
	if got := len(srv.Events("/ecs/missing", "tag")); got != want {
		t.Fatalf("%d events arrived after the group was created, want %d", got, want)
	}
}

// CloudWatch batches stored while other_logs was cloudwatch stay in store_dir when
// a restart turns it off: one error line says how to send or delete them, and the
// instance goes on (it used to dereference the missing log group's name).
func TestCloudWatchBatchesOfAnEarlierConfiguration(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "http://127.0.0.1:1") // nothing listens
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTESTCLOUDWATCH")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-for-tests")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dir := t.TempDir()
	start := func(log *syncBuf, kv map[string]string) *Pipeline {
		g := mapGetter{"bucket": "test-bucket", "region": "us-east-1", "store_dir": dir}
		for k, v := range kv {
			g[k] = v
		}
		cfg, err := config.Parse(g, nil, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(log, "t", flblog.Info), Putter: &memPut{}, SlowRetry: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	var first syncBuf
	p := start(&first, map[string]string{"other_logs": "cloudwatch", "log_group_name": "/ecs/x"})
	if retry, err := p.Flush(chunkOf(t, gen.New(8).Mixed(200)), "tag"); retry || err != nil {
		t.Fatalf("flush: %v %v", retry, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	p.Close(ctx)
	cancel()
	var log syncBuf
	p = start(&log, nil)
	waitFor(t, "the line about the stored CloudWatch events", &log, func() bool {
		return strings.Contains(log.String(), "turn other_logs cloudwatch or metrics emf back on")
	})
	if retry, err := p.Flush(chunkOf(t, gen.New(9).Mixed(50)), "tag"); retry || err != nil {
		t.Fatalf("flush after: %v %v", retry, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	p.Close(ctx)
	cancel()
	if held, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*.spl")); len(held) == 0 {
		t.Fatalf("the CloudWatch batches are gone from store_dir; log:\n%s", log.String())
	}
}
