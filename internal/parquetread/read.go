// Package parquetread reads back the Parquet files internal/parquetenc writes,
// for tests and tools. It is its own package so that parquet-go's generic
// reader (and the codecs it registers) stays out of the plugin's .so, which
// only writes.
package parquetread

import (
	"bytes"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// Rows decodes every row of a flat Parquet file into a map keyed by column
// name: nil for null, int64 for integers and timestamps (Unix milliseconds),
// string for strings. cols are the file's columns in order.
func Rows(data []byte) (cols []string, rows []map[string]any, err error) {
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil, fmt.Errorf("parquetread: %w", err)
	}
	for _, fl := range f.Schema().Fields() {
		cols = append(cols, fl.Name())
	}
	r := parquet.NewReader(f)
	defer r.Close()
	buf := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			m := make(map[string]any, len(cols))
			for _, v := range row {
				name := cols[v.Column()]
				switch v.Kind() {
				case parquet.Int32:
					m[name] = int64(v.Int32())
				case parquet.Int64:
					m[name] = v.Int64()
				case parquet.ByteArray:
					m[name] = string(v.ByteArray())
				default:
					m[name] = nil
				}
				if v.IsNull() {
					m[name] = nil
				}
			}
			rows = append(rows, m)
		}
		if err == io.EOF {
			return cols, rows, nil
		}
		if err != nil {
			return cols, rows, fmt.Errorf("parquetread: %w", err)
		}
	}
}
