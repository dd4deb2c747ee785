// Package pipeline is one envoy_s3 instance: it turns a Fluent Bit chunk into NDJSON
// lines (access logs normalised, other records as they came), redacts them, groups
// them per object key prefix and hands sealed objects to background uploaders.
//
// Flush does no network I/O, so Fluent Bit's engine thread is never stalled; its cost
// per record is decode + recognise + normalise + redact + encode, with per-worker
// scratch reused across flushes so steady state allocates nothing per record.
//
// It is the hub, and only orchestrates: what a piece of the path does is in the
// package named for it. Here, worker.go is the flush path (one record at a time,
// with internal/fieldredact for the per-field rules and redactvars.go for the
// names a record gives its keys), partial.go joins Docker's split lines through
// internal/partial, store.go and spoolstore.go are the two stores batches wait in
// (memory with store_dir off, internal/spool otherwise), and the destinations are
// sinks: objects through internal/object to internal/s3sink, other records through
// internal/cwsink (cloudwatch.go), route metrics through internal/metricsink
// (metrics.go). adopt.go drains the spool directories internal/adopt finds,
// deadletter.go ships what store_dir cannot deliver (internal/deadletter) and says
// at exit what stays on disk,
// health.go closes each stats interval's health sample (the stats line's health
// field, and with metrics emf an event metricsink sends on its own), and
// inspect.go is the preview's view of the same path. A new output format is an
// encoder in internal/object; a new destination is a sink and a stream
// (batch.Stream) routed in worker.go and the stores.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/adopt"
	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/cost"
	"github.com/envoy-s3/envoy_s3/internal/cwsink"
	"github.com/envoy-s3/envoy_s3/internal/deadletter"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/emf"
	"github.com/envoy-s3/envoy_s3/internal/fieldredact"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/internal/freelist"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
	"github.com/envoy-s3/envoy_s3/internal/keyindex"
	"github.com/envoy-s3/envoy_s3/internal/metricsink"
	"github.com/envoy-s3/envoy_s3/internal/object"
	"github.com/envoy-s3/envoy_s3/internal/parquetenc"
	"github.com/envoy-s3/envoy_s3/internal/partial"
	"github.com/envoy-s3/envoy_s3/internal/redact"
	"github.com/envoy-s3/envoy_s3/internal/s3sink"
	"github.com/envoy-s3/envoy_s3/internal/spool"
	"github.com/envoy-s3/envoy_s3/internal/stats"
)

// ErrBufferFull is returned (with retry) when the data waiting for upload has reached
// store_dir_limit_size: Fluent Bit keeps the chunk and flushes it again later.
var ErrBufferFull = errors.New("pipeline: buffer full (store_dir_limit_size reached)")

// Options carry what is not configuration: identity, logging, and seams for tests.
type Options struct {
	Name   string
	Log    *flblog.Logger
	Putter delivery.Putter // nil: an S3 client built from the configuration
	Now    func() time.Time
	// Upload timing; zero values keep delivery's defaults.
	AttemptTimeout time.Duration // one PutObject attempt
	SlowRetry      time.Duration // between attempts while an error needs the user to fix it
	PartialTimeout time.Duration // how long pieces of a split line wait for the rest; 0: 10 s

	// Adoption of stranded spool directories (adopt.go).
	registry  *adopt.Registry                               // nil: this process's
	newPutter func(*config.Config) (delivery.Putter, error) // nil: an S3 client for the recorded destination
	drain     bool                                          // delivers an adopted directory; takes no records
	adopted   *spool.Orphan                                 // the directory a drain adopted
	// NoDelivery discards sealed batches instead of queueing them, so nothing is ever
	// sent (the preview command, which uses Inspect; never set by the plugin).
	NoDelivery bool
}

