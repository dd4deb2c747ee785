package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/envoy-s3/envoy_s3/internal/freelist"
	"github.com/envoy-s3/envoy_s3/internal/fsutil"
)

// SealWhere seals the open batches pick chooses (given their Meta and raw byte count)
// and returns them in key order. A batch that cannot be sealed stays open and is
// logged; the next call retries it.
func (s *Spool) SealWhere(pick func(m *Meta, rawBytes int64) bool) []*Sealed {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.pending
	s.pending = nil
	for _, b := range s.open {
		if !pick(&b.meta, b.raw) {
			continue
		}
		sb, err := s.seal(b, s.openDir)
		if err != nil {
			s.opt.Logf("%v", err)
			continue
		}
		delete(s.open, string(b.meta.Partition))
		out = append(out, sb)
	}
	sortByKey(out)
	return out
}

// SealAll seals every open batch.
func (s *Spool) SealAll() []*Sealed {
	return s.SealWhere(func(*Meta, int64) bool { return true })
}

func sortByKey(v []*Sealed) {
	sort.SliceStable(v, func(i, j int) bool { return v[i].Key < v[j].Key })
}

// seal appends SEAL to b, fsyncs it, moves it from dir to sealed/ and closes it.
func (s *Spool) seal(b *batch, dir string) (*Sealed, error) {
	if b.needTrunc {
		if err := b.f.Truncate(b.size); err != nil {
			return nil, fmt.Errorf("spool: seal: truncate %s: %w", b.name, err)
		}
		b.needTrunc = false
	}
	rec := sealRec{Key: b.key, Records: b.records, Raw: b.raw, Meta: &b.meta}
	if rec.Key == "" {
		rec.Key = s.opt.Namer(&b.meta)
	}
	if rec.Key == "" {
		return nil, fmt.Errorf("spool: seal %s: Namer returned an empty key", b.name)
	}
	payload, err := json.Marshal(&rec)
	if err != nil {
		return nil, fmt.Errorf("spool: seal %s: %w", b.name, err)
	}
	s.buf = appendSegment(s.buf[:0], segSeal, uint32(b.records), payload)
	err = s.writeAt(b.f, s.buf, b.size)
	if err == nil {
		err = s.syncFile(b.f)
	}
	dst := filepath.Join(s.sealedDir, b.name)
	if err == nil {
		err = os.Rename(filepath.Join(dir, b.name), dst)
	}
	if err != nil {
		// Keep the batch open and without SEAL, or later segments would be cut.
		if terr := b.f.Truncate(b.size); terr != nil {
			b.needTrunc = true
		}
		return nil, fmt.Errorf("spool: seal %s: %w", b.name, err)
	}
	// A lost rename is recovered at the next Open (SEAL is already durable).
	for _, d := range uniq(s.sealedDir, dir) {
		if err := syncDir(d); err != nil {
			s.opt.Logf("%v", err)
		}
	}
	b.f.Close()
	size := b.size + int64(len(s.buf))
	s.size.Add(int64(len(s.buf)))
	return &Sealed{Key: rec.Key, Meta: b.meta, Records: b.records, RawBytes: b.raw, path: dst, size: size, ids: b.ids}, nil
}

func uniq(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}

var bufPool = freelist.List[*[]byte]{New: func() *[]byte { b := make([]byte, 0, 64<<10); return &b }}

// ReadSealed streams the payload of each DATA segment of b, in order, after checking
// its CRC. The slice passed to fn is reused after fn returns.
func (s *Spool) ReadSealed(b *Sealed, fn func(lines []byte) error) error {
	f, err := fsutil.OpenRegular(b.path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	bp := bufPool.Get()
	defer bufPool.Put(bp)
	sc := scanner{r: f, size: st.Size(), buf: *bp}
	defer func() { *bp = sc.buf[:0] }()
	if _, ok, err := sc.header(); err != nil || !ok {
		if err == nil {
			err = ErrCorrupt
		}
		return fmt.Errorf("spool: %s: %w", filepath.Base(b.path), err)
	}
	for {
		typ, recs, payload, ok, err := sc.next()
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if !ok {
			return fmt.Errorf("spool: %s at offset %d: %w", filepath.Base(b.path), sc.off, ErrCorrupt)
		}
		switch typ {
		case segData:
			_ = recs
			if err := fn(payload); err != nil {
				return err
			}
		case segMeta, segCommit: // version 2's second copy; the end of an Append
		case segSeal:
			return nil
		default:
			return fmt.Errorf("spool: %s at offset %d: %w", filepath.Base(b.path), sc.off, ErrCorrupt)
		}
	}
}

// Remove deletes an uploaded batch, after journaling its chunk IDs (a failure there is
// logged: the batch is removed all the same, and its chunks are no longer known).
func (s *Spool) Remove(b *Sealed) error {
	if b.removed.Load() {
		return nil
	}
	if err := s.journalRemoved(b.ids); err != nil {
		s.replayFailOnce(err)
	}
	if err := os.Remove(b.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	if b.removed.CompareAndSwap(false, true) {
		s.size.Add(-b.size)
	}
	return nil
}
