package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/object"
	"github.com/envoy-s3/envoy_s3/internal/partial"
	"github.com/envoy-s3/envoy_s3/internal/s3sink"
	"github.com/envoy-s3/envoy_s3/internal/spool"
)

// Stranded spool directories. A spool directory is named by a hash of the bucket,
// endpoint and key formats, so a configuration change starts a new one and leaves the
// old one behind. Each directory records its destination (destinationRecord); once
// every instance of the process is up, one instance adopts each unlocked envoy_s3
// directory under store_dir and drains it with a pipeline built from that record:
// the batches go to the bucket, endpoint and keys they were acknowledged for
// (SPEC, Guarantees). Only when that bucket refuses them permanently and exactly one
// instance of the process writes to S3 do they go to that instance's bucket instead;
// otherwise they stay, and one error line says where they are and how to move them.

// destinationKeys are the configuration keys recorded with a spool directory: what
// decides where its batches go and how their objects are named and encoded.
var destinationKeys = []string{
	"bucket", "region", "endpoint", "role_arn", "external_id", "sts_endpoint",
	"s3_key_format", "other_key_format", "format", "compression", "total_file_size", "upload_timeout", "store_dir_limit_size",
	"storage_class", "canned_acl", "server_side_encryption", "sse_kms_key_id", "bucket_key_enabled",
	"expected_bucket_owner", "send_content_md5",
	"other_logs", "log_group_name", "log_stream_name", "log_stream_prefix", "auto_create_group",
	"log_retention_days", "log_group_class",
}

// destinationRecord renders cfg's destination keys as JSON, in the form config.Parse
// reads back.
func destinationRecord(cfg *config.Config) []byte {
	b, _ := json.Marshal(cfg.Properties(destinationKeys...))
	return b
}

// parseDestination rebuilds a configuration from a record, for a pipeline that only
// delivers what the directory holds.
func parseDestination(rec []byte, storeDir string) (*config.Config, error) {
	var v map[string]string
	if err := json.Unmarshal(rec, &v); err != nil {
		return nil, fmt.Errorf("its %s file is not valid JSON: %w", spool.RecordFile, err)
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	v["store_dir"], v["stats_interval"] = storeDir, "0"
	return config.Parse(recordGetter(v), keys, os.Getenv)
}

type recordGetter map[string]string

func (g recordGetter) Get(k string) string { return g[k] }

// registry is the set of instances configured in this process (a closing instance
// stays counted: shutdown must not turn two instances into one). It tells an
// adopting instance when every instance is up (Fluent Bit calls Flush only after
// every Init) and whether exactly one of them writes to S3.
type registry struct {
	mu       sync.Mutex
	live     map[*Pipeline]bool
	lastJoin time.Time
	settled  atomic.Bool
	adopt    sync.Mutex // one adoption pass at a time
}

// settleAfter: with no flush at all, instances are taken to be up this long after the
// last one started.
const settleAfter = 10 * time.Second

var process = &registry{}

func (r *registry) join(p *Pipeline) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live == nil {
		r.live = map[*Pipeline]bool{}
	}
	r.live[p] = true
	r.lastJoin = p.now()
}

// up reports whether every instance has started.
func (r *registry) up(now time.Time) bool {
	if r.settled.Load() {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.lastJoin.IsZero() && now.Sub(r.lastJoin) >= settleAfter
}

// sole returns the one instance of the process once every instance is up, or nil
// when there are several (or none).
func (r *registry) sole(now time.Time) *Pipeline {
	if !r.up(now) {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.live) != 1 {
		return nil
	}
	for p := range r.live {
		return p
	}
	return nil
}

func (r *registry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.live)
}

// drain is an adopted spool directory being delivered.
type drain struct {
	p       *Pipeline
	dir     string
	batches int
	records int
}

// adoptOrphans adopts every unlocked envoy_s3 spool directory under store_dir.
func (s *spoolStore) adoptOrphans() {
	p := s.p
	p.reg.adopt.Lock()
	defer p.reg.adopt.Unlock()
	orphans, err := spool.Orphans(p.cfg.StoreDir, func(id string) bool { return !strings.HasPrefix(id, spool.DirName(identityPrefix)) })
	if err != nil {
		p.log.Errorf("cannot look for stranded spool directories: %v", err)
		return
	}
	for _, o := range orphans {
		if o.Record == nil {
			p.log.Errorf("store_dir holds %d batch file(s) (%d bytes) in %s, left by an envoy_s3 that did not record their bucket, so they stay there: to upload them with this instance, stop Fluent Bit and move %s/open/*.spl and %s/sealed/*.spl into %s",
				o.Files, o.Bytes, o.Dir, o.Dir, o.Dir, filepath.Join(s.sp.Dir(), "open"))
			continue
		}
		d, err := s.adopt(o)
		if err != nil {
			p.log.Errorf("cannot adopt the %d batch file(s) in %s (%v); they stay there", o.Files, o.Dir, err)
			continue
		}
		if d != nil {
			s.drains = append(s.drains, d)
		}
	}
}

