// Package compress turns batches of NDJSON into the bytes of an S3 object.
//
// An object is a concatenation of frames. Each frame is complete and decodable
// on its own: a gzip member (RFC 1952), a zstd frame (RFC 8878) or raw bytes.
// Standard decoders read such a concatenation as one stream — gzip readers are
// multistream by default and zstd decoders read consecutive frames — so the
// batcher can compress as records arrive, frame by frame, instead of holding
// the whole uncompressed batch until upload, and a spool file cut after any
// complete frame is still a valid object.
//
// Encoders are built once and reused for every frame so that steady-state
// compression allocates nothing.
package compress

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Codec names the compression of an object.
type Codec uint8

// The codecs of the `compression` key. The zero value is None. Snappy is a
// codec of Parquet pages only: an Encoder of it cannot be made.
const (
	None Codec = iota
	Gzip
	Zstd
	Snappy
)

var (
	// ErrUnknownCodec is returned for a codec an NDJSON object cannot have.
	ErrUnknownCodec = errors.New("compress: unknown compression")
	// ErrLevel is returned by NewEncoderLevel for a level the codec does not have.
	ErrLevel = errors.New("compress: invalid level")
	// ErrTooLarge is returned by Decode when an object expands beyond MaxDecodedSize.
	ErrTooLarge = errors.New("compress: decoded object too large")
)

// MaxDecodedSize bounds what Decode and NewReader produce, so that a corrupt or
// hostile object cannot exhaust memory. Real objects are bounded by
// total_file_size, far below this.
const MaxDecodedSize = 1 << 30

// String returns the codec's name as the `compression` key spells it.
func (c Codec) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	case Snappy:
		return "snappy"
	}
	return "Codec(" + strconv.Itoa(int(c)) + ")"
}

// Ext returns the full extension of an object key, including ".ndjson".
func (c Codec) Ext() string {
	switch c {
	case Gzip:
		return ".ndjson.gz"
	case Zstd:
		return ".ndjson.zst"
	}
	return ".ndjson"
}

// Default levels and zstd window, measured with BenchmarkAppendFrame on
// generated normalised Service Connect NDJSON (about 600 bytes a record, random
// request ids) on one core of an AMD EPYC, against a budget of about 5 µs per
// record for the whole plugin:
//
//	                 64 KiB frames          1 MiB frames
//	gzip 1           ~1000 MB/s  ratio 7.9  ~700 MB/s  ratio 8.9
//	gzip stateless    ~760 MB/s  ratio 7.5  ~540 MB/s  ratio 8.2
//	gzip 6            ~420 MB/s  ratio 9.6  ~310 MB/s  ratio 11.4
//	zstd fastest      ~850 MB/s  ratio 9.2  ~600 MB/s  ratio 10.6
//	zstd default      ~640 MB/s  ratio 9.4  ~480 MB/s  ratio 10.8
//
// gzip level 1 costs under 1 µs a record; StatelessCompression is both slower
// and worse here, and level 6 doubles the time for 25% smaller objects, which
// the budget cannot afford. zstd SpeedFastest beats every cheap gzip level on
// size at the same speed; SpeedDefault buys 2% for 25% more time. Both stay
// reachable through NewEncoderLevel.
//
// Zstd encoders run EncodeAll on one encoder state (WithEncoderConcurrency(1)
// starts no goroutines), with WithLowerEncoderMem and a 256 KiB window: frames
// are independent, so a larger window only helps frames above 256 KiB, and on
// access logs it did not (ratio 10.56 at 1 MiB window vs 10.62 at 256 KiB,
// smaller offsets being cheaper to code) while it costs memory: one encoder
// with its first 1 MiB frame holds about 1.3 MB at 256 KiB against 5.2 MB at
// the default 4 MiB window. A gzip encoder holds about 0.8 MB.
const (
	DefaultGzipLevel = gzip.BestSpeed
	DefaultZstdLevel = 1 // zstd.SpeedFastest in zstd's own 1..22 numbering

	zstdWindow = 256 << 10
)

// Encoder compresses frames with one codec. It is reusable and allocates
// nothing per frame in steady state, but is not safe for concurrent use.
type Encoder struct {
	codec Codec
	gz    *gzip.Writer
	zs    *zstd.Encoder
	w     appendWriter
}

// appendWriter lets the gzip writer append to a caller's slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// NewEncoder returns an Encoder for c at the measured default level.
func NewEncoder(c Codec) (*Encoder, error) {
	switch c {
	case Gzip:
		return NewEncoderLevel(c, DefaultGzipLevel)
	case Zstd:
		return NewEncoderLevel(c, DefaultZstdLevel)
	}
	return NewEncoderLevel(c, 0)
}

