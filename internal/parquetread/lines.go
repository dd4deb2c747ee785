package parquetread

import (
	"time"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
)

// AppendAccessLine appends the normalised NDJSON line (no newline) that an
// access row stands for, byte for byte as the pipeline spooled it: the schema
// fields in order, then the members of extra. row maps column names to nil,
// string, int64, or, for timestamp, int64 Unix milliseconds (as Rows returns
// it) or a time.Time (as SQL drivers return it). Tests use it to compare
// Parquet objects with NDJSON.
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
