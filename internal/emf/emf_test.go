package emf

import (
	"fmt"
	"github.com/envoy-s3/envoy_s3/test/cputime"
	"math"
	"math/rand"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/routes"
	"github.com/envoy-s3/envoy_s3/test/emfcheck"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// Every value lands in a bucket whose reported midpoint is within Resolution of it.
func TestHistogramResolution(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		v := rng.Int63n(1 << uint(rng.Intn(33)))
		b := bucketOf(v)
		lo, w := bucketRange(b, 0)
		if v < lo || v >= lo+w {
			t.Fatalf("value %d in bucket %d = [%d, %d)", v, b, lo, lo+w)
		}
		mid := float64(lo) + float64(w-1)/2
		if v < 1<<32 && math.Abs(mid-float64(v)) > float64(v)/32 {
			t.Fatalf("value %d reported as %v: more than 1/32 off", v, mid)
		}
	}
}

// A wide interval is coarsened to at most 100 values, never split, counts kept.
func TestHistogramAtMost100Values(t *testing.T) {
	var h Histogram
	raw := []int64{}
	for v := int64(0); v < 1<<30; v = v*21/20 + 1 {
		h.Add(v)
		raw = append(raw, v)
	}
	ev := fmt.Sprintf(`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"L","Unit":"Milliseconds"}]}]},"L":%s}`, h.AppendJSON(nil))
	e, err := emfcheck.Parse([]byte(ev))
	if err != nil {
		t.Fatal(err)
	}
	m := e.Metrics["L"]
	if len(m.Values) > 100 || m.Total() != float64(len(raw)) || h.Resolution() <= 1.0/32 || h.Resolution() != emfcheck.Tolerance(raw) {
		t.Fatalf("%d values, %v counted of %d, resolution %v", len(m.Values), m.Total(), len(raw), h.Resolution())
	}
	for _, p := range []float64{50, 90, 99} {
		want, got := emfcheck.Percentile(raw, p), m.Percentile(p)
		if math.Abs(got-want) > want*h.Resolution() {
			t.Errorf("p%v = %v, raw %v: beyond resolution %v", p, got, want, h.Resolution())
		}
	}
}

type obs struct {
	auth, method, path, proto string
	status, in, out, dur, up  int64
	grpc                      string
}

func observe(a *Aggregator, src *Source, sc *Scratch, o obs) {
	r := Request{Method: []byte(o.method), Path: []byte(o.path), Protocol: []byte(o.proto), Authority: []byte(o.auth),
		Status: o.status, BytesReceived: o.in, BytesSent: o.out, Duration: o.dur, Upstream: o.up}
	if o.grpc != "" {
		r.GrpcStatus = []byte(o.grpc)
	}
	a.Observe(sc, src, &r)
}

func parseAll(t *testing.T, evs []Event) []*emfcheck.Event {
	t.Helper()
	var out []*emfcheck.Event
	for _, e := range evs {
		p, err := emfcheck.Parse(e.JSON)
		if err != nil {
			t.Fatalf("invalid EMF event %s: %v", e.JSON, err)
		}
		out = append(out, p)
	}
	return out
}

