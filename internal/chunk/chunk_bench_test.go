package chunk

import (
	"fmt"
	"testing"
	"time"
)

const benchRecords = 1000

// benchChunk builds a FireLens chunk as Fluent Bit 2.1+ hands it to the
// plugin: n v2 events with EventTime stamps and a Service Connect TEXT access
// line (about 180 bytes) wrapped in the fluentd log driver's fields.
func benchChunk(n int) []byte {
	var data []byte
	base := time.Date(2025, 11, 11, 7, 40, 46, 0, time.UTC)
	for i := range n {
		ts := base.Add(time.Duration(i) * 1371 * time.Microsecond)
		line := fmt.Sprintf(`[%s] "GET /api/v1/orders/%06d HTTP/1.1" 200 0 1234 %d %d "-" "curl/8.11.1" "c13c6bc6-5a9e-4ee8-929d-%012x" "backend:8080" "10.0.1.23:8080"`,
			ts.Format("2006-01-02T15:04:05.000Z"), i, 3+i%7, 2+i%5, i)
		data = must(Encoder{}.AppendEvent(data, ts, nil, []KV{
			{"log", line},
			{"source", "stdout"},
			{"container_id", "2f1c3b7a9d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd"},
			{"container_name", "/ecs-backend-3-ecs-service-connect-AbCd-9a8b7c6d5e4f3a2b"},
			{"ecs_cluster", "prod"},
			{"ecs_task_arn", "arn:aws:ecs:ap-northeast-1:123456789012:task/prod/0123456789abcdef0123456789abcdef"},
			{"ecs_task_definition", "backend:3"},
		}))
	}
	return data
}

func reportRecords(b *testing.B, records int) {
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDecode iterates every event of a chunk and looks up "log", as the
// plugin's flush does before any further work.
func BenchmarkDecode(b *testing.B) {
	data := benchChunk(benchRecords)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var d Decoder
	var ev Event
	logBytes := 0
	for b.Loop() {
		d.Reset(data)
		n := 0
		for d.Next(&ev) {
			if v, ok := ev.Record.Get("log"); ok {
				logBytes += len(v.Bytes())
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

// BenchmarkJSONEncoder renders every record of a chunk as one NDJSON line.
func BenchmarkJSONEncoder(b *testing.B) {
	data := benchChunk(benchRecords)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var d Decoder
	var ev Event
	var e JSONEncoder
	buf := make([]byte, 0, 2*len(data))
	for b.Loop() {
		d.Reset(data)
		buf = buf[:0]
		for d.Next(&ev) {
			buf = e.AppendMap(buf, ev.Record)
			buf = append(buf, '\n')
		}
	}
	reportRecords(b, benchRecords)
}

// BenchmarkJSONEncoderFilter is BenchmarkJSONEncoder with a pass-through
// StringFilter: the cost of routing every string through redaction.
func BenchmarkJSONEncoderFilter(b *testing.B) {
	data := benchChunk(benchRecords)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var d Decoder
	var ev Event
	e := JSONEncoder{Filter: func(dst, s []byte) []byte { return append(dst, s...) }}
	buf := make([]byte, 0, 2*len(data))
	for b.Loop() {
		d.Reset(data)
		buf = buf[:0]
		for d.Next(&ev) {
			buf = e.AppendMap(buf, ev.Record)
			buf = append(buf, '\n')
		}
	}
	reportRecords(b, benchRecords)
}
