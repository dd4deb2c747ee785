package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/cwserver"
	"github.com/envoy-s3/envoy_s3/test/emfcheck"
	"github.com/envoy-s3/envoy_s3/test/faultproxy"
	"github.com/envoy-s3/envoy_s3/test/filterpattern"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

// alarm is the part of CloudWatch's PutMetricAlarm input that docker/alarms uses,
// as `aws cloudwatch put-metric-alarm --cli-input-json` reads it.
type alarm struct {
	AlarmName, AlarmDescription, Namespace, MetricName, Statistic string
	Dimensions                                                    []struct{ Name, Value string }
	Period, EvaluationPeriods, DatapointsToAlarm                  int
	Threshold                                                     float64
	ComparisonOperator, TreatMissingData                          string
	AlarmActions                                                  []string
}

// decodeStrict decodes a JSON file into v, refusing members v does not have.
func decodeStrict(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// The health series of a run through the real .so, with S3 first unreachable
// (store_dir fills, flushes are refused, a batch waits), then refusing with
// AccessDenied, then back: its events arrive in CloudWatch Logs while S3 is down,
// validate as EMF and show each problem; every alarm in docker/alarms names a
// metric, namespace and dimensions these events (or the documented metric filters)
// have, and each metric filter matches the plugin's real log lines of a problem
// and none of a healthy stats line.
func TestHealthSeriesAlarmsAndFilters(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "health"
	m := env(t, bucket)
	proxy, err := faultproxy.Start(m.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	cw := cwserver.New()
	defer cw.Close()
	cw.Credentials(m.AccessKey, m.SecretKey, "")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", cw.URL())
	t.Setenv("ENVOY_S3_PERMANENT_RETRY", "1s")
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "30s")
	task := chunkgen.DefaultTask()
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, gen.New(41).Mixed(6000), 100, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h := hosttest.Start(t, host, so, instanceArgs(map[string]string{
		"bucket": bucket, "region": m.Region, "endpoint": proxy.URL(), "store_dir": t.TempDir(),
		"store_dir_limit_size": "200K", "total_file_size": "20K", "upload_timeout": "1s", "stats_interval": "1s",
		"metrics": "emf", "metrics_log_group_name": "/ecs/$CLUSTER/$FAMILY/metrics", "auto_create_group": "true",
	})...)
	const group = "/ecs/prod/backend/metrics"
	var refused []string
	flush := func(f string) {
		switch rc := h.Flush(0, f, task.Tag()); rc {
		case hosttest.FLBOK:
		case hosttest.FLBRetry:
			refused = append(refused, f)
		default:
			t.Fatalf("flush rc %d\n%s", rc, h.Stderr())
		}
	}
	next := 0
	for ; next < 5; next++ { // S3 up
		flush(files[next])
	}
	time.Sleep(1500 * time.Millisecond)

	// S3 unreachable: the spool fills, flushes are refused.
	proxy.SetPlan(func(int, *http.Request) faultproxy.Fault { return faultproxy.Reset })
	for ; next < len(files)/2 && len(refused) < 5; next++ {
		flush(files[next])
	}
	if len(refused) == 0 {
		t.Fatalf("store_dir never filled\n%s", h.Stderr())
	}
	// The health series arrives while S3 is still down.
	deadline := time.Now().Add(15 * time.Second)
	for {
		evs, err := emfcheck.HealthFromServer(cw, group)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(evs, func(e *emfcheck.Event) bool { return e.Metrics["Backpressure"].Value > 0 }) &&
			slices.ContainsFunc(evs, func(e *emfcheck.Event) bool { return e.Metrics["OldestBatchAge"].Value > 2 }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no health event with Backpressure and OldestBatchAge while S3 is down (%d events)\n%s", len(evs), h.Stderr())
		}
		for _, f := range refused[:1] { // Fluent Bit retries
			if h.Flush(0, f, task.Tag()) == hosttest.FLBOK {
				refused = refused[1:]
			}
		}
		time.Sleep(300 * time.Millisecond)
	}

	// S3 refuses: an error the user must fix.
	proxy.SetPlan(func(int, *http.Request) faultproxy.Fault { return faultproxy.Status403AccessDenied })
	deadline = time.Now().Add(60 * time.Second) // the next attempt may wait out a backoff of up to 30 s
	for proxy.Count(faultproxy.Status403AccessDenied) == 0 || !strings.Contains(h.Stderr(), "uploads_refused") {
		if time.Now().After(deadline) {
			t.Fatalf("no refused upload in the stats line\n%s", h.Stderr())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// S3 back: everything drains.
	proxy.SetPlan(nil)
	for ; next < len(files); next++ {
		flush(files[next])
	}
	deadline = time.Now().Add(60 * time.Second)
	for len(refused) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d chunks still refused a minute after S3 came back\n%s", len(refused), h.Stderr())
		}
		if h.Flush(0, refused[0], task.Tag()) == hosttest.FLBOK {
			refused = refused[1:]
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
	time.Sleep(1500 * time.Millisecond) // a healthy stats line
	if r := h.Exit(); r.ExitRC(0) != hosttest.FLBOK {
		t.Fatalf("exit rc %d\n%s", r.ExitRC(0), r.Stderr)
	}
	logLines := strings.Split(h.Stderr(), "\n")

	evs, err := emfcheck.HealthFromServer(cw, group)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < 3 {
		t.Fatalf("%d health events", len(evs))
	}
	var records float64
	seen := map[string]bool{}
	for _, e := range evs {
		if e.Namespace != config.DefaultMetricsNamespace || !slices.Equal(e.Dimensions, []string{"cluster", "family"}) ||
			e.Dims["cluster"] != "prod" || e.Dims["family"] != "backend" {
			t.Fatalf("health event %+v", e)
		}
		records += e.Metrics["RecordsIn"].Value
		for name, mt := range e.Metrics {
			if mt.Value > 0 {
				seen[name] = true
			}
		}
	}
	for _, name := range []string{"RecordsIn", "RecordsStored", "UploadRetries", "Backpressure", "RefusedUploads", "SpoolBytes", "OldestBatchAge"} {
		if !seen[name] {
			t.Errorf("no health event shows %s above 0", name)
		}
	}
	if records == 0 || records > 6000 {
		t.Errorf("the health events count %v records in; 6,000 were sent", records)
	}
	if route, err := emfcheck.FromServer(cw, group); err != nil || slices.ContainsFunc(route, func(e *emfcheck.Event) bool { return e.Metrics["RecordsIn"].Name != "" }) {
		t.Errorf("health events among the route metrics (%v)", err)
	}

	checkAlarmsAndFilters(t, evs[0], logLines)
}

// checkAlarmsAndFilters checks docker/alarms against a health event and the log
// lines of a run that went through each problem.
func checkAlarmsAndFilters(t *testing.T, ev *emfcheck.Event, logLines []string) {
	root, err := miniotest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	deploy, err := os.ReadFile(filepath.Join(root, "docker", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(root, "docker", "alarms", "*.json"))
	filterMetrics := map[string]bool{}
	var alarms []string
	for _, p := range paths {
		name := "docker/alarms/" + filepath.Base(p)
		if !bytes.Contains(deploy, []byte("file://"+name)) {
			t.Errorf("docker/README.md has no command using %s", name)
		}
		if !strings.Contains(name, "-filter-") {
			alarms = append(alarms, p)
			continue
		}
		var in cloudwatchlogs.PutMetricFilterInput
		decodeStrict(t, p, &in)
		if len(in.MetricTransformations) != 1 || in.FilterPattern == nil {
			t.Fatalf("%s: one metric transformation and a pattern, please", name)
		}
		mt := in.MetricTransformations[0]
		filterMetrics[*mt.MetricNamespace+" "+*mt.MetricName] = true
		pat, err := filterpattern.Parse(*in.FilterPattern)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		matched := 0
		for _, l := range logLines {
			if !pat.Match(l) {
				continue
			}
			matched++
			if strings.Contains(l, " health=ok ") {
				t.Errorf("%s matches a healthy stats line: %s", name, l)
			}
		}
		if matched == 0 {
			t.Errorf("%s (%s) matches no line of a run that went through its problem", name, *in.FilterPattern)
		}
	}
	defaults, err := config.Parse(mapGetter{"bucket": "bucket-b", "region": "us-east-1"}, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range alarms {
		name := "docker/alarms/" + filepath.Base(p)
		var a alarm
		decodeStrict(t, p, &a)
		if a.Period != 60 || a.EvaluationPeriods < a.DatapointsToAlarm || a.DatapointsToAlarm < 1 || a.ComparisonOperator != "GreaterThanThreshold" {
			t.Errorf("%s: %+v", name, a)
		}
		if a.Namespace != ev.Namespace {
			if !filterMetrics[a.Namespace+" "+a.MetricName] {
				t.Errorf("%s: %s %s is neither a health metric nor a metric filter's", name, a.Namespace, a.MetricName)
			}
			continue
		}
		if _, ok := ev.Metrics[a.MetricName]; !ok {
			t.Errorf("%s: the health events have no metric %s", name, a.MetricName)
		}
		var dims []string
		for _, d := range a.Dimensions {
			dims = append(dims, d.Name)
		}
		if !slices.Equal(dims, ev.Dimensions) {
			t.Errorf("%s: dimensions %v, the health events have %v", name, dims, ev.Dimensions)
		}
		if a.MetricName == "OldestBatchAge" && a.Threshold != 2*defaults.UploadTimeout.Seconds() {
			t.Errorf("%s: threshold %v, want twice the default upload_timeout (%v)", name, a.Threshold, defaults.UploadTimeout)
		}
	}
}
