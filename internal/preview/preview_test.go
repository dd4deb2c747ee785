package preview

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/cost"
	"github.com/envoy-s3/envoy_s3/internal/redact"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var fixedNow = time.Date(2026, 12, 1, 6, 30, 0, 0, time.UTC)

// TestGolden previews each input kind (raw lines, FireLens records in every JSON form
// Fluent Bit prints, a CloudWatch Logs export) and compares the per-record report and
// the summary with testdata/*.golden (go test -update rewrites them).
func TestGolden(t *testing.T) {
	cases := []struct {
		name, kind string
		opts       []string
	}{
		{"lines", KindLines, []string{"redact_detectors=default,email"}},
		{"firelens", KindFireLens, []string{"compression=zstd", "region=ap-northeast-1", "bucket=acme-logs"}},
		{"cloudwatch", KindCloudWatch, []string{"other_logs=cloudwatch", "log_group_name=/ecs/$CLUSTER/proxy", "region=us-east-1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", c.name+".input"))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			s, err := Run(bytes.NewReader(in), Options{Settings: c.opts, DailyGB: 10, Now: fixedNow, Records: &out, JSON: true})
			if err != nil {
				t.Fatal(err)
			}
			if s.Input != c.kind {
				t.Errorf("input judged %q, want %q", s.Input, c.kind)
			}
			if err := s.Write(&out); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s (go test -update rewrites it):\n%s", golden, out.String())
			}
		})
	}
}

func TestCounts(t *testing.T) {
	in, _ := os.ReadFile(filepath.Join("testdata", "lines.input"))
	s, err := Run(bytes.NewReader(in), Options{Now: fixedNow, Settings: []string{"redact_detectors=default,email"}})
	if err != nil {
		t.Fatal(err)
	}
	// 5 access lines (HTTP/1.1, HTTP/2, gRPC, TCP, JSON), 3 other lines, the blank line skipped.
	if s.Records != 8 || s.Access != 5 || s.Other != 3 || s.Bad != 0 {
		t.Fatalf("records %d access %d other %d bad %d", s.Records, s.Access, s.Other, s.Bad)
	}
	if s.Kinds["tcp"] != 1 || s.Kinds["http HTTP/2"] != 2 || s.Kinds["http HTTP/1.1"] != 2 {
		t.Fatalf("kinds %v", s.Kinds)
	}
	if s.Redactions[redact.RuleQueryParam] != 2 || s.Redactions[redact.RuleBearer]+s.Redactions[redact.RuleJWT] == 0 {
		t.Fatalf("redactions %v", s.Redactions)
	}
	ex := s.Examples[redact.RuleQueryParam]
	if ex == nil || !strings.Contains(ex.Before, "access_token=‹query_param›") || !strings.Contains(ex.After, "access_token=[REDACTED]") {
		t.Fatalf("query_param example %+v", ex)
	}
	for _, e := range s.Examples {
		if e != nil && (strings.Contains(e.Before+e.After, "tok-1234567890abcdef") || strings.Contains(e.Before+e.After, "hunter2")) {
			t.Fatalf("an example shows a secret: %+v", e)
		}
	}
	if len(s.StandIns) != 2 {
		t.Fatalf("stand-ins %v, want bucket and region", s.StandIns)
	}
}

// The monthly estimate: CloudWatch's price for what goes in today, against the stored
// bytes scaled to the same volume, plus what envoy_s3 still sends to CloudWatch.
func TestMonthly(t *testing.T) {
	in, _ := os.ReadFile(filepath.Join("testdata", "cloudwatch.input"))
	s, err := Run(bytes.NewReader(in), Options{Now: fixedNow, DailyGB: 100, Settings: []string{"region=ap-northeast-1", "other_logs=cloudwatch", "log_group_name=g"}})
	if err != nil {
		t.Fatal(err)
	}
	m := s.Monthly
	if m == nil || math.Abs(m.CloudWatch-100*cost.DaysPerMonth*0.76) > 1e-6 {
		t.Fatalf("monthly %+v, want CloudWatch at 100 GB/day for a month at $0.76", m)
	}
	if m.OtherCloudWatch <= 0 || m.OtherCloudWatch >= m.CloudWatch {
		t.Fatalf("other records to CloudWatch cost %v of %v", m.OtherCloudWatch, m.CloudWatch)
	}
	if m.S3Storage <= 0 || m.S3Puts <= 0 || m.Saved() >= m.CloudWatch {
		t.Fatalf("S3 side %+v", m)
	}
}

