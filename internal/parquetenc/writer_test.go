package parquetenc

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

func openFile(t *testing.T, data []byte) *parquet.File {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestDictionaryOnlyWhenValuesRepeat: a column whose values repeat is
// dictionary encoded, one of mostly unique values is plain, per row group.
func TestDictionaryOnlyWhenValuesRepeat(t *testing.T) {
	var b strings.Builder
	for i := range 2000 {
		// upstream_host is interned like method, but nearly every value is new.
		fmt.Fprintf(&b, `{"timestamp":"2025-11-11T07:40:46.%03dZ","method":"%s","path":"/orders/%d","user_agent":"ua-%d","upstream_host":"10.0.%d.%d:8080","authority":"svc-%d"}`+"\n",
			i%1000, []string{"GET", "POST"}[i%2], i, i%3, i/256, i%256, i%400)
	}
	data, _ := encode(t, Access, Options{Codec: compress.Zstd}, []byte(b.String()))
	want := map[string]bool{"method": true, "user_agent": true, "authority": true, "path": false, "upstream_host": false}
	for _, cc := range openFile(t, data).Metadata().RowGroups[0].Columns {
		name := cc.MetaData.PathInSchema[0]
		dict, ok := want[name]
		if !ok {
			continue
		}
		if got := slices.Contains(cc.MetaData.Encoding, format.RLEDictionary); got != dict || (cc.MetaData.DictionaryPageOffset != 0) != dict {
			t.Errorf("%s: encodings %v, dictionary page at %d; want dictionary %v", name, cc.MetaData.Encoding, cc.MetaData.DictionaryPageOffset, dict)
		}
	}
}

// TestPageIndexBoundsEveryPage: every column chunk has a column and an offset
// index; pages hold at most maxPageRows rows; each page's min/max (truncated
// for long strings) bound every value in it and null pages are marked.
func TestPageIndexBoundsEveryPage(t *testing.T) {
	lines := accessCorpus(3, 45000)
	// Long values that need truncated bounds, some starting with 0xff-like UTF-8.
	long := []byte(`{"timestamp":"2025-11-11T07:40:46.216Z","path":"/` + strings.Repeat("\U0010ffff", 40) + `","user_agent":"` + strings.Repeat("z", 300) + `"}` + "\n")
	lines = append(lines, long...)
	data, st := encode(t, Access, Options{Codec: compress.Zstd, RowGroupBytes: 1 << 30}, lines)
	if st.RowGroups != 1 {
		t.Fatalf("row groups %d", st.RowGroups)
	}
	f := openFile(t, data)
	rows := readRows(t, Access, data)
	cis, ois := f.ColumnIndexes(), f.OffsetIndexes()
	if len(cis) != len(accessCols) || len(ois) != len(accessCols) {
		t.Fatalf("%d column indexes, %d offset indexes for %d columns", len(cis), len(ois), len(accessCols))
	}
	for c, col := range accessCols {
		ci, oi := cis[c], ois[c]
		pages := oi.PageLocations
		if len(pages) < 3 || len(ci.MinValues) != len(pages) || len(ci.NullPages) != len(pages) {
			t.Fatalf("%s: %d pages, %d index entries (45,001 rows need at least 3 pages of %d)", col.name, len(pages), len(ci.MinValues), maxPageRows)
		}
		for p, loc := range pages {
			end := int64(len(rows))
			if p+1 < len(pages) {
				end = pages[p+1].FirstRowIndex
			}
			if end-loc.FirstRowIndex > maxPageRows {
				t.Fatalf("%s page %d: %d rows", col.name, p, end-loc.FirstRowIndex)
			}
			nulls := int64(0)
			for _, r := range rows[loc.FirstRowIndex:end] {
				v := r[col.name]
				if v == nil {
					nulls++
					continue
				}
				lo, hi := ci.MinValues[p], ci.MaxValues[p]
				if len(lo) > maxIndexBound && col.physical() == format.ByteArray {
					t.Fatalf("%s page %d: min of %d bytes", col.name, p, len(lo))
				}
				switch v := v.(type) {
				case int64:
					lv, hv := decodeInt(col, lo), decodeInt(col, hi)
					if v < lv || v > hv {
						t.Fatalf("%s page %d: %d outside [%d, %d]", col.name, p, v, lv, hv)
					}
				case string:
					if bytes.Compare(lo, []byte(v)) > 0 || bytes.Compare(hi, []byte(v)) < 0 {
						t.Fatalf("%s page %d: %q outside [%q, %q]", col.name, p, v, lo, hi)
					}
				}
			}
			if ci.NullCounts[p] != nulls || ci.NullPages[p] != (nulls == end-loc.FirstRowIndex) {
				t.Fatalf("%s page %d: null count %d (null page %v), counted %d", col.name, p, ci.NullCounts[p], ci.NullPages[p], nulls)
			}
		}
		if col.kind == colTime && ci.BoundaryOrder != format.Ascending {
			t.Errorf("timestamp: boundary order %v", ci.BoundaryOrder)
		}
	}
	if sc := f.Metadata().RowGroups[0].SortingColumns; len(sc) != 1 || sc[0].ColumnIdx != 0 || sc[0].Descending {
		t.Errorf("sorting columns %+v", sc)
	}
}

func decodeInt(col column, b []byte) int64 {
	if col.int32 {
		return int64(int32(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24))
	}
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return int64(v)
}

// TestTruncatedBoundsStayBounds: truncMin is at most the value, truncMax at
// least, both short and valid UTF-8, for random strings heavy in the highest
// characters (which cannot be incremented) and multi-byte ones.
func TestTruncatedBoundsStayBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	runes := []rune{0, 'a', 0x7f, 0xff, 0xd7ff, 0xffff, utf8.MaxRune, utf8.MaxRune, utf8.MaxRune}
	for range 20000 {
		var v []byte
		for n := r.IntN(2 * maxIndexBound); len(v) < n; {
			v = utf8.AppendRune(v, runes[r.IntN(len(runes))])
		}
		lo, hi := truncMin(v), truncMax(v)
		if !utf8.Valid(lo) || !utf8.Valid(hi) {
			t.Fatalf("%q: bounds %q, %q not UTF-8", v, lo, hi)
		}
		if bytes.Compare(lo, v) > 0 || bytes.Compare(hi, v) < 0 {
			t.Fatalf("%x: bounds %x, %x", v, lo, hi)
		}
		if len(lo) > maxIndexBound || (len(hi) > maxIndexBound && !bytes.Equal(hi, v)) {
			t.Fatalf("%x: bounds of %d and %d bytes", v, len(lo), len(hi))
		}
	}
}