// Counts and sums are exact, percentiles within the resolution, one event per
// dimension value set, TCP apart.
func TestAggregate(t *testing.T) {
	a := New(Options{Namespace: "ServiceConnect/AccessLogs", Dims: []Dim{DimCluster, DimFamily, DimAuthority, DimRoute}, MaxRoutes: 100}, t0)
	src := a.Source("prod", "backend", "/metrics", "s")
	var sc Scratch
	rng := rand.New(rand.NewSource(2))
	type want struct {
		n, s2, s5, in, out, grpcErr int64
		durs, ups                   []int64
	}
	wants := map[string]*want{}
	for i := 0; i < 5000; i++ {
		auth := []string{"backend", "backend:8080"}[i%2]
		path := fmt.Sprintf("/orders/%d/items?x=%d", rng.Intn(1e6), i)
		if i%3 == 0 {
			path = "/healthz"
		}
		o := obs{auth: auth, method: "GET", path: path, proto: "HTTP/1.1", status: []int64{200, 200, 503, 404}[i%4],
			in: rng.Int63n(1000), out: rng.Int63n(5000), dur: rng.Int63n(3000), up: -1}
		if i%5 == 0 {
			o.up = rng.Int63n(100)
		}
		if i%7 == 0 {
			o.grpc = []string{"OK", "Unavailable"}[i%2]
		}
		observe(a, src, &sc, o)
		k := auth + " " + string(routes.Append(nil, []byte("GET"), []byte(path)))
		w := wants[k]
		if w == nil {
			w = &want{}
			wants[k] = w
		}
		w.n++
		w.in += o.in
		w.out += o.out
		w.durs = append(w.durs, o.dur)
		if o.up >= 0 {
			w.ups = append(w.ups, o.up)
		}
		if o.status == 200 {
			w.s2++
		} else if o.status == 503 {
			w.s5++
		}
		if o.grpc == "Unavailable" {
			w.grpcErr++
		}
	}
	observe(a, src, &sc, obs{dur: 5, up: -1, in: 10, out: 20}) // TCP below
	a.Observe(&sc, src, &Request{TCP: true, BytesReceived: 7, BytesSent: 9, Duration: 1234, Upstream: -1})
	if evs := a.Roll(t0.Add(59 * time.Second)); evs != nil {
		t.Fatalf("interval closed early: %d events", len(evs))
	}
	evs := parseAll(t, a.Roll(t0.Add(61*time.Second)))
	seen := map[string]bool{}
	tcp := 0
	for _, e := range evs {
		if e.Timestamp != t0.UnixMilli() || e.Namespace != "ServiceConnect/AccessLogs" {
			t.Fatalf("event timestamp %d namespace %q", e.Timestamp, e.Namespace)
		}
		if _, ok := e.Metrics["TcpConnections"]; ok {
			tcp++
			if fmt.Sprint(e.Dimensions) != "[cluster family]" || e.Metrics["TcpConnections"].Value != 1 || e.Metrics["TcpBytesSent"].Value != 9 || e.Metrics["TcpDuration"].Values[0] > 1234*1.04 {
				t.Fatalf("TCP event %+v", e)
			}
			continue
		}
		k := e.Dims["authority"] + " " + e.Dims["route"]
		if seen[k] {
			t.Fatalf("two events for %s in one interval", k)
		}
		seen[k] = true
		if e.Dims["cluster"] != "prod" || e.Dims["family"] != "backend" {
			t.Fatalf("dims %v", e.Dims)
		}
		w := wants[k]
		if w == nil {
			if k == "- OTHER /" {
				continue // the request without method or authority
			}
			t.Fatalf("unexpected series %q", k)
		}
		m := e.Metrics
		if m["Requests"].Value != float64(w.n) || m["Status2xx"].Value != float64(w.s2) || m["Status5xx"].Value != float64(w.s5) ||
			m["BytesReceived"].Value != float64(w.in) || m["BytesSent"].Value != float64(w.out) || m["GrpcErrors"].Value != float64(w.grpcErr) ||
			m["Latency"].Total() != float64(len(w.durs)) || m["UpstreamLatency"].Total() != float64(len(w.ups)) {
			t.Fatalf("series %s: got %+v, want %+v", k, m, w)
		}
		for _, p := range []float64{50, 90, 99} {
			for name, raw := range map[string][]int64{"Latency": w.durs, "UpstreamLatency": w.ups} {
				want, got := emfcheck.Percentile(raw, p), m[name].Percentile(p)
				if math.Abs(got-want) > want*emfcheck.Tolerance(raw) {
					t.Errorf("%s %s p%v = %v, raw %v, beyond %v", k, name, p, got, want, emfcheck.Tolerance(raw))
				}
			}
		}
	}
	if len(seen) != len(wants)+1 || tcp != 1 {
		t.Fatalf("%d HTTP series (want %d), %d TCP", len(seen), len(wants)+1, tcp)
	}
	if st := a.Stats(); st.Events != int64(len(evs)) || st.Requests != 5002 || st.LastMetrics < 9*len(wants) {
		t.Fatalf("stats %+v", st)
	}
}

