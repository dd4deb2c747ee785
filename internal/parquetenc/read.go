package parquetenc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
)

// ReadRows decodes a file this package wrote into one map per row, keyed by
// column name: nil for null, int64 for timestamps (Unix milliseconds) and
// integers, string for strings. It is for tests and tools, not the upload
// path; it also checks that the file's columns are those of a known schema.
func ReadRows(data []byte) (Schema, []map[string]any, error) {
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return 0, nil, fmt.Errorf("parquetenc: %w", err)
	}
	var s Schema
	var cols []column
	switch fields := f.Schema().Fields(); {
	case sameColumns(fields, accessCols):
		s, cols = Access, accessCols
	case sameColumns(fields, otherCols):
		s, cols = Other, otherCols
	default:
		return 0, nil, errors.New("parquetenc: not a file of a known schema")
	}
	r := parquet.NewReader(f)
	defer r.Close()
	var out []map[string]any
	rows := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(rows)
		for _, row := range rows[:n] {
			m := make(map[string]any, len(cols))
			for _, v := range row {
				c := cols[v.Column()]
				switch {
				case v.IsNull():
					m[c.name] = nil
				case c.kind == colTime || c.kind == colInt:
					m[c.name] = v.Int64()
				default:
					m[c.name] = string(v.ByteArray())
				}
			}
			out = append(out, m)
		}
		if err == io.EOF {
			return s, out, nil
		}
		if err != nil {
			return s, out, fmt.Errorf("parquetenc: %w", err)
		}
	}
}

func sameColumns(fields []parquet.Field, cols []column) bool {
	if len(fields) != len(cols) {
		return false
	}
	for i, f := range fields {
		if f.Name() != cols[i].name {
			return false
		}
	}
	return true
}

// AppendAccessLine appends the normalised NDJSON line (no newline) that an
// access row stands for, byte for byte as the pipeline spooled it: the schema
// fields in order, then the members of extra. row maps column names to nil,
// string, int64, or, for timestamp, int64 Unix milliseconds or a time.Time (as
// SQL drivers return it). Tests use it to compare Parquet objects with NDJSON.
func AppendAccessLine(dst []byte, row map[string]any) []byte {
	var e accesslog.Entry
	for id := accesslog.FieldID(0); id < accesslog.NumFields; id++ {
		f := &e.Fields[id]
		switch v := row[id.Name()].(type) {
		case string:
			*f = accesslog.Field{Kind: accesslog.String, Str: []byte(v)}
		case int64:
			*f = accesslog.Field{Kind: accesslog.Int, Int: v}
			if id == accesslog.Timestamp {
				*f = accesslog.Field{Kind: accesslog.String, Str: time.UnixMilli(v).UTC().AppendFormat(nil, timeLayout)}
			}
		case time.Time:
			*f = accesslog.Field{Kind: accesslog.String, Str: v.UTC().AppendFormat(nil, timeLayout)}
		}
	}
	start := len(dst)
	dst = e.AppendJSON(dst)
	if x, ok := row["extra"].(string); ok && len(x) > 2 && len(dst) > start {
		dst = append(append(dst[:len(dst)-1], ','), x[1:]...)
	}
	return dst
}

const timeLayout = "2006-01-02T15:04:05.000Z"