// Pipeline is safe for concurrent Flush calls (Fluent Bit Workers).
type Pipeline struct {
	cfg    *config.Config
	log    *flblog.Logger
	access *keyformat.Template
	other  *keyformat.Template
	// accessUnit and otherUnit: the time granularity of each template's partitions.
	accessUnit, otherUnit time.Duration
	codec                 compress.Codec // of NDJSON objects
	objFormat             batch.Format   // format of the batches this instance opens
	objects               *object.Encoders
	format                accesslog.Format
	redactor              *redact.Redactor
	partials              *partial.Reassembler // Docker's split records
	unjoined              bool                 // the journal could not be opened: pieces are stored as they came
	jsonKeys              *redact.Names        // redact_json_keys; nil when none
	textRules             bool                 // a rule could change a string: redactor or jsonKeys
	fields                *fieldredact.Rules
	store                 store
	cw                    *cwsink.Sink     // other_logs cloudwatch; nil otherwise
	metrics               *metricsink.Sink // metrics emf; nil when off
	pool                  *delivery.Pool
	workers               freelist.List[*worker]
	stats                 stats.Counters
	health                healthState
	badTimeLogged         atomic.Bool
	panicLogged           atomic.Bool
	stageFailing          atomic.Bool        // staging a flush's lines fails: logged once per episode
	recordHook            func(*chunk.Event) // tests: runs before each record is processed
	index                 *keyindex.Counter  // $INDEX, in store_dir or (store_dir off) in memory
	limit                 int64
	full                  atomic.Bool
	now                   func() time.Time
	stop                  chan struct{}
	ticker                sync.WaitGroup
	closed                atomic.Bool
	opt                   Options
	put                   delivery.Putter // the instance's own S3 client
	reg                   *adopt.Registry
	dead                  *deadletter.Sink    // dead_letter_prefix; nil when off (or store_dir off, or a drain)
	ship                  *deadletter.Shipper // the quarantined ranges of store_dir, as dead letters
	left                  Leftover            // what Close left on disk
}

