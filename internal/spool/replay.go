package spool

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/zeebo/xxh3"

	"github.com/envoy-s3/envoy_s3/internal/fsutil"
)

// ChunkID names what one Append stored: the digest of the Fluent Bit chunk it came from
// (ChunkOf), or a unique number for an Append of no chunk.
type ChunkID [16]byte

// ChunkOf is the ID of a chunk: XXH3-128 of its bytes, seeded by its tag. A replayed
// chunk has the same tag and bytes; two different chunks share an ID with probability
// about 2^-128 per pair, and Fluent Bit's timestamps make a chosen collision a guess
// at bytes the sender never sees.
func ChunkOf(tag string, data []byte) ChunkID {
	h := xxh3.Hash128Seed(data, xxh3.HashString(tag))
	var id ChunkID
	binary.LittleEndian.PutUint64(id[:8], h.Lo)
	binary.LittleEndian.PutUint64(id[8:], h.Hi)
	return id
}

// ReplayWindow is how many of the last chunks stored are remembered across uploads and
// restarts. Fluent Bit sends a stored chunk again only when it did not handle the flush's
// OK before it stopped; those are the chunks of flushes in flight, at most one per
// task, and Fluent Bit holds at most 16,384 tasks (its task map's limit).
const ReplayWindow = 16384

// window is ReplayWindow, smaller in tests.
var window = ReplayWindow

// ReplayFile is the journal, in the spool directory, of the IDs of batches removed after
// upload: records of the ID and its CRC-32C.
const ReplayFile = "replayed"

const replayRec = 20

// maxReplayed bounds what is read of a journal (it is rewritten at twice the window).
const maxReplayed = 4 * ReplayWindow * replayRec

// Seen reports whether the chunk id was stored by an earlier Spool of this directory (an
// earlier run), within ReplayWindow chunks. Chunks of this run are not: Fluent Bit sends a
// chunk again only after a restart, and a chunk with the same tag and bytes within a run
// is a new one.
func (s *Spool) Seen(id ChunkID) bool {
	s.seen.mu.Lock()
	defer s.seen.mu.Unlock()
	_, ok := s.seen.m[id]
	return ok
}

// seenSet holds the chunk IDs an earlier run committed, read at Open; at most the last
// window of them.
type seenSet struct {
	mu   sync.Mutex
	ring []ChunkID
	next int
	m    map[ChunkID]struct{}
}

func (r *seenSet) add(id ChunkID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[ChunkID]struct{})
	}
	if _, ok := r.m[id]; ok {
		return
	}
	if len(r.ring) < window {
		r.ring = append(r.ring, id)
	} else {
		delete(r.m, r.ring[r.next])
		r.ring[r.next] = id
		r.next = (r.next + 1) % window
	}
	r.m[id] = struct{}{}
}

// newID returns the ID of an Append of no chunk: unique per Spool and run.
func (s *Spool) newID() ChunkID {
	s.idSeq++
	id := s.idBase
	binary.LittleEndian.PutUint64(id[8:], s.idSeq)
	return id
}

// appendCommit appends the COMMIT segment closing an Append's segments in one file: id,
// and in the first file written the names of the others, one per line.
func (s *Spool) appendCommit(dst []byte, id ChunkID, others []*batch) []byte {
	p := append(s.commitBuf[:0], id[:]...)
	for i, b := range others {
		if i > 0 {
			p = append(p, '\n')
		}
		p = append(p, b.name...)
	}
	s.commitBuf = p
	return appendSegment(dst, segCommit, 0, p)
}

// parseCommit reads a COMMIT payload; ok is false when it has no room for the ID.
func parseCommit(p []byte) (id ChunkID, others []string, ok bool) {
	if len(p) < len(id) || len(p) > maxCommit {
		return id, nil, false
	}
	copy(id[:], p)
	if rest := p[len(id):]; len(rest) > 0 {
		others = strings.Split(string(rest), "\n")
	}
	return id, others, true
}

// maxCommit bounds a COMMIT payload: the ID and the names of the other files.
const maxCommit = 16 << 20

// commitScan is what the scan of open/ at Open found, so recovery can tell the DATA at
// the end of a file that no COMMIT closes (see claimed).
type commitScan struct {
	held   map[string]map[ChunkID]bool // file name -> the IDs of its COMMITs
	claims map[string][]ChunkID        // file name -> IDs whose first COMMIT names it
	unsure bool                        // a file could not be read: claim everything
}

// scanCommits reads the COMMIT segments of every batch file in open/.
func (s *Spool) scanCommits() *commitScan {
	cs := &commitScan{held: map[string]map[ChunkID]bool{}, claims: map[string][]ChunkID{}}
	ents, err := os.ReadDir(s.openDir)
	if err != nil {
		cs.unsure = true
		return cs
	}
	for _, e := range ents {
		if !isBatchName(e.Name()) {
			continue
		}
		if !e.Type().IsRegular() || !s.scanCommitsOf(cs, e.Name()) {
			cs.unsure = true
		}
	}
	return cs
}