// 500 route templates: metrics_max_routes keep their names (the busiest), the rest
// are one "other" series whose counts are the sum of theirs.
func TestRoutesBounded(t *testing.T) {
	for _, n := range []int{20, 500} {
		a := New(Options{Namespace: "n", Dims: []Dim{DimCluster, DimRoute}, MaxRoutes: 100}, t0)
		src := a.Source("prod", "backend", "g", "s")
		var sc Scratch
		rng := rand.New(rand.NewSource(3))
		total := 0
		for i := 0; i < 10000; i++ {
			tmpl := i % n
			path := gen.RoutePath(rng, tmpl)
			observe(a, src, &sc, obs{method: "GET", path: path, status: 200, dur: 1, up: -1})
			total++
			if tmpl < 50 { // the first 50 are the busiest
				observe(a, src, &sc, obs{method: "GET", path: path, status: 200, dur: 1, up: -1})
				total++
			}
		}
		evs := parseAll(t, a.Flush(t0))
		names := map[string]float64{}
		sum := 0.0
		for _, e := range evs {
			names[e.Dims["route"]] += e.Metrics["Requests"].Value
			sum += e.Metrics["Requests"].Value
		}
		wantRoutes := min(n, 100)
		if n > 100 {
			wantRoutes++ // other
			if names[routes.Other] == 0 {
				t.Fatalf("%d templates: no other series", n)
			}
			for tmpl := 0; tmpl < 50; tmpl++ {
				r := string(routes.Append(nil, []byte("GET"), []byte(gen.RoutePath(rng, tmpl))))
				if names[r] == 0 {
					t.Fatalf("busy route %s was not kept", r)
				}
			}
		}
		if len(names) != wantRoutes || len(evs) != wantRoutes || sum != float64(total) {
			t.Fatalf("%d templates: %d route names in %d events, %v requests of %d", n, len(names), len(evs), sum, total)
		}
	}
}

