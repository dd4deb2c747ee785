package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"github.com/envoy-s3/envoy_s3/test/cputime"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/cwserver"
	"github.com/envoy-s3/envoy_s3/test/emfcheck"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// metricsEvents reads and validates every EMF event of the metrics group.
func metricsEvents(t *testing.T, srv *cwserver.Server, group string) []*emfcheck.Event {
	t.Helper()
	evs, err := emfcheck.FromServer(srv, group)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// s3AccessLines are the access lines of the uncompressed objects in put.
func s3AccessLines(put *memPut) []string {
	put.mu.Lock()
	defer put.mu.Unlock()
	var lines []string
	for k, body := range put.objs {
		if !strings.HasPrefix(k, "envoy-access-logs/") {
			continue
		}
		for _, l := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
			lines = append(lines, string(l))
		}
	}
	return lines
}

// metrics emf: the events of the run validate, and their numbers are those of the
// access logs the same run wrote to S3, in both stores and with every dimension.
func TestMetricsMatchS3(t *testing.T) {
	for _, c := range []struct{ name, storeDir, dims string }{
		{"spool/default", "", ""},
		{"memory/all", "off", "cluster,family,authority,route,status_class,method,protocol"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := cwEnv(t)
			put := &memPut{}
			kv := map[string]string{"compression": "none", "metrics": "emf", "metrics_log_group_name": "/ecs/$CLUSTER/$FAMILY/metrics",
				"auto_create_group": "true", "stats_interval": "0"}
			if c.storeDir != "" {
				kv["store_dir"] = c.storeDir
			}
			dims := strings.Split("cluster,family,authority", ",")
			if c.dims != "" {
				// The generator's paths make over 100 routes; the bound is tested in
				// internal/emf and end to end.
				kv["metrics_dimensions"], kv["metrics_max_routes"] = c.dims, "10000"
				dims = strings.Split(c.dims, ",")
			}
			p := newPipeline(t, kv, put)
			tag := chunkgen.DefaultTask().Tag()
			g := gen.New(21)
			for i := 0; i < 4; i++ {
				if retry, err := p.Flush(chunkOf(t, g.Mixed(1000)), tag); err != nil || retry {
					t.Fatalf("flush: %v %v", retry, err)
				}
			}
			line := p.StatsLine()
			p.Close(context.Background())
			if !strings.Contains(line, "metrics_requests=") || !strings.Contains(line, "metrics_usd_month=") || !strings.Contains(line, "replaces_cloudwatch_lines_usd_month=") {
				t.Errorf("stats line without the metrics' cost: %s", line)
			}
			want, err := emfcheck.FromS3(s3AccessLines(put), dims)
			if err != nil {
				t.Fatal(err)
			}
			evs := metricsEvents(t, srv, "/ecs/prod/backend/metrics")
			if len(evs) == 0 || len(want) == 0 {
				t.Fatalf("%d events, %d series in S3", len(evs), len(want))
			}
			for _, d := range emfcheck.Compare(evs, dims, want) {
				t.Error(d)
			}
		})
	}
}

// Raw output redacts the line, not the parsed entry: routes are still made of the
// redacted path, so no secret becomes a dimension value.
func TestMetricsRoutesRedactedInRawMode(t *testing.T) {
	srv := cwEnv(t)
	put := &memPut{}
	p := newPipeline(t, map[string]string{"output_format": "raw", "metrics": "emf", "metrics_log_group_name": "/m",
		"auto_create_group": "true", "metrics_dimensions": "route", "redact_detectors": "default,email"}, put)
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	line := `[2026-11-24T10:00:00.000Z] "GET /t/` + jwt + `/x?token=abc HTTP/1.1" 200 0 11 1 1 "-" "curl" "req" "backend" "10.0.0.1:80"`
	if retry, err := p.Flush(chunkOf(t, []gen.Labeled{{Line: []byte(line), IsAccess: true}}), "tag"); err != nil || retry {
		t.Fatal(retry, err)
	}
	p.Close(context.Background())
	evs := metricsEvents(t, srv, "/m")
	if len(evs) != 1 || evs[0].Dims["route"] != "GET /t/{redacted}/x" {
		t.Fatalf("events %+v", evs)
	}
}

