package object

import (
	"github.com/envoy-s3/envoy_s3/test/cputime"
	"io"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/checksum"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// BenchmarkEncodeChecksum is what checksum_algorithm costs per record: an object of
// 20,000 of test/gen's lines encoded as the upload workers do (NDJSON, gzip, 1 MiB
// frames) into a sink, hashed on the way by each algorithm and by none, in one run
// (with -count, the algorithms alternate). cpu-ns/record is the whole encoding;
// the checksum's share is the difference from none.
func BenchmarkEncodeChecksum(b *testing.B) {
	const n = 20000
	var lines []byte
	for _, l := range gen.New(1).Mixed(n) {
		lines = append(lines, l.Line...)
		lines = append(lines, '\n')
	}
	src := func(yield func([]byte) error) error { return yield(lines) }
	encs := NewEncoders(compress.Zstd)
	if err := encs.Encode("k.ndjson.gz", io.Discard, batch.StreamAccess, src); err != nil { // the encoder's buffers
		b.Fatal(err)
	}
	for _, alg := range checksum.Algorithms {
		b.Run(alg.String(), func(b *testing.B) {
			var out countWriter
			var dst io.Writer = &out
			h := alg.New()
			if h != nil {
				dst = &checksum.Writer{W: &out, H: h}
			}
			b.SetBytes(int64(len(lines)))
			b.ReportAllocs()
			cpu := cputime.Process()
			for b.Loop() {
				out = 0
				if h != nil {
					h.Reset()
				}
				if err := encs.Encode("k.ndjson.gz", dst, batch.StreamAccess, src); err != nil {
					b.Fatal(err)
				}
				if h != nil {
					checksum.SumOf(alg, h)
				}
			}
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N*n), "cpu-ns/record")
			b.ReportMetric(float64(out)/n, "B/record")
		})
	}
}

type countWriter int64

func (w *countWriter) Write(p []byte) (int, error) { *w += countWriter(len(p)); return len(p), nil }
