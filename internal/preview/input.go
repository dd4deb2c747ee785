package preview

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
)

// Kinds of input, as Read recognises them.
const (
	KindLines      = "lines"      // raw log lines (Service Connect TEXT or JSON, or anything)
	KindFireLens   = "firelens"   // FireLens / Fluent Bit records as JSON, one per line
	KindCloudWatch = "cloudwatch" // `aws logs filter-log-events` or `get-log-events` output
)

// MaxInput bounds what Read takes in, since a preview reads a sample into memory.
const MaxInput = 512 << 20

// ErrTooLarge means the input is larger than MaxInput: preview a sample of it.
var ErrTooLarge = errors.New("preview: input larger than 512 MiB; preview a sample (for example: head -n 100000 FILE)")

// Record is one input record, shaped as FireLens hands it to the plugin.
type Record struct {
	Line   int // 1-based line of the input (the event's index for a CloudWatch export)
	Time   time.Time
	Kind   string
	Fields []chunk.KV
}

// Read parses in and returns its records in order. Each line is judged on its own: a
// JSON object with the log key, FireLens metadata or Fluent Bit's "date" key is a
// record; Fluent Bit's `[ts, {record}]` arrays are records; anything else (TEXT or
// JSON access lines, the proxy's own lines) is a raw line, wrapped as Docker's log
// driver would wrap it. A document holding an "events" array is a CloudWatch Logs
// export, and each event's message is judged the same way. now stamps lines that
// carry no time of their own.
func Read(in io.Reader, logKey string, now time.Time) ([]Record, string, error) {
	data, err := io.ReadAll(io.LimitReader(in, MaxInput+1))
	if err != nil {
		return nil, "", fmt.Errorf("preview: reading input: %w", err)
	}
	if len(data) > MaxInput {
		return nil, "", ErrTooLarge
	}
	if events, ok := cloudWatchExport(data); ok {
		recs := make([]Record, 0, len(events))
		for i, e := range events {
			t := now
			if e.Timestamp > 0 {
				t = time.UnixMilli(e.Timestamp).UTC()
			}
			r := judge([]byte(e.Message), logKey, t)
			r.Line, r.Kind = i+1, KindCloudWatch
			recs = append(recs, r)
		}
		return recs, KindCloudWatch, nil
	}
	var recs []Record
	kind := KindLines
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), MaxInput)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		r := judge(line, logKey, now)
		r.Line = n
		if r.Kind == KindFireLens {
			kind = KindFireLens
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, "", fmt.Errorf("preview: reading input line %d: %w", n+1, err)
	}
	return recs, kind, nil
}

type cwEvent struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

// cloudWatchExport recognises the JSON that `aws logs filter-log-events` and
// `aws logs get-log-events` print: an object with an "events" array of messages.
func cloudWatchExport(data []byte) ([]cwEvent, bool) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 || t[0] != '{' || !bytes.Contains(t, []byte(`"events"`)) {
		return nil, false
	}
	var doc struct {
		Events *[]cwEvent `json:"events"`
	}
	if json.Unmarshal(t, &doc) != nil || doc.Events == nil {
		return nil, false
	}
	return *doc.Events, true
}

// fireLensKeys are keys only a FireLens (or Docker fluentd driver) record has.
var fireLensKeys = []string{"container_name", "container_id", "ecs_task_arn", "ecs_cluster", "ecs_task_definition"}

// judge turns one line into a record.
func judge(line []byte, logKey string, now time.Time) Record {
	t := bytes.TrimSpace(line)
	if len(t) > 0 && t[0] == '[' && t[len(t)-1] == ']' {
		if ts, kvs, ok := fluentBitArray(t); ok {
			if ts.IsZero() {
				ts = now
			}
			return Record{Time: ts, Kind: KindFireLens, Fields: kvs}
		}
	}
	if len(t) > 0 && t[0] == '{' {
		if kvs, err := decodeObject(t); err == nil && isFireLens(kvs, logKey) {
			ts := now
			kvs, ts = takeDate(kvs, ts)
			return Record{Time: ts, Kind: KindFireLens, Fields: kvs}
		}
	}
	return Record{Time: now, Kind: KindLines, Fields: []chunk.KV{
		{Key: logKey, Value: string(line)},
		{Key: "source", Value: "stdout"},
	}}
}

func isFireLens(kvs []chunk.KV, logKey string) bool {
	for _, kv := range kvs {
		if kv.Key == logKey || kv.Key == "date" {
			return true
		}
		for _, k := range fireLensKeys {
			if kv.Key == k {
				return true
			}
		}
	}
	return false
}

// takeDate removes Fluent Bit's json_lines "date" key (seconds, a float) and returns
// it as the record's time.
func takeDate(kvs []chunk.KV, def time.Time) ([]chunk.KV, time.Time) {
	for i, kv := range kvs {
		if kv.Key != "date" {
			continue
		}
		if ts, ok := secondsTime(kv.Value); ok {
			return append(kvs[:i:i], kvs[i+1:]...), ts
		}
	}
	return kvs, def
}

// fluentBitArray reads `[ts, {record}]` or `[[ts, {meta}], {record}]`.
func fluentBitArray(t []byte) (time.Time, []chunk.KV, bool) {
	var parts []json.RawMessage
	if json.Unmarshal(t, &parts) != nil || len(parts) != 2 {
		return time.Time{}, nil, false
	}
	rec, err := decodeObject(parts[1])
	if err != nil {
		return time.Time{}, nil, false
	}
	head := parts[0]
	var hdr []json.RawMessage
	if json.Unmarshal(head, &hdr) == nil && len(hdr) >= 1 {
		head = hdr[0]
	}
	var v any
	if err := jsonNumberDecode(head, &v); err != nil {
		return time.Time{}, nil, false
	}
	ts, _ := secondsTime(v)
	return ts, rec, true
}

func secondsTime(v any) (time.Time, bool) {
	var f float64
	switch n := v.(type) {
	case int64:
		f = float64(n)
	case float64:
		f = n
	case json.Number:
		x, err := n.Float64()
		if err != nil {
			return time.Time{}, false
		}
		f = x
	default:
		return time.Time{}, false
	}
	if f <= 0 || f > 253402300799 || math.IsNaN(f) {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

func jsonNumberDecode(b []byte, v *any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// decodeObject decodes a JSON object into msgpack-ready pairs, keeping key order
// (the plugin sees keys in the order the record has them).
func decodeObject(b []byte) ([]chunk.KV, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := decodeValue(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	kvs, ok := v.([]chunk.KV)
	if !ok {
		return nil, errors.New("not an object")
	}
	return kvs, nil
}

func decodeValue(d *json.Decoder) (any, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			kvs := []chunk.KV{}
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeValue(d)
				if err != nil {
					return nil, err
				}
				kvs = append(kvs, chunk.KV{Key: k.(string), Value: v})
			}
			_, err := d.Token()
			return kvs, err
		case '[':
			arr := []any{}
			for d.More() {
				v, err := decodeValue(d)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := d.Token()
			return arr, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		if i, err := t.Int64(); err == nil && !strings.ContainsAny(t.String(), ".eE") {
			return i, nil
		}
		f, err := t.Float64()
		return f, err
	default:
		return t, nil // string, bool, nil
	}
}
