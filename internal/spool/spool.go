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

	batchpkg "github.com/envoy-s3/envoy_s3/internal/batch"

	"github.com/envoy-s3/envoy_s3/internal/freelist"
	"github.com/envoy-s3/envoy_s3/internal/fsutil"
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
	version    = 2 // written; version 1 (one META, no Meta in SEAL) is still read
	headerSize = 8
	segHdrSize = 13
	maxMeta    = 1 << 16

	segMeta = 1
	segData = 2
	segSeal = 3

	fileExt = ".spl"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Meta describes a batch: its partition, what its object key is rendered from
// (batchpkg.Meta, whose fields stand at the top level of the JSON), and when it was
// opened. It is stored in the batch file's META segment.
type Meta struct {
	Partition     []byte    `json:"p"`
	batchpkg.Meta           // Format is 0 (NDJSON) in files of older versions
	Opened        time.Time `json:"opened"` // wall time the batch was opened
	// Unknown is set by recovery when every copy of the batch's Meta was damaged:
	// only Opened is known (from the file name), and the caller names the batch by
	// its fallback rule.
	Unknown bool `json:"unknown,omitempty"`
}

// Part is the lines of one Append destined for one partition.
type Part struct {
	Partition []byte
	Meta      *Meta  // used only when the partition has no open batch; nil means zero Meta
	Lines     []byte // complete NDJSON lines
	Records   int
	// Staged are lines of the same Append written ahead to a Stage, which come
	// before Lines; each is a segment of its own.
	Staged []Piece
}

// Options configure a Spool.
type Options struct {
	Limit  int64                // store_dir_limit_size in bytes; 0 means no limit
	Namer  func(m *Meta) string // object key of a batch being sealed; required
	Logf   func(string, ...any) // warnings; nil discards
	Errorf func(string, ...any) // data lost or stuck; nil means Logf
	Now    func() time.Time     // wall clock; nil means time.Now
	// MaxOpen caps the batch files open at once; 0 means a quarter of RLIMIT_NOFILE
	// (at least 8). Beyond it the least recently written batch is sealed.
	MaxOpen int
	// Record is written to <dir>/destination at Open (when not nil): what the owner
	// needs to deliver the directory's batches if another process adopts them.
	Record []byte
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
	needTrunc   bool   // a rollback truncate failed; retry before the next write
	used        uint64 // Spool.useSeq at the last write: least recently written is sealed first
	key         string // set by recovery: the key to seal with instead of Namer's
}

// Spool is a durable spool directory owned by one instance. Its methods are safe for
// concurrent use.
type Spool struct {
	root, dir, openDir, sealedDir string
	lock                          *os.File
	opt                           Options
	maxOpen                       int

	size atomic.Int64

	mu        sync.Mutex
	open      map[string]*batch
	touched   []*batch
	buf       []byte
	seq       uint64
	closed    bool
	recovered []*Sealed
	pending   []*Sealed // sealed outside SealWhere (open-file cap, Recheck): returned by the next SealWhere
	useSeq    uint64
	scanBuf   []byte
	winBuf    []byte
	copyBuf   []byte          // moves staged pieces into batches (Append)
	failed    map[string]bool // path -> logged: files recovery could not use, retried by Recheck
	lost      Loss

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
	if opt.Errorf == nil {
		opt.Errorf = opt.Logf
	}
	id := sanitize(identity)
	if err := prepareRoot(root); err != nil {
		return nil, err
	}
	var (
		dir     string
		lock    *os.File
		mine    int
		refused = map[string]bool{} // reported once, never adopted
	)
	for n := 0; n < 1<<12; n++ {
		d := filepath.Join(root, id+"-"+strconv.Itoa(n))
		lf, err := lockDir(d, true)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			continue
		}
		var unsafe *UnsafeError
		if errors.As(err, &unsafe) {
			opt.Errorf("%v", err) // never used; the next index is taken
			refused[d] = true
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := subdirs(d); err != nil {
			lf.Close()
			if errors.As(err, &unsafe) {
				opt.Errorf("%v", err)
				refused[d] = true
				continue
			}
			return nil, err
		}
		dir, lock, mine = d, lf, n
		break
	}
	if lock == nil {
		return nil, fmt.Errorf("spool: every directory %s-N under %s is locked or unsafe", id, root)
	}
	s := &Spool{
		root:      root,
		dir:       dir,
		openDir:   filepath.Join(dir, "open"),
		sealedDir: filepath.Join(dir, "sealed"),
		lock:      lock,
		opt:       opt,
		maxOpen:   opt.MaxOpen,
		open:      make(map[string]*batch),
		failed:    make(map[string]bool),
		fault:     fault,
	}
	if s.maxOpen <= 0 {
		s.maxOpen = defaultMaxOpen()
	}
	fail := func(err error) (*Spool, error) {
		s.Close()
		return nil, err
	}
	if opt.Record != nil {
		if err := fsutil.WriteFileAtomic(filepath.Join(dir, RecordFile), opt.Record); err != nil {
			return fail(fmt.Errorf("spool: %w", err))
		}
	}
	s.adoptSiblings(root, id, mine, refused)
	s.recover()
	return s, nil
}