// NewEncoderLevel returns an Encoder for c at a codec-native level: gzip
// -3 (stateless), -2 (Huffman only), -1 (default), 0 (stored), 1..9; zstd
// 1..22, mapped onto the four speeds of klauspost/compress/zstd. The level of
// None is ignored.
func NewEncoderLevel(c Codec, level int) (*Encoder, error) {
	e := &Encoder{codec: c}
	switch c {
	case None:
	case Gzip:
		gz, err := gzip.NewWriterLevel(&e.w, level)
		if err != nil {
			return nil, fmt.Errorf("%w %d for gzip: use -3..9", ErrLevel, level)
		}
		e.gz = gz
	case Zstd:
		if level < 1 || level > 22 {
			return nil, fmt.Errorf("%w %d for zstd: use 1..22", ErrLevel, level)
		}
		zs, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			zstd.WithEncoderConcurrency(1),
			zstd.WithLowerEncoderMem(true),
			zstd.WithWindowSize(zstdWindow),
			// An empty frame must still be a frame: every AppendFrame result
			// is a complete unit that zstd -dc accepts on its own.
			zstd.WithZeroFrames(true),
		)
		if err != nil {
			return nil, fmt.Errorf("%w %d for zstd: %v", ErrLevel, level, err)
		}
		e.zs = zs
	default:
		return nil, fmt.Errorf("%w %d: use gzip, zstd or none", ErrUnknownCodec, c)
	}
	return e, nil
}

// Codec returns the codec e writes.
func (e *Encoder) Codec() Codec { return e.codec }

// AppendFrame compresses src as one complete frame and appends it to dst.
// Frames appended one after another form a valid object of e's codec. src
// must not overlap dst's spare capacity.
func (e *Encoder) AppendFrame(dst, src []byte) []byte {
	switch e.codec {
	case Gzip:
		e.w.b = dst
		e.gz.Reset(&e.w)
		// Writes to appendWriter cannot fail, so neither can these.
		_, _ = e.gz.Write(src)
		_ = e.gz.Close()
		dst = e.w.b
		e.w.b = nil // do not keep the caller's buffer alive
		return dst
	case Zstd:
		return e.zs.EncodeAll(src, dst)
	}
	return append(dst, src...)
}

// Decode returns the concatenated contents of every frame of obj. It is meant
// for tests, tools and the demo, not for the upload path.
func Decode(c Codec, obj []byte) ([]byte, error) {
	switch c {
	case None:
		if len(obj) > MaxDecodedSize {
			return nil, ErrTooLarge
		}
		return append([]byte(nil), obj...), nil
	case Zstd:
		d, err := zstdDecoder()
		if err != nil {
			return nil, err
		}
		out, err := d.DecodeAll(obj, nil)
		if err != nil {
			if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
				return nil, fmt.Errorf("%w: %v", ErrTooLarge, err)
			}
			return nil, fmt.Errorf("compress: zstd: %w", err)
		}
		return out, nil
	}
	r, err := NewReader(c, bytes.NewReader(obj))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// NewReader returns a reader of the decompressed contents of an object read
// from r, all frames in order. At most MaxDecodedSize bytes are returned
// before ErrTooLarge.
func NewReader(c Codec, r io.Reader) (io.ReadCloser, error) {
	switch c {
	case None:
		return &limitReader{r: r, n: MaxDecodedSize, close: func() {}}, nil
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("compress: gzip: %w", err)
		}
		return &limitReader{r: zr, n: MaxDecodedSize, name: "gzip", close: func() { zr.Close() }}, nil
	case Zstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(MaxDecodedSize))
		if err != nil {
			return nil, fmt.Errorf("compress: zstd: %w", err)
		}
		return &limitReader{r: zr, n: MaxDecodedSize, name: "zstd", close: zr.Close}, nil
	}
	return nil, fmt.Errorf("%w %d: use gzip, zstd or none", ErrUnknownCodec, c)
}

// zstdDecoder is shared: DecodeAll is safe for concurrent use. One decoder
// state keeps memory low and results reproducible; Decode is not a hot path.
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(MaxDecodedSize))
})

type limitReader struct {
	r     io.Reader
	n     int64
	name  string
	close func()
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// Distinguish "exactly at the limit" from "beyond it".
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, ErrTooLarge
		}
		return 0, l.wrap(err)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, l.wrap(err)
}

func (l *limitReader) wrap(err error) error {
	if err == nil || err == io.EOF || l.name == "" {
		return err
	}
	return fmt.Errorf("compress: %s: %w", l.name, err)
}

func (l *limitReader) Close() error { l.close(); return nil }
