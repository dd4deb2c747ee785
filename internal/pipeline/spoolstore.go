package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"sync"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/adopt"
	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/object"
	"github.com/envoy-s3/envoy_s3/internal/spool"
)

// spoolStore keeps records in store_dir: a flush is acknowledged only once its lines
// are fsynced there, and an object's file is removed only after S3 accepted it.
type spoolStore struct {
	p        *Pipeline
	sp       *spool.Spool
	mu       sync.Mutex
	ioErr    bool      // the last write to store_dir failed
	ioLogged bool      // an episode of failed writes was logged and has not been declared over
	ioLast   time.Time // the last failed write
	ioFails  int       // flushes refused since the episode was logged

	byKey     map[string]*adoptedBatch // a drain's batches, for their dead letters (mu)
	drainLeft Leftover                 // what the drains closed at Close left

	recheckAt time.Time       // next retry of batch files recovery could not use (ticker goroutine only)
	adopted   bool            // stranded directories looked for (ticker goroutine only)
	drains    []*drain        // adopted directories being delivered (ticker goroutine, then Close)
	bodies    *object.BodyDir // where objects are encoded for upload; nil: in memory

	stagesMu sync.Mutex
	stages   []*spool.Stage // idle stages, one per flush that ran at once
}

// takeStage hands a flush a staging file for its lines (spool.Stage).
func (s *spoolStore) takeStage() (*spool.Stage, error) {
	s.stagesMu.Lock()
	if n := len(s.stages); n > 0 {
		st := s.stages[n-1]
		s.stages = s.stages[:n-1]
		s.stagesMu.Unlock()
		return st, nil
	}
	s.stagesMu.Unlock()
	return s.sp.NewStage()
}

// giveStage takes a stage back, emptied, for the next flush.
func (s *spoolStore) giveStage(st *spool.Stage) {
	if err := st.Reset(); err != nil {
		st.Close()
		return
	}
	s.stagesMu.Lock()
	s.stages = append(s.stages, st)
	s.stagesMu.Unlock()
}

func (s *spoolStore) closeStages() {
	s.stagesMu.Lock()
	defer s.stagesMu.Unlock()
	for _, st := range s.stages {
		st.Close()
	}
	s.stages = nil
}

// recheckEvery is how often batch files that could not be opened or read are retried.
const recheckEvery = 30 * time.Second

// spoolIdentity names the spool directory of an instance by what decides where its
// objects go, so a restarted task finds the batches of the same configuration.
func spoolIdentity(p *Pipeline) string { return identityOf(p.cfg) }

func identityOf(cfg *config.Config) string {
	h := fnv.New64a()
	for _, s := range []string{cfg.Bucket, cfg.Endpoint, cfg.S3KeyFormat, cfg.OtherKeyFormat} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return fmt.Sprintf(identityPrefix+"%016x", h.Sum64())
}

// identityPrefix starts the name of every envoy_s3 spool directory.
const identityPrefix = "envoy_s3-"

func newSpoolStore(p *Pipeline, now func() time.Time) (*spoolStore, error) {
	s := &spoolStore{p: p}
	sp, err := spool.Open(p.cfg.StoreDir, spoolIdentity(p), spool.Options{
		Limit:  p.cfg.StoreDirLimitSize,
		Namer:  func(m *spool.Meta) string { return p.objectKey(batchMeta(m)) },
		Logf:   p.log.Warnf,
		Errorf: p.log.Errorf,
		Now:    now,
		Record: adopt.Record(p.cfg),
	})
	if err != nil {
		return nil, fmt.Errorf("envoy_s3: store_dir %q cannot be used (%v): point store_dir at a writable directory, or set it to off", p.cfg.StoreDir, err)
	}
	s.sp = sp
	if s.bodies, err = object.OpenBodyDir(sp.Dir()); err != nil {
		p.log.Warnf("objects are encoded in memory for upload, which costs memory: %v", err)
	}
	if rec := sp.Recovered(); len(rec) > 0 || p.opt.adopted != nil {
		records := 0
		for _, b := range rec {
			records += b.Records
		}
		if p.opt.adopted != nil {
			p.log.Infof("%s", adopt.Line(p.opt.adopted, p.cfg, len(rec), records))
		} else {
			p.log.Infof("found %d batch(es) holding %d records in store_dir from an earlier run: uploading them", len(rec), records)
		}
		s.shipDead() // first: a range held only here is the data most at risk
		s.submit(rec)
	} else {
		s.shipDead()
	}
	return s, nil
}

// shipDead queues the quarantined ranges of store_dir as dead letters (Open and
// Recheck may have cut new ones; an adopted directory's recovery too).
func (s *spoolStore) shipDead() {
	if s.p.ship != nil {
		s.p.ship.Scan()
	}
}

// batchMeta is what a key is rendered from. A batch whose every copy of its metadata
// was damaged is named by the other-logs key format with empty variables: it stays
// in the bucket it was acknowledged for, apart from the access-log partitions.
func batchMeta(m *spool.Meta) *batch.Meta {
	if m.Unknown {
		return &batch.Meta{Stream: batch.StreamOther, FirstTime: m.FirstTime}
	}
	bm := m.Meta
	return &bm
}

func (s *spoolStore) seen(id spool.ChunkID) bool { return s.sp.Seen(id) }

