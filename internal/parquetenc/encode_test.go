package parquetenc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/parquetread"
)

// decodeJSON parses one JSON value keeping numbers exact and key order.
func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

// orderedKeys returns the top-level keys of a JSON object in order.
func orderedKeys(t *testing.T, b []byte) []string {
	d := json.NewDecoder(bytes.NewReader(b))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// wantAccess is the oracle: each line read by encoding/json, mapped to the
// columns as doc.go says, rows sorted by time (stable).
func wantAccess(t *testing.T, lines []byte) []map[string]any {
	var rows []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(lines), []byte("\n")) {
		obj := decodeJSON(t, line).(map[string]any)
		row := map[string]any{}
		extra := map[string]any{}
		for _, k := range orderedKeys(t, line) {
			v := obj[k]
			id, known := fieldIndex[k]
			switch {
			case !known:
				extra[k] = v
			case v == nil:
				row[k] = nil
			case id == accesslog.Timestamp:
				ts, err := time.Parse(time.RFC3339Nano, v.(string))
				if err != nil {
					t.Fatal(err)
				}
				row[k] = ts.UnixMilli()
			case id.IsInt():
				n, err := v.(json.Number).Int64()
				if err != nil {
					t.Fatal(err)
				}
				if accessCols[id].int32 && n != int64(int32(n)) {
					extra[k] = v // beyond its INT32 column
					continue
				}
				row[k] = n
			default:
				row[k] = v.(string)
			}
		}
		if len(extra) > 0 {
			row["extra"] = extra
		} else {
			row["extra"] = nil
		}
		rows = append(rows, row)
	}
	slices.SortStableFunc(rows, func(a, b map[string]any) int { return int(a["timestamp"].(int64) - b["timestamp"].(int64)) })
	return rows
}

func encode(t *testing.T, s Schema, opt Options, lines []byte) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := NewEncoder(s, opt).Encode(&buf, feed(lines))
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), st
}

// readBack reads a file with parquetread and names its schema.
func readBack(data []byte) (Schema, []map[string]any, error) {
	cols, rows, err := parquetread.Rows(data)
	if err != nil {
		return 0, nil, err
	}
	s, ok := SchemaOf(cols)
	if !ok {
		return 0, nil, fmt.Errorf("columns %v are not a known schema", cols)
	}
	return s, rows, nil
}

func readRows(t *testing.T, want Schema, data []byte) []map[string]any {
	t.Helper()
	s, rows, err := readBack(data)
	if err != nil {
		t.Fatal(err)
	}
	if s != want {
		t.Fatalf("schema %d, want %d", s, want)
	}
	return rows
}

// jsonCol turns a JSON text column into a decoded value for comparison.
func jsonCol(t *testing.T, rows []map[string]any, col string) {
	for _, r := range rows {
		if s, ok := r[col].(string); ok {
			r[col] = decodeJSON(t, []byte(s))
		}
	}
}

func TestAccessRowsMatchLines(t *testing.T) {
	lines := accessCorpus(7, 3000)
	data, st := encode(t, Access, Options{Codec: compress.Zstd}, lines)
	want := wantAccess(t, lines)
	if st.Rows != len(want) || st.Unparsed != 0 || st.RowGroups != 1 {
		t.Fatalf("stats %+v for %d lines", st, len(want))
	}
	got := readRows(t, Access, data)
	// Rendered back, the rows are the spooled lines (in time order).
	var back []string
	for _, r := range got {
		back = append(back, string(parquetread.AppendAccessLine(nil, r)))
	}
	in := strings.Split(strings.TrimSpace(string(lines)), "\n")
	slices.Sort(in)
	slices.Sort(back)
	if !slices.Equal(in, back) {
		t.Error("rows rendered back differ from the lines")
	}
	jsonCol(t, got, "extra")
	seen := map[string]bool{}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d:\n got %v\nwant %v", i, got[i], want[i])
		}
		for k, v := range got[i] {
			if v != nil {
				seen[k] = true
			}
		}
	}
	// The corpus must exercise every column with a value, and nulls.
	for _, c := range accessCols {
		if !seen[c.name] {
			t.Errorf("column %s never had a value in the corpus", c.name)
		}
	}
}

