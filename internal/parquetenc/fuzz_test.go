package parquetenc

import (
	"bytes"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/compress"
)

// FuzzEncode feeds arbitrary spool lines to both schemas: the encoder never
// fails or panics on its input, writes one row per non-blank line, and the
// file reads back with that many rows. One encoder per schema serves every
// input, as in the pipeline, so nothing one file leaves behind may spoil the
// next (and an input costs no new compressor: minimising one took minutes).
func FuzzEncode(f *testing.F) {
	f.Add(accessCorpus(1, 3), false)
	f.Add(otherCorpus(1, 3), true)
	f.Add([]byte(`{"timestamp":"2025-11-11T07:40:46.216Z","x":{"a":[1,{"b":null}]},"path":"\ud800"}`), false)
	f.Add([]byte("[1,{\"log\":\"a\",\"log\":{}}]\n[-5,{}]\n[1e3,{}]"), true)
	pages := NewPageCompressor(compress.Zstd)
	encs := [...]*Encoder{Access: NewEncoder(Access, Options{Pages: pages}), Other: NewEncoder(Other, Options{Pages: pages})}
	f.Fuzz(func(t *testing.T, in []byte, other bool) {
		s := Access
		if other {
			s = Other
		}
		var buf bytes.Buffer
		st, err := encs[s].Encode(&buf, feed(in))
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, l := range bytes.Split(in, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				want++
			}
		}
		got, rows, err := readBack(buf.Bytes())
		if err != nil || got != s || st.Rows != want || len(rows) != want {
			t.Fatalf("rows %d/%d, want %d (schema %d, err %v)", st.Rows, len(rows), want, got, err)
		}
	})
}
