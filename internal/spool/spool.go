// Package spool is envoy_s3's durable on-disk queue (store_dir). A Fluent Bit flush may
// return OK only once its records survive a crash, so each flush appends its lines to
// per-partition batch files and fsyncs them before returning; a batch is later sealed
// with the object key it will be uploaded under, so a crash between upload and removal
// only re-uploads the same key (an overwrite, never a duplicate object).
//
// Each segment is all-or-nothing. An Append that fails is rolled back across every file
// it touched; an Append cut short by a crash may leave some of its parts (each whole).
// That flush was never acknowledged, so Fluent Bit sends the chunk again and those
// records appear twice: the duplicates allowed around a crash, never a loss.
//
// # Directory layout
//
//	<root>/<identity>-<n>/lock      flock(LOCK_EX) held by the owning Spool until Close
//	<root>/<identity>-<n>/open/     batches still receiving segments
//	<root>/<identity>-<n>/sealed/   batches closed with a SEAL record, waiting for upload
//	<root>/<identity>-<n>/held/     the caller's files (HeldDir), moved along on adoption
//
// n is the first index whose lock can be taken, so instances and processes never share a
// directory. Unlocked siblings left by an earlier process are adopted at Open.
//
// # File format (version 1)
//
// A batch file is an 8-byte header, "ES3SPL", a version byte (1) and a zero flags byte,
// followed by segments, all little-endian:
//
//	[type u8][len u32][records u32][crc u32][payload: len bytes]
//
// crc is CRC-32C (Castagnoli) over the first 9 header bytes (type, len, records) and
// then the payload, so a flipped length or count is caught as well as a flipped byte
// of data. The first segment is META (type 1): the batch's Meta as JSON. DATA
// segments (type 2) hold the complete NDJSON lines of one Append for this partition and
// their record count. The last segment of a sealed batch is SEAL (type 3): JSON
// {"key","records","raw"}, the object key and the totals of the DATA segments before it.
//
// Recovery keeps the longest valid prefix: scanning stops at the first torn, CRC-bad or
// unknown segment and the file is truncated there. A file whose header or META is
// invalid holds no data and is deleted; a file of another version is left untouched.
package spool

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrFull is returned by Append when the spool would exceed Options.Limit; the caller
// returns RETRY so Fluent Bit keeps the chunk.
var ErrFull = errors.New("spool: store_dir_limit_size reached")

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("spool: closed")

// ErrCorrupt is returned by ReadSealed when a sealed batch fails its CRC or is torn.
var ErrCorrupt = errors.New("spool: sealed batch is corrupt")

// ErrTooLarge is returned by Append for a part whose lines or record count do not fit a
// segment (4 GiB).
var ErrTooLarge = errors.New("spool: part too large for one segment")

