package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"syscall"
)

// Append makes parts durable: one DATA segment per part in its partition's open batch,
// then a COMMIT in every file touched, then an fsync of each. On any error every touched
// file is cut back to its size before the call, so a retried chunk is never partly
// duplicated; a crash before every COMMIT is written leaves segments that recovery cuts.
func (s *Spool) Append(parts []Part) error { return s.append(nil, parts) }

// AppendChunk is Append of the parts of chunk id (ChunkOf): once it returns nil, Seen(id)
// is true for the next Spool of this directory (after a restart), for ReplayWindow
// chunks.
func (s *Spool) AppendChunk(id ChunkID, parts []Part) error { return s.append(&id, parts) }

// append is Append, of chunk when it is not nil. The ID of an Append of no chunk only
// closes its segments: no replay can name it, so it is not journaled.
func (s *Spool) append(chunk *ChunkID, parts []Part) error {
	var n int64
	for i := range parts {
		n += int64(len(parts[i].Lines))
		for _, pc := range parts[i].Staged {
			n += pc.n
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.opt.Limit > 0 && s.size.Load()+n > s.opt.Limit {
		return ErrFull
	}
	id := s.newID()
	if chunk != nil {
		id = *chunk
	}
	err := s.appendLocked(id, parts)
	var grown int64
	for _, b := range s.touched {
		if err != nil {
			s.rollback(b)
		} else {
			grown += b.size - b.mark
			if chunk != nil {
				b.ids = append(b.ids, id)
			}
		}
		b.touched, b.fresh = false, false
	}
	clear(s.touched)
	s.touched = s.touched[:0]
	if err != nil {
		return err
	}
	s.size.Add(grown)
	return nil
}

func (s *Spool) appendLocked(id ChunkID, parts []Part) error {
	fresh := false
	for i := range parts {
		p := &parts[i]
		if len(p.Lines) == 0 && len(p.Staged) == 0 {
			continue
		}
		if uint64(len(p.Lines)) > math.MaxUint32 || p.Records < 0 || uint64(p.Records) > math.MaxUint32 {
			return ErrTooLarge
		}
		b := s.open[string(p.Partition)]
		if b == nil {
			if len(s.open) >= s.maxOpen {
				s.evict()
			}
			var err error
			b, err = s.create(p)
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				if s.evict() {
					b, err = s.create(p)
				}
			}
			if err != nil {
				return err
			}
			s.open[string(b.meta.Partition)] = b
			b.touched, b.fresh = true, true
			s.touched = append(s.touched, b)
			fresh = true
		} else if !b.touched {
			if b.needTrunc {
				if err := b.f.Truncate(b.size); err != nil {
					return fmt.Errorf("spool: truncate %s: %w", b.name, err)
				}
				b.needTrunc = false
			}
			b.touched = true
			b.mark, b.markRecords, b.markRaw = b.size, b.records, b.raw
			s.touched = append(s.touched, b)
		}
		for j := range p.Staged {
			if err := s.copyPiece(b, &p.Staged[j]); err != nil {
				return err
			}
		}
		if len(p.Lines) == 0 {
			s.useSeq++
			b.used = s.useSeq
			continue
		}
		// The header and the lines are written apart, so no copy of a flush's
		// lines is built (or kept in s.buf at the size of the largest flush); a
		// crash between the two writes leaves a torn segment, which recovery
		// treats as any torn write.
		s.buf = appendSegmentHeader(s.buf[:0], segData, uint32(p.Records), p.Lines)
		if err := s.writeAt(b.f, s.buf, b.size); err != nil {
			return fmt.Errorf("spool: write %s: %w", b.name, err)
		}
		if err := s.writeAt(b.f, p.Lines, b.size+int64(len(s.buf))); err != nil {
			return fmt.Errorf("spool: write %s: %w", b.name, err)
		}
		b.size += int64(len(s.buf) + len(p.Lines))
		b.records += p.Records
		b.raw += int64(len(p.Lines))
		s.useSeq++
		b.used = s.useSeq
	}
	// Every DATA is written before the first COMMIT, which names the other files:
	// recovery keeps an Append whose COMMIT it finds anywhere, and cuts one it finds
	// nowhere (commitScan.claimed).
	for i, b := range s.touched {
		var others []*batch
		if i == 0 {
			others = s.touched[1:]
		}
		s.buf = s.appendCommit(s.buf[:0], id, others)
		if err := s.writeAt(b.f, s.buf, b.size); err != nil {
			return fmt.Errorf("spool: write %s: %w", b.name, err)
		}
		b.size += int64(len(s.buf))
	}
	for _, b := range s.touched {
		if err := s.syncFile(b.f); err != nil {
			return fmt.Errorf("spool: fsync %s: %w", b.name, err)
		}
	}
	if fresh {
		return syncDir(s.openDir)
	}
	return nil
}

// create opens a new batch file holding the header and META segment.
func (s *Spool) create(p *Part) (*batch, error) {
	var m Meta
	if p.Meta != nil {
		m = *p.Meta
	}
	m.Partition = append([]byte(nil), p.Partition...)
	if m.Opened.IsZero() {
		m.Opened = s.opt.Now()
	}
	mj, err := json.Marshal(&m)
	if err != nil || len(mj) > maxMeta {
		return nil, fmt.Errorf("spool: batch metadata too large or invalid (%d bytes)", len(mj))
	}
	name := s.newName()
	path := filepath.Join(s.openDir, name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	hdr := appendHeader(make([]byte, 0, headerSize+2*(segHdrSize+len(mj))), mj)
	if err := s.writeAt(f, hdr, 0); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("spool: write %s: %w", name, err)
	}
	return &batch{f: f, name: name, meta: m, size: int64(len(hdr))}, nil
}

// evict seals the least recently written batch that the Append in progress has not
// touched, to stay under the open-file cap; it reports whether one was sealed.
func (s *Spool) evict() bool {
	var lru *batch
	for _, b := range s.open {
		if !b.touched && (lru == nil || b.used < lru.used) {
			lru = b
		}
	}
	if lru == nil {
		return false
	}
	sb, err := s.seal(lru, s.openDir)
	if err != nil {
		s.opt.Logf("%v", err)
		return false
	}
	delete(s.open, string(lru.meta.Partition))
	s.pending = append(s.pending, sb)
	return true
}

// rollback undoes the current Append on b.
func (s *Spool) rollback(b *batch) {
	if b.fresh {
		b.f.Close()
		if err := os.Remove(filepath.Join(s.openDir, b.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.opt.Logf("spool: rollback: cannot remove %s: %v", b.name, err)
		}
		delete(s.open, string(b.meta.Partition))
		return
	}
	b.size, b.records, b.raw = b.mark, b.markRecords, b.markRaw
	if err := b.f.Truncate(b.size); err != nil {
		b.needTrunc = true
		s.opt.Logf("spool: rollback: cannot truncate %s: %v", b.name, err)
		return
	}
	if err := b.f.Sync(); err != nil {
		s.opt.Logf("spool: rollback: fsync %s: %v", b.name, err)
	}
}

func (s *Spool) writeAt(f *os.File, p []byte, off int64) error {
	if s.fault != nil {
		if err := s.fault("write"); err != nil {
			return err
		}
	}
	_, err := f.WriteAt(p, off)
	return err
}

func (s *Spool) syncFile(f *os.File) error {
	if s.fault != nil {
		if err := s.fault("sync"); err != nil {
			return err
		}
	}
	return f.Sync()
}