// New builds an instance from a validated configuration.
func New(cfg *config.Config, opt Options) (*Pipeline, error) {
	if opt.Log == nil {
		opt.Log = flblog.New(opt.Name, flblog.Info)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.registry == nil {
		opt.registry = adopt.Process
	}
	p := &Pipeline{cfg: cfg, log: opt.Log, now: opt.Now, stop: make(chan struct{}), limit: cfg.StoreDirLimitSize, opt: opt, reg: opt.registry}
	p.access, p.other = cfg.S3Key, cfg.OtherKey
	p.accessUnit, p.otherUnit = p.access.PartitionUnit(), p.other.PartitionUnit()
	var err error
	p.objFormat = cfg.Format
	pqCodec := cfg.Compression
	p.codec = cfg.Compression
	if p.objFormat == batch.FormatParquet {
		// compression names the codec inside the file; NDJSON keys are only
		// given to batches an older version left open, in its default codec.
		p.codec = compress.Gzip
	}
	p.objects = object.NewEncoders(pqCodec)
	p.format = cfg.AccessLogFormat
	if p.redactor, err = redact.New(cfg.Redaction()); err != nil {
		return nil, fmt.Errorf("envoy_s3: %w", err)
	}
	if len(cfg.RedactJSONKeys) > 0 {
		if p.jsonKeys, err = redact.NewNames(cfg.RedactJSONKeys); err != nil {
			return nil, fmt.Errorf("envoy_s3: redact_json_keys: %w", err)
		}
	}
	p.textRules = p.redactor.Active() || !p.jsonKeys.Empty()
	if p.fields, err = fieldredact.New(cfg, p.redactor, p.jsonKeys); err != nil {
		return nil, err
	}
	if cfg.OtherLogs == config.OtherCloudWatch {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if p.cw, err = cwsink.New(ctx, cfg, p.log.Infof); err != nil {
			return nil, fmt.Errorf("envoy_s3: %w", err)
		}
	}
	if cfg.Metrics {
		if p.metrics, err = newMetrics(p); err != nil {
			return nil, err
		}
	}
	put := opt.Putter
	if put == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := s3sink.New(ctx, s3sink.OptionsOf(cfg, p.log.Infof))
		if err != nil {
			return nil, err
		}
		put = c
	}
	p.put = put
	p.pool = delivery.New(delivery.Options{
		Put:       put,
		Classify:  delivery.ByRemedy,
		Timeout:   opt.AttemptTimeout,
		Target:    uploadTarget(cfg),
		SlowRetry: opt.SlowRetry,
		Logf:      p.log.Warnf,
		Errorf:    p.log.Errorf,
		Uploaded: func(j *delivery.Job, _ time.Duration) {
			if deadletter.IsJob(j) {
				return
			}
			if j.Send != nil {
				p.stats.CWBatches.Add(1)
				return
			}
			p.stats.Objects.Add(1)
			p.stats.StoredRecords.Add(int64(j.Records))
			p.stats.StoredBytes.Add(j.Body.Size())
		},
		Failed: func(_ *delivery.Job, err error) {
			p.stats.Retries.Add(1)
			if delivery.ByRemedy(err).Permanent {
				p.stats.Refused.Add(1)
			}
		},
	})
	enc, err := compress.NewEncoder(p.codec)
	if err != nil {
		return nil, err
	}
	if !opt.drain {
		p.warnIndex()
	}
	if !cfg.StoreDirOff && cfg.DeadLetterPrefix != "" && !opt.drain {
		p.dead = &deadletter.Sink{Prefix: cfg.DeadLetterPrefix, Bucket: cfg.Bucket, Put: put, Now: opt.Now}
		if cfg.ObjectTags != nil {
			p.dead.Tagged = p.deadLetterObject
		}
		p.ship = &deadletter.Shipper{Dir: deadletter.QuarantineDir(cfg.StoreDir), Sink: p.dead, Submit: p.pool.Submit, Logf: p.log.Infof, Errorf: p.log.Errorf}
	}
	if cfg.StoreDirOff {
		p.index, _ = keyindex.Open("", cfg.Endpoint, cfg.Bucket)
		p.store = newMemStore(p, enc, opt.Now)
	} else if p.index, err = keyindex.Open(cfg.StoreDir, cfg.Endpoint, cfg.Bucket); err != nil {
		p.pool.Close(context.Background())
		return nil, fmt.Errorf("envoy_s3: store_dir: %w", err)
	} else if p.store, err = newSpoolStore(p, opt.Now); err != nil {
		p.pool.Close(context.Background())
		p.index.Close()
		return nil, err
	}
	dir := ""
	if s, ok := p.store.(*spoolStore); ok {
		dir = s.sp.Dir()
	}
	if err = p.newPartials(dir, opt); err != nil {
		p.pool.Close(context.Background())
		p.store.close()
		p.index.Close()
		return nil, err
	}
	p.workers.New = p.newWorker
	if !opt.drain {
		p.reg.Join(p, p.now())
	}
	p.ticker.Add(1)
	go p.tick()
	return p, nil
}

// Log returns the instance's logger.
func (p *Pipeline) Log() *flblog.Logger { return p.log }

// Stats returns a snapshot of the counters.
func (p *Pipeline) Stats() stats.Snapshot { return p.stats.Snapshot() }

// Flush consumes one chunk. It reports (retry, err): nil means every record is held
// for upload; retry means Fluent Bit should keep the chunk and try again later.
func (p *Pipeline) Flush(data []byte, tag string) (retry bool, err error) {
	if p.closed.Load() {
		return true, errors.New("pipeline: flush after exit")
	}
	p.reg.Flushed() // Fluent Bit flushes only once every instance is up
	w := p.workers.Get()
	defer p.workers.Put(w)
	w.begin(tag)
	if r, ok := p.store.(replayer); ok {
		w.chunkID = spool.ChunkOf(tag, data)
		if r.seen(w.chunkID) {
			p.replayed(tag, len(data))
			return false, nil
		}
		w.chunk = &w.chunkID
	}
	w.dec.Reset(data)
	for w.dec.Next(&w.ev) {
		w.guarded(p)
	}
	p.nameHealth(w)
	if retry, err := p.commit(w); retry {
		w.sc.Discard()
		return true, err
	}
	p.accepted(w, len(data), tag)
	return false, nil
}