// BenchmarkFlushMetrics is BenchmarkFlush (gzip) without and with metrics emf: the
// difference in cpu-ns/record is what the metrics cost per access record.
func BenchmarkFlushMetrics(b *testing.B) {
	for _, c := range []struct{ name, dims string }{
		{"off", ""},
		{"emf-default", "cluster,family,authority"},
		{"emf-route", "cluster,family,authority,route"},
		{"emf-all", "cluster,family,authority,route,status_class,method,protocol"},
	} {
		b.Run(c.name, func(b *testing.B) {
			cwEnv(b)
			kv := map[string]string{"compression": "gzip"}
			if c.dims != "" {
				kv = map[string]string{"compression": "gzip", "metrics": "emf", "metrics_log_group_name": "/m",
					"auto_create_group": "true", "metrics_dimensions": c.dims, "metrics_max_routes": "1000"}
			}
			benchFlush(b, kv)
		})
	}
}

// BenchmarkObserve is what metrics emf adds to each access record inside a flush:
// the worker's observe call on a parsed, redacted record (source check, request
// fields, route template, aggregation), for a mix of 1,000 generated access logs.
func BenchmarkObserve(b *testing.B) {
	for _, dims := range []string{"cluster,family,authority", "cluster,family,authority,route", "cluster,family,authority,route,status_class,method,protocol"} {
		b.Run(fmt.Sprint(len(strings.Split(dims, ","))), func(b *testing.B) {
			cwEnv(b)
			p := newPipeline(b, map[string]string{"metrics": "emf", "metrics_log_group_name": "/m", "auto_create_group": "true",
				"metrics_dimensions": dims, "metrics_max_routes": "1000", "stats_interval": "0"}, nopPut{})
			defer p.Close(context.Background())
			var entries []accesslog.Entry
			for _, l := range gen.New(42).Mixed(1300) {
				if l.IsAccess && len(entries) < 1000 {
					var e accesslog.Entry
					if (&accesslog.Parser{}).Parse(l.Line, &e) {
						entries = append(entries, e)
					}
				}
			}
			w := p.workers.Get()
			w.begin("tag")
			w.tag = []byte("ecs-service-connect-AbCd-firelens-0123456789abcdef0123456789abcdef")
			w.vars.Tag, w.vars.Cluster, w.vars.Family = w.tag, []byte("prod"), []byte("backend")
			for i := range entries { // every series exists
				w.observe(&entries[i])
			}
			w.observeAccepted()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cputime.Process()
			for i := 0; i < b.N; i++ {
				w.observe(&entries[i%len(entries)])
				if i%1000 == 999 { // a flush of 1,000 records is accepted
					w.observeAccepted()
				}
			}
			w.observeAccepted()
			cpu := cputime.Process() - cpu0
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/record")
		})
	}
}

