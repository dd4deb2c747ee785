package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/deadletter"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/spool"
)

// Dead letters (internal/deadletter): the quarantined ranges of store_dir are
// shipped by the instance's Shipper (spoolStore.shipDead); an adopted batch whose
// recorded bucket is gone is shipped by its drain's Redirect through deadAdopted.
// Close notes what stays on disk, and ExitLine says it in one line.

// adoptedBatch is a drain's batch, with the keys of its dead letter once it has one
// (kept, so a retry overwrites the same objects).
type adoptedBatch struct {
	b        *spool.Sealed
	obj, man string
}

// remember keeps a drain's batch by key, for its dead letter.
func (s *spoolStore) remember(b *spool.Sealed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKey == nil {
		s.byKey = map[string]*adoptedBatch{}
	}
	s.byKey[b.Key] = &adoptedBatch{b: b}
}

// drainRef is the drain a Redirect belongs to, known once the drain is built.
type drainRef struct{ s atomic.Pointer[spoolStore] }

// deadAdopted stores the object of an adopted batch, whose recorded bucket (of cfg)
// is gone, as a dead letter of p.
func (p *Pipeline) deadAdopted(ctx context.Context, cfg *config.Config, ref *drainRef, key string, body delivery.Body) error {
	s := ref.s.Load()
	if s == nil {
		return fmt.Errorf("dead letter of %s: the adopted directory is not open yet", key)
	}
	s.mu.Lock()
	ab := s.byKey[key]
	if ab != nil && ab.obj == "" {
		ab.obj, ab.man = p.dead.Keys(ab.b.Meta.Cluster, ab.b.Meta.TaskID)
	}
	s.mu.Unlock()
	if ab == nil {
		return fmt.Errorf("dead letter of %s: no such adopted batch", key)
	}
	b := ab.b
	first := b.Meta.FirstTime.UTC()
	m := &deadletter.Manifest{
		Reason:  deadletter.ReasonGone,
		Detail:  "an adopted batch acknowledged for a bucket that no longer exists, which no single instance could take: the object as it would have been stored under intended_key",
		Content: deadletter.ContentObject, Records: int64(b.Records), RecordsExact: true,
		SpoolFile: b.Path(), ByteRange: [2]int64{0, b.FileSize()}, FirstTime: &first,
		Cluster: b.Meta.Cluster, TaskID: b.Meta.TaskID, Tag: b.Meta.Tag,
		IntendedBucket: cfg.Bucket, IntendedEndpoint: cfg.Endpoint, IntendedKey: key,
	}
	if err := p.dead.Store(ctx, ab.obj, ab.man, body, m); err != nil {
		return err
	}
	p.log.Infof("adopted batch %s (%d records) uploaded as dead letter s3://%s/%s with its manifest", key, b.Records, p.cfg.Bucket, ab.obj)
	return nil
}

// Leftover is what an instance left on local disk when it closed.
type Leftover struct {
	Batches int   // spool batches not uploaded (adopted directories included)
	Records int64 // their records
	Bytes   int64 // their files' bytes
	Why     string
	// Batch files recovery could not use (unreadable), named by their own lines.
	Unusable      int
	UnusableBytes int64
}

func (l *Leftover) add(o Leftover) {
	l.Batches += o.Batches
	l.Records += o.Records
	l.Bytes += o.Bytes
	l.Unusable += o.Unusable
	l.UnusableBytes += o.UnusableBytes
	if l.Why == "" {
		l.Why = o.Why
	}
}

// noteLeft records what Close leaves on disk: the jobs the pool did not upload
// (their batch files stay in store_dir) and what the drains left.
func (p *Pipeline) noteLeft(left []*delivery.Job) {
	ss, ok := p.store.(*spoolStore)
	if !ok {
		return
	}
	l := Leftover{Bytes: ss.sp.Size()}
	for _, j := range left {
		if deadletter.IsJob(j) {
			continue
		}
		l.Batches++
		l.Records += int64(j.Records)
		if err := j.Err(); err != nil && l.Why == "" {
			l.Why = err.Error()
		}
	}
	if l.Batches > 0 && l.Why == "" {
		l.Why = notTried
	}
	for _, path := range ss.sp.Unusable() {
		l.Unusable++
		if fi, err := os.Lstat(path); err == nil {
			l.UnusableBytes += fi.Size()
		}
	}
	l.add(ss.drainLeft)
	p.left = l
}

// ExitLine says in one line what the closed instances ps leave on local disk and
// could not send (records, bytes, why), or that nothing is left. A Fargate task's
// storage dies with the task, so this is what such a task loses. left reports
// whether anything is.
func ExitLine(ps []*Pipeline) (line string, left bool) {
	var parts []string
	var dirs []string
	seen := map[string]bool{}
	for _, p := range ps {
		if p.cfg.StoreDirOff {
			continue
		}
		if l := p.left; l.Batches > 0 || l.Records > 0 {
			parts = append(parts, fmt.Sprintf("%d records in %d spool batch(es) (%d bytes) in store_dir %s that could not be uploaded (why: %s)", l.Records, l.Batches, l.Bytes, p.cfg.StoreDir, l.Why))
		}
		if l := p.left; l.Unusable > 0 {
			parts = append(parts, fmt.Sprintf("%d batch file(s) (%d bytes) in store_dir %s that cannot be read (why: the lines naming them)", l.Unusable, l.UnusableBytes, p.cfg.StoreDir))
		}
		if seen[p.cfg.StoreDir] {
			continue
		}
		seen[p.cfg.StoreDir] = true
		dirs = append(dirs, p.cfg.StoreDir)
		q := deadletter.QuarantineDir(p.cfg.StoreDir)
		left := deadletter.Remaining(q)
		if left.Ranges == 0 {
			continue
		}
		why := deadWhy(ps, p.cfg.StoreDir)
		if why == notTried && p.left.Why != "" && p.left.Why != notTried {
			why += " while uploads failed: " + p.left.Why
		}
		parts = append(parts, fmt.Sprintf("%s in %s not sent as dead letters (why: %s)", left, q, why))
	}
	if len(dirs) == 0 {
		return "nothing is kept on local disk at exit (store_dir off)", false
	}
	if len(parts) == 0 {
		return "nothing is left on local disk at exit (store_dir " + strings.Join(dirs, ", ") + " holds no record that could not be sent)", false
	}
	return "left on local disk at exit, and lost if that disk does not outlive the task (as on Fargate): " + strings.Join(parts, "; ") + "; the next start with the same store_dir retries them", true
}

// deadWhy says why the quarantined ranges of storeDir were not sent.
func deadWhy(ps []*Pipeline, storeDir string) string {
	on := false
	for _, p := range ps {
		if p.ship == nil || filepath.Clean(p.cfg.StoreDir) != filepath.Clean(storeDir) {
			continue
		}
		on = true
		if err := p.ship.Err(); err != nil {
			return err.Error()
		}
	}
	if !on {
		return "dead_letter_prefix is off"
	}
	return notTried
}

// notTried is why what was queued was not sent at all.
const notTried = "the shutdown timeout ended before they were tried"
