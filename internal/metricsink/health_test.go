package metricsink

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/cwlogs"
	"github.com/envoy-s3/envoy_s3/internal/emf"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
	"github.com/envoy-s3/envoy_s3/test/cwserver"
	"github.com/envoy-s3/envoy_s3/test/emfcheck"
)

// Health events wait in memory while CloudWatch Logs refuses them, the failure is
// said once, and they are all sent, in their stream, once it takes them again.
func TestHealthKeptWhileCloudWatchFails(t *testing.T) {
	srv := cwserver.New()
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDHEALTH")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	srv.Credentials("AKIDHEALTH", "secret", "")
	c, err := config.Parse(getter{"bucket": "b-bucket", "region": "eu-west-1", "metrics": "emf", "metrics_log_group_name": "/m/$CLUSTER"}, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cw, err := cwlogs.New(context.Background(), cwlogs.Options{Region: "eu-west-1", Endpoint: srv.URL(), LogGroupName: c.MetricsLogGroupName, AutoCreateGroup: true})
	if err != nil {
		t.Fatal(err)
	}
	s := New(c, cw, time.Now())
	defer s.CloseHealth()
	var mu sync.Mutex
	var warnings []string
	warnf := func(f string, a ...any) { mu.Lock(); warnings = append(warnings, fmt.Sprintf(f, a...)); mu.Unlock() }
	now := time.Now()
	s.Health(now, &emf.Health{RecordsIn: 1}, warnf) // no source yet: nothing
	s.SetHealthSource(&keyformat.Vars{Tag: []byte("tag-1"), Cluster: []byte("prod"), Family: []byte("web")})
	s.SetHealthSource(&keyformat.Vars{Tag: []byte("tag-2"), Cluster: []byte("other")})
	srv.Fail("PutLogEvents", 2, 500, "ServiceUnavailableException")
	for i := range 3 {
		s.Health(now.Add(time.Duration(i)*time.Second), &emf.Health{RecordsIn: int64(10 + i)}, warnf)
		time.Sleep(300 * time.Millisecond)
	}
	stream := HealthStreamPrefix + "tag-1"
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Events("/m/prod", stream)) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 health events sent; streams %v", len(srv.Events("/m/prod", stream)), srv.Streams("/m/prod"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	var got []float64
	for _, e := range srv.Events("/m/prod", stream) {
		ev, err := emfcheck.Parse([]byte(e.Message))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Dims["cluster"] != "prod" || ev.Dims["family"] != "web" {
			t.Fatalf("dimensions %v", ev.Dims)
		}
		got = append(got, ev.Metrics["RecordsIn"].Value)
	}
	if fmt.Sprint(got) != "[10 11 12]" {
		t.Fatalf("RecordsIn of the events sent: %v, want [10 11 12]", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 2 || !strings.Contains(warnings[0], "could not be sent") || !strings.Contains(warnings[1], "again") {
		t.Fatalf("warnings %q, want one for the failure and one for its end", warnings)
	}
}
