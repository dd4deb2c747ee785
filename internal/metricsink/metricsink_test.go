package metricsink

import (
	"bytes"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/cwlogs"
	"github.com/envoy-s3/envoy_s3/internal/emf"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
)

type getter map[string]string

func (g getter) Get(k string) string { return g[k] }

func sink(t *testing.T, dims string, t0 time.Time) *Sink {
	c, err := config.Parse(getter{"bucket": "b-bucket", "region": "eu-west-1", "metrics": "emf",
		"metrics_log_group_name": "/m/$CLUSTER", "metrics_dimensions": dims}, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return New(c, nil, t0)
}

// Requests held by Pending count only once committed, with their names intact
// although the caller reused its buffers; Reset forgets them. A rolled interval
// becomes one CloudWatch batch per source, named like the records' log stream.
func TestPendingAndRoll(t *testing.T) {
	t0 := time.Unix(1700000040, 0)
	s := sink(t, "route,authority", t0)
	if !s.WantRoute || !s.WantAuth {
		t.Fatal("route and authority dimensions not seen")
	}
	v := keyformat.Vars{Tag: []byte("tag-1"), Cluster: []byte("prod"), Family: []byte("web")}
	src := s.Source(&v)
	if s.Source(&v) != src {
		t.Fatal("a source is not cached")
	}
	var p Pending
	path := []byte("/users")
	r := emf.Request{Method: []byte("GET"), Path: path, Protocol: []byte("HTTP/1.1"), Authority: []byte("api"), Status: 200, Duration: 5, Upstream: -1}
	p.Add(src, &r)
	p.Reset()
	if s.Stats().Requests != 0 {
		t.Fatal("a reset request was counted")
	}
	for range 3 {
		p.Add(src, &r)
	}
	copy(path, "/XXXXX") // the caller's buffer is reused before the flush is accepted
	p.Commit(s)
	p.Commit(s) // nothing left to count
	if n := s.Stats().Requests; n != 3 {
		t.Fatalf("%d requests counted, want 3", n)
	}
	batches, series := s.Roll(t0.Add(2*time.Minute), false)
	if len(batches) != 1 || series == 0 {
		t.Fatalf("%d batches, %d series", len(batches), series)
	}
	b := batches[0]
	group, stream := s.Names(&v)
	if group != "/m/prod" || stream != StreamPrefix+"tag-1" || b.Meta.Stream != batch.StreamMetrics || b.Meta.Cluster != "prod" ||
		!bytes.Equal(b.Key, append(append([]byte("m/m/prod\x00"), StreamPrefix...), "tag-1"...)) {
		t.Fatalf("batch %q %+v, names %q %q", b.Key, b.Meta, group, stream)
	}
	events := cwlogs.ParseLines(b.Lines, func([]byte, error) { t.Fatal("a damaged line") })
	if len(events) != b.Events || series != b.Events || !bytes.Contains(events[0].Message, []byte(`"route":"GET /users"`)) {
		t.Fatalf("%d events (%d), lines %s", len(events), b.Events, b.Lines)
	}
	if bytes.Contains(b.Lines, []byte("XXXXX")) {
		t.Fatal("a held request's name changed with the caller's buffer")
	}
}
