package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"

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
