package parquetenc

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// zstdCodec compresses pages with one zstd encoder state and a window sized to
// a page: parquet-go's own codec keeps zstd's 8 MiB default window, whose
// history buffer was allocated and cleared for every page (a quarter of the
// encoder's CPU on access logs), while a page is at most DefaultPageBytes.
type zstdCodec struct {
	once sync.Once
	enc  *zstd.Encoder
	dec  *zstd.Decoder
}

func (c *zstdCodec) init() {
	c.once.Do(func() {
		c.enc, _ = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithLowerEncoderMem(true),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
		)
		c.dec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	})
}

// zstdWindow covers a whole default page, so pages compress as well as with a
// larger window.
const zstdWindow = 512 << 10

func (c *zstdCodec) String() string                            { return "ZSTD" }
func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	c.init()
	return c.enc.EncodeAll(src, dst[:0]), nil
}

func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	c.init()
	return c.dec.DecodeAll(src, dst[:0])
}