func (s *Spool) scanCommitsOf(cs *commitScan, name string) bool {
	f, err := fsutil.OpenRegular(filepath.Join(s.openDir, name), os.O_RDONLY, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false
	}
	held := map[ChunkID]bool{}
	cs.held[name] = held
	sc := scanner{r: f, size: st.Size(), buf: s.scanBuf}
	defer func() { s.scanBuf = sc.buf[:0] }()
	for off := int64(headerSize); off < sc.size; {
		typ, _, payload, ok, err := sc.at(off)
		if err != nil {
			return false
		}
		if !ok {
			if off, err = s.resync(&sc, off+1); err != nil {
				return false
			}
			continue
		}
		if typ == segCommit {
			if id, others, ok := parseCommit(payload); ok {
				held[id] = true
				for _, o := range others {
					cs.claims[o] = append(cs.claims[o], id)
				}
			}
		}
		off += segHdrSize + int64(len(payload))
	}
	return true
}

// claimed reports whether the DATA at the end of file name, after its last COMMIT,
// belongs to an Append that committed elsewhere, and which. Every DATA of an Append is
// written before its first COMMIT, and the first COMMIT names the other files: a file
// it names without holding the ID was cut off between COMMITs, its DATA whole. DATA no
// COMMIT claims belongs to an Append that never reached its COMMITs: never
// acknowledged, so cut.
func (cs *commitScan) claimed(name string) (ChunkID, bool) {
	if cs == nil || cs.unsure {
		return ChunkID{}, true
	}
	for _, id := range cs.claims[name] {
		if !cs.held[name][id] {
			return id, true
		}
	}
	return ChunkID{}, false
}

// loadReplayed reads the journal of removed batches' IDs into the seen set and opens
// it for appending. A damaged record is skipped: it costs at most one duplicate.
func (s *Spool) loadReplayed() {
	path := filepath.Join(s.dir, ReplayFile)
	b, err := fsutil.ReadRegular(path, maxReplayed)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		s.opt.Logf("spool: cannot read %s (%v): chunks uploaded before this start that Fluent Bit sends again are stored again", path, err)
	}
	n := 0
	for ; len(b) >= replayRec; b = b[replayRec:] {
		if crc32.Checksum(b[:16], castagnoli) == binary.LittleEndian.Uint32(b[16:replayRec]) {
			s.seen.add(ChunkID(b[:16]))
			n++
		}
	}
	s.replayN = n
}

// journalRemoved appends the IDs of a batch about to be removed to the journal and
// fsyncs it, so a chunk whose batch is already uploaded is still known after a restart.
// When it grows past twice window it is rewritten with the last window IDs.
func (s *Spool) journalRemoved(ids []ChunkID) error {
	if len(ids) == 0 {
		return nil
	}
	s.replayMu.Lock()
	defer s.replayMu.Unlock()
	path := filepath.Join(s.dir, ReplayFile)
	buf := make([]byte, 0, len(ids)*replayRec)
	for _, id := range ids {
		buf = append(buf, id[:]...)
		buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(id[:], castagnoli))
	}
	if s.replayN+len(ids) > 2*window {
		old, _ := fsutil.ReadRegular(path, maxReplayed)
		old = old[:len(old)/replayRec*replayRec]
		if keep := max(0, window-len(ids)) * replayRec; len(old) > keep {
			old = old[len(old)-keep:]
		}
		all := append(old, buf...)
		if err := fsutil.WriteFileAtomic(path, all); err != nil {
			return err
		}
		s.replayN = len(all) / replayRec
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	s.replayN += len(ids)
	return nil
}

// replayFailOnce logs, once per run, that the journal cannot be written.
func (s *Spool) replayFailOnce(err error) {
	if s.replayFailed.CompareAndSwap(false, true) {
		s.opt.Logf("spool: cannot journal the chunks of uploaded batches in %s (%v): if Fluent Bit sends one of them again after a restart it is stored twice; free space in store_dir or fix the disk (said once)", s.dir, err)
	}
}

// mergeReplayed adds the journal of an adopted sibling directory to this one's.
func (s *Spool) mergeReplayed(sib string) {
	b, _ := fsutil.ReadRegular(filepath.Join(sib, ReplayFile), maxReplayed)
	var ids []ChunkID
	for ; len(b) >= replayRec; b = b[replayRec:] {
		if crc32.Checksum(b[:16], castagnoli) == binary.LittleEndian.Uint32(b[16:replayRec]) {
			ids = append(ids, ChunkID(b[:16]))
			s.seen.add(ChunkID(b[:16]))
		}
	}
	if err := s.journalRemoved(ids); err != nil {
		s.opt.Logf("spool: cannot keep the chunk journal of %s (%v): its chunks, if Fluent Bit sends them again, are stored again", sib, err)
		return
	}
	os.Remove(filepath.Join(sib, ReplayFile))
}