func TestAccessEdgeCases(t *testing.T) {
	lines := strings.Join([]string{
		// Keys out of schema order, escapes, an int field holding a string
		// (kept in extra), a repeated key (the last wins), a JSON extra.
		`{"kind":"tcp","timestamp":"2025-11-11T07:40:46.216Z","path":"/a\"b\\c\u00e9\ud83d\ude80","response_code":"200","tls":{"v":[1,2.5,true]},"kind":"http"}`,
		// Every field null but the timestamp, in another zone with nanoseconds.
		`{"timestamp":"2025-11-11T16:40:46.123456789+09:00","method":null,"bytes_sent":null}`,
		// Negative and extreme integers.
		`{"timestamp":"1970-01-01T00:00:00.000Z","bytes_sent":-9223372036854775808,"connection_id":9223372036854775807}`,
		// No timestamp: sorts with the row before it.
		`{"method":"GET"}`,
		// Beyond INT32 columns: kept in extra; their edges fit.
		`{"timestamp":"2025-11-11T07:40:47.000Z","response_code":4294967296,"downstream_remote_port":-2147483648}`,
		`{"timestamp":"2025-11-11T07:40:47.001Z","response_code":2147483647,"downstream_remote_port":2147483648}`,
	}, "\n")
	data, st := encode(t, Access, Options{Codec: compress.Zstd}, []byte(lines))
	if st.Rows != 6 || st.Unparsed != 0 {
		t.Fatalf("stats %+v", st)
	}
	got := readRows(t, Access, data)
	jsonCol(t, got, "extra")
	at := func(i int, col string) any { return got[i][col] }
	// Sorted: epoch row (and the row without a time after it), then the 2025 rows in order.
	if at(0, "timestamp") != int64(0) || at(1, "method") != "GET" || at(1, "timestamp") != int64(0) {
		t.Fatalf("order: %v", got)
	}
	if at(0, "bytes_sent") != int64(-9223372036854775808) || at(0, "connection_id") != int64(9223372036854775807) {
		t.Errorf("extremes: %v", got[0])
	}
	ms := time.Date(2025, 11, 11, 7, 40, 46, 123e6, time.UTC).UnixMilli()
	if at(2, "timestamp") != ms || at(2, "method") != nil || at(2, "extra") != nil {
		t.Errorf("nulls: %v", got[2])
	}
	if at(3, "kind") != "http" || at(3, "path") != "/a\"b\\cé🚀" || at(3, "response_code") != nil {
		t.Errorf("values: %v", got[3])
	}
	want := map[string]any{"response_code": "200", "tls": map[string]any{"v": []any{json.Number("1"), json.Number("2.5"), true}}}
	if !reflect.DeepEqual(at(3, "extra"), want) {
		t.Errorf("extra %v, want %v", at(3, "extra"), want)
	}
	if at(4, "response_code") != nil || at(4, "downstream_remote_port") != int64(-2147483648) ||
		!reflect.DeepEqual(at(4, "extra"), map[string]any{"response_code": json.Number("4294967296")}) {
		t.Errorf("beyond INT32: %v", got[4])
	}
	if at(5, "response_code") != int64(2147483647) || at(5, "downstream_remote_port") != nil ||
		!reflect.DeepEqual(at(5, "extra"), map[string]any{"downstream_remote_port": json.Number("2147483648")}) {
		t.Errorf("INT32 edge: %v", got[5])
	}
}

func TestUnparsedLinesAreKept(t *testing.T) {
	for _, s := range []Schema{Access, Other} {
		good := accessCorpus(3, 2)
		col := "extra"
		if s == Other {
			good = otherCorpus(3, 2)
			col = "record"
		}
		first, second, _ := bytes.Cut(good, []byte("\n"))
		bad := "{\"timestamp\":\"2025-11-11T07:40:46.216Z\",\"path\":\"/x\"\n[1,{}]]\nnot json \xff\n{}{}"
		in := append(append(append(append([]byte{}, first...), '\n'), bad...), append([]byte("\n"), second...)...)
		data, st := encode(t, s, Options{Codec: compress.Zstd}, in)
		if st.Rows != 6 || st.Unparsed < 3 {
			t.Fatalf("%d: stats %+v", s, st)
		}
		got := readRows(t, s, data)
		var kept []string
		for _, r := range got {
			if v, ok := r[col].(string); ok && strings.HasPrefix(v, `{"unparsed_line":`) {
				var u struct{ Unparsed_line string }
				if err := json.Unmarshal([]byte(v), &u); err != nil {
					t.Fatal(err)
				}
				kept = append(kept, u.Unparsed_line)
			}
		}
		if len(kept) != st.Unparsed || !slices.Contains(kept, "not json \ufffd") {
			t.Errorf("%d: kept %q", s, kept)
		}
	}
}

