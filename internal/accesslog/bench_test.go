package accesslog_test

import (
	"github.com/envoy-s3/envoy_s3/test/cputime"
	"runtime"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// benchShape measures Parse + AppendJSON into a reused buffer over 256
// generated lines of one kind, and reports records per second.
func benchShape(b *testing.B, k gen.Kind, wantAccess bool) {
	g := gen.New(99)
	lines := make([][]byte, 256)
	total := 0
	for i := range lines {
		lines[i] = g.Line(k)
		total += len(lines[i])
	}
	var p accesslog.Parser
	var e accesslog.Entry
	buf := make([]byte, 0, 8192)
	for _, l := range lines {
		if p.Parse(l, &e) != wantAccess {
			b.Fatalf("%v line classified wrongly: %q", k, l)
		}
	}
	b.SetBytes(int64(total / len(lines)))
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	cpu0 := cputime.Thread()
	for i := 0; i < b.N; i++ {
		if p.Parse(lines[i&255], &e) {
			buf = e.AppendJSON(buf[:0])
		}
	}
	reportRate(b, cpu0)
}

func BenchmarkTextHTTP(b *testing.B)     { benchShape(b, gen.TextHTTP, true) }
func BenchmarkTextHTTP2(b *testing.B)    { benchShape(b, gen.TextHTTP2, true) }
func BenchmarkTextGRPC(b *testing.B)     { benchShape(b, gen.TextGRPC, true) }
func BenchmarkTextTCP(b *testing.B)      { benchShape(b, gen.TextTCP, true) }
func BenchmarkEnvoyDefault(b *testing.B) { benchShape(b, gen.EnvoyDefault, true) }
func BenchmarkJSONTyped(b *testing.B)    { benchShape(b, gen.JSONTypedHTTP, true) }
func BenchmarkJSONString(b *testing.B)   { benchShape(b, gen.JSONDocHTTP, true) }
func BenchmarkJSONTCP(b *testing.B)      { benchShape(b, gen.JSONTypedTCP, true) }
func BenchmarkJSONCustom(b *testing.B)   { benchShape(b, gen.JSONCustom, true) }
func BenchmarkOperational(b *testing.B)  { benchShape(b, gen.Operational, false) }
func BenchmarkAppJSON(b *testing.B)      { benchShape(b, gen.AppJSON, false) }

// BenchmarkMixed is a plausible proxy stream of every kind.
func BenchmarkMixed(b *testing.B) {
	ls := gen.New(98).Mixed(1024)
	total := 0
	for _, l := range ls {
		total += len(l.Line)
	}
	var p accesslog.Parser
	var e accesslog.Entry
	buf := make([]byte, 0, 8192)
	b.SetBytes(int64(total / len(ls)))
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	cpu0 := cputime.Thread()
	for i := 0; i < b.N; i++ {
		if p.Parse(ls[i&1023].Line, &e) {
			buf = e.AppendJSON(buf[:0])
		}
	}
	reportRate(b, cpu0)
}

// reportRate reports records per wall-clock second and, where the OS tells
// thread CPU time, records per CPU-second of the one core that ran the loop
// (the number that matters when other processes share the machine).
func reportRate(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if cpu := cputime.Thread() - cpu0; cpu > 0 && cpu0 > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
	}
}
