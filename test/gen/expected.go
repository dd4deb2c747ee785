package gen

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// FieldNames is the normalised schema (the README's "What lands in S3") in output
// order. It is written out here on purpose, independently of the parser, so
// that tests compare the parser against a second opinion.
var FieldNames = [...]string{
	"timestamp", "kind", "method", "path", "protocol", "response_code",
	"grpc_status", "response_flags", "bytes_received", "bytes_sent",
	"duration_ms", "upstream_service_time_ms", "forwarded_for", "user_agent",
	"request_id", "authority", "upstream_host", "stream_id",
	"downstream_remote_address", "downstream_remote_port",
	"connection_termination_details", "connection_id",
	"ecs_cluster", "ecs_task_arn", "ecs_task_definition", "container_name",
	"source",
}

// NumFields is the number of schema fields.
const NumFields = len(FieldNames)

var fieldIndex = func() map[string]int {
	m := make(map[string]int, NumFields)
	for i, n := range FieldNames {
		m[n] = i
	}
	return m
}()

// KV is one key kept beyond the schema, in input order. Val is nil (null), a
// string, an int64, or json.RawMessage (written verbatim).
type KV struct {
	Key string
	Val any
}

// Expected is the normalised form a generated access line must produce.
type Expected struct {
	// Shape is the accesslog.Shape name the line must match ("text_http", ...).
	Shape string
	// Values holds each schema field: nil (null), string or int64.
	Values [NumFields]any
	Extra  []KV
}

// Set stores the value of the schema field name; it panics on an unknown
// name, which is a bug in the generator.
func (x *Expected) Set(name string, v any) {
	i, ok := fieldIndex[name]
	if !ok {
		panic("gen: unknown schema field " + name)
	}
	switch v := v.(type) {
	case nil, string, int64:
		x.Values[i] = v
	case int:
		x.Values[i] = int64(v)
	default:
		panic("gen: unsupported value type for " + name)
	}
}

// Get returns the value of the schema field name.
func (x *Expected) Get(name string) any { return x.Values[fieldIndex[name]] }

// AppendJSON renders the expected NDJSON object with encoding/json (HTML
// escaping off): the schema fields in order, then Extra.
func (x *Expected) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for i, name := range FieldNames {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONValue(dst, name)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, x.Values[i])
	}
	for _, kv := range x.Extra {
		dst = append(dst, ',')
		dst = appendJSONValue(dst, kv.Key)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, kv.Val)
	}
	return append(dst, '}')
}

func appendJSONValue(dst []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...)
	case int64:
		return strconv.AppendInt(dst, v, 10)
	case json.RawMessage:
		return append(dst, v...)
	case string:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			panic(err)
		}
		return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
	}
	panic("gen: unsupported value type")
}
