package emfcheck

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/envoy-s3/envoy_s3/internal/firelens"
	"github.com/envoy-s3/envoy_s3/internal/routes"
	"github.com/envoy-s3/envoy_s3/test/cwserver"
)

// Series is what the metrics of one dimension value set must show, computed from
// the normalised access logs that landed in S3.
type Series struct {
	TCP                               bool
	Requests, S2, S3, S4, S5, GrpcErr int64
	Grpc                              bool
	BytesIn, BytesOut                 int64
	Durations, Upstreams              []int64
}

// s3Line is the part of a normalised access log the metrics are made of.
type s3Line struct {
	Kind          string  `json:"kind"`
	Method        *string `json:"method"`
	Path          *string `json:"path"`
	Protocol      *string `json:"protocol"`
	Authority     *string `json:"authority"`
	ResponseCode  *int64  `json:"response_code"`
	GrpcStatus    *string `json:"grpc_status"`
	BytesReceived *int64  `json:"bytes_received"`
	BytesSent     *int64  `json:"bytes_sent"`
	Duration      *int64  `json:"duration_ms"`
	Upstream      *int64  `json:"upstream_service_time_ms"`
	Cluster       string  `json:"ecs_cluster"`
	TaskDef       string  `json:"ecs_task_definition"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func num(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// Key names a series: kind and the values of dims, as an event's dimensions give them.
func Key(tcp bool, dims []string, value func(dim string) string) string {
	parts := []string{"http"}
	if tcp {
		parts[0] = "tcp"
	}
	for _, d := range dims {
		if tcp && d != "cluster" && d != "family" {
			continue
		}
		parts = append(parts, d+"="+value(d))
	}
	return strings.Join(parts, "|")
}

// FromS3 computes the expected series of normalised NDJSON access logs, split by
// dims, as documented in the README (values the metrics bound, such as unknown
// methods, follow internal/routes).
func FromS3(lines []string, dims []string) (map[string]*Series, error) {
	out := map[string]*Series{}
	for _, l := range lines {
		var r s3Line
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			return nil, fmt.Errorf("%v in %s", err, l)
		}
		tcp := r.Kind == "tcp"
		k := Key(tcp, dims, func(d string) string {
			switch d {
			case "cluster":
				return orUnknown(string(firelens.ClusterName([]byte(r.Cluster))))
			case "family":
				return orUnknown(string(firelens.Family([]byte(r.TaskDef))))
			case "authority":
				if a := str(r.Authority); a != "" {
					return a
				}
				return "-"
			case "route":
				return string(routes.Append(nil, []byte(str(r.Method)), []byte(str(r.Path))))
			case "method":
				return string(routes.AppendMethod(nil, []byte(str(r.Method))))
			case "status_class":
				if c := num(r.ResponseCode); c >= 100 && c < 600 {
					return fmt.Sprintf("%dxx", c/100)
				}
				return "none"
			case "protocol":
				switch p := str(r.Protocol); p {
				case "HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3":
					return p
				}
				return "other"
			}
			return "?"
		})
		s := out[k]
		if s == nil {
			s = &Series{TCP: tcp}
			out[k] = s
		}
		s.Requests++
		s.BytesIn += num(r.BytesReceived)
		s.BytesOut += num(r.BytesSent)
		if r.Duration != nil {
			s.Durations = append(s.Durations, *r.Duration)
		}
		if tcp {
			continue
		}
		if r.Upstream != nil {
			s.Upstreams = append(s.Upstreams, *r.Upstream)
		}
		switch num(r.ResponseCode) / 100 {
		case 2:
			s.S2++
		case 3:
			s.S3++
		case 4:
			s.S4++
		case 5:
			s.S5++
		}
		if r.GrpcStatus != nil {
			s.Grpc = true
			if *r.GrpcStatus != "OK" && *r.GrpcStatus != "0" {
				s.GrpcErr++
			}
		}
	}
	return out, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Compare checks events (any number of intervals) against want: counts and sums
// exactly, p50/p90/p99 of each distribution within the documented resolution, and
// at most one event per series per interval. It returns one line per difference.
func Compare(events []*Event, dims []string, want map[string]*Series) []string {
	var diffs []string
	type acc struct {
		n       map[string]float64
		lat, up []Metric
	}
	got := map[string]*acc{}
	perInterval := map[string]bool{}
	for _, e := range events {
		_, tcp := e.Metrics["TcpConnections"]
		k := Key(tcp, dims, func(d string) string { return e.Dims[d] })
		if pk := fmt.Sprint(e.Timestamp, k); perInterval[pk] {
			diffs = append(diffs, "two events for "+k+" in one interval")
		} else {
			perInterval[pk] = true
		}
		a := got[k]
		if a == nil {
			a = &acc{n: map[string]float64{}}
			got[k] = a
		}
		for name, m := range e.Metrics {
			switch name {
			case "Latency", "TcpDuration":
				a.lat = append(a.lat, m)
			case "UpstreamLatency":
				a.up = append(a.up, m)
			default:
				a.n[name] += m.Value
			}
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w, a := want[k], got[k]
		if a == nil {
			diffs = append(diffs, "no events for "+k)
			continue
		}
		check := func(name string, v int64) {
			if a.n[name] != float64(v) {
				diffs = append(diffs, fmt.Sprintf("%s %s = %v, S3 says %d", k, name, a.n[name], v))
			}
		}
		dist := func(name string, ms []Metric, raw []int64) {
			m := Merge(ms...)
			if m.Total() != float64(len(raw)) {
				diffs = append(diffs, fmt.Sprintf("%s %s counts %v values, S3 has %d", k, name, m.Total(), len(raw)))
				return
			}
			if len(raw) == 0 {
				return
			}
			tol := Tolerance(raw)
			for _, p := range []float64{50, 90, 99} {
				if g, r := m.Percentile(p), Percentile(raw, p); math.Abs(g-r) > r*tol {
					diffs = append(diffs, fmt.Sprintf("%s %s p%v = %v, S3 says %v (tolerance %v)", k, name, p, g, r, tol))
				}
			}
		}
		if w.TCP {
			check("TcpConnections", w.Requests)
			check("TcpBytesReceived", w.BytesIn)
			check("TcpBytesSent", w.BytesOut)
			dist("TcpDuration", a.lat, w.Durations)
			continue
		}
		check("Requests", w.Requests)
		check("Status2xx", w.S2)
		check("Status3xx", w.S3)
		check("Status4xx", w.S4)
		check("Status5xx", w.S5)
		check("BytesReceived", w.BytesIn)
		check("BytesSent", w.BytesOut)
		if w.Grpc {
			check("GrpcErrors", w.GrpcErr)
		}
		dist("Latency", a.lat, w.Durations)
		dist("UpstreamLatency", a.up, w.Upstreams)
	}
	for k := range got {
		if want[k] == nil {
			diffs = append(diffs, "events for "+k+", which S3 does not have")
		}
	}
	return diffs
}

// HealthStreamPrefix starts the log streams of the health series, as the README
// documents them (internal/metricsink imports internal/emf, whose tests use this
// package, so the name is not taken from there; TestHealthSeriesAlarmsAndFilters
// finds no health event if the two differ).
const HealthStreamPrefix = "envoy_s3-health-"

// FromServer validates and returns every route-metrics event in group on the
// loopback CloudWatch Logs server (every stream but the health series').
func FromServer(srv *cwserver.Server, group string) ([]*Event, error) {
	return fromStreams(srv, group, func(s string) bool { return !strings.HasPrefix(s, HealthStreamPrefix) })
}

// HealthFromServer validates and returns the health series' events in group.
func HealthFromServer(srv *cwserver.Server, group string) ([]*Event, error) {
	return fromStreams(srv, group, func(s string) bool { return strings.HasPrefix(s, HealthStreamPrefix) })
}

func fromStreams(srv *cwserver.Server, group string, want func(stream string) bool) ([]*Event, error) {
	var out []*Event
	for _, s := range srv.Streams(group) {
		if !want(s) {
			continue
		}
		for _, e := range srv.Events(group, s) {
			ev, err := Parse([]byte(e.Message))
			if err != nil {
				return nil, fmt.Errorf("invalid EMF event in %s/%s: %v: %s", group, s, err, e.Message)
			}
			out = append(out, ev)
		}
	}
	return out, nil
}
