// Package metricsink is the destination of `metrics emf`: every access record the
// pipeline's workers normalise is counted in the open interval (emf.Aggregator),
// once its flush is accepted (Pending: a chunk answered RETRY comes again and must
// not be counted twice); a closed interval's events become CloudWatch batches
// (Roll) that the pipeline puts into its store, bound for metrics_log_group_name,
// so they get the spool's durability and the upload pool's retries, and are sent
// through the same CloudWatch Logs client code as other_logs. The instance's health
// series (health.go) goes to the same log group, in its own stream, sent apart
// from the store so that it arrives while S3 is down or store_dir is full. After a
// failed send its one sender goroutine retries on its own with jittered, doubling
// backoff (500 ms up to 30 s, delivery.Backoff), holding the newest 60 events, until
// a send succeeds or CloseHealth cancels it; the next interval's event does not
// have to come first.
package metricsink

import (
	"fmt"
	"sync"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/cost"
	"github.com/envoy-s3/envoy_s3/internal/cwlogs"
	"github.com/envoy-s3/envoy_s3/internal/emf"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
)

// StreamPrefix names the log stream of a task's EMF events: the prefix plus the tag
// (which holds the task id), as other_logs streams are named by the tag.
const StreamPrefix = "envoy_s3-metrics-"

// Sink is safe for concurrent use.
type Sink struct {
	agg   *emf.Aggregator
	cw    *cwlogs.Client
	group *keyformat.Name
	// WantRoute and WantAuth: the path and authority become dimension values.
	WantRoute, WantAuth bool

	namespace string // of the health series
	highRes   bool
	health    health

	mu    sync.Mutex
	metas map[*emf.Source]batch.Meta // the record variables each source's names came from
}

// New returns the sink of cfg's metrics, sending with cw.
func New(cfg *config.Config, cw *cwlogs.Client, now time.Time) *Sink {
	s := &Sink{cw: cw, group: cfg.MetricsLogGroup, metas: map[*emf.Source]batch.Meta{}, namespace: cfg.MetricsNamespace, highRes: cfg.MetricsResolution < time.Minute}
	s.agg = emf.New(emf.Options{Namespace: cfg.MetricsNamespace, Dims: cfg.MetricsDimensions, Resolution: cfg.MetricsResolution, MaxRoutes: cfg.MetricsMaxRoutes}, now)
	for _, d := range cfg.MetricsDimensions {
		s.WantRoute = s.WantRoute || d == emf.DimRoute
		s.WantAuth = s.WantAuth || d == emf.DimAuthority
	}
	return s
}

// Client is the CloudWatch Logs client the events are sent with.
func (s *Sink) Client() *cwlogs.Client { return s.cw }

// Source is the emf.Source of records with v (callers cache it per run of records
// with the same metadata).
func (s *Sink) Source(v *keyformat.Vars) *emf.Source {
	group, stream := s.Names(v)
	cluster, family := string(v.Cluster), string(v.Family)
	if cluster == "" {
		cluster = "unknown"
	}
	if family == "" {
		family = "unknown"
	}
	src := s.agg.Source(cluster, family, group, stream)
	s.mu.Lock()
	if _, ok := s.metas[src]; !ok {
		s.metas[src] = batch.Meta{Stream: batch.StreamMetrics, Tag: string(v.Tag), Cluster: string(v.Cluster), TaskID: string(v.TaskID), Family: string(v.Family), Container: string(v.Container)}
	}
	s.mu.Unlock()
	return src
}

// Names are the log group and stream of the events of records with v.
func (s *Sink) Names(v *keyformat.Vars) (group, stream string) {
	return s.group.Expand(v), cwlogs.StreamName(&cwlogs.Options{LogStreamPrefix: StreamPrefix}, string(v.Tag))
}

// Batch is the events of a closed interval for one log stream, as the store keeps
// CloudWatch batches: Key is its partition, Lines its cwlogs lines.
type Batch struct {
	Key    []byte
	Meta   batch.Meta
	Lines  []byte
	Events int
}

