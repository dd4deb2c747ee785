package pipeline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/cwserver"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// cwEnv starts a loopback CloudWatch Logs server and points the SDK at it.
func cwEnv(t *testing.T) *cwserver.Server {
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