// subdirs makes sure open/ and sealed/ of dir are safe directories.
func subdirs(dir string) error {
	for _, sub := range []string{"open", "sealed"} {
		if err := secureDir(filepath.Join(dir, sub), true); err != nil {
			return err
		}
	}
	return nil
}

// RecordFile is the name of Options.Record inside a spool directory.
const RecordFile = "destination"

// defaultMaxOpen is a quarter of the soft RLIMIT_NOFILE: Fluent Bit needs descriptors
// for its inputs, sockets and its own storage too.
func defaultMaxOpen() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return 256
	}
	return int(max(8, min(rl.Cur/4, 4096)))
}

// lockDir creates dir (when create) and takes its lock without blocking;
// syscall.EWOULDBLOCK means another Spool owns it, *UnsafeError that it must not be used.
func lockDir(dir string, create bool) (*os.File, error) {
	if err := secureDir(dir, create); err != nil {
		return nil, err
	}
	lf, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &UnsafeError{filepath.Join(dir, "lock"), "is a symlink; the spool never follows one: remove it"}
	}
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := fsutil.Flock(lf, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lf.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, err
		}
		return nil, fmt.Errorf("spool: lock %s: %w", dir, err)
	}
	return lf, nil
}

// DirName is the form identity takes in directory names (and in Orphan.Identity).
func DirName(identity string) string { return sanitize(identity) }

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
// restart with fewer instances strands nothing. A sibling that cannot be adopted is
// logged and left for the next start.
func (s *Spool) adoptSiblings(root, id string, mine int, refused map[string]bool) {
	ents, err := os.ReadDir(root)
	if err != nil {
		s.opt.Errorf("spool: cannot list %s to adopt earlier spool directories: %v", root, err)
		return
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
		if refused[sib] {
			continue
		}
		lf, err := lockDir(sib, false)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			continue // a live instance owns it
		}
		if err != nil {
			s.opt.Errorf("spool: cannot adopt %s: %v", sib, err)
			continue
		}
		moved := 0
		for _, sub := range []string{"open", "sealed"} {
			n, err := s.moveAll(filepath.Join(sib, sub), filepath.Join(s.dir, sub))
			moved += n
			if err != nil {
				s.opt.Errorf("spool: adopting %s: %v", sib, err)
				break
			}
		}
		if err := moveHeld(filepath.Join(sib, HeldDir), filepath.Join(s.dir, HeldDir)); err != nil {
			s.opt.Errorf("spool: adopting %s: %v", sib, err)
		}
		lf.Close() // releases the flock
		if moved > 0 {
			s.opt.Logf("spool: adopted %d batch file(s) from %s", moved, sib)
		}
	}
}

// HeldDir is the subdirectory of a spool directory whose files belong to the caller
// (the journal of split records, internal/partial): the spool only gives them a
// locked home and moves them along when it adopts an unlocked sibling.
const HeldDir = "held"

// moveHeld moves every regular file of from into to, renaming on a clash.
func moveHeld(from, to string) error {
	if err := secureDir(from, false); errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if len(ents) == 0 {
		return nil
	}
	if err := secureDir(to, true); err != nil {
		return err
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
	if err := secureDir(from, false); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	n := 0
	var first error
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), fileExt) {
			continue
		}
		name := e.Name()
		if _, err := os.Lstat(filepath.Join(to, name)); err == nil {
			name = s.newName()
		}
		if err := os.Rename(filepath.Join(from, e.Name()), filepath.Join(to, name)); err != nil {
			if first == nil {
				first = fmt.Errorf("spool: adopt: %w", err)
			}
			continue
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
	return n, first
}

// newName returns a file name unique within this directory, ordered by creation.
func (s *Spool) newName() string {
	s.seq++
	return fmt.Sprintf("%016x-%06x%s", s.opt.Now().UnixNano(), s.seq, fileExt)
}