// countingWriter counts the bytes written to it.
type countingWriter struct{ n int }

func (w *countingWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// TestEncodeStreamsRowGroups: a row group reaches the writer as soon as it is
// complete, before the rest of the batch is read, and the rows held never
// exceed the bound by more than a line.
func TestEncodeStreamsRowGroups(t *testing.T) {
	lines := accessCorpus(4, 20000)
	var w countingWriter
	var seen []int // bytes written when each input chunk was handed over
	read := func(yield func([]byte) error) error {
		return feed(lines)(func(b []byte) error {
			seen = append(seen, w.n)
			return yield(b)
		})
	}
	const bound = 1 << 20
	st, err := NewEncoder(Access, Options{Codec: compress.Zstd, RowGroupBytes: bound}).Encode(&w, read)
	if err != nil {
		t.Fatal(err)
	}
	if st.RowGroups < 4 {
		t.Fatalf("%d row groups", st.RowGroups)
	}
	if half := seen[len(seen)/2]; half < w.n/4 {
		t.Fatalf("half-way through the input only %d of %d bytes were written", half, w.n)
	}
	if st.HeldBytes > bound+64<<10 {
		t.Fatalf("held %d bytes, bound %d", st.HeldBytes, bound)
	}
}

func TestSchemaOf(t *testing.T) {
	for _, s := range []Schema{Access, Other} {
		if got, ok := SchemaOf(s.Columns()); !ok || got != s {
			t.Errorf("SchemaOf(%v) = %d, %v", s.Columns(), got, ok)
		}
	}
	cols := Access.Columns()
	if _, ok := SchemaOf(append(cols[1:len(cols):len(cols)], cols[0])); ok {
		t.Error("a reordered access schema was recognised")
	}
	if _, ok := SchemaOf(nil); ok {
		t.Error("no columns recognised as a schema")
	}
}

// An Encoder keeps its row memory from file to file, so a steady stream of files
// allocates a fraction of what the first one did.
func TestEncoderKeepsRowMemory(t *testing.T) {
	lines := accessCorpus(5, 20000) // several row groups
	e := NewEncoder(Access, Options{Codec: compress.Zstd})
	alloc := func() uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := e.Encode(io.Discard, feed(lines)); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	first := alloc()
	if again := alloc(); again > first/4 {
		t.Fatalf("the second file allocated %d bytes, the first %d: row memory was not kept", again, first)
	}
	// KeepRowBytes < 0: nothing kept, the rows are grown again for each file.
	e = NewEncoder(Access, Options{Codec: compress.Zstd, KeepRowBytes: -1})
	first = alloc()
	if again := alloc(); again < first/2 {
		t.Fatalf("with KeepRowBytes -1 the second file allocated %d bytes, the first %d: row memory was kept", again, first)
	}
}

// Encoders of both schemas sharing one PageCompressor write the same files as
// with their own.
func TestSharedPageCompressor(t *testing.T) {
	access, other := accessCorpus(6, 3000), otherCorpus(6, 3000)
	pages := NewPageCompressor(compress.Zstd)
	// Pages of two sizes, as the pipeline's two schemas have.
	shared := []*Encoder{NewEncoder(Access, Options{Pages: pages}), NewEncoder(Other, Options{Pages: pages, PageBytes: 256 << 10})}
	own := []*Encoder{NewEncoder(Access, Options{Codec: compress.Zstd}), NewEncoder(Other, Options{Codec: compress.Zstd, PageBytes: 256 << 10})}
	for round := range 2 {
		for i, in := range [][]byte{access, other} {
			var a, b bytes.Buffer
			if _, err := shared[i].Encode(&a, feed(in)); err != nil {
				t.Fatal(err)
			}
			if _, err := own[i].Encode(&b, feed(in)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatalf("round %d, schema %d: a shared page compressor wrote a different file", round, i)
			}
		}
	}
	// One set of page buffers for both: the memory the sharing is for.
	if shared[0].fw.pageBufs != shared[1].fw.pageBufs || shared[0].fw.pageBufs == own[0].fw.pageBufs {
		t.Error("encoders sharing a page compressor do not share its page buffers")
	}
}

// TestRandomIDsAreEntropyCoded: request_id and stream_id are written
// DELTA_LENGTH_BYTE_ARRAY, whose pages hold the characters alone, and zstd
// entropy-codes such match-less pages (klauspost's default level would store
// them raw): request_id costs at most 15.5 bytes a row on test/gen's mix
// (16.1 PLAIN, 16.7 without entropy coding; its random UUIDs carry 12).
func TestRandomIDsAreEntropyCoded(t *testing.T) {
	const n = 20000
	var buf bytes.Buffer
	if _, err := NewEncoder(Access, Options{Codec: compress.Zstd}).Encode(&buf, feed(accessCorpus(1, n))); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, buf.Bytes())
	sizes := map[string]int64{}
	for _, rg := range f.Metadata().RowGroups {
		for _, cc := range rg.Columns {
			name := cc.MetaData.PathInSchema[0]
			sizes[name] += cc.MetaData.TotalCompressedSize
			dlba := slices.Contains(cc.MetaData.Encoding, format.DeltaLengthByteArray)
			if want := name == "request_id" || name == "stream_id"; dlba != want {
				t.Errorf("%s: encodings %v; DELTA_LENGTH_BYTE_ARRAY %v, want %v", name, cc.MetaData.Encoding, dlba, want)
			}
		}
	}
	if per := float64(sizes["request_id"]) / n; per > 15.5 {
		t.Errorf("request_id: %.2f bytes a row, want at most 15.5", per)
	}
	// What the reader gets back is checked by the round-trip tests.
}