// Roll closes the interval due by now (with flush, at exit, the open one too) and
// returns its events as batches, and how many series they hold.
func (s *Sink) Roll(now time.Time, flush bool) (out []*Batch, series int) {
	var evs []emf.Event
	if flush {
		evs = s.agg.Flush(now)
	} else {
		evs = s.agg.Roll(now)
	}
	bySource := map[*emf.Source]*Batch{}
	for _, e := range evs {
		b := bySource[e.Source]
		if b == nil {
			s.mu.Lock()
			meta := s.metas[e.Source]
			s.mu.Unlock()
			meta.FirstTime = e.Time
			key := append([]byte{byte(batch.StreamMetrics)}, e.Source.Group...)
			key = append(append(key, 0), e.Source.Stream...)
			b = &Batch{Key: key, Meta: meta}
			bySource[e.Source] = b
			out = append(out, b)
		}
		b.Lines = append(cwlogs.AppendLine(b.Lines, e.Time, e.JSON), '\n')
		b.Events++
	}
	return out, len(evs)
}

// Stats is what the sink has counted so far.
func (s *Sink) Stats() emf.Stats { return s.agg.Stats() }

// Text is the stats line's part about metrics: their estimated monthly cost next
// to what ingesting the access lines into CloudWatch Logs would cost.
func (s *Sink) Text(region string, pricePerGB float64) string {
	st := s.agg.Stats()
	prices, _ := cost.For(region)
	elapsed := time.Duration(0)
	if !st.Since.IsZero() {
		elapsed = time.Since(st.Since)
	}
	e := cost.ComputeMetrics(prices, pricePerGB, st.LastMetrics, st.Events, st.EventBytes, st.Requests, st.LineBytes, elapsed)
	return fmt.Sprintf("metrics_requests=%d metrics_events=%d %s", st.Requests, st.Events, e.Text())
}

// Pending is one worker's access records of a flush, held until the flush is
// accepted. The requests' names are copied into buf (as offsets, since appends
// move it). Not safe for concurrent use.
type Pending struct {
	obs []pendingObs
	buf []byte
	sc  emf.Scratch
}

type pendingObs struct {
	src  *emf.Source
	req  emf.Request
	offs [5][2]int // Method, Path, Protocol, Authority, GrpcStatus in buf; [-1 -1] for nil
}

// Add keeps r, a request of src; r's names may be reused once Add returns.
func (p *Pending) Add(src *emf.Source, r *emf.Request) {
	o := pendingObs{src: src, req: *r}
	for i, b := range [...][]byte{r.Method, r.Path, r.Protocol, r.Authority, r.GrpcStatus} {
		if b == nil {
			o.offs[i] = [2]int{-1, -1}
			continue
		}
		start := len(p.buf)
		p.buf = append(p.buf, b...)
		o.offs[i] = [2]int{start, len(p.buf)}
	}
	o.req.Method, o.req.Path, o.req.Protocol, o.req.Authority, o.req.GrpcStatus = nil, nil, nil, nil, nil
	p.obs = append(p.obs, o)
}

// Commit counts the held requests in s's open interval and forgets them.
func (p *Pending) Commit(s *Sink) {
	for i := range p.obs {
		o := &p.obs[i]
		r := o.req
		dst := [...]*[]byte{&r.Method, &r.Path, &r.Protocol, &r.Authority, &r.GrpcStatus}
		for j, off := range o.offs {
			if off[0] >= 0 {
				*dst[j] = p.buf[off[0]:off[1]:off[1]]
			}
		}
		s.agg.Observe(&p.sc, o.src, &r)
	}
	p.Reset()
}

// Reset forgets the held requests (their flush was refused).
func (p *Pending) Reset() { p.obs, p.buf = p.obs[:0], p.buf[:0] }
