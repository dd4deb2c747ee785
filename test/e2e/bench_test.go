package e2e

import (
	"context"
	"github.com/envoy-s3/envoy_s3/test/cputime"
	"io"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/internal/pipeline"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

type mapGetter map[string]string

func (g mapGetter) Get(k string) string { return g[k] }

// BenchmarkSustainedToMinIO is the whole path in one process: flush (decode,
// recognise, normalise, redact, encode, spool with fsync), then background read,
// compression and PutObject to a real MinIO. cpu-ns/record counts every goroutine,
// GC included, until the last object is stored.
func BenchmarkSustainedToMinIO(b *testing.B) {
	for _, c := range [][3]string{
		{"json_lines", "gzip"}, {"json_lines", "zstd"}, {"parquet", "zstd"}, {"parquet", "snappy"},
		// The Fluent Bit benchmark's mix (soak -bench): 99% access logs.
		{"json_lines", "zstd", "access"}, {"parquet", "zstd", "access"},
	} {
		format, codec, mix := c[0], c[1], c[2]
		name := format + "-" + codec
		if mix != "" {
			name = mix + "-" + name
		}
		b.Run(name, func(b *testing.B) {
			m := env(b, "bench")
			cfg, err := config.Parse(mapGetter{
				"bucket": "bench", "region": m.Region, "endpoint": m.Endpoint,
				"format": format, "compression": codec, "store_dir": b.TempDir(),
			}, nil, func(string) string { return "" })
			if err != nil {
				b.Fatal(err)
			}
			p, err := pipeline.New(cfg, pipeline.Options{Name: "bench", Log: flblog.NewWriter(io.Discard, "bench", flblog.Error)})
			if err != nil {
				b.Fatal(err)
			}
			lines := gen.New(3).Mixed(1000)
			if mix == "access" {
				lines = gen.New(1).OneOtherIn(1000, 100)
			}
			data, err := chunkgen.Chunk(chunk.Encoder{}, chunkgen.DefaultTask(), lines, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cputime.Process()
			for i := 0; i < b.N; i++ {
				if _, err := p.Flush(data, chunkgen.DefaultTask().Tag()); err != nil {
					b.Fatal(err)
				}
			}
			p.Close(context.Background())
			cpu := cputime.Process() - cpu0
			b.StopTimer()
			records := float64(b.N * len(lines))
			b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/records, "cpu-ns/record")
			if s := p.Stats(); s.RecordsIn != int64(records) || s.Objects == 0 {
				b.Fatalf("stats %+v", s)
			}
		})
	}
}
