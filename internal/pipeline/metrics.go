package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/cost"
	"github.com/envoy-s3/envoy_s3/internal/cwlogs"
	"github.com/envoy-s3/envoy_s3/internal/emf"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
)

// metricsStreamPrefix names the log stream of a task's EMF events: the prefix plus
// the tag (which holds the task id), as other_logs streams are named by the tag.
const metricsStreamPrefix = "envoy_s3-metrics-"

// metricsSink is the observer behind `metrics emf`: every access record the
// workers normalise is counted in the open interval (emf.Aggregator); a closed
// interval's events go into the store as a CloudWatch batch bound for
// metrics_log_group_name, so they get the spool's durability and the upload pool's
// retries, and are sent through the same CloudWatch Logs client code as other_logs.
type metricsSink struct {
	p         *Pipeline
	agg       *emf.Aggregator
	cw        *cwlogs.Client
	wantRoute bool
	wantAuth  bool

	mu    sync.Mutex
	metas map[*emf.Source]batch.Meta // the record variables each source's names came from
}

func newMetricsSink(p *Pipeline) (*metricsSink, error) {
	cfg := p.cfg
	o := cwOptions(cfg, p.log)
	o.LogGroupName, o.LogStreamName, o.LogStreamPrefix = cfg.MetricsLogGroupName, "", metricsStreamPrefix
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := cwlogs.New(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("envoy_s3: metrics: %w", err)
	}
	m := &metricsSink{p: p, cw: c, metas: map[*emf.Source]batch.Meta{}}
	m.agg = emf.New(emf.Options{Namespace: cfg.MetricsNamespace, Dims: cfg.MetricsDimensions, Resolution: cfg.MetricsResolution, MaxRoutes: cfg.MetricsMaxRoutes}, p.now())
	for _, d := range cfg.MetricsDimensions {
		m.wantRoute = m.wantRoute || d == emf.DimRoute
		m.wantAuth = m.wantAuth || d == emf.DimAuthority
	}
	return m, nil
}

// source is the emf.Source of records with vars (cached by the worker per run of
// records with the same metadata).
func (m *metricsSink) source(v *keyformat.Vars) *emf.Source {
	group, stream := m.names(v)
	cluster, family := string(v.Cluster), string(v.Family)
	if cluster == "" {
		cluster = "unknown"
	}
	if family == "" {
		family = "unknown"
	}
	src := m.agg.Source(cluster, family, group, stream)
	m.mu.Lock()
	if _, ok := m.metas[src]; !ok {
		m.metas[src] = batch.Meta{Stream: batch.StreamMetrics, Tag: string(v.Tag), Cluster: string(v.Cluster), TaskID: string(v.TaskID), Family: string(v.Family), Container: string(v.Container)}
	}
	m.mu.Unlock()
	return src
}

// names are the log group and stream of records with v.
func (m *metricsSink) names(v *keyformat.Vars) (group, stream string) {
	return m.p.cfg.MetricsLogGroup.Expand(v), cwlogs.StreamName(&cwlogs.Options{LogStreamPrefix: metricsStreamPrefix}, string(v.Tag))
}

// observe counts e, the worker's current access record, normalised and redacted.
func (w *worker) observe(e *accesslog.Entry) {
	p, m := w.p, w.p.metrics
	if md := &w.f.meta; w.msrc == nil || !bytes.Equal(w.mtag, w.tag) || !bytes.Equal(w.mmeta[metaCluster], md[metaCluster]) ||
		!bytes.Equal(w.mmeta[metaTaskARN], md[metaTaskARN]) || !bytes.Equal(w.mmeta[metaTaskDef], md[metaTaskDef]) ||
		!bytes.Equal(w.mmeta[metaContainer], md[metaContainer]) {
		w.msrc = m.source(&w.vars) // w.vars are this record's: place() just used them
		w.mtag = append(w.mtag[:0], w.tag...)
		for i := range w.mmeta {
			w.mmeta[i] = append(w.mmeta[i][:0], md[i]...)
		}
	}
	f := &e.Fields
	r := &w.mreq
	*r = emf.Request{
		TCP:           string(f[accesslog.Kind].Str) == "tcp",
		Method:        f[accesslog.Method].Str,
		Path:          f[accesslog.Path].Str,
		Protocol:      f[accesslog.Protocol].Str,
		Authority:     f[accesslog.Authority].Str,
		Status:        f[accesslog.ResponseCode].Int,
		BytesReceived: f[accesslog.BytesReceived].Int,
		BytesSent:     f[accesslog.BytesSent].Int,
		Duration:      -1,
		Upstream:      -1,
		LineBytes:     int64(len(w.f.log)),
	}
	if g := f[accesslog.GrpcStatus]; g.Kind == accesslog.String {
		r.GrpcStatus = g.Str
	}
	if d := f[accesslog.DurationMs]; d.Kind == accesslog.Int {
		r.Duration = d.Int
	}
	if u := f[accesslog.UpstreamServiceTimeMs]; u.Kind == accesslog.Int {
		r.Upstream = u.Int
	}
	if p.cfg.OutputFormat == config.OutputRaw && p.redactor.Active() {
		// Raw output redacts the line, not the entry: redact what becomes a name.
		w.marena = w.marena[:0]
		if m.wantRoute {
			w.marena = p.redactor.Path(&w.sc, w.marena, r.Path)
		}
		n := len(w.marena)
		if m.wantAuth {
			w.marena = p.redactor.String(&w.sc, w.marena, r.Authority)
		}
		if m.wantRoute {
			r.Path = w.marena[:n]
		}
		if m.wantAuth {
			r.Authority = w.marena[n:]
		}
	}
	w.deferObs(r)
}