// replayed counts a chunk that was already stored, which Fluent Bit sent again.
func (p *Pipeline) replayed(tag string, size int) {
	if p.stats.Replayed.Add(1) == 1 {
		p.log.Infof("a chunk of %d bytes (tag %q) that was already stored came again (Fluent Bit did not see its OK before it stopped): answered OK without storing it twice; further ones are counted (replayed in the stats line)", size, tag)
	}
}

// accepted counts a flush that Fluent Bit will not send again, and reports what
// its chunk lost to broken bytes and which records got their time of arrival.
func (p *Pipeline) accepted(w *worker, size int, tag string) {
	n := &w.n
	p.stats.RecordsIn.Add(n.records)
	p.written(w)
	if lost := w.dec.Lost(); lost > 0 {
		p.stats.Bad.Add(int64(lost))
		skipped, regions, first := w.dec.Skipped()
		if skipped > 0 {
			p.log.Errorf("chunk of %d bytes (tag %q) is damaged: skipped %d byte(s) in %d place(s) from offset %d (%v): about %d event(s) lost; the %d good event(s) around them are kept",
				size, tag, skipped, regions, first, w.dec.Err(), lost, n.records)
		} else {
			p.log.Warnf("skipped %d malformed event(s) in a chunk of %d bytes (tag %q); the %d good event(s) are kept", lost, size, tag, n.records)
		}
	}
	if n.panicked > 0 {
		p.stats.Bad.Add(n.panicked)
		if p.panicLogged.CompareAndSwap(false, true) {
			p.log.Errorf("internal error on %d record(s) of a chunk (tag %q), which are lost; the other %d are kept; please report it with this line: %s",
				n.panicked, tag, n.records-n.panicked, n.panicWhy)
		} else {
			p.log.Errorf("internal error on %d record(s) of a chunk (tag %q), which are lost (counted in bad)", n.panicked, tag)
		}
	}
	if n.badTime > 0 {
		p.stats.BadTime.Add(n.badTime)
		if p.badTimeLogged.CompareAndSwap(false, true) {
			p.log.Warnf("%d record(s) of a chunk (tag %q) have an event time that is no time between 1970 and 9999 (the first: %s): they are stored with their time of arrival instead (records unchanged); further ones are only counted (bad_time in the stats line)",
				n.badTime, tag, n.badTimeValue.Describe())
		}
	}
}

// written counts what an accepted flush (or a replay of held pieces) wrote: records
// by outcome, bytes, and the redactions made.
func (p *Pipeline) written(w *worker) {
	n := &w.n
	p.stats.Access.Add(n.access)
	p.stats.Other.Add(n.other)
	p.stats.Dropped.Add(n.dropped)
	p.stats.LogBytes.Add(n.logBytes)
	for _, pt := range w.touched {
		p.stats.RawBytes.Add(int64(len(pt.lines)) + pt.stagedRaw)
	}
	p.redactor.Commit(&w.sc)
	w.observeAccepted()
}

// backpressure records whether flushes are being refused for lack of room, and logs
// the transitions (not every refused flush).
func (p *Pipeline) backpressure(full bool, held int64) {
	if full != p.full.Load() && p.full.CompareAndSwap(!full, full) {
		if full {
			p.log.Warnf("%d bytes wait for upload, store_dir_limit_size is %d: answering RETRY until uploads catch up", held, p.limit)
		} else {
			p.log.Infof("upload backlog below store_dir_limit_size again: accepting data")
		}
	}
}

// objectKey renders the key of a batch from its first record; a CloudWatch batch is
// named by its log stream.
func (p *Pipeline) objectKey(m *batch.Meta) string {
	if m.Stream.IsCloudWatch() {
		_, group, stream := p.cwDest(m)
		return "cloudwatch:" + group + ":" + stream
	}
	tmpl := p.access
	if m.Stream == batch.StreamOther {
		tmpl = p.other
	}
	vars := metaVars(m)
	var id [keyformat.RandomIDLen]byte
	var index uint64
	if tmpl.HasIndex() {
		index = p.nextIndex()
	}
	key := tmpl.AppendKey(nil, &vars, m.FirstTime, keyformat.AppendRandomID(id[:0]), index)
	if m.Format == batch.FormatParquet {
		return string(append(key, parquetenc.Ext...))
	}
	return string(append(key, p.codec.Ext()...))
}