// A closed interval is sent while the task runs; a missing metrics group with
// auto_create_group off is one error line naming the group and the fix, and the
// events arrive once the group exists, without a restart.
func TestMetricsMissingGroupHeals(t *testing.T) {
	srv := cwEnv(t)
	g := mapGetter{"bucket": "test-bucket", "region": "us-east-1", "store_dir": t.TempDir(), "stats_interval": "0",
		"metrics": "emf", "metrics_log_group_name": "/ecs/missing-metrics"}
	cfg, err := config.Parse(g, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	var logs syncBuf
	p, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(&logs, "t", flblog.Info), Putter: &memPut{}, SlowRetry: 200 * time.Millisecond, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	p.Flush(chunkOf(t, gen.New(2).Mixed(200)), "tag")
	skew.Store(int64(2 * time.Minute)) // the interval is over: the next tick sends it
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(logs.String(), "[error]") {
		if time.Now().After(deadline) {
			t.Fatalf("no error line about the missing metrics group:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(600 * time.Millisecond) // several slow retries
	srv.CreateGroup("/ecs/missing-metrics")
	p.Close(context.Background())
	oneErrorLine(t, logs.String(), `"/ecs/missing-metrics"`, "auto_create_group")
	evs := metricsEvents(t, srv, "/ecs/missing-metrics")
	requests := 0.0
	for _, e := range evs {
		requests += e.Metrics["Requests"].Value + e.Metrics["TcpConnections"].Value
	}
	if st := p.Stats(); requests != float64(st.Access) || requests == 0 {
		t.Fatalf("metrics count %v requests, the pipeline saw %d access logs", requests, st.Access)
	}
}

// A closed interval waits in store_dir like any batch: CloudWatch refuses it until
// the process stops, and the next start on the same store_dir sends it once.
func TestMetricsClosedIntervalSurvivesRestart(t *testing.T) {
	srv := cwEnv(t)
	dir := t.TempDir()
	g := mapGetter{"bucket": "test-bucket", "region": "us-east-1", "store_dir": dir, "stats_interval": "0",
		"metrics": "emf", "metrics_log_group_name": "/m", "auto_create_group": "true"}
	cfg, err := config.Parse(g, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	srv.Fail("PutLogEvents", -1, 500, "InternalFailure")
	var logs syncBuf
	p, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(&logs, "t", flblog.Info), Putter: &memPut{}, SlowRetry: 100 * time.Millisecond, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	p.Flush(chunkOf(t, gen.New(3).Mixed(300)), "tag")
	access := p.Stats().Access
	skew.Store(int64(2 * time.Minute)) // the interval closes and goes to the store
	deadline := time.Now().Add(15 * time.Second)
	for srv.Requests("PutLogEvents") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the closed interval was never sent:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	p.Close(ctx) // CloudWatch still fails: the batch stays in store_dir
	cancel()
	if n := len(metricsEvents(t, srv, "/m")); n != 0 {
		t.Fatalf("%d events stored while PutLogEvents failed", n)
	}
	srv.ClearFaults()
	p2, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(&logs, "t", flblog.Info), Putter: &memPut{}})
	if err != nil {
		t.Fatal(err)
	}
	p2.Close(context.Background())
	requests := 0.0
	for _, e := range metricsEvents(t, srv, "/m") {
		requests += e.Metrics["Requests"].Value + e.Metrics["TcpConnections"].Value
	}
	if requests != float64(access) {
		t.Fatalf("after the restart the metrics count %v requests, the first run saw %d access logs", requests, access)
	}
}

// A chunk answered RETRY is counted in the route metrics once, when a flush of it is
// finally accepted, as the stats line counts it (not once per attempt).
func TestMetricsCountAcceptedChunksOnce(t *testing.T) {
	g := mapGetter{"bucket": "test-bucket", "region": "us-east-1", "store_dir": "off",
		"total_file_size": "10K", "store_dir_limit_size": "40K", "metrics": "emf", "metrics_log_group_name": "/m"}
	cfg, err := config.Parse(g, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(io.Discard, "t", flblog.Error), Putter: blockingPut{}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		p.Close(ctx)
	}()
	data := chunkOf(t, gen.New(1).Mixed(200))
	retries := 0
	for i := 0; i < 50 && retries < 3; i++ {
		if retry, _ := p.Flush(data, "tag"); retry {
			retries++
		}
	}
	if retries < 3 {
		t.Fatal("a stalled upload never caused RETRY")
	}
	st := p.Stats()
	if got := p.metrics.Stats().Requests; got != st.Access {
		t.Fatalf("route metrics counted %d requests, the accepted flushes hold %d access records (%d RETRYs)", got, st.Access, retries)
	}
}
