package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/adopt"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/s3sink"
	"github.com/envoy-s3/envoy_s3/internal/spool"
)

// Adoption of stranded spool directories: internal/adopt has the rules (the
// destination record, the registry of instances, the redirect of refused batches);
// here an instance finds the directories and drains each with a pipeline of its own.

// Config and Putter make a Pipeline an adopt.Instance.
func (p *Pipeline) Config() *config.Config  { return p.cfg }
func (p *Pipeline) Putter() delivery.Putter { return p.put }

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
	p.reg.Pass(func() { s.adoptEach() })
}

func (s *spoolStore) adoptEach() {
	p := s.p
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
	cfg, err := adopt.ParseRecord(o.Record, p.cfg.StoreDir)
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
	put := &adopt.Redirect{From: cfg, Recorded: rec, Registry: p.reg, Now: p.now, Errorf: p.log.Errorf, Dir: o.Dir, Classify: delivery.ByRemedy}
	ref := &drainRef{}
	if p.dead != nil {
		put.DeadLetter = func(ctx context.Context, key string, body delivery.Body) error {
			return p.deadAdopted(ctx, cfg, ref, key, body)
		}
		put.DeadWhere = p.dead.Where()
	}
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
	ref.s.Store(ss)
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
	return s3sink.New(ctx, s3sink.OptionsOf(cfg, p.log.Infof))
}

// finish runs at Close: an adoption the ticker has not reached yet happens now (so a
// short run still delivers stranded batches), then every drain uploads what it can
// before ctx ends.
func (s *spoolStore) finish(ctx context.Context) {
	if !s.adopted && !s.p.opt.drain && s.p.reg.Up(s.p.now()) {
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
		if !done {
			s.drainLeft.add(d.p.left)
		}
		if done && adopt.RemoveEmptyDir(d.dir) {
			s.p.log.Infof("adopted spool directory %s delivered: %d batch(es), %d records", d.dir, d.batches, d.records)
		}
	}
	clear(s.drains[len(keep):])
	s.drains = keep
}