const (
	magic      = "ES3SPL"
	version    = 1
	headerSize = 8
	segHdrSize = 13
	maxMeta    = 1 << 16

	segMeta = 1
	segData = 2
	segSeal = 3

	fileExt = ".spl"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Meta describes a batch: what its object key is rendered from. It is stored in the
// batch file's META segment.
type Meta struct {
	Partition []byte    `json:"p"`
	Stream    uint8     `json:"s"`
	Tag       string    `json:"tag,omitempty"`
	Cluster   string    `json:"cluster,omitempty"`
	TaskID    string    `json:"task,omitempty"`
	Family    string    `json:"family,omitempty"`
	Container string    `json:"container,omitempty"`
	FirstTime time.Time `json:"first"`  // event time of the first record
	Opened    time.Time `json:"opened"` // wall time the batch was opened
}

// Part is the lines of one Append destined for one partition.
type Part struct {
	Partition []byte
	Meta      *Meta  // used only when the partition has no open batch; nil means zero Meta
	Lines     []byte // complete NDJSON lines
	Records   int
}

// Options configure a Spool.
type Options struct {
	Limit int64                // store_dir_limit_size in bytes; 0 means no limit
	Namer func(m *Meta) string // object key of a batch being sealed; required
	Logf  func(string, ...any) // warnings; nil discards
	Now   func() time.Time     // wall clock; nil means time.Now
}

// Sealed is a batch whose object key is fixed, waiting to be uploaded.
type Sealed struct {
	Key      string
	Meta     Meta
	Records  int
	RawBytes int64

	path    string
	size    int64 // file bytes, accounted in Spool.Size
	removed atomic.Bool
}

type batch struct {
	f       *os.File
	name    string
	meta    Meta
	size    int64
	records int
	raw     int64

	// state of the Append in progress
	touched     bool
	fresh       bool
	mark        int64
	markRecords int
	markRaw     int64
	needTrunc   bool // a rollback truncate failed; retry before the next write
}

// Spool is a durable spool directory owned by one instance. Its methods are safe for
// concurrent use.
type Spool struct {
	dir, openDir, sealedDir string
	lock                    *os.File
	opt                     Options

	size atomic.Int64

	mu        sync.Mutex
	open      map[string]*batch
	touched   []*batch
	buf       []byte
	seq       uint64
	closed    bool
	recovered []*Sealed
	scanBuf   []byte

	fault func(op string) error // test hook: fails the operation when it returns an error
}

// Open takes the first free directory <root>/<identity>-<n>, adopts the files of
// unlocked siblings, and recovers every batch left on disk: open batches are cut to
// their valid prefix and sealed, sealed ones are validated.
func Open(root, identity string, opt Options) (*Spool, error) {
	return open(root, identity, opt, nil)
}

func open(root, identity string, opt Options, fault func(string) error) (*Spool, error) {
	if opt.Namer == nil {
		return nil, errors.New("spool: Options.Namer is required")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	id := sanitize(identity)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("spool: cannot create store_dir: %w", err)
	}
	var (
		dir  string
		lock *os.File
		mine int
	)
	for n := 0; n < 1<<12; n++ {
		d := filepath.Join(root, id+"-"+strconv.Itoa(n))
		lf, err := lockDir(d)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			continue
		}
		if err != nil {
			return nil, err
		}
		dir, lock, mine = d, lf, n
		break
	}
	if lock == nil {
		return nil, fmt.Errorf("spool: every directory %s-N under %s is locked", id, root)
	}
	s := &Spool{
		dir:       dir,
		openDir:   filepath.Join(dir, "open"),
		sealedDir: filepath.Join(dir, "sealed"),
		lock:      lock,
		opt:       opt,
		open:      make(map[string]*batch),
		fault:     fault,
	}
	fail := func(err error) (*Spool, error) {
		s.Close()
		return nil, err
	}
	for _, d := range []string{s.openDir, s.sealedDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fail(fmt.Errorf("spool: %w", err))
		}
	}
	if err := s.adoptSiblings(root, id, mine); err != nil {
		return fail(err)
	}
	if err := s.recover(); err != nil {
		return fail(err)
	}
	return s, nil
}

// lockDir creates dir and takes its lock without blocking; syscall.EWOULDBLOCK means
// another Spool owns it.
func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for {
		err = syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		lf.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, err
		}
		return nil, fmt.Errorf("spool: lock %s: %w", dir, err)
	}
	return lf, nil
}

// sanitize keeps identity usable as one path element.
func sanitize(id string) string {
	b := []byte(id)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' && i > 0
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	if len(b) == 0 {
		return "spool"
	}
	return string(b)
}

// adoptSiblings moves the batches of unlocked <id>-<m> directories into ours, so a
// restart with fewer instances strands nothing.
func (s *Spool) adoptSiblings(root, id string, mine int) error {
	ents, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), id+"-")
		if !ok || !e.IsDir() {
			continue
		}
		m, err := strconv.Atoi(rest)
		if err != nil || m == mine || strconv.Itoa(m) != rest {
			continue
		}
		sib := filepath.Join(root, e.Name())
		lf, err := lockDir(sib)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			continue // a live instance owns it
		}
		if err != nil {
			return err
		}
		moved := 0
		for _, sub := range []string{"open", "sealed"} {
			n, err := s.moveAll(filepath.Join(sib, sub), filepath.Join(s.dir, sub))
			moved += n
			if err != nil {
				lf.Close()
				return err
			}
		}
		if err := moveHeld(filepath.Join(sib, HeldDir), filepath.Join(s.dir, HeldDir)); err != nil {
			lf.Close()
			return err
		}
		lf.Close() // releases the flock
		if moved > 0 {
			s.opt.Logf("spool: adopted %d batch file(s) from %s", moved, sib)
		}
	}
	return nil
}

