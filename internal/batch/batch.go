// Package batch groups NDJSON lines into S3 objects, one open batch per partition
// (the rendered key prefix), and seals a batch when its uncompressed size reaches
// total_file_size or its first record has waited upload_timeout.
//
// A batch holds its lines as compressed frames (each a complete gzip member or zstd
// frame) plus an uncompressed tail shorter than one frame, so the memory an open batch
// costs is close to its compressed size, not to total_file_size. Concatenated frames
// are one valid stream for every standard decoder, so a sealed body is uploaded as is.
package batch

import (
	"strconv"
	"sync"
	"time"
)

// FrameEncoder compresses src as one complete, independently decodable frame appended
// to dst. compress.Encoder implements it.
type FrameEncoder interface {
	AppendFrame(dst, src []byte) []byte
}

// Stream says which records a batch holds, and so where it goes: the values are
// written into spool files, so they never change.
type Stream uint8

// Streams.
const (
	StreamAccess     Stream = 'a' // access records: S3 under s3_key_format
	StreamOther      Stream = 'o' // other records: S3 under other_key_format
	StreamCloudWatch Stream = 'c' // other records bound for CloudWatch Logs
	StreamMetrics    Stream = 'm' // EMF events of metrics emf, bound for CloudWatch Logs
)

// IsCloudWatch reports whether batches of s are sent with PutLogEvents.
func (s Stream) IsCloudWatch() bool { return s == StreamCloudWatch || s == StreamMetrics }

func (s Stream) String() string {
	switch s {
	case StreamAccess:
		return "access"
	case StreamOther:
		return "other"
	case StreamCloudWatch:
		return "cloudwatch"
	case StreamMetrics:
		return "metrics"
	}
	return "Stream(" + strconv.Itoa(int(s)) + ")"
}

// Format is how a batch's object is encoded, fixed when the batch opens: it
// decides the key's extension at sealing and how other records are spooled. The
// values are written into spool files, so they never change.
type Format uint8

// Formats, named as the `format` key names them.
const (
	FormatJSONLines Format = 0 // NDJSON; the zero value: batches spooled by older versions
	FormatParquet   Format = 1
)

