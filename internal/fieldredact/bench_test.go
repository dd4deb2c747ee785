package fieldredact

import (
	"github.com/envoy-s3/envoy_s3/test/cputime"
	"runtime"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/redact"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// mixedEntries parses the access lines of gen.New(seed).Mixed(n), a plausible proxy
// stream (values that repeat, such as user agents and authorities, and values that
// do not, such as request ids), and sets the task's FireLens metadata on each, as
// the pipeline does. The values of a record are copied next to each other, as
// they are in the line they were parsed from.
func mixedEntries(tb testing.TB, seed uint64, n int) []accesslog.Entry {
	meta := chunkgen.DefaultTask().Meta("stdout")
	var p accesslog.Parser
	var out []accesslog.Entry
	for _, l := range gen.New(seed).Mixed(n) {
		var e accesslog.Entry
		if !l.IsAccess || !p.Parse(l.Line, &e) {
			continue
		}
		for id := accesslog.EcsCluster; id < accesslog.NumFields; id++ {
			e.Set(id, []byte(meta[id.Name()]))
		}
		// Own the values: the Parser's scratch is reused by the next line.
		buf := make([]byte, 0, 2*len(l.Line)+256)
		own := func(b []byte) []byte {
			if b == nil {
				return nil
			}
			buf = append(buf, b...)
			return buf[len(buf)-len(b) : len(buf) : len(buf)]
		}
		for id := range e.Fields {
			e.Fields[id].Str = own(e.Fields[id].Str)
		}
		e.Extra = append([]accesslog.Extra(nil), e.Extra...)
		for i := range e.Extra {
			x := &e.Extra[i]
			x.Key, x.Val.Str, x.RawJSON = own(x.Key), own(x.Val.Str), own(x.RawJSON)
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		tb.Fatal("no access records")
	}
	return out
}

// BenchmarkEntry: one op is Entry on one access record of a realistic mix (the
// access records of a 1,000-line chunk, as BenchmarkFlush in internal/pipeline
// flushes), with the default rules (and with hash mode). Each op first restores
// the record (a copy of its fields), which is part of the time.
func BenchmarkEntry(b *testing.B) {
	recs := mixedEntries(b, 1, 1000)
	for _, c := range []struct {
		name string
		kv   getter
	}{
		{"default", getter{}},
		{"hash", getter{"redact_mode": "hash", "redact_hash_key": "0123456789abcdef0123456789abcdef"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := rules(b, c.kv)
			var sc redact.Scratch
			var s Scratch
			var e accesslog.Entry
			var size int64
			for i := range recs {
				for _, f := range recs[i].Fields {
					size += int64(len(f.Str))
				}
			}
			b.SetBytes(size / int64(len(recs)))
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ResetTimer()
			cpu0 := cputime.Thread()
			for i := 0; i < b.N; i++ {
				rec := &recs[i%len(recs)]
				e.Fields = rec.Fields
				e.Extra = append(e.Extra[:0], rec.Extra...)
				r.Entry(&sc, &s, &e)
			}
			if cpu := cputime.Thread() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
