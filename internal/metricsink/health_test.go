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

// healthStream is the stream of the health events of the source healthSink names.
const healthStream = HealthStreamPrefix + "tag-1"

// prodWeb names the health series: cluster prod, family web, stream healthStream.
var prodWeb = keyformat.Vars{Tag: []byte("tag-1"), Cluster: []byte("prod"), Family: []byte("web")}

// healthSink is a loopback CloudWatch Logs server, a Sink whose health series goes
// there once named (prodWeb), and a warnf that records what it is told. The
// caller closes the sink's sender (CloseHealth).
func healthSink(t *testing.T) (*cwserver.Server, *Sink, func(string, ...any), func() []string) {
	srv := cwserver.New()
	t.Cleanup(srv.Close)
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
	var mu sync.Mutex
	var warnings []string
	warnf := func(f string, a ...any) { mu.Lock(); warnings = append(warnings, fmt.Sprintf(f, a...)); mu.Unlock() }
	told := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), warnings...) }
	return srv, s, warnf, told
}

// waitFor polls cond until it holds, failing with what after a deadline long
// enough for a slow machine.
func waitFor(t *testing.T, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(what())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkSent waits until len(want) health events reached srv and checks their
// RecordsIn and dimensions.
func checkSent(t *testing.T, srv *cwserver.Server, want ...float64) {
	t.Helper()
	waitFor(t, func() string {
		return fmt.Sprintf("%d of %d health events sent after %d PutLogEvents; streams %v", len(srv.Events("/m/prod", healthStream)), len(want), srv.Requests("PutLogEvents"), srv.Streams("/m/prod"))
	}, func() bool { return len(srv.Events("/m/prod", healthStream)) >= len(want) })
	var got []float64
	for _, e := range srv.Events("/m/prod", healthStream) {
		ev, err := emfcheck.Parse([]byte(e.Message))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Dims["cluster"] != "prod" || ev.Dims["family"] != "web" {
			t.Fatalf("dimensions %v", ev.Dims)
		}
		got = append(got, ev.Metrics["RecordsIn"].Value)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("RecordsIn of the events sent: %v, want %v", got, want)
	}
}

// checkRecovered checks what comes once CloudWatch Logs takes the events again
// after refusing at least refused sends: the events (checkSent), more sends than
// were refused, and the failures said once and their end once (warnf is called
// after the send that ends them, so it is waited for).
func checkRecovered(t *testing.T, srv *cwserver.Server, told func() []string, refused int, want ...float64) {
	t.Helper()
	checkSent(t, srv, want...)
	if n := srv.Requests("PutLogEvents"); n <= refused {
		t.Fatalf("%d PutLogEvents, want the %d refused and at least one more", n, refused)
	}
	waitFor(t, func() string { return fmt.Sprintf("warnings %q, want the end of the failures said", told()) },
		func() bool { w := told(); return len(w) > 0 && strings.Contains(w[len(w)-1], "again") })
	if w := told(); len(w) != 2 || !strings.Contains(w[0], "could not be sent") {
		t.Fatalf("warnings %q, want one for the failure and one for its end", w)
	}
}

// waitRequests waits until srv had n PutLogEvents.
func waitRequests(t *testing.T, srv *cwserver.Server, n int) {
	t.Helper()
	waitFor(t, func() string { return fmt.Sprintf("%d of %d PutLogEvents", srv.Requests("PutLogEvents"), n) },
		func() bool { return srv.Requests("PutLogEvents") >= n })
}

// Health events wait in memory while CloudWatch Logs refuses them, the failure is
// said once, and they are all sent, in their stream, once it takes them again,
// however many of them piled up before the first send.
func TestHealthKeptWhileCloudWatchFails(t *testing.T) {
	srv, s, warnf, told := healthSink(t)
	defer s.CloseHealth()
	now := time.Now()
	s.Health(now, &emf.Health{RecordsIn: 1}, warnf) // no source yet: nothing
	s.SetHealthSource(&prodWeb)
	s.SetHealthSource(&keyformat.Vars{Tag: []byte("tag-2"), Cluster: []byte("other")}) // changes nothing
	srv.Fail("PutLogEvents", 2, 500, "ServiceUnavailableException")
	for i := range 3 {
		s.Health(now.Add(time.Duration(i)*time.Second), &emf.Health{RecordsIn: int64(10 + i)}, warnf)
	}
	checkRecovered(t, srv, told, 2, 10, 11, 12)
}

// After failed sends the sender tries again on its own: the one event arrives
// although no further Health call comes to wake it.
func TestHealthRetriedWithoutAnotherEvent(t *testing.T) {
	srv, s, warnf, told := healthSink(t)
	defer s.CloseHealth()
	s.SetHealthSource(&prodWeb)
	srv.Fail("PutLogEvents", 3, 500, "ServiceUnavailableException")
	s.Health(time.Now(), &emf.Health{RecordsIn: 7}, warnf)
	checkRecovered(t, srv, told, 3, 7)
}

// While the sends fail, only the newest maxHealthQueue events are kept: those are
// the ones sent once CloudWatch Logs takes them again.
func TestHealthQueueBoundedWhileRetrying(t *testing.T) {
	srv, s, warnf, told := healthSink(t)
	defer s.CloseHealth()
	s.SetHealthSource(&prodWeb)
	s.health.minBackoff, s.health.maxBackoff = time.Millisecond, 20*time.Millisecond
	srv.Fail("PutLogEvents", -1, 500, "ServiceUnavailableException")
	now := time.Now().Add(-time.Hour)
	for i := range maxHealthQueue + 10 {
		s.Health(now.Add(time.Duration(i)*time.Second), &emf.Health{RecordsIn: int64(i)}, warnf)
	}
	waitRequests(t, srv, 3) // retrying, all refused
	srv.ClearFaults()
	newest := make([]float64, maxHealthQueue)
	for i := range newest {
		newest[i] = float64(10 + i)
	}
	checkRecovered(t, srv, told, 3, newest...)
}

// CloseHealth ends the sender while it waits to retry, not once the wait is over.
func TestHealthRetryEndsWithClose(t *testing.T) {
	srv, s, warnf, _ := healthSink(t)
	s.SetHealthSource(&prodWeb)
	s.health.minBackoff, s.health.maxBackoff = time.Hour, time.Hour
	srv.Fail("PutLogEvents", -1, 500, "ServiceUnavailableException")
	s.Health(time.Now(), &emf.Health{RecordsIn: 1}, warnf)
	waitRequests(t, srv, 1)
	closed := make(chan struct{})
	go func() { s.CloseHealth(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("CloseHealth still waits for the sender's retry")
	}
}

// CloseHealth may be called more than once, as Close methods may.
func TestCloseHealthTwice(t *testing.T) {
	_, s, warnf, _ := healthSink(t)
	s.SetHealthSource(&prodWeb)
	s.Health(time.Now(), &emf.Health{RecordsIn: 1}, warnf)
	s.CloseHealth()
	s.CloseHealth()
}
