package pipeline

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/partial"
	"github.com/envoy-s3/envoy_s3/internal/redact"
	"github.com/envoy-s3/envoy_s3/internal/spool"
)

// Docker's split records (partial_message) are reassembled before recognition and
// redaction; internal/partial/doc.go has the rules and the durability protocol. A
// flush that holds pieces is one transaction with the Reassembler: pieces left
// waiting are journaled (fsync) before the flush's lines are stored, and what the
// flush finished is marked done after.

// newPartials builds the instance's Reassembler, journaled in the spool directory
// when store_dir is on.
func (p *Pipeline) newPartials(dir string, opt Options) error {
	o := partial.Options{Timeout: opt.PartialTimeout, Now: p.now, Logf: p.log.Warnf}
	if dir != "" {
		o.Dir = filepath.Join(dir, spool.HeldDir)
	}
	r, err := partial.New(o)
	if err != nil {
		// A full or failing disk at start must not stop the instance whose uploads
		// would free it: split records are written as their pieces instead, and
		// the journal's files stay for the next start.
		p.log.Errorf("cannot open the journal of split records in store_dir (%v): until the next start, pieces of split records are stored as they came, not joined; free space in store_dir or fix the disk", err)
		p.unjoined = true
		o.Dir = ""
		if r, err = partial.New(o); err != nil {
			return fmt.Errorf("envoy_s3: %w", err)
		}
	}
	if n := r.Recovered(); n > 0 {
		p.log.Infof("found %d piece(s) of split records in store_dir from an earlier run: waiting for the rest, then writing them", n)
	}
	p.partials = r
	return nil
}

// hold takes the current event, a piece of a split line, and writes what it
// completes or releases. It reports false for a piece that cannot be grouped, which
// the caller writes as it is.
func (w *worker) hold(p *Pipeline) bool {
	if p.unjoined {
		return false
	}
	pt, ok := partial.Parse(w.ev.Record, w.ev.Time, w.ftag, p.cfg.LogKey)
	if !ok {
		return false
	}
	if !w.inTx {
		p.partials.Begin()
		w.inTx = true
	}
	whole, asIs := p.partials.Add(pt)
	w.replay(whole, asIs)
	return true
}

// replay writes a complete group as one record and other pieces as they came.
func (w *worker) replay(whole, asIs []*partial.Part) {
	p := w.p
	saved := w.ev
	w.replaying = true
	if len(whole) > 0 {
		// A fresh buffer: the record's values are referenced until the flush ends.
		if _, m, err := partial.Join(nil, whole, p.cfg.LogKey); err == nil {
			w.replayOne(whole[0].Tag, chunk.Event{Time: whole[0].Time, Record: m})
		} else {
			asIs = append(whole, asIs...)
		}
	}
	for _, pt := range asIs {
		if m, err := w.pieceRecord(pt); err == nil {
			w.replayOne(pt.Tag, chunk.Event{Time: pt.Time, Record: m})
		}
	}
	w.replaying = false
	w.ev = saved
	w.tag = append(w.tag[:0], w.ftag...)
	w.last = lastPart{}
}

// pieceRecord returns the record of a piece written as it came. With redaction on, its
// log value, once redacted, also loses what touches its cuts (redact.Piece), so a
// secret cut there leaves neither half.
func (w *worker) pieceRecord(pt *partial.Part) (chunk.Map, error) {
	p := w.p
	if !p.textRules {
		return pt.Map()
	}
	before, after := pt.Cut()
	w.arena = w.redactText(w.arena[:0], pt.Log) // the rules first, on the whole piece
	log := p.redactor.Piece(&w.sc, nil, w.arena, redact.Cut{Before: before, After: after})
	_, m, err := pt.MapLog(nil, log, p.cfg.LogKey) // fresh: referenced until the flush ends
	return m, err
}

func (w *worker) replayOne(tag string, ev chunk.Event) {
	w.tag = append(w.tag[:0], tag...)
	w.last = lastPart{}
	w.ev = ev
	w.process(w.p)
}

// commit stores the lines of w's flush; when it touched the Reassembler, as one
// transaction with it. retry means nothing of the flush was kept.
func (p *Pipeline) commit(w *worker) (retry bool, err error) {
	defer w.giveStage()
	tx := w.inTx
	w.inTx = false
	if tx {
		if err := p.partials.Prepare(); err != nil {
			p.partials.Rollback()
			p.log.Errorf("could not journal pieces of split records in store_dir, answering RETRY so Fluent Bit keeps the data: %v", err)
			return true, err
		}
	}
	if len(w.touched) > 0 {
		if err := p.store.add(w.touched, w.chunk); err != nil {
			if tx {
				p.partials.Rollback()
			}
			if errors.Is(err, ErrBufferFull) {
				p.stats.Backpressure.Add(1)
			}
			return true, err
		}
	}
	if tx {
		p.partials.Commit()
	}
	return false, nil
}

// expirePartials writes, as they came, the pieces of groups that waited too long
// (every group when all is set, as at exit). Should the store refuse them, they stay
// held and the next tick tries again.
func (p *Pipeline) expirePartials(all bool) {
	r := p.partials
	r.Begin()
	parts := r.Due(all)
	if len(parts) == 0 {
		r.Commit()
		return
	}
	w := p.workers.Get()
	defer p.workers.Put(w)
	w.begin("")
	w.inTx = true
	w.replay(nil, parts)
	if _, err := p.commit(w); err != nil {
		w.sc.Discard()
		p.log.Warnf("could not write %d piece(s) of split records whose other pieces never came (%v); they stay held and are tried again", len(parts), err)
		return
	}
	// Counted as records in when they arrived; counted as written now.
	p.written(w)
	p.log.Infof("wrote %d piece(s) of split records as they came: the other pieces of their lines did not arrive", len(parts))
}

// partialStats is the stats line's part about split records, empty when none came.
func (p *Pipeline) partialStats() string {
	s := p.partials.Stats()
	if s.Parts == 0 && s.Held == 0 {
		return ""
	}
	return fmt.Sprintf("partial_pieces=%d partial_joined=%d partial_as_is=%d partial_held=%d", s.Parts, s.Joined, s.AsIs, s.Held)
}