// HeldDir is the subdirectory of a spool directory whose files belong to the caller
// (the journal of split records, internal/partial): the spool only gives them a
// locked home and moves them along when it adopts an unlocked sibling.
const HeldDir = "held"

// moveHeld moves every regular file of from into to, renaming on a clash.
func moveHeld(from, to string) error {
	ents, err := os.ReadDir(from)
	if errors.Is(err, os.ErrNotExist) || err == nil && len(ents) == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	for i, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		if _, err := os.Lstat(filepath.Join(to, name)); err == nil {
			name = fmt.Sprintf("adopted-%d-%s", i, name)
		}
		if err := os.Rename(filepath.Join(from, e.Name()), filepath.Join(to, name)); err != nil {
			return fmt.Errorf("spool: adopt: %w", err)
		}
	}
	if err := syncDir(to); err != nil {
		return err
	}
	return syncDir(from)
}

func (s *Spool) moveAll(from, to string) (int, error) {
	ents, err := os.ReadDir(from)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	n := 0
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), fileExt) {
			continue
		}
		name := e.Name()
		if _, err := os.Lstat(filepath.Join(to, name)); err == nil {
			name = s.newName()
		}
		if err := os.Rename(filepath.Join(from, e.Name()), filepath.Join(to, name)); err != nil {
			return n, fmt.Errorf("spool: adopt: %w", err)
		}
		n++
	}
	if n > 0 {
		if err := syncDir(to); err != nil {
			return n, err
		}
		if err := syncDir(from); err != nil {
			return n, err
		}
	}
	return n, nil
}

// newName returns a file name unique within this directory, ordered by creation.
func (s *Spool) newName() string {
	s.seq++
	return fmt.Sprintf("%016x-%06x%s", s.opt.Now().UnixNano(), s.seq, fileExt)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	err = d.Sync()
	d.Close()
	if err != nil {
		return fmt.Errorf("spool: sync %s: %w", dir, err)
	}
	return nil
}

