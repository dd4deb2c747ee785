// Package adopt is what lets a spool directory outlive the configuration that made
// it. A spool directory is named by a hash of the bucket, endpoint and key formats,
// so a configuration change starts a new one and leaves the old one behind. Each
// directory records its destination (Record); once every instance of the process is
// up (Registry), one instance adopts each unlocked envoy_s3 directory under store_dir
// and drains it with a pipeline built from that record: the batches go to the bucket,
// endpoint and keys they were acknowledged for. Only when that bucket refuses them
// permanently and exactly one instance of the process writes to S3 do they go to that
// instance's bucket instead (Redirect). Otherwise, when that bucket no longer exists
// and the adopting instance has a dead_letter_prefix, each goes there as a dead letter
// with its manifest (internal/deadletter); else they stay, and one error line says
// where they are and how to move them.
//
// The pipeline does the draining itself; this package holds the rules around it.
package adopt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/awsutil"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/object"
	"github.com/envoy-s3/envoy_s3/internal/partial"
	"github.com/envoy-s3/envoy_s3/internal/spool"
)

// DestinationKeys are the configuration keys recorded with a spool directory: what
// decides where its batches go and how their objects are named and encoded.
var DestinationKeys = []string{
	"bucket", "region", "endpoint", "role_arn", "external_id", "sts_endpoint",
	"s3_key_format", "other_key_format", "format", "compression", "total_file_size", "upload_timeout", "store_dir_limit_size",
	"storage_class", "canned_acl", "server_side_encryption", "sse_kms_key_id", "bucket_key_enabled",
	"expected_bucket_owner", "send_content_md5", "checksum_algorithm", "s3_object_tags",
	"other_logs", "log_group_name", "log_stream_name", "log_stream_prefix", "auto_create_group",
	"log_retention_days", "log_group_class",
}

// Record renders cfg's destination keys as JSON, in the form ParseRecord reads back.
func Record(cfg *config.Config) []byte {
	b, _ := json.Marshal(cfg.Properties(DestinationKeys...))
	return b
}

// ParseRecord rebuilds a configuration from a record, for a pipeline that only
// delivers what the directory holds.
func ParseRecord(rec []byte, storeDir string) (*config.Config, error) {
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

// Instance is what the Registry knows of one configured instance.
type Instance interface {
	Config() *config.Config
	Putter() delivery.Putter // the instance's own S3 client
}

// Registry is the set of instances configured in this process (a closing instance
// stays counted: shutdown must not turn two instances into one). It tells an
// adopting instance when every instance is up (Fluent Bit calls Flush only after
// every Init) and whether exactly one of them writes to S3.
type Registry struct {
	mu       sync.Mutex
	live     map[Instance]bool
	lastJoin time.Time
	settled  atomic.Bool
	pass     sync.Mutex // one adoption pass at a time
}

// SettleAfter: with no flush at all, instances are taken to be up this long after
// the last one started.
const SettleAfter = 10 * time.Second

// Process is this process's Registry.
var Process = &Registry{}

// Join counts an instance that has started at now.
func (r *Registry) Join(i Instance, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live == nil {
		r.live = map[Instance]bool{}
	}
	r.live[i] = true
	r.lastJoin = now
}

// Flushed notes a flush: every instance is up by then.
func (r *Registry) Flushed() {
	if !r.settled.Load() {
		r.settled.Store(true)
	}
}

// Up reports whether every instance has started.
func (r *Registry) Up(now time.Time) bool {
	if r.settled.Load() {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.lastJoin.IsZero() && now.Sub(r.lastJoin) >= SettleAfter
}

// Sole returns the one instance of the process once every instance is up, or nil
// when there are several (or none).
func (r *Registry) Sole(now time.Time) Instance {
	if !r.Up(now) {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.live) != 1 {
		return nil
	}
	for i := range r.live {
		return i
	}
	return nil
}

// Count is the number of instances.
func (r *Registry) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.live)
}

