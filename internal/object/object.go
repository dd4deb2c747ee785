// Package object writes the S3 object of a sealed batch from its spooled lines:
// one encoder per format (NDJSON in each codec, Parquet), chosen by the key's
// extension, and the body files in store_dir the objects are encoded into before
// their upload. It runs in the upload workers, never in a flush.
//
// An instance encodes one object at a time (Encoders serialises them): its upload
// workers still upload concurrently, but one set of encoding buffers is held.
package object

import (
	"bytes"
	"io"
	"strings"
	"sync"

	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/parquetenc"
)

// FrameBytes is the uncompressed size of each frame of a spooled object: large
// frames compress about 12% better than 64 KiB ones, and they are built off the flush
// path, by the upload workers.
const FrameBytes = 1 << 20

// Lines feeds the spooled NDJSON lines of a batch, in order, in chunks of whole lines.
type Lines = parquetenc.Lines

// encoder writes the S3 object of one sealed batch from its spooled lines,
// streaming it into dst (a body file in store_dir, or memory without one). It runs
// in the upload workers, never in a flush.
type encoder interface {
	encode(dst io.Writer, stream batch.Stream, src Lines) error
}

// Encoders are the object encoders of one instance, one per format. Which one a batch gets is
// read from its key's extension, fixed at sealing, so a batch spooled before a
// change of format or compression is still encoded as its key says.
type Encoders struct {
	ndjson  [3]*ndjsonEncoder // by compress.Codec
	parquet *parquetEncoder
	// one lets an instance encode one object at a time, whatever the number of
	// upload workers and the store: the workers still upload concurrently, but
	// only one set of encoding buffers (a frame and its compressor, a Parquet
	// row group, a spooled segment) is held.
	one sync.Mutex
}

// Encode writes the object of key, as its extension says, from src to dst.
func (o *Encoders) Encode(key string, dst io.Writer, stream batch.Stream, src Lines) error {
	o.one.Lock()
	defer o.one.Unlock()
	return o.forKey(key).encode(dst, stream, src)
}

// NewEncoders returns the encoders of an instance whose Parquet files use codec pq.
func NewEncoders(pq compress.Codec) *Encoders {
	o := &Encoders{parquet: newParquetEncoder(pq)}
	sc := &frameScratch{}
	for _, c := range []compress.Codec{compress.None, compress.Gzip, compress.Zstd} {
		o.ndjson[c] = newNDJSONEncoder(c, sc)
	}
	return o
}

// forKey picks the encoder of an object key.
func (o *Encoders) forKey(key string) encoder {
	switch {
	case strings.HasSuffix(key, parquetenc.Ext):
		return o.parquet
	case strings.HasSuffix(key, compress.Gzip.Ext()):
		return o.ndjson[compress.Gzip]
	case strings.HasSuffix(key, compress.Zstd.Ext()):
		return o.ndjson[compress.Zstd]
	}
	return o.ndjson[compress.None]
}

// ndjsonEncoder compresses lines into frames of at most FrameBytes (whole
// lines; a longer line is a frame of its own), each written to the destination as
// soon as it is built: an object is never held whole. Its compressor and frame
// buffers are made at first use and kept: objects are encoded one at a time
// (Encoders.one), so one of each is all it needs.
type ndjsonEncoder struct {
	codec compress.Codec
	enc   *compress.Encoder
	sc    *frameScratch
}

// frameScratch is the buffers of one frame: its lines, and the frame built from
// them; the NDJSON encoders of an instance share one.
type frameScratch struct{ tail, frame []byte }

func newNDJSONEncoder(c compress.Codec, sc *frameScratch) *ndjsonEncoder {
	return &ndjsonEncoder{codec: c, sc: sc}
}

func (e *ndjsonEncoder) encode(dst io.Writer, _ batch.Stream, src Lines) error {
	if e.enc == nil {
		e.enc, _ = compress.NewEncoder(e.codec)
	}
	enc, sc := e.enc, e.sc
	if sc.tail == nil {
		sc.tail = make([]byte, 0, FrameBytes)
	}
	sc.tail = sc.tail[:0]
	emit := func(lines []byte) error {
		sc.frame = enc.AppendFrame(sc.frame[:0], lines)
		_, err := dst.Write(sc.frame)
		return err
	}
	err := src(func(lines []byte) error {
		for len(lines) > 0 {
			room := FrameBytes - len(sc.tail)
			if len(lines) < room {
				sc.tail = append(sc.tail, lines...)
				return nil
			}
			// Cut at the last line that fits, so frames hold whole lines and
			// the buffers stay at one frame whatever the size of a segment.
			cut := bytes.LastIndexByte(lines[:room], '\n') + 1
			if cut == 0 && len(sc.tail) == 0 {
				// One line longer than a frame: a frame of its own.
				if cut = bytes.IndexByte(lines, '\n') + 1; cut == 0 {
					cut = len(lines)
				}
			}
			if len(sc.tail) == 0 {
				if err := emit(lines[:cut]); err != nil {
					return err
				}
			} else {
				sc.tail = append(sc.tail, lines[:cut]...)
				if err := emit(sc.tail); err != nil {
					return err
				}
				sc.tail = sc.tail[:0]
			}
			lines = lines[cut:]
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(sc.tail) > 0 {
		return emit(sc.tail)
	}
	return nil
}

// parquetEncoder builds Parquet files, access or other schema by stream. Its
// two encoders are made at first use and kept (objects are encoded one at a
// time: Encoders.one), and share one page compressor.
type parquetEncoder struct {
	pages         *parquetenc.PageCompressor
	access, other *parquetenc.Encoder
}

// otherRowGroupBytes bounds the rows the other-records encoder holds (the access
// encoder holds parquetenc.DefaultRowGroupBytes).
const otherRowGroupBytes = 1 << 20

func newParquetEncoder(c compress.Codec) *parquetEncoder {
	return &parquetEncoder{pages: parquetenc.NewPageCompressor(c)}
}

func (e *parquetEncoder) encode(dst io.Writer, stream batch.Stream, src Lines) error {
	_, err := e.forStream(stream).Encode(dst, src)
	return err
}

// forStream returns the encoder of a stream's schema, made at first use.
func (e *parquetEncoder) forStream(stream batch.Stream) *parquetenc.Encoder {
	if stream != batch.StreamOther {
		if e.access == nil {
			e.access = parquetenc.NewEncoder(parquetenc.Access, parquetenc.Options{Pages: e.pages})
		}
		return e.access
	}
	if e.other == nil {
		// Other records are the smaller share and are seldom queried by
		// column: smaller row groups, and rows not kept between files (the
		// access encoder's are), keep their encoder's memory small.
		e.other = parquetenc.NewEncoder(parquetenc.Other, parquetenc.Options{Pages: e.pages, RowGroupBytes: otherRowGroupBytes, KeepRowBytes: -1})
	}
	return e.other
}