// pendingObs is an access record's metrics request, held until its flush is
// accepted: a chunk answered RETRY comes again and must not be counted twice. Its
// names are copied into the worker's mbuf (offsets, since appends move it).
type pendingObs struct {
	src  *emf.Source
	req  emf.Request
	offs [5][2]int // Method, Path, Protocol, Authority, GrpcStatus in mbuf; [-1 -1] for nil
}

// deferObs keeps r for observeAccepted.
func (w *worker) deferObs(r *emf.Request) {
	o := pendingObs{src: w.msrc, req: *r}
	for i, b := range [...][]byte{r.Method, r.Path, r.Protocol, r.Authority, r.GrpcStatus} {
		if b == nil {
			o.offs[i] = [2]int{-1, -1}
			continue
		}
		start := len(w.mbuf)
		w.mbuf = append(w.mbuf, b...)
		o.offs[i] = [2]int{start, len(w.mbuf)}
	}
	o.req.Method, o.req.Path, o.req.Protocol, o.req.Authority, o.req.GrpcStatus = nil, nil, nil, nil, nil
	w.mpend = append(w.mpend, o)
}

// observeAccepted counts the flush's access records in the open interval, once its
// lines are stored.
func (w *worker) observeAccepted() {
	m := w.p.metrics
	if m == nil {
		return
	}
	for i := range w.mpend {
		o := &w.mpend[i]
		r := o.req
		dst := [...]*[]byte{&r.Method, &r.Path, &r.Protocol, &r.Authority, &r.GrpcStatus}
		for j, off := range o.offs {
			if off[0] >= 0 {
				*dst[j] = w.mbuf[off[0]:off[1]:off[1]]
			}
		}
		m.agg.Observe(&w.msc, o.src, &r)
	}
	w.mpend, w.mbuf = w.mpend[:0], w.mbuf[:0]
}

// roll hands a closed interval to the store; flush (at exit) the open one too.
func (m *metricsSink) roll(now time.Time, flush bool) {
	var evs []emf.Event
	if flush {
		evs = m.agg.Flush(now)
	} else {
		evs = m.agg.Roll(now)
	}
	if len(evs) == 0 {
		return
	}
	parts := map[*emf.Source]*part{}
	var list []*part
	for _, e := range evs {
		pt := parts[e.Source]
		if pt == nil {
			m.mu.Lock()
			meta := m.metas[e.Source]
			m.mu.Unlock()
			meta.FirstTime = e.Time
			key := append([]byte{byte(batch.StreamMetrics)}, e.Source.Group...)
			key = append(append(key, 0), e.Source.Stream...)
			pt = &part{key: key, meta: meta}
			parts[e.Source] = pt
			list = append(list, pt)
		}
		pt.lines = append(appendCloudWatchLine(pt.lines, e.Time, e.JSON), '\n')
		pt.n++
	}
	if err := m.p.store.add(list); err != nil {
		// Metrics are aggregates of records that are safe in the store: when the
		// store refuses more, this interval's metrics are the one thing lost.
		m.p.log.Warnf("the metrics of %d series could not be stored for sending (%v): that interval is missing from CloudWatch", len(evs), err)
	}
}

// text is the stats line's part about metrics: their estimated monthly cost next
// to what ingesting the access lines into CloudWatch Logs would cost.
func (m *metricsSink) text(region string, pricePerGB float64) string {
	st := m.agg.Stats()
	prices, _ := cost.For(region)
	elapsed := time.Duration(0)
	if !st.Since.IsZero() {
		elapsed = time.Since(st.Since)
	}
	e := cost.ComputeMetrics(prices, pricePerGB, st.LastMetrics, st.Events, st.EventBytes, st.Requests, st.LineBytes, elapsed)
	return fmt.Sprintf("metrics_requests=%d metrics_events=%d %s", st.Requests, st.Events, e.Text())
}
