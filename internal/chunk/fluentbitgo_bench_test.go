//go:build cgo

// The comparison with fluent-bit-go's decoder (the one most Go plugins use) needs
// cgo, because fluent-bit-go's output package does.

package chunk

import (
	"testing"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"
)

// BenchmarkFluentBitGoDecoder decodes the BenchmarkDecode chunk the way
// fluent-bit-go's examples do, looking up "log" in each record.
func BenchmarkFluentBitGoDecoder(b *testing.B) {
	data := benchChunk(benchRecords)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	logBytes := 0
	for b.Loop() {
		dec := output.NewDecoder(unsafe.Pointer(&data[0]), len(data))
		n := 0
		for {
			ret, _, rec := output.GetRecord(dec)
			if ret != 0 {
				break
			}
			if v, ok := rec["log"].([]byte); ok {
				logBytes += len(v)
				n++
			}
		}
		if n != benchRecords {
			b.Fatalf("decoded %d records, want %d", n, benchRecords)
		}
	}
	reportRecords(b, benchRecords)
	_ = logBytes
}
