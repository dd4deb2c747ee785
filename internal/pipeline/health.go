package pipeline

import (
	"strings"
	"sync"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/emf"
	"github.com/envoy-s3/envoy_s3/internal/stats"
)

// healthState is the previous stats interval's counters, so each interval reports
// what changed in it.
type healthState struct {
	mu         sync.Mutex
	prev       stats.Snapshot
	redactions uint64
}

// Words of the stats line's health field, one per problem seen in the interval;
// "ok" when none. Each is a word no other part of the line contains, so a
// CloudWatch Logs metric filter can match it alone (docker/README.md).
const (
	healthOK        = "ok"
	healthRefused   = "flushes_refused" // a flush was answered RETRY
	healthRejected  = "uploads_refused" // S3 (or CloudWatch) refused an upload with an error the user must fix
	healthStalled   = "upload_stalled"  // a batch has waited more than twice upload_timeout
	healthStallMult = 2
)

// sampleHealth closes a stats interval: what it counted (since the previous
// call) and what waits now, given the current counters and store bytes.
func (p *Pipeline) sampleHealth(now time.Time, s stats.Snapshot, spoolBytes int64) emf.Health {
	red := p.redactor.Counts().Total()
	hs := &p.health
	hs.mu.Lock()
	prev, prevRed := hs.prev, hs.redactions
	hs.prev, hs.redactions = s, red
	hs.mu.Unlock()
	return emf.Health{
		RecordsIn:      s.RecordsIn - prev.RecordsIn,
		RecordsStored:  s.StoredRecords - prev.StoredRecords,
		Retries:        s.Retries - prev.Retries,
		Backpressure:   s.Backpressure - prev.Backpressure,
		RefusedUploads: s.Refused - prev.Refused,
		Redactions:     int64(red - prevRed),
		SpoolBytes:     spoolBytes,
		OldestBatchAge: p.oldestBatchAge(now),
	}
}

// oldestBatchAge is how long the oldest batch not yet uploaded has waited: open in
// the store, or sealed and queued for upload.
func (p *Pipeline) oldestBatchAge(now time.Time) time.Duration {
	t := p.store.oldestOpen()
	if o := p.pool.Oldest(); !o.IsZero() && (t.IsZero() || o.Before(t)) {
		t = o
	}
	if t.IsZero() || now.Before(t) {
		return 0
	}
	return now.Sub(t)
}

// healthWords renders the stats line's health field for h.
func (p *Pipeline) healthWords(h *emf.Health) string {
	var w []string
	if h.Backpressure > 0 {
		w = append(w, healthRefused)
	}
	if h.RefusedUploads > 0 {
		w = append(w, healthRejected)
	}
	if h.OldestBatchAge > healthStallMult*p.cfg.UploadTimeout {
		w = append(w, healthStalled)
	}
	if len(w) == 0 {
		return healthOK
	}
	return strings.Join(w, ",")
}

// nameHealth names the health series after the first records that reach a
// flush (their cluster, family and tag), once; metrics emf only.
func (p *Pipeline) nameHealth(w *worker) {
	if p.metrics == nil || p.metrics.HasHealthSource() || len(w.touched) == 0 {
		return
	}
	m := &w.touched[0].meta
	v := metaVars(m)
	p.metrics.SetHealthSource(&v)
}