func (s *spoolStore) add(parts []*part, chunk *spool.ChunkID) error {
	sparts := make([]spool.Part, len(parts))
	metas := make([]spool.Meta, len(parts))
	for i, pt := range parts {
		metas[i] = spool.Meta{Partition: pt.key, Meta: pt.meta}
		sparts[i] = spool.Part{Partition: pt.key, Meta: &metas[i], Lines: pt.lines, Records: pt.n, Staged: pt.staged}
	}
	var err error
	if chunk != nil {
		err = s.sp.AppendChunk(*chunk, sparts)
	} else {
		err = s.sp.Append(sparts)
	}
	switch {
	case errors.Is(err, spool.ErrFull):
		s.p.backpressure(true, s.sp.Size())
		return ErrBufferFull
	case err != nil:
		s.report(err)
		return err
	}
	s.p.backpressure(false, 0)
	s.report(nil)
	s.submit(s.sp.SealWhere(func(m *spool.Meta, raw int64) bool {
		maxRaw, _ := s.p.limitsOf(batchMeta(m))
		return raw >= maxRaw
	}))
	return nil
}

// ioQuiet is how long writes to store_dir must succeed before an episode of failed
// writes is declared over: a disk that is nearly full fails and succeeds in turn as
// uploads free room, and that is said once, not at every turn.
const ioQuiet = time.Minute

// report logs the first failed write of an episode; endIO logs its end.
func (s *spoolStore) report(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ioErr = err != nil
	if err == nil {
		return
	}
	s.ioLast = s.p.now()
	s.ioFails++
	if !s.ioLogged {
		s.ioLogged, s.ioFails = true, 1
		s.p.log.Errorf("writing to store_dir failed, answering RETRY so Fluent Bit keeps the data: %v", err)
	}
}

// endIO declares an episode of failed writes over once writes have succeeded for
// ioQuiet (ticker goroutine).
func (s *spoolStore) endIO(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ioLogged && !s.ioErr && now.Sub(s.ioLast) >= ioQuiet {
		s.ioLogged = false
		s.p.log.Infof("store_dir writable again (%d flush(es) were answered RETRY since the failure was logged)", s.ioFails)
	}
}

func (s *spoolStore) tick() {
	now := s.p.now()
	s.endIO(now)
	if now.After(s.recheckAt) {
		s.recheckAt = now.Add(recheckEvery)
		s.submit(s.sp.Recheck())
		s.shipDead()
	}
	if !s.adopted && !s.p.opt.drain && s.p.reg.Up(now) {
		s.adopted = true
		s.adoptOrphans()
		s.shipDead()
	}
	if len(s.drains) > 0 {
		// A drain closing may still write (pieces of split records it held); its
		// uploads get a bounded time, and what is left stays for the next start.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s.reapDrains(ctx, false)
		cancel()
	}
	s.submit(s.sp.SealWhere(func(m *spool.Meta, _ int64) bool {
		_, age := s.p.limitsOf(batchMeta(m))
		return now.Sub(m.Opened) >= age
	}))
}

func (s *spoolStore) sealAll() { s.submit(s.sp.SealAll()) }

func (s *spoolStore) depth() (int, int64) {
	open, _ := s.sp.OpenBatches()
	jobs, _ := s.p.pool.Pending()
	return open + jobs, s.sp.Size()
}

func (s *spoolStore) oldestOpen() time.Time { return s.sp.OldestOpen() }

func (s *spoolStore) close() {
	s.closeStages()
	if err := s.sp.Close(); err != nil {
		s.p.log.Warnf("closing store_dir: %v", err)
	}
}

func (s *spoolStore) submit(sealed []*spool.Sealed) {
	for _, b := range sealed {
		b := b
		if s.p.opt.drain {
			s.remember(b)
		}
		j := &delivery.Job{
			Key: b.Key, Size: b.RawBytes, Records: b.Records, Since: b.Meta.Opened,
			Prepare: func() (delivery.Body, error) { return s.body(b) },
			Done: func() {
				if err := s.sp.Remove(b); err != nil {
					s.p.log.Warnf("uploaded %s but could not remove its spool file (it would be uploaded again to the same key): %v", b.Key, err)
				}
			},
		}
		if b.Meta.Stream.IsCloudWatch() {
			c, group, stream := s.p.cwDest(batchMeta(&b.Meta))
			j.Prepare = func() (delivery.Body, error) { return s.raw(b) }
			j.Target = cwTarget(group, stream)
			j.Send = func(ctx context.Context, body delivery.Body) error {
				return s.p.sendCloudWatch(ctx, c, group, stream, body.(delivery.Bytes))
			}
		}
		s.p.submit(j)
	}
}

// raw reads a sealed batch's lines as they are (CloudWatch batches, at most a
// PutLogEvents call's worth).
func (s *spoolStore) raw(b *spool.Sealed) (delivery.Body, error) {
	body := make([]byte, 0, b.RawBytes)
	err := s.sp.ReadSealed(b, func(lines []byte) error {
		body = append(body, lines...)
		return nil
	})
	return delivery.Bytes(body), err
}

// body reads a sealed batch and encodes its object as the key says, into a body
// file when the upload directory is usable (memory otherwise), hashing it on the
// way for checksum_algorithm.
func (s *spoolStore) body(b *spool.Sealed) (delivery.Body, error) {
	read := func(yield func([]byte) error) error { return s.sp.ReadSealed(b, yield) }
	sum := s.p.newSummer()
	encode := sum.wrap(func(w io.Writer) error { return s.p.objects.Encode(b.Key, w, b.Meta.Stream, read) })
	var body delivery.Body
	if s.bodies == nil {
		var buf bytes.Buffer
		buf.Grow(int(b.RawBytes/8 + 1024))
		if err := encode(&buf); err != nil {
			return nil, err
		}
		body = delivery.Bytes(buf.Bytes())
	} else {
		var err error
		if body, err = s.bodies.Write(encode, s.p.log.Warnf); err != nil {
			return nil, err
		}
	}
	return s.p.s3Object(body, batchMeta(&b.Meta), sum), nil
}
