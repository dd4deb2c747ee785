package pipeline

import (
	"time"

	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/emf"
	"github.com/envoy-s3/envoy_s3/internal/redact"
)

// Destinations a record can be given, as Inspect reports them.
const (
	DestAccess     = "access"     // an access log, written under s3_key_format
	DestOther      = "other"      // another record, written under other_key_format
	DestCloudWatch = "cloudwatch" // another record, sent to CloudWatch Logs
	DestDropped    = "dropped"    // another record, dropped (other_logs drop)
)

var destNames = map[batch.Stream]string{batch.StreamAccess: DestAccess, batch.StreamOther: DestOther, batch.StreamCloudWatch: DestCloudWatch}

// Placed is what Inspect reports for one record: where it would go and the line that
// would be written there, already normalised and redacted. Line and Partition alias
// scratch memory that is reused for the next record.
type Placed struct {
	Dest string
	// Partition is the key prefix rendered from the record (the part of the key
	// template before $UUID/$INDEX), or "group<NUL>stream" for CloudWatch.
	Partition []byte
	// Line is the NDJSON line (without its newline), or for CloudWatch the
	// {"t":ms,"m":message} line the store keeps; nil when dropped.
	Line []byte
}

// Inspect runs every record of a chunk through the same path as Flush (decode,
// recognise, normalise, redact, partition, encode) and hands each result to fn
// instead of the store, so nothing is buffered, spooled or uploaded. The counters
// move as in Flush, so Stats and the redaction counts describe what Inspect saw.
// It is what the preview command is built on: there is no second implementation.
func (p *Pipeline) Inspect(data []byte, tag string, fn func(Placed)) {
	w := p.newWorker()
	w.inspect = fn
	w.begin(tag)
	w.dec.Reset(data)
	for w.dec.Next(&w.ev) {
		w.guarded(p)
	}
	p.commit(w) // nothing is touched: only a split record's pieces are taken in
	p.accepted(w, len(data), tag)
}

// Redactions returns how many values each redaction rule replaced so far.
func (p *Pipeline) Redactions() redact.Counts { return p.redactor.Counts() }

// InspectMetrics closes the metrics interval that Inspect's records filled (with
// metrics emf) and returns what it produced, and the interval's length; ok is false
// when metrics are off. Nothing is sent: the events are dropped.
func (p *Pipeline) InspectMetrics() (st emf.Stats, interval time.Duration, ok bool) {
	if p.metrics == nil {
		return emf.Stats{}, 0, false
	}
	p.metrics.Roll(p.now(), true) // the open interval, dropped: nothing is sent
	return p.metrics.Stats(), p.cfg.MetricsResolution, true
}
