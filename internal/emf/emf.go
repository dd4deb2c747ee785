// Package emf aggregates access logs into per-interval route metrics and renders
// them as CloudWatch Embedded Metric Format (EMF) log events, so dashboards and
// alarms need neither the lines in CloudWatch Logs nor Athena.
//
// The rules an event follows (checked by test/emfcheck on every event the tests see):
//   - one event per dimension set value (series) per interval, a JSON object
//     with an "_aws" block: Timestamp (the interval's start, ms) and one
//     CloudWatchMetrics directive: Namespace, Dimensions (one dimension set,
//     the configured names that apply to the series' kind), Metrics (Name,
//     Unit, StorageResolution 60 or 1);
//   - each dimension and each metric is a top-level key of the event;
//   - counts and byte sums are numbers; durations are {"Values":[...],
//     "Counts":[...]} distributions with at most 100 values (see Histogram),
//     from which CloudWatch computes percentiles as for its own metrics;
//   - HTTP series: Requests, Status2xx..Status5xx, Latency (duration_ms),
//     UpstreamLatency (upstream_service_time_ms, when any request had it),
//     BytesReceived, BytesSent, and GrpcErrors when any request was gRPC;
//     TCP series: TcpConnections, TcpBytesReceived, TcpBytesSent, TcpDuration,
//     with only the cluster and family dimensions (TCP lines carry no
//     authority, route, status, method or protocol);
//   - empty intervals produce no event.
//
// Cardinality is bounded per interval: each of route and authority keeps at
// most MaxRoutes names, the busiest (routes.Rank); the others are counted under
// "other". Up to 4×MaxRoutes distinct names are tracked per interval; names first
// seen after that go to "other" at once, which bounds memory.
//
// Observe costs one lock and one map lookup with a key built on the caller's
// Scratch, and allocates only when a series is first seen in an interval.
//
// The open interval lives in memory only, so a crash loses at most it (one
// minute by default); closed intervals wait in store_dir like every batch.
// Metrics are aggregates of records that are themselves durable in S3: making
// every increment durable would take an fsync of the counters at every flush,
// or replaying the spool at start, to protect one interval of numbers that
// Athena can still compute from the objects.
package emf

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/jsonstr"
	"github.com/envoy-s3/envoy_s3/internal/routes"
)

// Dim is one dimension a series can be split by.
type Dim uint8

// Dimensions, in the order they appear in events.
const (
	DimCluster Dim = iota
	DimFamily
	DimAuthority
	DimRoute
	DimStatusClass
	DimMethod
	DimProtocol
	numDims
)

// DimNames are the metrics_dimensions names, indexed by Dim; they are also the
// dimension names in CloudWatch.
var DimNames = [numDims]string{"cluster", "family", "authority", "route", "status_class", "method", "protocol"}

// DefaultDims is metrics_dimensions' default.
var DefaultDims = []Dim{DimCluster, DimFamily, DimAuthority}

// String returns the metrics_dimensions name of d, which is also its name in
// CloudWatch.
func (d Dim) String() string {
	if d < numDims {
		return DimNames[d]
	}
	return "Dim(" + strconv.Itoa(int(d)) + ")"
}

// Options configure an Aggregator.
type Options struct {
	Namespace  string
	Dims       []Dim
	Resolution time.Duration // time.Minute (standard) or time.Second (high resolution)
	MaxRoutes  int           // names kept per interval for route and for authority
}

// Source is where a task's records come from and where its events go: its
// cluster and family (dimension values) and the log group and stream the
// pipeline resolved for it. Sources live as long as the Aggregator.
type Source struct {
	Cluster, Family, Group, Stream string
	id                             uint32
}

// Request is what Observe reads of one access log. Slices may alias the caller's
// buffers; Observe copies what it keeps.
type Request struct {
	TCP                      bool
	Method, Path, Protocol   []byte
	Authority, GrpcStatus    []byte // GrpcStatus nil when the request was not gRPC
	Status                   int64  // HTTP response code; 0 when none
	BytesReceived, BytesSent int64
	Duration, Upstream       int64 // ms; -1 when absent
	LineBytes                int64 // size of the access line, for the cost estimate
}