func (s *spoolStore) adopt(o spool.Orphan) (*drain, error) {
	p := s.p
	cfg, err := parseDestination(o.Record, p.cfg.StoreDir)
	if err != nil {
		return nil, err
	}
	if id := spool.DirName(identityOf(cfg)); id != o.Identity {
		return nil, fmt.Errorf("its %s file describes another directory (%s)", spool.RecordFile, id)
	}
	rec, err := p.putterFor(cfg)
	if err != nil {
		return nil, err
	}
	put := &redirect{from: cfg, rec: rec, reg: p.reg, now: p.now, log: p, dir: o.Dir}
	opt := p.opt
	opt.Putter, opt.drain, opt.adopted = put, true, &o
	d, err := New(cfg, opt)
	if err != nil {
		return nil, err
	}
	ss, _ := d.store.(*spoolStore)
	if ss == nil {
		d.Close(context.Background())
		return nil, errors.New("not a spool")
	}
	dr := &drain{p: d, dir: ss.sp.Dir()}
	for _, b := range ss.sp.Recovered() {
		dr.batches++
		dr.records += b.Records
	}
	return dr, nil
}

// putterFor builds the S3 client of a recorded destination.
func (p *Pipeline) putterFor(cfg *config.Config) (delivery.Putter, error) {
	if p.opt.newPutter != nil {
		return p.opt.newPutter(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s3sink.New(ctx, s3Options(cfg, p.log))
}

// finish runs at Close: an adoption the ticker has not reached yet happens now (so a
// short run still delivers stranded batches), then every drain uploads what it can
// before ctx ends.
func (s *spoolStore) finish(ctx context.Context) {
	if !s.adopted && !s.p.opt.drain && s.p.reg.up(s.p.now()) {
		s.adopted = true
		s.adoptOrphans()
	}
	s.reapDrains(ctx, true)
}

// reapDrains closes the drains that delivered everything and removes their empty
// directories.
func (s *spoolStore) reapDrains(ctx context.Context, all bool) {
	keep := s.drains[:0]
	for _, d := range s.drains {
		ds := d.p.store.(*spoolStore)
		n, _ := d.p.store.depth()
		done := n == 0 && len(ds.sp.Unusable()) == 0
		if !done && !all {
			keep = append(keep, d)
			continue
		}
		d.p.Close(ctx)
		if done && removeEmptySpoolDir(d.dir) {
			s.p.log.Infof("adopted spool directory %s delivered: %d batch(es), %d records", d.dir, d.batches, d.records)
		}
	}
	clear(s.drains[len(keep):])
	s.drains = keep
}

// removeEmptySpoolDir removes a spool directory that holds no batch and no piece of
// a split record any more, and reports whether it is gone; anything left in it keeps
// it for the next start.
func removeEmptySpoolDir(dir string) bool {
	held := filepath.Join(dir, spool.HeldDir)
	if ents, _ := os.ReadDir(held); len(ents) > 0 {
		// Journals that replay to nothing hold nothing.
		r, err := partial.New(partial.Options{Dir: held})
		if err != nil {
			return false
		}
		n := r.Recovered()
		r.Close()
		if n > 0 {
			return false
		}
		ents, _ = os.ReadDir(held)
		for _, e := range ents {
			os.Remove(filepath.Join(held, e.Name()))
		}
	}
	object.RemoveBodyDir(dir) // derived from the batches, all delivered
	for _, name := range []string{"open", "sealed", spool.HeldDir} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	for _, name := range []string{spool.RecordFile, "lock"} {
		os.Remove(filepath.Join(dir, name))
	}
	return os.Remove(dir) == nil
}

// redirect puts an adopted batch to the bucket it was acknowledged for; when that
// bucket refuses it permanently and this process has exactly one instance, to that
// instance's bucket instead.
type redirect struct {
	from       *config.Config
	rec        delivery.Putter
	reg        *registry
	now        func() time.Time
	log        *Pipeline
	dir        string
	redirected atomic.Bool
	stuck      atomic.Bool
}

func (r *redirect) Put(ctx context.Context, key string, body delivery.Body) error {
	err := r.rec.Put(ctx, key, body)
	if err == nil || !classify(err).Permanent {
		return err
	}
	cur := r.reg.sole(r.now())
	if cur != nil && (cur.cfg.Bucket != r.from.Bucket || cur.cfg.Endpoint != r.from.Endpoint) {
		if r.redirected.CompareAndSwap(false, true) {
			r.log.log.Errorf("bucket %s refuses the adopted batches of %s (%v); this process has one instance, so they go to its bucket %s instead", r.from.Bucket, r.dir, err, cur.cfg.Bucket)
		}
		return cur.put.Put(ctx, key, body)
	}
	if r.stuck.CompareAndSwap(false, true) {
		r.log.log.Errorf("bucket %s refuses the batches adopted from %s (%v); they stay there because %d instances of this process write to S3 and only the recorded bucket is certain: fix bucket %s, or stop Fluent Bit and move %s/sealed/*.spl into the sealed/ directory of the spool of the instance that should upload them",
			r.from.Bucket, r.dir, err, r.reg.count(), r.from.Bucket, r.dir)
	}
	return err
}

// adoptedLine is the one line an adoption logs.
func adoptedLine(o *spool.Orphan, cfg *config.Config, batches, records int) string {
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = "AWS"
	}
	return fmt.Sprintf("adopted spool directory %s left by an earlier configuration: %d batch(es), %d records; uploading them to bucket %s (endpoint %s), where they were acknowledged for",
		o.Dir, batches, records, cfg.Bucket, endpoint)
}
