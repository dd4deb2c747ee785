package parquetenc

import (
	"bytes"
	"github.com/envoy-s3/envoy_s3/test/cputime"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/envoy-s3/envoy_s3/internal/compress"
)

// BenchmarkEncodeAccess encodes 50,000 access records of test/gen's default mix
// (a batch of about 40 MB of NDJSON) per codec and reports bytes per record of
// the file, of the duration_ms and path column chunks (what a query over them
// reads), and CPU per record.
func BenchmarkEncodeAccess(b *testing.B) {
	const n = 50000
	lines := accessCorpus(1, n)
	for _, c := range []compress.Codec{compress.Zstd, compress.Snappy, compress.Gzip, compress.None} {
		b.Run(c.String(), func(b *testing.B) {
			e := NewEncoder(Access, Options{Codec: c})
			var buf bytes.Buffer
			var st Stats
			b.SetBytes(int64(len(lines)))
			b.ReportAllocs()
			cpu := cputime.Process()
			for b.Loop() {
				buf.Reset()
				var err error
				if st, err = e.Encode(&buf, feed(lines)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.HeldBytes)/n, "held-B/record")
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N*n), "cpu-ns/record")
			b.ReportMetric(float64(buf.Len())/n, "B/record")
			b.ReportMetric(float64(len(lines))/n, "ndjson-B/record")
			f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				b.Fatal(err)
			}
			var q int64
			for _, rg := range f.Metadata().RowGroups {
				for _, cc := range rg.Columns {
					if p := cc.MetaData.PathInSchema[0]; p == "duration_ms" || p == "path" {
						q += cc.MetaData.TotalCompressedSize
					}
				}
			}
			b.ReportMetric(float64(q)/n, "duration+path-B/record")
		})
	}
}

// BenchmarkNDJSON is the same records as NDJSON, compressed as the upload
// workers do (1 MiB frames), for comparison.
func BenchmarkNDJSON(b *testing.B) {
	const n = 50000
	lines := accessCorpus(1, n)
	for _, c := range []compress.Codec{compress.Gzip, compress.Zstd} {
		b.Run(c.String(), func(b *testing.B) {
			enc, err := compress.NewEncoder(c)
			if err != nil {
				b.Fatal(err)
			}
			var out []byte
			b.SetBytes(int64(len(lines)))
			cpu := cputime.Process()
			for b.Loop() {
				out = out[:0]
				for rest := lines; len(rest) > 0; {
					k := min(len(rest), 1<<20)
					out = enc.AppendFrame(out, rest[:k])
					rest = rest[k:]
				}
			}
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N*n), "cpu-ns/record")
			b.ReportMetric(float64(len(out))/n, "B/record")
		})
	}
}
