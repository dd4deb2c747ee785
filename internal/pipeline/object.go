package pipeline

import (
	"bytes"
	"strings"
	"sync"

	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/parquetenc"
)

// Object formats, recorded in each batch's metadata when it opens: they fix the
// key's extension at sealing and how other records are spooled.
const (
	formatNDJSON  uint8 = 0 // the zero value: batches spooled by older versions
	formatParquet uint8 = 1
)

func formatOf(f config.Format) uint8 {
	if f == config.FormatParquet {
		return formatParquet
	}
	return formatNDJSON
}

// lines feeds the spooled NDJSON lines of a batch, in order, in chunks of whole lines.
type lines = parquetenc.Lines

// objectEncoder writes the S3 object of one sealed batch from its spooled lines.
// It runs in the upload workers, never in a flush.
type objectEncoder interface {
	encode(dst *bytes.Buffer, stream uint8, src lines) error
}

// objectEncoders are the encoders of one instance. Which one a batch gets is
// read from its key's extension, fixed at sealing, so a batch spooled before a
// change of format or compression is still encoded as its key says.
type objectEncoders struct {
	ndjson  [3]*ndjsonEncoder // by compress.Codec
	parquet *parquetEncoder
}

func newObjectEncoders(pq parquetenc.Codec) *objectEncoders {
	o := &objectEncoders{parquet: newParquetEncoder(pq)}
	for _, c := range []compress.Codec{compress.None, compress.Gzip, compress.Zstd} {
		o.ndjson[c] = newNDJSONEncoder(c)
	}
	return o
}

// forKey picks the encoder of an object key.
func (o *objectEncoders) forKey(key string) objectEncoder {
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

// ndjsonEncoder compresses lines into frames of uploadFrameBytes.
type ndjsonEncoder struct {
	codec compress.Codec
	encs  sync.Pool // *compress.Encoder, one per upload worker at a time
}

func newNDJSONEncoder(c compress.Codec) *ndjsonEncoder {
	e := &ndjsonEncoder{codec: c}
	e.encs.New = func() any {
		enc, _ := compress.NewEncoder(c)
		return enc
	}
	return e
}

func (e *ndjsonEncoder) encode(dst *bytes.Buffer, _ uint8, src lines) error {
	enc := e.encs.Get().(*compress.Encoder)
	defer e.encs.Put(enc)
	body := dst.AvailableBuffer()
	var tail []byte
	err := src(func(lines []byte) error {
		tail = append(tail, lines...)
		if len(tail) >= uploadFrameBytes {
			body = enc.AppendFrame(body, tail)
			tail = tail[:0]
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(tail) > 0 {
		body = enc.AppendFrame(body, tail)
	}
	dst.Write(body)
	return nil
}

// parquetConcurrency bounds the Parquet files an instance builds at once: each
// holds its batch's rows in memory to sort them (see internal/parquetenc), so
// this, not the number of upload workers, bounds that memory.
const parquetConcurrency = 1

// parquetEncoder builds Parquet files, access or other schema by stream.
type parquetEncoder struct {
	sem           chan struct{}
	access, other sync.Pool // *parquetenc.Encoder
}

func newParquetEncoder(c parquetenc.Codec) *parquetEncoder {
	e := &parquetEncoder{sem: make(chan struct{}, parquetConcurrency)}
	e.access.New = func() any { return parquetenc.NewEncoder(parquetenc.Access, parquetenc.Options{Codec: c}) }
	e.other.New = func() any { return parquetenc.NewEncoder(parquetenc.Other, parquetenc.Options{Codec: c}) }
	return e
}

func (e *parquetEncoder) encode(dst *bytes.Buffer, stream uint8, src lines) error {
	e.sem <- struct{}{}
	defer func() { <-e.sem }()
	pool := &e.access
	if stream == streamOther {
		pool = &e.other
	}
	enc := pool.Get().(*parquetenc.Encoder)
	defer pool.Put(enc)
	_, err := enc.Encode(dst, src)
	return err
}
