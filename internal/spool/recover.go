package spool

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/fsutil"
)

// QuarantineDir is the directory under store_dir where recovery keeps the bytes it
// could not use.
const QuarantineDir = "quarantine"

// rewriteExt marks the temporary file of a batch being rewritten by recovery.
const rewriteExt = ".rewrite"

// Loss totals what recovery could not keep.
type Loss struct {
	Records int64 // records of the damaged segments (their count, or their lines when the header is damaged too)
	Bytes   int64 // bytes moved to quarantine
	Ranges  int   // damaged byte ranges
}

// Lost returns what recovery has cut from the batch files so far.
func (s *Spool) Lost() Loss {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

// recover validates every batch file: sealed/ first, then open/ (whose batches are
// sealed now). A file that cannot be used is logged and left for Recheck.
func (s *Spool) recover() {
	for _, dir := range []string{s.sealedDir, s.openDir} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			s.opt.Errorf("spool: cannot list %s: %v; its batches wait for the next start", dir, err)
			continue
		}
		for _, e := range ents {
			name := e.Name()
			if strings.HasSuffix(name, fileExt+rewriteExt) && e.Type().IsRegular() {
				os.Remove(filepath.Join(dir, name)) // an interrupted rewrite; the original is intact
				continue
			}
			if !isBatchName(name) {
				continue
			}
			path := filepath.Join(dir, name)
			if !e.Type().IsRegular() {
				s.failOnce(path, fmt.Errorf("is a %s, not a regular file", e.Type()))
				continue
			}
			s.tryRecover(dir, name)
		}
	}
	sortByKey(s.recovered)
}

// Recheck retries the batch files recovery could not use and returns the ones that
// are now sealed and ready for upload.
func (s *Spool) Recheck() []*Sealed {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.writeRecord()
	if len(s.failed) == 0 {
		return nil
	}
	var out []*Sealed
	for path := range s.failed {
		fi, err := os.Lstat(path)
		if errors.Is(err, os.ErrNotExist) {
			delete(s.failed, path) // moved away by the user
			continue
		}
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if sb := s.tryRecover(filepath.Dir(path), filepath.Base(path)); sb != nil {
			out = append(out, sb)
		}
	}
	sortByKey(out)
	return out
}

// Unusable returns the batch files recovery could not use yet.
func (s *Spool) Unusable() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.failed))
	for p := range s.failed {
		out = append(out, p)
	}
	return out
}

func (s *Spool) tryRecover(dir, name string) *Sealed {
	path := filepath.Join(dir, name)
	sb, err := s.recoverFile(dir, name)
	if err != nil {
		s.failOnce(path, err)
		return nil
	}
	if _, was := s.failed[path]; was {
		delete(s.failed, path)
		s.opt.Logf("spool: %s can be used again", path)
	}
	if sb != nil {
		s.recovered = append(s.recovered, sb)
	}
	return sb
}

// failOnce logs a file recovery cannot use, once, with the remedy.
func (s *Spool) failOnce(path string, err error) {
	if s.failed[path] {
		return
	}
	s.failed[path] = true
	s.opt.Errorf("spool: batch file %s cannot be used (%v); the other batches are delivered and this one stays in place and is retried: make it a regular file this user can read and write (chown, chmod 600, chattr -i), or move it out of store_dir if the disk is failing", path, err)
}

// segment spans found by the scan.
type span struct {
	off, end int64
	records  uint32
	commit   bool // a COMMIT, kept with the DATA it closes
}

type badRange struct {
	off, end  int64
	records   int
	torn      bool // the tail an interrupted write leaves
	afterSeal bool // bytes after the batch's SEAL: no part of the batch
}

type scanResult struct {
	meta    Meta
	metaOK  bool
	data    []span // DATA and COMMIT segments kept
	ids     []ChunkID
	seal    *sealRec
	records int
	raw     int64
	bad     []badRange
	// DATA of an Append a crash cut short (format 3): never acknowledged, so cut.
	uncommitted        []span
	uncommittedRecords int
}

