package pipeline

import (
	"bytes"
	"context"
	"io"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/object"
	"github.com/envoy-s3/envoy_s3/internal/spool"
)

// store holds records from the moment a flush accepts them until their object is
// uploaded: in memory (store_dir off) or in the durable spool.
type store interface {
	// add takes one flush's lines, all of them or none; an error means RETRY. chunk,
	// when not nil, names the Fluent Bit chunk they came from (see replayer).
	add(parts []*part, chunk *spool.ChunkID) error
	// tick seals batches that are old enough.
	tick()
	// sealAll seals every open batch, as at shutdown.
	sealAll()
	// close releases the store after the upload pool has stopped.
	close()
	// depth reports the batches held and their bytes (open and sealed).
	depth() (batches int, bytes int64)
	// oldestOpen is when the oldest open batch was opened; zero when none is.
	oldestOpen() time.Time
}

// replayer is a store that remembers the chunks it stored (spoolStore): a chunk
// Fluent Bit sends again after a restart, because the OK of its flush was not handled
// before the process stopped, is answered OK and stored nothing.
type replayer interface {
	seen(id spool.ChunkID) bool
}

// stager is a store that takes a flush's lines ahead of its commit (spoolStore), so
// a flush holds about spillBytes of lines a partition in memory, not the whole chunk.
type stager interface {
	takeStage() (*spool.Stage, error)
	giveStage(*spool.Stage)
}

// memStore keeps batches as compressed frames in memory; what is not uploaded when
// the process dies is lost.
type memStore struct {
	p       *Pipeline
	batcher *batch.Batcher
}

func newMemStore(p *Pipeline, enc *compress.Encoder, now func() time.Time) *memStore {
	m := &memStore{p: p}
	// Parquet batches wait as zstd frames too; the upload worker decodes them
	// and builds the file.
	var frames *compress.Encoder
	if p.objFormat == batch.FormatParquet {
		frames, _ = compress.NewEncoder(compress.Zstd)
	}
	m.batcher = batch.New(batch.Options{
		MaxRawBytes: p.cfg.TotalFileSize,
		MaxAge:      p.cfg.UploadTimeout,
		Encoder:     enc,
		Seal:        m.sealed,
		Now:         now,
		LimitsOf:    p.limitsOf,
		EncoderOf: func(m *batch.Meta) batch.FrameEncoder {
			switch {
			case m.Stream.IsCloudWatch():
				return plainFrames{}
			case m.Format == batch.FormatParquet:
				return frames
			}
			return enc
		},
	})
	return m
}

func (m *memStore) add(parts []*part, _ *spool.ChunkID) error {
	held := m.held()
	full := m.p.limit > 0 && held >= m.p.limit
	m.p.backpressure(full, held)
	if full {
		return ErrBufferFull
	}
	for _, pt := range parts {
		m.batcher.Add(pt.key, &pt.meta, pt.lines, pt.n)
	}
	return nil
}

// held is what memory holds for upload: open batches and queued objects.
func (m *memStore) held() int64 {
	_, queued := m.p.pool.Pending()
	_, open := m.batcher.OpenBatches()
	return queued + open
}

func (m *memStore) depth() (int, int64) {
	jobs, queued := m.p.pool.Pending()
	open, raw := m.batcher.OpenBatches()
	return open + jobs, raw + queued
}

func (m *memStore) oldestOpen() time.Time { return m.batcher.OldestOpen() }

func (m *memStore) tick()    { m.batcher.Tick() }
func (m *memStore) sealAll() { m.batcher.SealAll() }
func (m *memStore) close()   {}

func (m *memStore) sealed(s *batch.Sealed) {
	key := m.p.objectKey(&s.Meta)
	body := s.Body
	j := &delivery.Job{Key: key, Body: delivery.Bytes(body), Records: s.Records, Since: s.Opened, Done: func() { m.batcher.Release(body) }}
	if !s.Meta.Stream.IsCloudWatch() {
		// Built as it is flushed: hashed for checksum_algorithm by the upload.
		j.Body = m.p.s3Object(j.Body, &s.Meta, nil)
	}
	if s.Meta.Format == batch.FormatParquet {
		j.Body, j.Size = nil, int64(len(body))
		meta := s.Meta
		j.Prepare = func() (delivery.Body, error) {
			var buf bytes.Buffer
			sum := m.p.newSummer()
			if err := sum.wrap(func(w io.Writer) error {
				return m.p.objects.Encode(key, w, meta.Stream, frameLines(compress.Zstd, body))
			})(&buf); err != nil {
				return nil, err
			}
			return m.p.s3Object(delivery.Bytes(buf.Bytes()), &meta, sum), nil
		}
	}
	if s.Meta.Stream.IsCloudWatch() {
		c, group, stream := m.p.cwDest(&s.Meta)
		j.Target = cwTarget(group, stream)
		j.Send = func(ctx context.Context, b delivery.Body) error {
			return m.p.sendCloudWatch(ctx, c, group, stream, b.(delivery.Bytes))
		}
	}
	m.p.submit(j)
}

// plainFrames keeps lines as they are: CloudWatch batches are read back line by line.
type plainFrames struct{}

func (plainFrames) AppendFrame(dst, src []byte) []byte { return append(dst, src...) }

// frameLines feeds the lines held in compressed frames, in chunks of whole lines.
func frameLines(c compress.Codec, frames []byte) object.Lines {
	return func(yield func([]byte) error) error {
		r, err := compress.NewReader(c, bytes.NewReader(frames))
		if err != nil {
			return err
		}
		defer r.Close()
		buf := make([]byte, 256<<10)
		held := 0
		for {
			n, err := r.Read(buf[held:])
			held += n
			if i := bytes.LastIndexByte(buf[:held], '\n'); i >= 0 {
				if err := yield(buf[:i+1]); err != nil {
					return err
				}
				held = copy(buf, buf[i+1:held])
			} else if held == len(buf) {
				buf = append(buf, make([]byte, len(buf))...) // a line longer than the buffer
			}
			if err == io.EOF {
				if held > 0 {
					return yield(buf[:held])
				}
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
}
