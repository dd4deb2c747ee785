package spool

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"syscall"
)

// Stage is a flush's staging file: lines written ahead of Append as complete DATA
// segments, so a flush of any size holds only a bounded piece of its lines in
// memory. The file has no name (it is unlinked as soon as it is created), so a crash
// leaves nothing behind and recovery never sees lines of a flush that was not
// acknowledged. A Stage is used by one flush at a time.
type Stage struct {
	f    *os.File
	size int64
	gen  uint64 // counts Resets: a Piece of an earlier flush is refused
	buf  []byte // segment header scratch
}

// Piece is one DATA segment in a Stage, added to its partition's batch by Append.
type Piece struct {
	st      *Stage
	gen     uint64
	off     int64 // of the segment header in the staging file
	n       int64 // header and lines
	Records int
	Raw     int64 // bytes of lines
}

// NewStage creates a staging file in the spool directory (so Append copies within
// one filesystem).
func (s *Spool) NewStage() (*Stage, error) {
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("spool: stage: %w", err)
	}
	path := filepath.Join(s.dir, "stage-"+hex.EncodeToString(r[:]))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: stage: %w", err)
	}
	if err := os.Remove(path); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: stage: %w", err)
	}
	return &Stage{f: f}, nil
}

// Write appends lines (complete NDJSON lines holding records records) as one DATA
// segment.
func (st *Stage) Write(lines []byte, records int) (Piece, error) {
	if uint64(len(lines)) > math.MaxUint32 || records < 0 || uint64(records) > math.MaxUint32 {
		return Piece{}, ErrTooLarge
	}
	st.buf = appendSegmentHeader(st.buf[:0], segData, uint32(records), lines)
	if _, err := st.f.WriteAt(st.buf, st.size); err != nil {
		return Piece{}, fmt.Errorf("spool: stage: %w", err)
	}
	if _, err := st.f.WriteAt(lines, st.size+int64(len(st.buf))); err != nil {
		return Piece{}, fmt.Errorf("spool: stage: %w", err)
	}
	p := Piece{st: st, gen: st.gen, off: st.size, n: int64(len(st.buf) + len(lines)), Records: records, Raw: int64(len(lines))}
	st.size += p.n
	return p, nil
}

// Reset empties the staging file for the next flush; its Pieces are no longer valid.
// A file of at most keepStageBytes keeps its blocks (bytes past size are stale): the
// next flush overwrites them, which costs less than giving them back and allocating
// them again at every flush. A larger one is cut back to nothing.
func (st *Stage) Reset() error {
	st.gen++
	keep := st.size <= keepStageBytes
	st.size = 0
	if keep {
		return nil
	}
	if err := st.f.Truncate(0); err != nil {
		return fmt.Errorf("spool: stage: %w", err)
	}
	return nil
}

// keepStageBytes is how much of its file a Stage keeps between flushes: a few of
// Fluent Bit's chunks (2 MB of msgpack, about 3 MiB of lines), so that the disk a
// stage holds between flushes stays small.
const keepStageBytes = 8 << 20

// Close releases the staging file.
func (st *Stage) Close() error { return st.f.Close() }

// errStagedPiece reports a Piece whose staging file was reset or replaced.
var errStagedPiece = errors.New("spool: staged piece is no longer in its staging file")

// copyPiece appends p's segment to b at b.size: in the kernel (copy_file_range) where
// it can, which moves the bytes once instead of reading them out and writing them
// back, else in bounded reads.
func (s *Spool) copyPiece(b *batch, p *Piece) error {
	if p.st == nil || p.gen != p.st.gen || p.off+p.n > p.st.size {
		return errStagedPiece
	}
	for done := int64(0); done < p.n; {
		k := min(int64(copyBufBytes), p.n-done)
		if s.fault != nil {
			if err := s.fault("write"); err != nil {
				return fmt.Errorf("spool: write %s: %w", b.name, err)
			}
		}
		n, err := s.copyRange(b.f, b.size+done, p.st.f, p.off+done, k)
		if err != nil {
			return fmt.Errorf("spool: write %s: %w", b.name, err)
		}
		done += n
	}
	b.size += p.n
	b.records += p.Records
	b.raw += p.Raw
	return nil
}

// copyRange copies n bytes at most (at least one) from src at srcOff to dst at dstOff.
func (s *Spool) copyRange(dst *os.File, dstOff int64, src *os.File, srcOff, n int64) (int64, error) {
	if !noCopyFileRange.Load() {
		k, err := copyFileRange(dst, dstOff, src, srcOff, n)
		if err == nil && k > 0 {
			return k, nil
		}
		if err == nil {
			return 0, fmt.Errorf("stage: %w", io.ErrUnexpectedEOF)
		}
		if !copyFileRangeUnsupported(err) {
			return 0, err
		}
		noCopyFileRange.Store(true)
	}
	if cap(s.copyBuf) == 0 {
		s.copyBuf = make([]byte, copyBufBytes)
	}
	buf := s.copyBuf[:n]
	if k, err := src.ReadAt(buf, srcOff); k < len(buf) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, fmt.Errorf("stage: %w", err)
	}
	if _, err := dst.WriteAt(buf, dstOff); err != nil {
		return 0, err
	}
	return n, nil
}

// copyBufBytes bounds each copy of staged lines into a batch, and the memory Append
// uses for it where copy_file_range is missing.
const copyBufBytes = 128 << 10
