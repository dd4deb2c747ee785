package e2e

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/cwserver"
	"github.com/envoy-s3/envoy_s3/test/emfcheck"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

// metricsRun sends lines through the real .so with metrics emf and returns the
// validated EMF events, the access lines that landed in S3 and the host's stderr.
func metricsRun(t *testing.T, m *miniotest.Server, bucket string, lines []gen.Labeled, kv map[string]string) ([]*emfcheck.Event, []string, string) {
	t.Helper()
	so, host := artifacts(t)
	cw := cwserver.New()
	defer cw.Close()
	cw.Credentials(m.AccessKey, m.SecretKey, "")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", cw.URL())
	task := chunkgen.DefaultTask()
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 500, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{
		"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint, "store_dir": t.TempDir(), "compression": "zstd",
		"metrics": "emf", "metrics_log_group_name": "/ecs/$CLUSTER/$FAMILY/metrics", "auto_create_group": "true",
	}
	for k, v := range kv {
		all[k] = v
	}
	args := append(instanceArgs(all), "--tag", task.Tag())
	for _, f := range files {
		args = append(args, "--flush", f)
	}
	r := hosttest.Run(t, host, so, args...)
	if r.InitRC(0) != hosttest.FLBOK || r.ExitRC(0) != hosttest.FLBOK {
		t.Fatalf("init rc %d, exit rc %d\n%s", r.InitRC(0), r.ExitRC(0), r.Stderr)
	}
	for i, rc := range r.FlushRCs(0) {
		if rc != hosttest.FLBOK {
			t.Fatalf("flush %d rc %d\n%s", i, rc, r.Stderr)
		}
	}
	evs, err := emfcheck.FromServer(cw, "/ecs/prod/backend/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var access []string
	for _, ls := range objects(t, m, bucket, "envoy-access-logs/", compress.Zstd) {
		access = append(access, ls...)
	}
	return evs, access, r.Stderr
}

// The EMF events of a run through the real .so validate against the format's
// rules and carry the numbers of the access logs the same run wrote to S3: counts
// and sums exactly, p50/p90/p99 within the distribution's resolution.
func TestMetricsMatchS3ThroughHost(t *testing.T) {
	m := env(t, "metrics")
	for _, dims := range []string{"cluster,family,authority", "cluster,family,authority,route,status_class,method,protocol"} {
		name := fmt.Sprintf("dims-%d", len(strings.Split(dims, ",")))
		t.Run(name, func(t *testing.T) {
			m.CreateBucket("metrics-" + name)
			evs, access, stderr := metricsRun(t, m, "metrics-"+name, gen.New(31).Mixed(6000),
				map[string]string{"metrics_dimensions": dims, "metrics_max_routes": "10000"})
			want, err := emfcheck.FromS3(access, strings.Split(dims, ","))
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 || len(access) < 4000 {
				t.Fatalf("%d events, %d access lines in S3", len(evs), len(access))
			}
			for _, d := range emfcheck.Compare(evs, strings.Split(dims, ","), want) {
				t.Error(d)
			}
			if !strings.Contains(stderr, "metrics_usd_month=") || !strings.Contains(stderr, "replaces_cloudwatch_lines_usd_month=") {
				t.Errorf("the exit stats line lacks the metrics' cost:\n%s", stderr)
			}
		})
	}
}

// routeLines are access lines whose paths come from templates route templates,
// n distinct raw paths in all.
func routeLines(templates, n int) []gen.Labeled {
	rng := rand.New(rand.NewSource(int64(templates)))
	out := make([]gen.Labeled, 0, n)
	seen := map[string]bool{}
	for i := 0; len(out) < n; i++ {
		p := gen.RoutePath(rng, i%templates)
		if seen[p] {
			continue
		}
		seen[p] = true
		line := fmt.Sprintf(`[2026-11-24T10:00:00.000Z] "GET %s HTTP/1.1" 200 0 11 %d 1 "-" "curl" "req-%d" "backend" "10.0.0.1:80"`, p, i%500, i)
		out = append(out, gen.Labeled{Line: []byte(line), IsAccess: true})
	}
	return out
}

// 10,000 distinct raw paths of 20 templates are 20 routes; of 500 templates,
// metrics_max_routes routes plus other, and no request is lost on the way.
func TestMetricsRouteCardinalityThroughHost(t *testing.T) {
	m := env(t, "routes")
	for _, c := range []struct{ templates, want int }{{20, 20}, {500, 101}} {
		t.Run(fmt.Sprint(c.templates), func(t *testing.T) {
			bucket := fmt.Sprintf("routes-%d", c.templates)
			m.CreateBucket(bucket)
			evs, _, _ := metricsRun(t, m, bucket, routeLines(c.templates, 10000), map[string]string{"metrics_dimensions": "route", "metrics_max_routes": "100"})
			routes := map[string]bool{}
			requests := 0.0
			for _, e := range evs {
				routes[e.Dims["route"]] = true
				requests += e.Metrics["Requests"].Value
			}
			if c.templates > 100 && !routes["other"] {
				t.Errorf("no other route among %d", len(routes))
			}
			if requests != 10000 {
				t.Errorf("%v requests in the metrics, want 10000", requests)
			}
			// Several intervals may be open during the run; each bounds its own routes.
			perInterval := map[int64]map[string]bool{}
			for _, e := range evs {
				if perInterval[e.Timestamp] == nil {
					perInterval[e.Timestamp] = map[string]bool{}
				}
				perInterval[e.Timestamp][e.Dims["route"]] = true
			}
			for ts, rs := range perInterval {
				if len(rs) > c.want {
					t.Errorf("interval %d: %d routes, at most %d", ts, len(rs), c.want)
				}
			}
			if (len(perInterval) == 1 || c.templates <= 100) && len(routes) != c.want {
				t.Errorf("%d routes, want %d", len(routes), c.want)
			}
		})
	}
}