// appendSegment appends one encoded segment to dst.
func appendSegment(dst []byte, typ byte, records uint32, payload []byte) []byte {
	// The header is built in dst itself: a local array would escape into crc32's
	// assembly and cost an allocation per segment.
	start := len(dst)
	dst = append(dst, typ, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	h := dst[start:]
	binary.LittleEndian.PutUint32(h[1:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[5:], records)
	c := crc32.Update(0, castagnoli, h[:9])
	c = crc32.Update(c, castagnoli, payload)
	binary.LittleEndian.PutUint32(h[9:], c)
	return append(dst, payload...)
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

// Append makes parts durable: one DATA segment per part in its partition's open batch,
// then an fsync of every file touched. On any error every touched file is cut back to
// its size before the call, so a retried chunk is never partly duplicated.
func (s *Spool) Append(parts []Part) error {
	var n int64
	for i := range parts {
		n += int64(len(parts[i].Lines))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.opt.Limit > 0 && s.size.Load()+n > s.opt.Limit {
		return ErrFull
	}
	err := s.appendLocked(parts)
	var grown int64
	for _, b := range s.touched {
		if err != nil {
			s.rollback(b)
		} else {
			grown += b.size - b.mark
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

func (s *Spool) appendLocked(parts []Part) error {
	fresh := false
	for i := range parts {
		p := &parts[i]
		if len(p.Lines) == 0 {
			continue
		}
		if uint64(len(p.Lines)) > math.MaxUint32 || p.Records < 0 || uint64(p.Records) > math.MaxUint32 {
			return ErrTooLarge
		}
		b := s.open[string(p.Partition)]
		if b == nil {
			var err error
			if b, err = s.create(p); err != nil {
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
		s.buf = appendSegment(s.buf[:0], segData, uint32(p.Records), p.Lines)
		if err := s.writeAt(b.f, s.buf, b.size); err != nil {
			return fmt.Errorf("spool: write %s: %w", b.name, err)
		}
		b.size += int64(len(s.buf))
		b.records += p.Records
		b.raw += int64(len(p.Lines))
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
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	hdr := append(make([]byte, 0, headerSize+segHdrSize+len(mj)), magic...)
	hdr = append(hdr, version, 0)
	hdr = appendSegment(hdr, segMeta, 0, mj)
	if err := s.writeAt(f, hdr, 0); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("spool: write %s: %w", name, err)
	}
	return &batch{f: f, name: name, meta: m, size: int64(len(hdr))}, nil
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

type sealRec struct {
	Key     string `json:"key"`
	Records int    `json:"records"`
	Raw     int64  `json:"raw"`
}

// SealWhere seals the open batches pick chooses (given their Meta and raw byte count)
// and returns them in key order. A batch that cannot be sealed stays open and is
// logged; the next call retries it.
func (s *Spool) SealWhere(pick func(m *Meta, rawBytes int64) bool) []*Sealed {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Sealed
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
	rec := sealRec{Key: s.opt.Namer(&b.meta), Records: b.records, Raw: b.raw}
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
	for _, d := range []string{s.sealedDir, dir} {
		if err := syncDir(d); err != nil {
			s.opt.Logf("%v", err)
		}
	}
	b.f.Close()
	size := b.size + int64(len(s.buf))
	s.size.Add(int64(len(s.buf)))
	return &Sealed{Key: rec.Key, Meta: b.meta, Records: b.records, RawBytes: b.raw, path: dst, size: size}, nil
}

// Recovered returns the sealed batches found or sealed at Open, in key order.
func (s *Spool) Recovered() []*Sealed {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Sealed(nil), s.recovered...)
}

// Dir returns the spool directory this Spool holds.
func (s *Spool) Dir() string { return s.dir }

// Size returns the bytes held in open and sealed batch files.
func (s *Spool) Size() int64 { return s.size.Load() }

// Open returns the number of open batches and their raw NDJSON bytes.
func (s *Spool) Open() (batches int, raw int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.open {
		raw += b.raw
	}
	return len(s.open), raw
}

// Remove deletes an uploaded batch.
func (s *Spool) Remove(b *Sealed) error {
	if b.removed.Load() {
		return nil
	}
	if err := os.Remove(b.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	if b.removed.CompareAndSwap(false, true) {
		s.size.Add(-b.size)
	}
	return nil
}

// Close closes open batch files and releases the directory; open batches stay on disk
// and are sealed by the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var first error
	for k, b := range s.open {
		if err := b.f.Close(); err != nil && first == nil {
			first = err
		}
		delete(s.open, k)
	}
	if err := s.lock.Close(); err != nil && first == nil {
		first = err
	}
	return first
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// ReadSealed streams the payload of each DATA segment of b, in order, after checking
// its CRC. The slice passed to fn is reused after fn returns.
func (s *Spool) ReadSealed(b *Sealed, fn func(lines []byte) error) error {
	f, err := os.Open(b.path)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	bp := bufPool.Get().(*[]byte)
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
		case segSeal:
			return nil
		default:
			return fmt.Errorf("spool: %s at offset %d: %w", filepath.Base(b.path), sc.off, ErrCorrupt)
		}
	}
}

// scanner reads segments from a batch file, stopping at the first invalid one.
type scanner struct {
	r    io.ReaderAt
	size int64
	off  int64 // start of the next segment
	buf  []byte
	hdr  [segHdrSize]byte
}

// header reads the file header and META. ok is false when they are torn or invalid;
// badVersion is reported through errVersion.
func (sc *scanner) header() (m Meta, ok bool, err error) {
	var h [headerSize]byte
	if sc.size < headerSize {
		return m, false, nil
	}
	if _, err := sc.r.ReadAt(h[:], 0); err != nil {
		return m, false, err
	}
	if string(h[:len(magic)]) != magic {
		return m, false, nil
	}
	if h[6] != version {
		return m, false, errVersion
	}
	sc.off = headerSize
	typ, _, payload, ok, err := sc.next()
	if err != nil || !ok || typ != segMeta {
		return m, false, err
	}
	if json.Unmarshal(payload, &m) != nil {
		return Meta{}, false, nil
	}
	return m, true, nil
}

var errVersion = errors.New("spool: batch file of an unknown format version")

// next reads the segment at sc.off; ok is false when it is torn or fails its CRC.
func (sc *scanner) next() (typ byte, records uint32, payload []byte, ok bool, err error) {
	h := sc.hdr[:]
	if sc.size-sc.off < segHdrSize {
		return 0, 0, nil, false, nil
	}
	if _, err := sc.r.ReadAt(h, sc.off); err != nil {
		return 0, 0, nil, false, err
	}
	n := int64(binary.LittleEndian.Uint32(h[1:]))
	if n > sc.size-sc.off-segHdrSize || h[0] == segMeta && n > maxMeta {
		return 0, 0, nil, false, nil
	}
	if int64(cap(sc.buf)) < n {
		sc.buf = make([]byte, n)
	}
	payload = sc.buf[:n]
	if _, err := sc.r.ReadAt(payload, sc.off+segHdrSize); err != nil {
		return 0, 0, nil, false, err
	}
	c := crc32.Update(0, castagnoli, h[:9])
	c = crc32.Update(c, castagnoli, payload)
	if c != binary.LittleEndian.Uint32(h[9:]) {
		return 0, 0, nil, false, nil
	}
	sc.off += segHdrSize + n
	return h[0], binary.LittleEndian.Uint32(h[5:]), payload, true, nil
}

// recover validates every batch file: sealed/ first, then open/ (whose batches are
// sealed now).
func (s *Spool) recover() error {
	for _, dir := range []string{s.sealedDir, s.openDir} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		for _, e := range ents {
			if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), fileExt) {
				continue
			}
			if err := s.recoverFile(dir, e.Name()); err != nil {
				return err
			}
		}
	}
	sortByKey(s.recovered)
	return nil
}

func (s *Spool) recoverFile(dir, name string) error {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("spool: recover: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("spool: recover: %w", err)
	}
	sc := scanner{r: f, size: st.Size(), buf: s.scanBuf}
	defer func() { s.scanBuf = sc.buf[:0] }()
	meta, ok, err := sc.header()
	if err == errVersion {
		s.opt.Logf("spool: %s has an unknown format version; left in place for a newer envoy_s3", path)
		s.size.Add(st.Size()) // it still occupies store_dir
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: recover %s: %w", path, err)
	}
	if !ok {
		s.opt.Logf("spool: %s has no valid header (torn at creation); deleted", path)
		f.Close()
		return os.Remove(path)
	}
	b := &batch{f: f, name: name, meta: meta}
	var good int64 = sc.off
	var seal *sealRec
	for {
		typ, recs, payload, ok, err := sc.next()
		if err != nil {
			return fmt.Errorf("spool: recover %s: %w", path, err)
		}
		if !ok || typ != segData && typ != segSeal {
			break
		}
		if typ == segSeal {
			var r sealRec
			if json.Unmarshal(payload, &r) == nil && r.Key != "" && r.Records == b.records && r.Raw == b.raw {
				seal = &r
			}
			break
		}
		b.records += int(recs)
		b.raw += int64(len(payload))
		good = sc.off
	}
	if seal != nil {
		good = sc.off
	}
	if good < st.Size() {
		s.opt.Logf("spool: %s: cut %d invalid or torn byte(s) at offset %d", path, st.Size()-good, good)
		if err := f.Truncate(good); err != nil {
			return fmt.Errorf("spool: recover %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("spool: recover %s: %w", path, err)
		}
	}
	b.size = good
	if b.raw == 0 {
		f.Close()
		return os.Remove(path)
	}
	var sb *Sealed
	switch {
	case seal != nil && dir == s.sealedDir:
		sb = &Sealed{Key: seal.Key, Meta: meta, Records: b.records, RawBytes: b.raw, path: path, size: good}
	case seal != nil: // crashed between SEAL and rename
		dst := filepath.Join(s.sealedDir, name)
		if err := os.Rename(path, dst); err != nil {
			return fmt.Errorf("spool: recover: %w", err)
		}
		if err := syncDir(s.sealedDir); err != nil {
			return err
		}
		sb = &Sealed{Key: seal.Key, Meta: meta, Records: b.records, RawBytes: b.raw, path: dst, size: good}
	default:
		keep = true // seal closes f
		if sb, err = s.seal(b, dir); err != nil {
			f.Close()
			return err
		}
		s.size.Add(-int64(len(s.buf))) // counted below with the file
		sb.size = good + int64(len(s.buf))
	}
	s.size.Add(sb.size)
	s.recovered = append(s.recovered, sb)
	return nil
}