// uploadTarget names where an instance's objects go, for messages about uploads.
func uploadTarget(cfg *config.Config) string {
	if cfg.Endpoint != "" {
		return fmt.Sprintf("bucket %s at %s", cfg.Bucket, cfg.Endpoint)
	}
	return fmt.Sprintf("bucket %s in %s", cfg.Bucket, cfg.Region)
}

// warnIndex says, once per key format, when $INDEX can give two writers one key: it
// counts per store_dir, so another task (or a replacement task, whose store_dir
// starts empty) counts from 0 too, and with store_dir off each start of the router
// does. Such a key format is not refused: one writer on a store_dir that outlives
// its tasks (a host volume) is safe.
func (p *Pipeline) warnIndex() {
	for _, k := range []struct {
		name string
		t    *keyformat.Template
		text string
	}{{"s3_key_format", p.access, p.cfg.S3KeyFormat}, {"other_key_format", p.other, p.cfg.OtherKeyFormat}} {
		switch {
		case !k.t.HasIndex() || k.t.HasUUID():
		case p.cfg.StoreDirOff:
			p.log.Errorf("%s %q uses $INDEX without $UUID and store_dir is off: $INDEX restarts at 0 with each start of the router, which then overwrites the objects written earlier under the same keys; add $UUID to %s, or keep store_dir on", k.name, k.text, k.name)
		case !k.t.HasTaskID():
			p.log.Errorf("%s %q uses $INDEX without $TASK_ID or $UUID: $INDEX counts per store_dir, so another task writing to this bucket, or a replacement task (its store_dir starts empty), counts from 0 too and overwrites objects under the same keys; add $TASK_ID (or $UUID) to %s, unless every writer of this bucket shares one store_dir that outlives its tasks", k.name, k.text, k.name)
		}
	}
}

// nextIndex is the next $INDEX: reserved in store_dir, shared by every instance and
// process using it, or counted in memory when store_dir is off (Init warns then if
// keys could repeat after a restart).
func (p *Pipeline) nextIndex() uint64 {
	n, err := p.index.Next()
	if err != nil {
		p.log.Errorf("could not reserve $INDEX in store_dir (%v): using %d, which another instance or a restart may use again; fix store_dir", err, n)
	}
	return n
}

// submit queues an upload.
func (p *Pipeline) submit(j *delivery.Job) {
	if p.opt.NoDelivery {
		return
	}
	if err := p.pool.Submit(j); err != nil {
		p.log.Errorf("%d records could not be queued for upload: %v", j.Records, err)
	}
}

func (p *Pipeline) tick() {
	defer p.ticker.Done()
	every := min(time.Second, max(p.cfg.UploadTimeout/4, 10*time.Millisecond))
	t := time.NewTicker(every)
	defer t.Stop()
	var statsC, metricsC <-chan time.Time
	if p.cfg.StatsInterval > 0 {
		st := time.NewTicker(p.cfg.StatsInterval)
		defer st.Stop()
		statsC = st.C
	}
	if p.metrics != nil {
		// An interval is sent within a quarter of its length (at most 1 s) of closing.
		mt := time.NewTicker(min(time.Second, p.cfg.MetricsResolution/4))
		defer mt.Stop()
		metricsC = mt.C
	}
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.expirePartials(false)
			p.store.tick()
		case <-statsC:
			line, h := p.statsLine()
			p.log.Infof("stats: %s", line)
			if p.metrics != nil {
				p.metrics.Health(p.now(), &h, p.log.Warnf)
			}
		case <-metricsC:
			p.rollMetrics(p.now(), false)
		}
	}
}

// StatsLine is the one-line summary: counters, what waits in the store, the health
// of the interval since the previous line, redactions by rule, and the estimated
// cost of CloudWatch ingestion against S3 for the same lines.
func (p *Pipeline) StatsLine() string {
	line, _ := p.statsLine()
	return line
}