func (f Format) String() string {
	switch f {
	case FormatJSONLines:
		return "json_lines"
	case FormatParquet:
		return "parquet"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// Meta is what an object's key is rendered from: the stream and the first record's
// metadata and event time. Fields are copies, safe to keep. The JSON names are
// those of the spool's batch metadata, which embeds Meta.
type Meta struct {
	Stream    Stream    `json:"s"`
	Format    Format    `json:"f,omitempty"`
	Tag       string    `json:"tag,omitempty"`
	Cluster   string    `json:"cluster,omitempty"`
	TaskID    string    `json:"task,omitempty"`
	Family    string    `json:"family,omitempty"`
	Container string    `json:"container,omitempty"`
	FirstTime time.Time `json:"first"` // event time of the first record
}

// Sealed is a finished batch, ready to be uploaded.
type Sealed struct {
	Meta     Meta
	Body     []byte // concatenated compressed frames
	Records  int
	RawBytes int64
	Opened   time.Time // wall time of the batch's first record
}

// Options configure a Batcher.
type Options struct {
	MaxRawBytes int64         // total_file_size
	MaxAge      time.Duration // upload_timeout
	FrameBytes  int           // uncompressed bytes per frame; default 256 KiB
	Encoder     FrameEncoder  // used under the Batcher's lock
	// EncoderOf, when set, picks a batch's encoder instead of Encoder (CloudWatch
	// batches stay uncompressed: they are read back as lines, not uploaded as objects).
	EncoderOf func(*Meta) FrameEncoder
	Seal      func(*Sealed) // receives each sealed batch, called without the lock held
	// LimitsOf, when set, gives a batch its own size and age limits instead of
	// MaxRawBytes and MaxAge (CloudWatch batches are sealed sooner than objects).
	LimitsOf func(*Meta) (maxRaw int64, maxAge time.Duration)
	Now      func() time.Time
}

// DefaultFrameBytes keeps frames large enough that the per-frame dictionary reset
// costs little ratio, and small enough that an open batch holds little raw data.
const DefaultFrameBytes = 256 << 10

type open struct {
	meta    Meta
	frames  []byte
	tail    []byte
	records int
	raw     int64
	opened  time.Time
}

// Batcher is safe for concurrent use.
type Batcher struct {
	opt    Options
	mu     sync.Mutex
	open   map[string]*open
	free   []*open
	bodies [][]byte // uploaded bodies, reused so steady state allocates no new ones
}

// New returns a Batcher.
func New(opt Options) *Batcher {
	if opt.FrameBytes <= 0 {
		opt.FrameBytes = DefaultFrameBytes
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Batcher{opt: opt, open: make(map[string]*open)}
}

// Add appends lines (complete NDJSON lines holding records records) to the batch of
// partition, opening it with meta when none is open. meta is copied only then.
func (b *Batcher) Add(partition []byte, meta *Meta, lines []byte, records int) {
	var sealed *Sealed
	b.mu.Lock()
	o := b.open[string(partition)]
	if o == nil {
		o = b.get()
		o.meta = *meta
		o.opened = b.opt.Now()
		if n := len(b.bodies); n > 0 && o.frames == nil {
			o.frames = b.bodies[n-1][:0]
			b.bodies = b.bodies[:n-1]
		}
		b.open[string(partition)] = o
	}
	o.tail = append(o.tail, lines...)
	o.records += records
	o.raw += int64(len(lines))
	if len(o.tail) >= b.opt.FrameBytes {
		o.frames = b.encoder(&o.meta).AppendFrame(o.frames, o.tail)
		o.tail = o.tail[:0]
	}
	if maxRaw, _ := b.limits(&o.meta); o.raw >= maxRaw {
		delete(b.open, string(partition))
		sealed = b.seal(o)
	}
	b.mu.Unlock()
	if sealed != nil {
		b.opt.Seal(sealed)
	}
}

// Release hands back the body of an uploaded batch for reuse; the caller must not
// touch it afterwards.
func (b *Batcher) Release(body []byte) {
	b.mu.Lock()
	if len(b.bodies) < 8 {
		b.bodies = append(b.bodies, body[:0])
	}
	b.mu.Unlock()
}

// Tick seals every batch whose first record arrived MaxAge ago or earlier.
func (b *Batcher) Tick() {
	b.sealWhere(func(o *open, now time.Time) bool {
		_, maxAge := b.limits(&o.meta)
		return now.Sub(o.opened) >= maxAge
	})
}

func (b *Batcher) encoder(m *Meta) FrameEncoder {
	if b.opt.EncoderOf != nil {
		return b.opt.EncoderOf(m)
	}
	return b.opt.Encoder
}

func (b *Batcher) limits(m *Meta) (int64, time.Duration) {
	if b.opt.LimitsOf != nil {
		return b.opt.LimitsOf(m)
	}
	return b.opt.MaxRawBytes, b.opt.MaxAge
}

// SealAll seals every open batch, as at shutdown.
func (b *Batcher) SealAll() { b.sealWhere(func(*open, time.Time) bool { return true }) }

// OpenBatches reports the number of open batches and the uncompressed bytes they hold.
func (b *Batcher) OpenBatches() (batches int, raw int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, o := range b.open {
		raw += o.raw
	}
	return len(b.open), raw
}

// OldestOpen is when the oldest open batch got its first record; zero when none is open.
func (b *Batcher) OldestOpen() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	var t time.Time
	for _, o := range b.open {
		if t.IsZero() || o.opened.Before(t) {
			t = o.opened
		}
	}
	return t
}

func (b *Batcher) sealWhere(pick func(*open, time.Time) bool) {
	var out []*Sealed
	b.mu.Lock()
	now := b.opt.Now()
	for k, o := range b.open {
		if pick(o, now) {
			delete(b.open, k)
			out = append(out, b.seal(o))
		}
	}
	b.mu.Unlock()
	for _, s := range out {
		b.opt.Seal(s)
	}
}

// seal turns o into a Sealed and recycles o; called with the lock held.
func (b *Batcher) seal(o *open) *Sealed {
	if len(o.tail) > 0 {
		o.frames = b.encoder(&o.meta).AppendFrame(o.frames, o.tail)
	}
	s := &Sealed{Meta: o.meta, Body: o.frames, Records: o.records, RawBytes: o.raw, Opened: o.opened}
	o.frames = nil // the body now belongs to the Sealed
	o.tail = o.tail[:0]
	o.records, o.raw = 0, 0
	o.meta = Meta{}
	if len(b.free) < 16 {
		b.free = append(b.free, o)
	}
	return s
}

func (b *Batcher) get() *open {
	if n := len(b.free); n > 0 {
		o := b.free[n-1]
		b.free = b.free[:n-1]
		return o
	}
	return &open{}
}