// syncDir is fsutil.SyncDir with the spool's error prefix.
func syncDir(dir string) error {
	if err := fsutil.SyncDir(dir); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// appendSegment appends one encoded segment to dst.
func appendSegment(dst []byte, typ byte, records uint32, payload []byte) []byte {
	return append(appendSegmentHeader(dst, typ, records, payload), payload...)
}

// appendSegmentHeader appends the header of the segment holding payload to dst.
func appendSegmentHeader(dst []byte, typ byte, records uint32, payload []byte) []byte {
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
	return dst
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

// appendHeader appends the file header and both copies of META.
func appendHeader(dst, metaJSON []byte) []byte {
	dst = append(dst, magic...)
	dst = append(dst, version)
	dst = append(dst, headerCheck(dst[len(dst)-7:]))
	dst = appendSegment(dst, segMeta, 0, metaJSON)
	return appendSegment(dst, segMeta, 0, metaJSON)
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

type sealRec struct {
	Key     string `json:"key"`
	Records int    `json:"records"`
	Raw     int64  `json:"raw"`
	Meta    *Meta  `json:"meta,omitempty"` // version 2: a third copy of META
}

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
	return &Sealed{Key: rec.Key, Meta: b.meta, Records: b.records, RawBytes: b.raw, path: dst, size: size}, nil
}

func uniq(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
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

var bufPool = freelist.List[*[]byte]{New: func() *[]byte { b := make([]byte, 0, 64<<10); return &b }}

// ReadSealed streams the payload of each DATA segment of b, in order, after checking
// its CRC. The slice passed to fn is reused after fn returns.
func (s *Spool) ReadSealed(b *Sealed, fn func(lines []byte) error) error {
	f, err := os.OpenFile(b.path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
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
		case segMeta: // version 2's second copy
		case segSeal:
			return nil
		default:
			return fmt.Errorf("spool: %s at offset %d: %w", filepath.Base(b.path), sc.off, ErrCorrupt)
		}
	}
}

// scanner reads segments from a batch file.
type scanner struct {
	r    io.ReaderAt
	size int64
	off  int64 // start of the next segment
	buf  []byte
	hdr  [segHdrSize]byte
}

// header reads the file header and the first META of a clean file. ok is false when
// they are torn or invalid; an unknown version is reported as errVersion.
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
	switch headerKind(h) {
	case headerFuture:
		return m, false, errVersion
	case headerDamaged:
		return m, false, nil
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

// headerCheck is the last header byte from version 2 on: the low byte of the CRC-32C
// of the first seven, so a damaged version byte is told apart from a newer format
// (which keeps this rule). Version 1 has a zero there.
func headerCheck(h []byte) byte { return byte(crc32.Checksum(h[:7], castagnoli)) }

const (
	headerOK = iota
	headerDamaged
	headerFuture
)

func headerKind(h [headerSize]byte) int {
	switch {
	case string(h[:len(magic)]) != magic:
		return headerDamaged
	case h[6] == 1 && h[7] == 0, h[6] == version && h[7] == headerCheck(h[:]):
		return headerOK
	case h[6] > version && h[7] == headerCheck(h[:]):
		return headerFuture
	}
	return headerDamaged
}

// next reads the segment at sc.off and moves past it; ok is false when it is torn or
// fails its CRC.
func (sc *scanner) next() (typ byte, records uint32, payload []byte, ok bool, err error) {
	typ, records, payload, ok, err = sc.at(sc.off)
	if ok {
		sc.off += segHdrSize + int64(len(payload))
	}
	return typ, records, payload, ok, err
}

// at reads the segment at off; ok is false when it is torn, of an unknown type or
// fails its CRC.
func (sc *scanner) at(off int64) (typ byte, records uint32, payload []byte, ok bool, err error) {
	h := sc.hdr[:]
	if off < 0 || sc.size-off < segHdrSize {
		return 0, 0, nil, false, nil
	}
	if _, err := sc.r.ReadAt(h, off); err != nil {
		return 0, 0, nil, false, err
	}
	if h[0] < segMeta || h[0] > segSeal {
		return 0, 0, nil, false, nil
	}
	n := int64(binary.LittleEndian.Uint32(h[1:]))
	if n > sc.size-off-segHdrSize || h[0] == segMeta && n > maxMeta {
		return 0, 0, nil, false, nil
	}
	if int64(cap(sc.buf)) < n {
		sc.buf = make([]byte, n)
	}
	payload = sc.buf[:n]
	if _, err := sc.r.ReadAt(payload, off+segHdrSize); err != nil {
		return 0, 0, nil, false, err
	}
	c := crc32.Update(0, castagnoli, h[:9])
	c = crc32.Update(c, castagnoli, payload)
	if c != binary.LittleEndian.Uint32(h[9:]) {
		return 0, 0, nil, false, nil
	}
	return h[0], binary.LittleEndian.Uint32(h[5:]), payload, true, nil
}