// Scratch is a caller's per-goroutine buffer for Observe.
type Scratch struct{ key []byte }

// Event is one rendered EMF event of a closed interval.
type Event struct {
	Source *Source
	Time   time.Time
	JSON   []byte
}

// Stats describe what the Aggregator produced, for the cost estimate.
type Stats struct {
	Since         time.Time // first Observe
	Requests      int64     // records observed
	LineBytes     int64     // bytes of their access lines
	Events        int64     // EMF events rendered
	EventBytes    int64     // their bytes
	LastMetrics   int       // distinct metrics (series × metric names) in the last closed interval
	LastIntervals int64     // intervals closed
}

// series is one dimension value set of one source in one interval.
type series struct {
	src      *Source
	tcp      bool
	dims     [numDims]string
	requests int64
	status   [6]int64 // by first digit; 0 = no code
	grpc     bool
	grpcErr  int64
	bytesIn  int64
	bytesOut int64
	latency  Histogram // duration_ms (TCP: connection duration)
	upstream Histogram
}

type interval struct {
	start  time.Time
	series map[string]*series
	routes map[string]struct{} // distinct route names tracked
	auths  map[string]struct{} // distinct authorities tracked
}

func newInterval(start time.Time) *interval {
	return &interval{start: start, series: map[string]*series{}, routes: map[string]struct{}{}, auths: map[string]struct{}{}}
}

// Aggregator collects series for the open interval. It is safe for concurrent use.
type Aggregator struct {
	o    Options
	want [numDims]bool
	mu   sync.Mutex
	cur  *interval
	srcs map[string]*Source
	free []*series // series of rendered intervals, reused so steady state allocates little
	st   Stats
}

// New returns an Aggregator whose first interval starts at now's interval.
func New(o Options, now time.Time) *Aggregator {
	if o.Resolution <= 0 {
		o.Resolution = time.Minute
	}
	if o.MaxRoutes <= 0 {
		o.MaxRoutes = 100
	}
	a := &Aggregator{o: o, srcs: map[string]*Source{}}
	for _, d := range o.Dims {
		a.want[d] = true
	}
	a.cur = newInterval(now.Truncate(o.Resolution))
	return a
}

// Source returns the source for these names, creating it on first use.
func (a *Aggregator) Source(cluster, family, group, stream string) *Source {
	k := cluster + "\x00" + family + "\x00" + group + "\x00" + stream
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.srcs[k]
	if s == nil {
		s = &Source{Cluster: cluster, Family: family, Group: group, Stream: stream, id: uint32(len(a.srcs))}
		a.srcs[k] = s
	}
	return s
}

// Observe counts one access log of src in the open interval.
func (a *Aggregator) Observe(sc *Scratch, src *Source, r *Request) {
	a.key(sc, src, r, false, false)
	a.mu.Lock()
	if a.st.Requests == 0 {
		a.st.Since = time.Now()
	}
	a.st.Requests++
	a.st.LineBytes += r.LineBytes
	s := a.cur.series[string(sc.key)]
	if s == nil {
		s = a.newSeries(sc, src, r)
	}
	s.requests++
	if r.TCP {
		s.bytesIn += r.BytesReceived
		s.bytesOut += r.BytesSent
		if r.Duration >= 0 {
			s.latency.Add(r.Duration)
		}
		a.mu.Unlock()
		return
	}
	if r.Status >= 100 && r.Status < 600 {
		s.status[r.Status/100]++
	} else {
		s.status[0]++
	}
	if r.GrpcStatus != nil {
		s.grpc = true
		if string(r.GrpcStatus) != "OK" && string(r.GrpcStatus) != "0" {
			s.grpcErr++
		}
	}
	s.bytesIn += r.BytesReceived
	s.bytesOut += r.BytesSent
	if r.Duration >= 0 {
		s.latency.Add(r.Duration)
	}
	if r.Upstream >= 0 {
		s.upstream.Add(r.Upstream)
	}
	a.mu.Unlock()
}