func TestOtherRowsMatchRecords(t *testing.T) {
	lines := otherCorpus(11, 2000)
	data, st := encode(t, Other, Options{Codec: compress.Snappy}, lines)
	got := readRows(t, Other, data)
	if st.Rows != 2000 || len(got) != 2000 || st.Unparsed != 0 {
		t.Fatalf("stats %+v, %d rows", st, len(got))
	}
	var want []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(lines), []byte("\n")) {
		var w []json.RawMessage
		if err := json.Unmarshal(line, &w); err != nil || len(w) != 2 {
			t.Fatalf("%v: %s", err, line)
		}
		var ms int64
		var rec map[string]any
		json.Unmarshal(w[0], &ms)
		json.Unmarshal(w[1], &rec)
		row := map[string]any{"timestamp": ms, "record": nil}
		beyond := false
		for _, c := range otherCols[1 : len(otherCols)-1] {
			row[c.name] = nil
		}
		for k, v := range rec {
			col, known := otherMeta[k]
			s, isStr := v.(string)
			switch {
			case known && col < 0 && isStr:
			case known && col >= 0 && isStr:
				row[k] = s
			default:
				beyond = true
			}
		}
		if beyond {
			row["record"] = string(w[1])
		}
		want = append(want, row)
	}
	slices.SortStableFunc(want, func(a, b map[string]any) int { return int(a["timestamp"].(int64) - b["timestamp"].(int64)) })
	beyond := 0
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d:\n got %v\nwant %v", i, got[i], want[i])
		}
		if want[i]["record"] != nil {
			beyond++
		}
	}
	if beyond == 0 || beyond == len(want) {
		t.Errorf("%d of %d rows have a record: the corpus should have both kinds", beyond, len(want))
	}
}

func TestRowGroupsBoundMemoryAndStaySorted(t *testing.T) {
	lines := accessCorpus(5, 5000)
	// Shuffle the lines' order so sorting has work to do.
	ls := bytes.Split(bytes.TrimSpace(lines), []byte("\n"))
	for i := range ls {
		j := (i * 7919) % len(ls)
		ls[i], ls[j] = ls[j], ls[i]
	}
	lines = append(bytes.Join(ls, []byte("\n")), '\n')
	data, st := encode(t, Access, Options{Codec: compress.Zstd, RowGroupBytes: 256 << 10}, lines)
	if st.RowGroups < 3 || st.Rows != 5000 {
		t.Fatalf("stats %+v", st)
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	got := readRows(t, Access, data)
	start := 0
	for _, rg := range f.RowGroups() {
		n := int(rg.NumRows())
		ts := make([]int64, n)
		for i := range ts {
			ts[i] = got[start+i]["timestamp"].(int64)
		}
		if !slices.IsSorted(ts) {
			t.Fatalf("row group at %d not sorted", start)
		}
		start += n
	}
}

// TestSchemaTypes pins the physical and logical types engines see.
func TestSchemaTypes(t *testing.T) {
	data, _ := encode(t, Access, Options{Codec: compress.Zstd}, accessCorpus(1, 100))
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for i, col := range f.Metadata().Schema[1:] {
		c := accessCols[i]
		got := fmt.Sprintf("%v %v", col.Type.V, col.RepetitionType.V)
		want := map[colKind]string{colTime: "INT64 REQUIRED", colInt: "INT64 OPTIONAL", colDict: "BYTE_ARRAY OPTIONAL", colStr: "BYTE_ARRAY OPTIONAL"}[c.kind]
		switch c.name {
		case "response_code", "downstream_remote_port": // the range says so
			want = "INT32 OPTIONAL"
		}
		if col.Name != c.name || got != want {
			t.Errorf("column %d: %s %s, want %s %s", i, col.Name, got, c.name, want)
		}
		lt := col.LogicalType.String()
		switch c.kind {
		case colTime:
			if !strings.Contains(lt, "MILLIS") || !strings.Contains(strings.ToLower(lt), "true") {
				t.Errorf("%s: logical type %s, want TIMESTAMP(MILLIS, UTC)", c.name, lt)
			}
		case colDict, colStr:
			if !strings.Contains(lt, "STRING") {
				t.Errorf("%s: logical type %s, want STRING", c.name, lt)
			}
		}
	}
	// Min/max statistics where queries filter.
	for _, cc := range f.Metadata().RowGroups[0].Columns {
		switch name := cc.MetaData.PathInSchema[0]; name {
		case "timestamp", "response_code", "duration_ms", "bytes_sent", "bytes_received":
			if len(cc.MetaData.Statistics.MinValue) == 0 || len(cc.MetaData.Statistics.MaxValue) == 0 {
				t.Errorf("%s: no min/max statistics", name)
			}
		}
		for _, e := range cc.MetaData.Encoding {
			if e == format.ByteStreamSplit {
				t.Errorf("%s: BYTE_STREAM_SPLIT, which DuckDB refuses on integers", cc.MetaData.PathInSchema[0])
			}
		}
	}
}
