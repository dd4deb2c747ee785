package spool

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	batchpkg "github.com/envoy-s3/envoy_s3/internal/batch"
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
	size    int64     // file bytes, accounted in Spool.Size
	ids     []ChunkID // the Appends it holds: journaled when it is removed
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
	ids         []ChunkID
}

// Spool is a durable spool directory owned by one instance. Its methods are safe for
// concurrent use.
type Spool struct {
	root, dir, openDir, sealedDir string
	lock                          *os.File
	opt                           Options
	maxOpen                       int

	size atomic.Int64

	mu           sync.Mutex
	open         map[string]*batch
	touched      []*batch
	buf          []byte
	seq          uint64
	closed       bool
	recovered    []*Sealed
	pending      []*Sealed // sealed outside SealWhere (open-file cap, Recheck): returned by the next SealWhere
	useSeq       uint64
	scanBuf      []byte
	winBuf       []byte
	copyBuf      []byte          // moves staged pieces into batches (Append)
	failed       map[string]bool // path -> logged: files recovery could not use, retried by Recheck
	recordDue    bool            // Options.Record is not on disk yet: retried by Recheck
	recordFailed bool            // writing it failed, and was logged
	lost         Loss

	// Chunks stored, so one Fluent Bit sends again is answered without storing it twice
	// (replay.go).
	seen         seenSet
	idBase       ChunkID // with idSeq: IDs of Appends of no chunk
	idSeq        uint64
	commitBuf    []byte      // the payload of the COMMIT being written (Append)
	commits      *commitScan // COMMITs in open/ at Open, for recovery and Recheck
	replayMu     sync.Mutex  // the journal of removed batches' IDs
	replayN      int         // records in it
	replayFailed atomic.Bool

	fault func(op string) error // test hook: fails the operation when it returns an error
}

// Path is the batch file of b; FileSize its bytes on disk.
func (b *Sealed) Path() string    { return b.path }
func (b *Sealed) FileSize() int64 { return b.size }

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

// OpenBatches returns the number of open batches (not yet sealed) and their raw
// NDJSON bytes.
func (s *Spool) OpenBatches() (batches int, raw int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.open {
		raw += b.raw
	}
	return len(s.open), raw
}

// OldestOpen is when the oldest open batch was opened; zero when none is open.
func (s *Spool) OldestOpen() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t time.Time
	for _, b := range s.open {
		if t.IsZero() || b.meta.Opened.Before(t) {
			t = b.meta.Opened
		}
	}
	return t
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