// Option errors are the plugin's own one-line errors.
func TestSettingErrors(t *testing.T) {
	for opt, want := range map[string]string{
		"compresion=zstd":       `unknown key "compresion" (did you mean "compression"?)`,
		"compression=lz4":       `compression`,
		"redact_mode=hash":      `redact_hash_key`,
		"other_logs=cloudwatch": `log_group_name`,
		"novalue":               `key=value`,
	} {
		_, err := Run(strings.NewReader("x\n"), Options{Settings: []string{opt}})
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("-o %s: error %v, want one line containing %q", opt, err, want)
		}
		var ce *config.Error
		if opt != "novalue" && !errors.As(err, &ce) {
			t.Errorf("-o %s: not the plugin's config error: %T", opt, err)
		}
	}
}

// Nothing is sent: not the S3 objects, not the CloudWatch batches of other_logs, not
// the metrics events the pipeline's Close would otherwise deliver. Every AWS endpoint
// points at a listener that counts connections.
func TestNothingLeavesTheMachine(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	url := "http://" + l.Addr().String()
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAPREVIEWTEST00000")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "preview")
	in, _ := os.ReadFile(filepath.Join("testdata", "lines.input"))
	s, err := Run(bytes.NewReader(in), Options{Now: fixedNow, Settings: []string{"endpoint=" + url, "store_dir=/nonexistent/spool",
		"other_logs=cloudwatch", "log_group_name=g", "metrics=emf", "metrics_log_group_name=m", "auto_create_group=true"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.CloudWatch == 0 || s.Metrics == nil || s.Metrics.Events == 0 {
		t.Fatalf("nothing was bound for CloudWatch: %+v", s)
	}
	if !s.Config.StoreDirOff {
		t.Fatal("store_dir was not forced off")
	}
	if _, err := os.Stat("/nonexistent/spool"); err == nil {
		t.Fatal("the preview created store_dir")
	}
	time.Sleep(100 * time.Millisecond) // a connection in flight would be counted by now
	if n := conns.Load(); n != 0 {
		t.Fatalf("the preview connected %d time(s) to an AWS endpoint", n)
	}
}

// With metrics emf, the monthly estimate includes the route metrics.
func TestMonthlyMetrics(t *testing.T) {
	in, _ := os.ReadFile(filepath.Join("testdata", "lines.input"))
	s, err := Run(bytes.NewReader(in), Options{Now: fixedNow, DailyGB: 1, Settings: []string{"metrics=emf", "metrics_log_group_name=/m"}})
	if err != nil {
		t.Fatal(err)
	}
	x := s.Metrics
	if x == nil || x.Metrics == 0 || x.Events == 0 || x.Interval != time.Minute {
		t.Fatalf("metrics %+v", x)
	}
	want := cost.MetricsMonthly(s.CloudPrices, 0, x.Metrics, x.Events, x.EventBytes, x.Interval)
	if s.Monthly.Extra != want || want < float64(x.Metrics)*cost.CustomMetricPerMonth {
		t.Fatalf("metrics cost %v, want %v", s.Monthly.Extra, want)
	}
}

func TestReadJudgesEachLine(t *testing.T) {
	in := "plain text\n{\"log\":\"x\"}\n{\"a\":1}\n[1796106047,{\"log\":\"y\"}]\n[not json\n"
	recs, kind, err := Read(strings.NewReader(in), "log", fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{KindLines, KindFireLens, KindLines, KindFireLens, KindLines}
	if kind != KindFireLens || len(recs) != len(want) {
		t.Fatalf("kind %s, %d records", kind, len(recs))
	}
	for i, r := range recs {
		if r.Kind != want[i] {
			t.Errorf("line %d judged %s, want %s", r.Line, r.Kind, want[i])
		}
	}
	if !recs[3].Time.Equal(time.Unix(1796106047, 0)) {
		t.Errorf("array time %v", recs[3].Time)
	}
}

func FuzzRead(f *testing.F) {
	for _, n := range []string{"lines", "firelens", "cloudwatch"} {
		b, _ := os.ReadFile(filepath.Join("testdata", n+".input"))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, _, err := Read(bytes.NewReader(b), "log", fixedNow)
		if err != nil {
			return
		}
		s, err := Run(bytes.NewReader(b), Options{Now: fixedNow})
		if err != nil {
			t.Fatalf("Run failed where Read did not: %v", err)
		}
		if s.Records+s.Bad != int64(len(recs)) {
			t.Fatalf("%d records read, %d previewed", len(recs), s.Records+s.Bad)
		}
	})
}