// Protocols kept as dimension values; any other is "other".
var protocols = [...]string{"HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3"}

// key builds the series key of r in sc.key: source id, kind, then the wanted
// dimension values, each ended by 0. otherRoute/otherAuth put routes.Other in
// place of the route/authority.
func (a *Aggregator) key(sc *Scratch, src *Source, r *Request, otherRoute, otherAuth bool) {
	k := binary.LittleEndian.AppendUint32(sc.key[:0], src.id)
	if r.TCP {
		sc.key = append(k, 't')
		return
	}
	k = append(k, 'h')
	if a.want[DimAuthority] {
		if otherAuth {
			k = append(k, routes.Other...)
		} else {
			k = appendClean(k, r.Authority)
		}
		k = append(k, 0)
	}
	if a.want[DimRoute] {
		if otherRoute {
			k = append(k, routes.Other...)
		} else {
			k = routes.Append(k, r.Method, r.Path)
		}
		k = append(k, 0)
	}
	if a.want[DimStatusClass] {
		c := byte('0')
		if r.Status >= 100 && r.Status < 600 {
			c = byte('0' + r.Status/100)
		}
		k = append(k, c, 0)
	}
	if a.want[DimMethod] {
		k = append(routes.AppendMethod(k, r.Method), 0)
	}
	if a.want[DimProtocol] {
		p := byte(len(protocols))
		for i, s := range protocols {
			if string(r.Protocol) == s {
				p = byte(i)
			}
		}
		k = append(k, '0'+p, 0)
	}
	sc.key = k
}

// appendClean appends an authority: empty is "-", longer than a DNS name with
// a port (260 bytes) is routes.Other, and bytes that are not printable ASCII, or 0
// (the key separator), become '_'.
func appendClean(dst, s []byte) []byte {
	if len(s) == 0 {
		return append(dst, '-')
	}
	if len(s) > 260 {
		return append(dst, routes.Other...)
	}
	for i, c := range s {
		if c < 0x21 || c > 0x7e {
			dst = append(dst, s[:i]...)
			for _, c := range s[i:] {
				if c < 0x21 || c > 0x7e {
					c = '_'
				}
				dst = append(dst, c)
			}
			return dst
		}
	}
	return append(dst, s...)
}

// newSeries adds the series of sc.key (a.mu held), moving the route or authority
// to "other" when the interval already tracks as many names as it may.
func (a *Aggregator) newSeries(sc *Scratch, src *Source, r *Request) *series {
	cur := a.cur
	limit := 4 * a.o.MaxRoutes
	var s *series
	if n := len(a.free); n > 0 {
		s, a.free = a.free[n-1], a.free[:n-1]
		*s = series{}
	} else {
		s = new(series)
	}
	s.src, s.tcp = src, r.TCP
	s.dims[DimCluster], s.dims[DimFamily] = src.Cluster, src.Family
	if !r.TCP {
		fields := strings.Split(string(sc.key[5:]), "\x00")
		f := 0
		for d := DimAuthority; d < numDims; d++ {
			if a.want[d] {
				s.dims[d] = fields[f]
				f++
			}
		}
		otherRoute, otherAuth := false, false
		if a.want[DimRoute] {
			if _, ok := cur.routes[s.dims[DimRoute]]; !ok {
				if len(cur.routes) >= limit {
					otherRoute = true
				} else {
					cur.routes[s.dims[DimRoute]] = struct{}{}
				}
			}
		}
		if a.want[DimAuthority] {
			if _, ok := cur.auths[s.dims[DimAuthority]]; !ok {
				if len(cur.auths) >= limit {
					otherAuth = true
				} else {
					cur.auths[s.dims[DimAuthority]] = struct{}{}
				}
			}
		}
		if otherRoute || otherAuth {
			// Later records with this key find the "other" series at once, up to
			// a bound on such aliases.
			alias := ""
			if len(cur.series) < 16*limit {
				alias = string(sc.key)
			}
			a.key(sc, src, r, otherRoute, otherAuth)
			o := cur.series[string(sc.key)]
			if alias != "" && o != nil {
				cur.series[alias] = o
			}
			if o != nil {
				return o
			}
			if alias != "" {
				cur.series[alias] = s
			}
			if otherRoute {
				s.dims[DimRoute] = routes.Other
			}
			if otherAuth {
				s.dims[DimAuthority] = routes.Other
			}
		}
		s.dims[DimStatusClass] = statusClass(s.dims[DimStatusClass])
		s.dims[DimProtocol] = protocolName(s.dims[DimProtocol])
	}
	cur.series[string(sc.key)] = s
	return s
}