// Pass runs one adoption pass, never two at once in the process.
func (r *Registry) Pass(adopt func()) {
	r.pass.Lock()
	defer r.pass.Unlock()
	adopt()
}

// Redirect puts an adopted batch to the bucket it was acknowledged for; when that
// bucket refuses it permanently and this process has exactly one instance, to that
// instance's bucket instead.
type Redirect struct {
	From     *config.Config  // the recorded destination
	Recorded delivery.Putter // its S3 client
	Registry *Registry
	Now      func() time.Time
	Errorf   func(format string, args ...any)
	Dir      string // the adopted directory
	Classify func(error) delivery.Verdict
	// DeadLetter, when set, stores a batch the recorded bucket refuses because it no
	// longer exists (Gone) and no single instance can take instead, under the
	// adopting instance's dead_letter_prefix (DeadWhere); nil keeps it in place.
	DeadLetter func(ctx context.Context, key string, body delivery.Body) error
	DeadWhere  string
	Gone       func(error) bool // nil: BucketGone
	redirected atomic.Bool
	stuck      atomic.Bool
	dead       atomic.Bool
}

// BucketGone reports whether err says the bucket does not exist.
func BucketGone(err error) bool {
	var e *awsutil.Error
	return errors.As(err, &e) && e.Code == "NoSuchBucket"
}

// Put implements delivery.Putter.
func (r *Redirect) Put(ctx context.Context, key string, body delivery.Body) error {
	err := r.Recorded.Put(ctx, key, body)
	if err == nil || !r.Classify(err).Permanent {
		return err
	}
	cur := r.Registry.Sole(r.Now())
	if cur != nil && (cur.Config().Bucket != r.From.Bucket || cur.Config().Endpoint != r.From.Endpoint) {
		if r.redirected.CompareAndSwap(false, true) {
			r.Errorf("bucket %s refuses the adopted batches of %s (%v); this process has one instance, so they go to its bucket %s instead", r.From.Bucket, r.Dir, err, cur.Config().Bucket)
		}
		return cur.Putter().Put(ctx, key, body)
	}
	gone := r.Gone
	if gone == nil {
		gone = BucketGone
	}
	if r.DeadLetter != nil && gone(err) {
		if r.dead.CompareAndSwap(false, true) {
			r.Errorf("bucket %s of the batches adopted from %s does not exist (%v) and no single other instance of this process can take them (%d write to S3): they are uploaded as dead letters to %s, each with a manifest naming its bucket and key, and removed from store_dir",
				r.From.Bucket, r.Dir, err, r.Registry.Count(), r.DeadWhere)
		}
		return r.DeadLetter(ctx, key, body)
	}
	if r.stuck.CompareAndSwap(false, true) {
		r.Errorf("bucket %s refuses the batches adopted from %s (%v); they stay there because %d instances of this process write to S3 and only the recorded bucket is certain: fix bucket %s, or stop Fluent Bit and move %s/sealed/*.spl into the sealed/ directory of the spool of the instance that should upload them",
			r.From.Bucket, r.Dir, err, r.Registry.Count(), r.From.Bucket, r.Dir)
	}
	return err
}

// RemoveEmptyDir removes a spool directory that holds no batch and no piece of a
// split record any more, and reports whether it is gone; anything left in it keeps
// it for the next start.
func RemoveEmptyDir(dir string) bool {
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
	for _, name := range []string{spool.RecordFile, spool.ReplayFile, "lock"} {
		os.Remove(filepath.Join(dir, name))
	}
	return os.Remove(dir) == nil
}

// Line is the one line an adoption logs.
func Line(o *spool.Orphan, cfg *config.Config, batches, records int) string {
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = "AWS"
	}
	return fmt.Sprintf("adopted spool directory %s left by an earlier configuration: %d batch(es), %d records; uploading them to bucket %s (endpoint %s), where they were acknowledged for",
		o.Dir, batches, records, cfg.Bucket, endpoint)
}
