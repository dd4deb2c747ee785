package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/cwlogs"
	"github.com/envoy-s3/envoy_s3/internal/cwsink"
	"github.com/envoy-s3/envoy_s3/internal/emf"
	"github.com/envoy-s3/envoy_s3/internal/metricsink"
)

// newMetrics builds the sink of metrics emf (internal/metricsink) and its
// CloudWatch Logs client.
func newMetrics(p *Pipeline) (*metricsink.Sink, error) {
	cfg := p.cfg
	o := cwsink.Options(cfg, p.log.Infof)
	o.LogGroupName, o.LogStreamName, o.LogStreamPrefix = cfg.MetricsLogGroupName, "", metricsink.StreamPrefix
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := cwlogs.New(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("envoy_s3: metrics: %w", err)
	}
	return metricsink.New(cfg, c, p.now()), nil
}

// observe holds e, the worker's current access record, normalised and redacted, for
// the metrics of its flush.
func (w *worker) observe(e *accesslog.Entry) {
	p, m := w.p, w.p.metrics
	if md := &w.f.meta; w.msrc == nil || !bytes.Equal(w.mtag, w.tag) || !bytes.Equal(w.mmeta[metaCluster], md[metaCluster]) ||
		!bytes.Equal(w.mmeta[metaTaskARN], md[metaTaskARN]) || !bytes.Equal(w.mmeta[metaTaskDef], md[metaTaskDef]) ||
		!bytes.Equal(w.mmeta[metaContainer], md[metaContainer]) {
		w.msrc = m.Source(&w.vars) // w.vars are this record's: place() just used them
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
		if m.WantRoute {
			w.marena = p.redactor.Path(&w.sc, w.marena, r.Path)
		}
		n := len(w.marena)
		if m.WantAuth {
			w.marena = p.redactor.String(&w.sc, w.marena, r.Authority)
		}
		if m.WantRoute {
			r.Path = w.marena[:n]
		}
		if m.WantAuth {
			r.Authority = w.marena[n:]
		}
	}
	w.mpend.Add(w.msrc, r)
}

// observeAccepted counts the flush's access records in the open interval, once its
// lines are stored.
func (w *worker) observeAccepted() {
	if m := w.p.metrics; m != nil {
		w.mpend.Commit(m)
	}
}

// rollMetrics puts a closed interval's events into the store; flush (at exit) the
// open one too.
func (p *Pipeline) rollMetrics(now time.Time, flush bool) {
	batches, series := p.metrics.Roll(now, flush)
	if len(batches) == 0 {
		return
	}
	parts := make([]*part, len(batches))
	for i, b := range batches {
		parts[i] = &part{key: b.Key, meta: b.Meta, lines: b.Lines, n: b.Events}
	}
	if err := p.store.add(parts, nil); err != nil {
		// Metrics are aggregates of records that are safe in the store: when the
		// store refuses more, this interval's metrics are the one thing lost.
		p.log.Warnf("the metrics of %d series could not be stored for sending (%v): that interval is missing from CloudWatch", series, err)
	}
}