func statusClass(k string) string {
	if k == "" {
		return ""
	}
	if k[0] == '0' {
		return "none"
	}
	return k[:1] + "xx"
}

func protocolName(k string) string {
	if k == "" {
		return ""
	}
	if i := int(k[0] - '0'); i < len(protocols) {
		return protocols[i]
	}
	return "other"
}

// Roll closes the open interval when now is past it and returns its events; a
// new interval opens at now's. It returns nil while the interval is still open.
func (a *Aggregator) Roll(now time.Time) []Event {
	start := now.Truncate(a.o.Resolution)
	a.mu.Lock()
	if !start.After(a.cur.start) {
		a.mu.Unlock()
		return nil
	}
	old := a.cur
	a.cur = newInterval(start)
	a.mu.Unlock()
	return a.render(old)
}

// Flush closes the open interval now, as at exit, and returns its events.
func (a *Aggregator) Flush(now time.Time) []Event {
	a.mu.Lock()
	old := a.cur
	a.cur = newInterval(now.Truncate(a.o.Resolution))
	a.mu.Unlock()
	return a.render(old)
}

// Stats returns what the Aggregator produced so far.
func (a *Aggregator) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st
}

// render bounds the interval's routes and authorities, merges what is not kept
// into "other" and renders one event per series.
func (a *Aggregator) render(iv *interval) []Event {
	if len(iv.series) == 0 {
		return nil
	}
	list := make([]*series, 0, len(iv.series))
	seen := make(map[*series]bool, len(iv.series))
	for _, s := range iv.series {
		if !seen[s] { // aliases point at an "other" series too
			seen[s] = true
			list = append(list, s)
		}
	}
	for _, d := range []Dim{DimRoute, DimAuthority} {
		if a.want[d] {
			list = a.bound(list, d)
		}
	}
	// Stable order: tests and humans reading the log group see the same layout.
	slices.SortFunc(list, func(x, y *series) int {
		if x.src.id != y.src.id {
			return int(x.src.id) - int(y.src.id)
		}
		if x.tcp != y.tcp {
			if x.tcp {
				return 1
			}
			return -1
		}
		return slices.Compare(x.dims[:], y.dims[:])
	})
	events := make([]Event, 0, len(list))
	metrics, bytes := 0, 0
	for _, s := range list {
		line, n := a.appendEvent(nil, iv.start, s)
		metrics += n
		bytes += len(line)
		events = append(events, Event{Source: s.src, Time: iv.start, JSON: line})
	}
	a.mu.Lock()
	for s := range seen {
		a.free = append(a.free, s)
	}
	a.st.Events += int64(len(events))
	a.st.EventBytes += int64(bytes)
	a.st.LastMetrics = metrics
	a.st.LastIntervals++
	a.mu.Unlock()
	return events
}

// bound keeps the MaxRoutes busiest values of dimension d and merges the series
// of the others into series whose value is routes.Other.
func (a *Aggregator) bound(list []*series, d Dim) []*series {
	counts := map[string]int64{}
	for _, s := range list {
		if !s.tcp {
			counts[s.dims[d]] += s.requests
		}
	}
	keep := routes.Rank(counts, a.o.MaxRoutes)
	type mkey struct {
		src  *Source
		dims [numDims]string
	}
	merged := map[mkey]*series{}
	out := list[:0]
	for _, s := range list {
		if !s.tcp && !keep[s.dims[d]] {
			s.dims[d] = routes.Other
			k := mkey{s.src, s.dims}
			if m := merged[k]; m != nil {
				m.merge(s)
				continue
			}
			merged[k] = s
		}
		out = append(out, s)
	}
	return out
}