// statsLine is StatsLine and the interval's health series.
func (p *Pipeline) statsLine() (string, emf.Health) {
	s := p.stats.Snapshot()
	jobs, _ := p.pool.Pending()
	held, bytes := p.store.depth()
	h := p.sampleHealth(p.now(), s, bytes)
	prices, _ := cost.For(p.cfg.Region)
	est := cost.Compute(prices, p.cfg.CloudWatchPricePerGB, s.RecordsIn, s.LogBytes, s.StoredRecords, s.StoredBytes, s.Objects)
	red := p.redactor.Counts()
	redacted := "redactions=none"
	if red.Total() > 0 {
		redacted = "redactions=" + strings.ReplaceAll(string(red.AppendText(nil)), " ", ",")
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	extra := []string{fmt.Sprintf("store_batches=%d store_bytes=%d uploads_queued=%d oldest_batch_age_s=%d health=%s",
		held, bytes, jobs, int64(h.OldestBatchAge/time.Second), p.healthWords(&h)), redacted}
	if s := p.partialStats(); s != "" {
		extra = append(extra, s)
	}
	if s.Replayed > 0 {
		extra = append(extra, fmt.Sprintf("replayed=%d", s.Replayed))
	}
	if p.cw != nil {
		// Events CloudWatch would refuse are changed or skipped, never silently.
		c := p.cw.Client().Stats()
		extra = append(extra, fmt.Sprintf("cloudwatch_events=%d cloudwatch_empty_skipped=%d cloudwatch_truncated=%d cloudwatch_clamped=%d cloudwatch_rejected=%d",
			c.Events, c.Empty, c.Truncated, c.Clamped, c.Rejected))
	}
	if p.metrics != nil {
		extra = append(extra, p.metrics.Text(p.cfg.Region, p.cfg.CloudWatchPricePerGB))
	}
	return s.Line(append(extra, est.Text(),
		fmt.Sprintf("go_heap_inuse_mib=%.1f go_sys_mib=%.1f", float64(ms.HeapInuse)/(1<<20), float64(ms.Sys)/(1<<20)))...), h
}

// Close seals every open batch and uploads what it can before ctx ends.
func (p *Pipeline) Close(ctx context.Context) {
	if !p.closed.CompareAndSwap(false, true) {
		return
	}
	close(p.stop)
	p.ticker.Wait()
	if p.metrics != nil {
		p.metrics.CloseHealth()
		p.rollMetrics(p.now(), true) // the open interval
	}
	p.expirePartials(true) // their other pieces can no longer come
	p.store.sealAll()
	left := p.pool.Close(ctx)
	if p.ship != nil {
		p.ship.Close() // what was not shipped stays in quarantine
	}
	if ss, ok := p.store.(*spoolStore); ok {
		ss.finish(ctx)
	}
	p.store.close()
	p.noteLeft(left)
	if err := p.partials.Close(); err != nil {
		p.log.Warnf("closing the journal of split records: %v", err)
	}
	p.index.Close()
	left = slices.DeleteFunc(left, deadletter.IsJob) // counted in quarantine
	if len(left) > 0 {
		records := 0
		why := ""
		for _, j := range left {
			records += j.Records
			if err := j.Err(); err != nil && why == "" {
				why = "; why: " + err.Error()
			}
		}
		if why == "" {
			why = "; why: the shutdown timeout (ENVOY_S3_SHUTDOWN_TIMEOUT, 10 s by default) ended before they were tried"
		}
		if p.cfg.StoreDirOff {
			p.log.Errorf("%d object(s) holding %d records could not be uploaded before shutdown and are lost (store_dir off)%s", len(left), records, why)
		} else {
			p.log.Warnf("%d object(s) holding %d records could not be uploaded before shutdown; they stay in store_dir %s for the next start%s", len(left), records, p.cfg.StoreDir, why)
		}
	}
	if !p.opt.drain {
		p.log.Infof("exit: %s", p.StatsLine())
	}
}