// keep adds DATA segments to what the batch holds.
func (r *scanResult) keep(spans []span) {
	for _, sp := range spans {
		r.data = append(r.data, sp)
		r.records += int(sp.records)
		r.raw += sp.end - sp.off - segHdrSize
	}
}

// cut sets DATA segments aside as uncommitted.
func (r *scanResult) cut(spans []span) {
	for _, sp := range spans {
		r.uncommitted = append(r.uncommitted, sp)
		r.uncommittedRecords += int(sp.records)
	}
}

// scanFile reads every segment of a batch file, resynchronising after damage. In
// format 3, DATA at the end of an open batch that no COMMIT closes is kept only when
// its Append committed in another file (commits.claimed); a sealed batch (in sealed/, or
// with a SEAL) was sealed after its Appends returned. DATA followed by damage is kept:
// the COMMIT may be what was damaged, and keeping costs at most a duplicate.
func (s *Spool) scanFile(sc *scanner, name string, sealed bool, commits *commitScan) (*scanResult, error) {
	r := &scanResult{}
	var h [headerSize]byte
	if sc.size < headerSize {
		r.bad = append(r.bad, badRange{off: 0, end: sc.size, torn: true})
		return r, nil
	}
	if _, err := sc.r.ReadAt(h[:], 0); err != nil {
		return nil, err
	}
	committed := false // DATA waits for its COMMIT
	switch headerKind(h) {
	case headerFuture:
		return nil, errVersion
	case headerDamaged:
		r.bad = append(r.bad, badRange{off: 0, end: headerSize})
		committed = true // the version is unknown: keep whatever checks out, as before
	default:
		committed = sealed || h[6] < 3
	}
	var pending []span
	damaged := false // since the first pending DATA
	for off := int64(headerSize); off < sc.size; {
		typ, recs, payload, ok, err := sc.at(off)
		if err != nil {
			return nil, err
		}
		if !ok {
			next, err := s.resync(sc, off+1)
			if err != nil {
				return nil, err
			}
			r.bad = append(r.bad, badRange{off: off, end: next})
			if len(pending) > 0 && !damaged {
				torn, err := tornData(sc, off, next)
				if err != nil {
					return nil, err
				}
				damaged = !torn
			}
			off = next
			continue
		}
		end := off + segHdrSize + int64(len(payload))
		switch typ {
		case segMeta:
			var m Meta
			if !r.metaOK && json.Unmarshal(payload, &m) == nil {
				r.meta, r.metaOK = m, true
			}
		case segData:
			pending = append(pending, span{off: off, end: end, records: recs})
			if committed {
				r.keep(pending)
				pending = pending[:0]
			}
		case segCommit:
			if id, _, ok := parseCommit(payload); ok {
				r.keep(pending)
				r.data = append(r.data, span{off: off, end: end, commit: true})
				r.ids = append(r.ids, id)
			} else {
				r.bad = append(r.bad, badRange{off: off, end: end})
			}
			pending, damaged = pending[:0], false
		case segSeal:
			r.keep(pending) // sealed only after its Appends returned
			pending = pending[:0]
			var sr sealRec
			if json.Unmarshal(payload, &sr) != nil || sr.Key == "" {
				r.bad = append(r.bad, badRange{off: off, end: end})
				break
			}
			r.seal = &sr
			if end < sc.size {
				r.bad = append(r.bad, badRange{off: end, end: sc.size, afterSeal: true})
			}
			end = sc.size
		}
		off = end
	}
	id, claimed := commits.claimed(name)
	switch {
	case len(pending) == 0:
	case damaged || claimed:
		r.keep(pending)
		if claimed && id != (ChunkID{}) {
			r.ids = append(r.ids, id)
		}
	default:
		r.cut(pending)
	}
	for i := range r.bad {
		if err := s.assess(sc, &r.bad[i], r.seal == nil); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// tornData reports whether the bad range [off, end) is the tail a crash leaves while a
// DATA segment is written (its header, then its lines): it reaches the end of the file
// and starts with a segment header longer than what follows, or with less than a
// header. Anything else there (a COMMIT that fails its CRC) is damage.
func tornData(sc *scanner, off, end int64) (bool, error) {
	if end < sc.size {
		return false, nil
	}
	if sc.size-off < segHdrSize {
		return true, nil
	}
	var h [segHdrSize]byte
	if _, err := sc.r.ReadAt(h[:], off); err != nil {
		return false, err
	}
	return knownSegment(h[0]) && segHdrSize+int64(binary.LittleEndian.Uint32(h[1:])) > sc.size-off, nil
}

// resync returns the first offset at or after from where a whole valid segment
// starts, or the file size. Segment payloads are NDJSON, which never holds the bytes
// 1-3 of a segment type, so candidates are rare and each is proven by its CRC.
func (s *Spool) resync(sc *scanner, from int64) (int64, error) {
	const win = 64 << 10
	if cap(s.winBuf) < win+segHdrSize {
		s.winBuf = make([]byte, win+segHdrSize)
	}
	for base := from; base+segHdrSize <= sc.size; base += win {
		n := min(int64(win+segHdrSize), sc.size-base)
		w := s.winBuf[:n]
		if _, err := sc.r.ReadAt(w, base); err != nil && err != io.EOF {
			return 0, err
		}
		for i := 0; i+segHdrSize <= len(w) && i < win; i++ {
			t := w[i]
			if !knownSegment(t) {
				continue
			}
			o := base + int64(i)
			l := int64(binary.LittleEndian.Uint32(w[i+1:]))
			recs := int64(binary.LittleEndian.Uint32(w[i+5:]))
			if l > sc.size-o-segHdrSize || t == segMeta && l > maxMeta || t == segCommit && l > maxCommit || t == segData && (l == 0 || recs > l) {
				continue
			}
			if _, _, _, ok, err := sc.at(o); err != nil {
				return 0, err
			} else if ok {
				return o, nil
			}
		}
	}
	return sc.size, nil
}

// assess estimates the records a damaged range held: the count in its segment header
// when that header is intact, else its complete lines (payloads are NDJSON).
func (s *Spool) assess(sc *scanner, b *badRange, open bool) error {
	if b.end <= headerSize {
		return nil // the file header holds no records
	}
	n := b.end - b.off
	hdrRecords, from := -1, b.off
	if n >= segHdrSize {
		var h [segHdrSize]byte
		if _, err := sc.r.ReadAt(h[:], b.off); err != nil {
			return err
		}
		l := int64(binary.LittleEndian.Uint32(h[1:]))
		recs := int(binary.LittleEndian.Uint32(h[5:]))
		switch {
		case h[0] == segCommit && (segHdrSize+l == n || recs == 0):
			// A damaged COMMIT holds no record: its CRC, length or count is
			// what failed (its count reads 0, or its length fits the range). Its
			// payload is a binary chunk ID, whose bytes can be '\n': never
			// counted as lines.
			return nil
		case h[0] == segData && segHdrSize+l == n && int64(recs) <= l:
			hdrRecords, from = recs, b.off+segHdrSize
		case knownSegment(h[0]) && segHdrSize+l > n && b.end == sc.size && open:
			b.torn = true
			from = b.off + segHdrSize
			if h[0] == segData && int64(recs) <= l {
				hdrRecords = recs // the header says how many the cut segment held
			}
		case knownSegment(h[0]):
			// A header whose type, length or count is damaged: its binary
			// fields (a CRC byte can be '\n') are no lines of the payload. A
			// damaged META or SEAL counts none (their JSON holds no newline),
			// and a DATA segment whose type byte now reads META or SEAL still
			// counts its lines.
			from = b.off + segHdrSize
		}
	} else if b.end == sc.size && open {
		b.torn = true
		from = b.end
	}
	lines, last, err := countLines(sc.r, from, b.end, s.winBuf)
	if err != nil {
		return err
	}
	if b.torn && hdrRecords >= 0 && lines == hdrRecords && last == '\n' {
		// Every record the header counts is here, whole, yet the header says
		// there is more: its length is damaged, not a write cut short.
		b.torn = false
	}
	if b.torn && b.end > from && last != '\n' {
		lines++ // the line the cut went through
	}
	// One damaged byte changes either the count (then the lines are right) or one
	// line break (then the count is right, and the lines are off by one).
	b.records = lines
	if hdrRecords >= 0 && (b.torn || hdrRecords-lines <= 1 && lines-hdrRecords <= 1) {
		b.records = max(hdrRecords, lines)
	}
	return nil
}

func countLines(r io.ReaderAt, from, to int64, buf []byte) (n int, last byte, err error) {
	if cap(buf) == 0 {
		buf = make([]byte, 64<<10)
	}
	buf = buf[:cap(buf)]
	for off := from; off < to; {
		w := buf[:min(int64(len(buf)), to-off)]
		if _, err := r.ReadAt(w, off); err != nil && err != io.EOF {
			return 0, 0, err
		}
		n += bytes.Count(w, []byte{'\n'})
		last = w[len(w)-1]
		off += int64(len(w))
	}
	return n, last, nil
}

// recoverFile validates one batch file and returns it sealed, or nil when it holds
// nothing to upload. An error means the file could not be used at all.
func (s *Spool) recoverFile(dir, name string) (*Sealed, error) {
	path := filepath.Join(dir, name)
	if s.fault != nil {
		if err := s.fault("recover " + name); err != nil {
			return nil, err
		}
	}
	f, err := fsutil.OpenRegular(path, os.O_RDWR, 0)
	if err == nil && s.fault != nil {
		if ferr := s.fault("openrw " + name); ferr != nil {
			f.Close()
			f, err = nil, ferr
		}
	}
	writable := err == nil
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) {
		// Readable is enough: the batch is rewritten into a new file.
		f, err = fsutil.OpenRegular(path, os.O_RDONLY, 0)
	}
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	sc := scanner{r: f, size: st.Size(), buf: s.scanBuf}
	defer func() { s.scanBuf = sc.buf[:0] }()
	var commits *commitScan
	if dir == s.openDir {
		commits = s.commits
	}
	r, err := s.scanFile(&sc, name, dir == s.sealedDir, commits)
	if err == errVersion {
		// This version will never upload it, so it must not hold back flushes.
		s.opt.Errorf("spool: %s (%d bytes) was written by a newer envoy_s3 (a rollback after a backlog leaves such files); this version cannot upload it, leaves it in place and does not count it in store_dir_limit_size: run the newer envoy_s3 on this store_dir to upload it, or move it out of store_dir", path, st.Size())
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	meta := r.meta
	switch {
	case r.metaOK:
	case r.seal != nil && r.seal.Meta != nil:
		meta = *r.seal.Meta
	default:
		meta = Meta{Unknown: true, Opened: nameTime(name, st.ModTime())}
		meta.FirstTime = meta.Opened
	}
	intact := r.seal != nil && r.seal.Records == r.records && r.seal.Raw == r.raw
	for _, id := range r.ids {
		s.seen.add(id)
	}
	if len(r.uncommitted) > 0 {
		var n int64
		for _, sp := range r.uncommitted {
			n += sp.end - sp.off
		}
		s.opt.Logf("spool: %s: cut %d record(s) (%d bytes) of a flush that had not written all its files when the process stopped; it was never acknowledged, so Fluent Bit sends that chunk again", path, r.uncommittedRecords, n)
	}
	if len(r.bad) == 0 && r.metaOK && len(r.uncommitted) == 0 {
		switch {
		case r.raw == 0:
			return nil, os.Remove(path) // created, never written: nothing acknowledged
		case intact && dir == s.sealedDir:
			sb := &Sealed{Key: r.seal.Key, Meta: meta, Records: r.records, RawBytes: r.raw, path: path, size: st.Size(), ids: r.ids}
			s.size.Add(sb.size)
			return sb, nil
		case intact: // crashed between SEAL and rename
			dst := filepath.Join(s.sealedDir, name)
			if err := os.Rename(path, dst); err != nil {
				return nil, err
			}
			if err := syncDir(s.sealedDir); err != nil {
				return nil, err
			}
			sb := &Sealed{Key: r.seal.Key, Meta: meta, Records: r.records, RawBytes: r.raw, path: dst, size: st.Size(), ids: r.ids}
			s.size.Add(sb.size)
			return sb, nil
		case r.seal == nil && writable:
			b := &batch{f: f, name: name, meta: meta, size: st.Size(), records: r.records, raw: r.raw, ids: r.ids}
			keep = true // seal closes f
			sb, err := s.seal(b, dir)
			if err != nil {
				f.Close()
				return nil, err
			}
			s.size.Add(st.Size()) // seal counted only the SEAL segment
			return sb, nil
		}
	}
	// Damaged, read-only or inconsistent: keep what checks out in a new file.
	key := ""
	if intact {
		key = r.seal.Key // nothing was lost: the same object
	}
	if err := s.quarantine(f, dir, name, r, meta); err != nil {
		return nil, err
	}
	var sb *Sealed
	if r.raw > 0 {
		if sb, err = s.rewrite(f, dir, name, meta, r.data, key); err != nil {
			return nil, err
		}
		sb.ids = r.ids
	} else if err := os.Remove(path); err != nil {
		return nil, err
	}
	if len(r.bad) > 0 || meta.Unknown {
		s.report(path, r, meta, sb)
	}
	return sb, nil
}

// report logs what recovery of one file cut and kept.
func (s *Spool) report(path string, r *scanResult, meta Meta, sb *Sealed) {
	var lostRecs, lostBytes, tornRecs, tornBytes int64
	for _, b := range r.bad {
		if b.torn {
			tornRecs += int64(b.records)
			tornBytes += b.end - b.off
		} else {
			lostRecs += int64(b.records)
			lostBytes += b.end - b.off
		}
	}
	if r.seal != nil && r.seal.Records >= r.records {
		// The SEAL counts the batch's records: the loss is exact, and bytes
		// that are no part of the batch (appended after its end) lose none.
		lostRecs = int64(r.seal.Records - r.records)
	}
	s.lost.Records += lostRecs + tornRecs
	s.lost.Bytes += lostBytes + tornBytes
	s.lost.Ranges += len(r.bad)
	q := filepath.Join(s.root, QuarantineDir)
	kept := fmt.Sprintf("kept %d intact record(s)", r.records)
	if sb != nil {
		kept += " for upload as " + sb.Key
	}
	if lostBytes > 0 && lostRecs == 0 && r.seal != nil {
		s.opt.Logf("spool: %s: cut %d byte(s) in %d range(s) that hold no record of the batch (its SEAL accounts for all %d), such as bytes appended after its end; %s; the cut bytes are kept in %s", path, lostBytes, len(r.bad), r.seal.Records, kept, q)
	} else if lostBytes > 0 {
		s.opt.Errorf("spool: %s: %d damaged byte(s) in %d range(s) failed their checksum, losing about %d record(s); %s; the damaged bytes are kept in %s", path, lostBytes, len(r.bad), lostRecs, kept, q)
	}
	if tornBytes > 0 {
		s.opt.Logf("spool: %s: cut %d byte(s) (about %d record(s)) of a write that did not finish, as a crash while writing leaves (that write was not acknowledged) or a truncated file; %s; the bytes are kept in %s", path, tornBytes, tornRecs, kept, q)
	}
	if meta.Unknown && r.raw > 0 {
		s.opt.Errorf("spool: %s: every copy of the batch's metadata was damaged; its %d intact record(s) are uploaded under the fallback key %s", path, r.records, sb.Key)
	}
}

// QuarantineExt ends the name of a quarantined range in <root>/quarantine/;
// InfoExt is appended to that name for its QuarantineInfo.
const (
	QuarantineExt = ".bad"
	InfoExt       = ".json"
)

// QuarantineInfo describes one quarantined range, as JSON in the file beside it
// (<name>.bad.json), so whoever ships or inspects the range knows what it held.
type QuarantineInfo struct {
	SpoolFile string `json:"spool_file"` // the batch file the range was cut from
	Start     int64  `json:"start"`      // byte offsets of the range in that file, [start, end)
	End       int64  `json:"end"`
	// Records the range held: its segment's count when that header is intact, else
	// its lines; Exact when the batch's SEAL accounts for them.
	Records int  `json:"records"`
	Exact   bool `json:"records_exact"`
	// Reason: "damaged" (failed its checksum: acknowledged records lost from the
	// batch), "torn" (a write a crash cut short, never acknowledged: Fluent Bit sent
	// its chunk again) or "after_seal" (bytes appended after the batch's end).
	Reason string `json:"reason"`
	// The batch's metadata, when a copy survived.
	Cluster   string    `json:"cluster,omitempty"`
	TaskID    string    `json:"task_id,omitempty"`
	Tag       string    `json:"tag,omitempty"`
	FirstTime time.Time `json:"batch_first_time,omitzero"` // event time of the batch's first record
	Found     time.Time `json:"found"`                     // when recovery cut it
}

// quarantine copies each damaged range of f to <root>/quarantine/, under a name that
// says where it came from (a retry overwrites it rather than adding another copy),
// with its QuarantineInfo beside it.
func (s *Spool) quarantine(f *os.File, dir, name string, r *scanResult, meta Meta) error {
	if len(r.bad) == 0 {
		return nil
	}
	q := filepath.Join(s.root, QuarantineDir)
	if err := secureDir(q, true); err != nil {
		return err
	}
	// With a SEAL the loss is exact (see report); one damaged range holds all of it.
	exact := -1
	if r.seal != nil && r.seal.Records >= r.records {
		exact = r.seal.Records - r.records
	}
	damaged := 0
	for _, b := range r.bad {
		if !b.torn && !b.afterSeal {
			damaged++
		}
	}
	for _, b := range r.bad {
		data := make([]byte, b.end-b.off)
		if _, err := f.ReadAt(data, b.off); err != nil && err != io.EOF {
			return err
		}
		info := QuarantineInfo{SpoolFile: filepath.Join(dir, name), Start: b.off, End: b.end, Records: b.records, Reason: "damaged", Found: s.opt.Now().UTC()}
		switch {
		case b.torn:
			info.Reason = "torn"
		case b.afterSeal:
			info.Reason = "after_seal"
			if exact >= 0 {
				info.Records, info.Exact = 0, true
			}
		case exact >= 0 && damaged == 1:
			info.Records, info.Exact = exact, true
		}
		if !meta.Unknown {
			info.Cluster, info.TaskID, info.Tag, info.FirstTime = meta.Cluster, meta.TaskID, meta.Tag, meta.FirstTime
		}
		qn := fmt.Sprintf("%s_%s_%d-%d%s", filepath.Base(s.dir), strings.TrimSuffix(name, fileExt), b.off, b.end, QuarantineExt)
		if err := fsutil.WriteFileAtomic(filepath.Join(q, qn), data); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		ij, _ := json.Marshal(&info)
		if err := fsutil.WriteFileAtomic(filepath.Join(q, qn+InfoExt), ij); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	return nil
}

// rewrite replaces the batch file dir/name by a sealed one holding the header, the
// Meta and the DATA segments in data, copied from f; key "" asks Namer for a new key.
// The new file is written under a temporary name and renamed over the original, so a
// crash leaves one or the other.
func (s *Spool) rewrite(f *os.File, dir, name string, meta Meta, data []span, key string) (*Sealed, error) {
	mj, err := json.Marshal(&meta)
	if err != nil || len(mj) > maxMeta {
		return nil, fmt.Errorf("metadata too large or invalid (%d bytes)", len(mj))
	}
	tmp := filepath.Join(dir, name+rewriteExt)
	os.Remove(tmp)
	out, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Sealed, error) {
		out.Close()
		os.Remove(tmp)
		return nil, err
	}
	hdr := appendHeader(nil, mj)
	if _, err := out.Write(hdr); err != nil {
		return fail(err)
	}
	b := &batch{f: out, name: name, meta: meta, size: int64(len(hdr)), key: key}
	for _, sp := range data {
		if _, err := io.Copy(out, io.NewSectionReader(f, sp.off, sp.end-sp.off)); err != nil {
			return fail(err)
		}
		b.size += sp.end - sp.off
		if !sp.commit {
			b.records += int(sp.records)
			b.raw += sp.end - sp.off - segHdrSize
		}
	}
	// seal appends SEAL and fsyncs; rename the result over the original first.
	rec := sealRec{Key: key, Records: b.records, Raw: b.raw, Meta: &b.meta}
	if rec.Key == "" {
		rec.Key = s.opt.Namer(&b.meta)
	}
	payload, err := json.Marshal(&rec)
	if err != nil {
		return fail(err)
	}
	s.buf = appendSegment(s.buf[:0], segSeal, uint32(b.records), payload)
	if _, err := out.Write(s.buf); err != nil {
		return fail(err)
	}
	size := b.size + int64(len(s.buf))
	if err := out.Sync(); err != nil {
		return fail(err)
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	path := filepath.Join(dir, name)
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	if dir != s.sealedDir {
		dst := filepath.Join(s.sealedDir, name)
		if err := os.Rename(path, dst); err != nil {
			return nil, err // sealed in open/: the next start moves it
		}
		for _, d := range []string{s.sealedDir, dir} {
			if err := syncDir(d); err != nil {
				return nil, err
			}
		}
		path = dst
	}
	s.size.Add(size)
	return &Sealed{Key: rec.Key, Meta: meta, Records: b.records, RawBytes: b.raw, path: path, size: size}, nil
}

// nameTime is the creation time in a batch file name (see newName), else fallback.
func nameTime(name string, fallback time.Time) time.Time {
	if len(name) >= 16 {
		if ns, err := strconv.ParseUint(name[:16], 16, 64); err == nil && ns > 0 {
			return time.Unix(0, int64(ns)).UTC()
		}
	}
	return fallback.UTC()
}

// Orphan is a spool directory under store_dir that no live Spool holds.
type Orphan struct {
	Dir      string // path
	Identity string // the identity it was opened with
	Record   []byte // its Options.Record; nil when it has none (written before records existed)
	Files    int    // batch files in open/ and sealed/
	Bytes    int64
}

// isSpoolDir reports whether d looks like a spool directory: it has a lock file, or
// open/ or sealed/ (a directory copied or restored without its lock is one too; its
// lock is created when it is taken).
func isSpoolDir(d string) bool {
	for _, name := range []string{"lock", "open", "sealed"} {
		if _, err := os.Lstat(filepath.Join(d, name)); err == nil {
			return true
		}
	}
	return false
}

// Orphans lists the unlocked spool directories under root whose identity skip does
// not reject, with at least one batch file. Unsafe directories are left out.
func Orphans(root string, skip func(identity string) bool) ([]Orphan, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var out []Orphan
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		i := strings.LastIndexByte(e.Name(), '-')
		if i <= 0 {
			continue
		}
		if _, err := strconv.Atoi(e.Name()[i+1:]); err != nil {
			continue
		}
		id := e.Name()[:i]
		if skip != nil && skip(id) {
			continue
		}
		d := filepath.Join(root, e.Name())
		if !isSpoolDir(d) {
			continue
		}
		lf, err := lockDir(d, false)
		if err != nil {
			continue // held by a live process, or unsafe
		}
		o := Orphan{Dir: d, Identity: id}
		for _, sub := range []string{"open", "sealed"} {
			fs, _ := os.ReadDir(filepath.Join(d, sub))
			for _, f := range fs {
				if fi, err := f.Info(); err == nil && f.Type().IsRegular() && isBatchName(f.Name()) {
					o.Files++
					o.Bytes += fi.Size()
				}
			}
		}
		if rec, err := fsutil.ReadRegular(filepath.Join(d, RecordFile), maxRecord); err == nil {
			o.Record = rec
		}
		lf.Close()
		if o.Files > 0 {
			out = append(out, o)
		}
	}
	return out, nil
}