func (s *series) merge(o *series) {
	s.requests += o.requests
	for i := range s.status {
		s.status[i] += o.status[i]
	}
	s.grpc = s.grpc || o.grpc
	s.grpcErr += o.grpcErr
	s.bytesIn += o.bytesIn
	s.bytesOut += o.bytesOut
	s.latency.Merge(&o.latency)
	s.upstream.Merge(&o.upstream)
}

type metric struct {
	name, unit string
	count      int64      // when dist is nil
	dist       *Histogram // a distribution
}

// appendEvent renders s; it also returns the number of metrics in it.
func (a *Aggregator) appendEvent(dst []byte, t time.Time, s *series) ([]byte, int) {
	var ms []metric
	if s.tcp {
		ms = []metric{
			{name: "TcpConnections", unit: "Count", count: s.requests},
			{name: "TcpBytesReceived", unit: "Bytes", count: s.bytesIn},
			{name: "TcpBytesSent", unit: "Bytes", count: s.bytesOut},
		}
		if s.latency.Count() > 0 {
			ms = append(ms, metric{name: "TcpDuration", unit: "Milliseconds", dist: &s.latency})
		}
	} else {
		ms = []metric{
			{name: "Requests", unit: "Count", count: s.requests},
			{name: "Status2xx", unit: "Count", count: s.status[2]},
			{name: "Status3xx", unit: "Count", count: s.status[3]},
			{name: "Status4xx", unit: "Count", count: s.status[4]},
			{name: "Status5xx", unit: "Count", count: s.status[5]},
		}
		if s.grpc {
			ms = append(ms, metric{name: "GrpcErrors", unit: "Count", count: s.grpcErr})
		}
		if s.latency.Count() > 0 {
			ms = append(ms, metric{name: "Latency", unit: "Milliseconds", dist: &s.latency})
		}
		if s.upstream.Count() > 0 {
			ms = append(ms, metric{name: "UpstreamLatency", unit: "Milliseconds", dist: &s.upstream})
		}
		ms = append(ms,
			metric{name: "BytesReceived", unit: "Bytes", count: s.bytesIn},
			metric{name: "BytesSent", unit: "Bytes", count: s.bytesOut})
	}
	res := 60
	if a.o.Resolution < time.Minute {
		res = 1
	}
	dims := a.o.Dims
	if s.tcp {
		dims = nil
		for _, d := range a.o.Dims {
			if d == DimCluster || d == DimFamily {
				dims = append(dims, d)
			}
		}
	}
	dst = append(dst, `{"_aws":{"Timestamp":`...)
	dst = strconv.AppendInt(dst, t.UnixMilli(), 10)
	dst = append(dst, `,"CloudWatchMetrics":[{"Namespace":`...)
	dst = jsonstr.Append(dst, []byte(a.o.Namespace))
	dst = append(dst, `,"Dimensions":[[`...)
	for i, d := range dims {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, []byte(DimNames[d]))
	}
	dst = append(dst, `]],"Metrics":[`...)
	for i, m := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"Name":"`...)
		dst = append(dst, m.name...)
		dst = append(dst, `","Unit":"`...)
		dst = append(dst, m.unit...)
		dst = append(dst, `","StorageResolution":`...)
		dst = strconv.AppendInt(dst, int64(res), 10)
		dst = append(dst, '}')
	}
	dst = append(dst, "]}]}"...)
	for _, d := range dims {
		dst = append(dst, ',')
		dst = jsonstr.Append(dst, []byte(DimNames[d]))
		dst = append(dst, ':')
		dst = jsonstr.Append(dst, []byte(s.dims[d]))
	}
	for _, m := range ms {
		dst = append(dst, `,"`...)
		dst = append(dst, m.name...)
		dst = append(dst, `":`...)
		if m.dist != nil {
			dst = m.dist.AppendJSON(dst)
		} else {
			dst = strconv.AppendInt(dst, m.count, 10)
		}
	}
	return append(dst, '}'), len(ms)
}