// Authorities are client data too: bounded the same way.
func TestAuthoritiesBounded(t *testing.T) {
	a := New(Options{Namespace: "n", Dims: DefaultDims, MaxRoutes: 10}, t0)
	src := a.Source("prod", "backend", "g", "s")
	var sc Scratch
	for i := 0; i < 1000; i++ {
		observe(a, src, &sc, obs{auth: fmt.Sprintf("host%d.example", i), method: "GET", path: "/", status: 200, dur: 1, up: -1})
	}
	observe(a, src, &sc, obs{auth: strings.Repeat("x", 2000), method: "GET", path: "/", status: 200, dur: 1, up: -1})
	evs := parseAll(t, a.Flush(t0))
	if len(evs) != 11 {
		t.Fatalf("%d events for 1000 authorities with a bound of 10", len(evs))
	}
	for _, e := range evs {
		if len(e.Dims["authority"]) > 260 {
			t.Fatalf("authority of %d bytes kept", len(e.Dims["authority"]))
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	for _, dims := range [][]Dim{DefaultDims, {DimCluster, DimFamily, DimAuthority, DimRoute, DimStatusClass, DimMethod, DimProtocol}} {
		b.Run(fmt.Sprintf("dims=%d", len(dims)), func(b *testing.B) {
			a := New(Options{Namespace: "n", Dims: dims, MaxRoutes: 100}, t0)
			src := a.Source("prod", "backend", "g", "s")
			var sc Scratch
			r := Request{Method: []byte("GET"), Path: []byte("/api/v1/orders/12345/items?page=2"), Protocol: []byte("HTTP/1.1"),
				Authority: []byte("backend"), Status: 200, BytesReceived: 10, BytesSent: 1000, Duration: 12, Upstream: 11}
			b.SetBytes(int64(len(r.Path)))
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := cputime.Thread()
			for i := 0; i < b.N; i++ {
				r.Duration = int64(i & 1023)
				a.Observe(&sc, src, &r)
			}
			b.ReportMetric(float64((cputime.Thread()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// Series are reused from interval to interval: nothing of one leaks into the next.
func TestIntervalsIndependent(t *testing.T) {
	a := New(Options{Namespace: "n", Dims: DefaultDims}, t0)
	src := a.Source("prod", "backend", "g", "s")
	var sc Scratch
	observe(a, src, &sc, obs{auth: "a", method: "GET", path: "/", status: 500, dur: 900, up: 3})
	first := parseAll(t, a.Roll(t0.Add(time.Minute)))
	observe(a, src, &sc, obs{auth: "a", method: "GET", path: "/", status: 200, dur: 5, up: -1})
	observe(a, src, &sc, obs{auth: "a", method: "GET", path: "/", status: 200, dur: 5, up: -1})
	second := parseAll(t, a.Roll(t0.Add(2*time.Minute)))
	if len(first) != 1 || len(second) != 1 {
		t.Fatalf("%d and %d events", len(first), len(second))
	}
	m := second[0].Metrics
	if second[0].Timestamp != t0.Add(time.Minute).UnixMilli() || m["Requests"].Value != 2 || m["Status5xx"].Value != 0 ||
		m["Latency"].Total() != 2 || m["Latency"].Values[0] != 5 || m["UpstreamLatency"].Values != nil {
		t.Fatalf("second interval carries the first's numbers: %+v", second[0])
	}
	if evs := a.Roll(t0.Add(3 * time.Minute)); evs != nil {
		t.Fatalf("an empty interval sent %d events", len(evs))
	}
}

// Whatever a client sends, every event is valid EMF and counts the request once.
func FuzzObserve(f *testing.F) {
	f.Add("GET", "/orders/12/items?x=1", "HTTP/1.1", "backend:8080", int64(200), int64(12), "OK")
	f.Add("\x00", "\xff/\"\\", "h2\x01", "a\"b\xc3", int64(-1), int64(-5), "")
	f.Fuzz(func(t *testing.T, method, path, proto, auth string, status, dur int64, grpc string) {
		a := New(Options{Namespace: "n", Dims: []Dim{DimCluster, DimFamily, DimAuthority, DimRoute, DimStatusClass, DimMethod, DimProtocol}, MaxRoutes: 2}, t0)
		src := a.Source("prod", "backend", "g", "s")
		var sc Scratch
		r := Request{Method: []byte(method), Path: []byte(path), Protocol: []byte(proto), Authority: []byte(auth), Status: status, Duration: dur, Upstream: -1}
		if grpc != "" {
			r.GrpcStatus = []byte(grpc)
		}
		a.Observe(&sc, src, &r)
		a.Observe(&sc, src, &r)
		evs := parseAll(t, a.Flush(t0))
		if len(evs) != 1 || evs[0].Metrics["Requests"].Value != 2 {
			t.Fatalf("%d events: %+v", len(evs), evs)
		}
	})
}

// metrics_resolution 1s: one-second intervals, every metric high resolution.
func TestHighResolution(t *testing.T) {
	a := New(Options{Namespace: "n", Dims: DefaultDims, Resolution: time.Second}, t0)
	src := a.Source("prod", "backend", "g", "s")
	var sc Scratch
	observe(a, src, &sc, obs{auth: "a", method: "GET", path: "/", status: 200, dur: 5, up: -1})
	evs := parseAll(t, a.Roll(t0.Add(1500*time.Millisecond)))
	if len(evs) != 1 || evs[0].Timestamp != t0.UnixMilli() {
		t.Fatalf("events %+v", evs)
	}
	for name, m := range evs[0].Metrics {
		if m.Resolution != 1 {
			t.Errorf("%s has StorageResolution %d", name, m.Resolution)
		}
	}
}
