package pipeline

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
)

// poisonChunk holds good records around records whose event time is no usable
// time, in both event forms: milliseconds sent as seconds (int and float), beyond
// year 9999, negative, NaN, an EventTime of the wrong size, a string.
func poisonChunk(t *testing.T, meta map[string]string) (data []byte, records int) {
	t.Helper()
	times := [][]byte{
		chunk.AppendInt(nil, 1764640000000), // milliseconds as seconds: year 57888
		chunk.AppendUint(nil, math.MaxUint64),
		chunk.AppendFloat(nil, 1764640000000.25),
		chunk.AppendInt(nil, chunk.MaxUnix+1),
		chunk.AppendInt(nil, -5),
		chunk.AppendFloat(nil, math.NaN()),
		chunk.AppendFloat(nil, math.Inf(-1)),
		chunk.AppendExt(nil, 0, []byte{0, 0, 0, 1}),
		chunk.AppendString(nil, "2026-11-24T10:00:00Z"),
	}
	good := chunk.AppendEventTimeRaw(nil, uint32(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC).Unix()), 0)
	rec := func(i int) []byte {
		kv := []chunk.KV{{Key: "log", Value: "app line " + strings.Repeat("x", i)}, {Key: "source", Value: "stdout"}}
		for k, v := range meta {
			kv = append(kv, chunk.KV{Key: k, Value: v})
		}
		b, err := chunk.AppendAny(nil, kv)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, form := range []chunk.Form{chunk.FormV2, chunk.FormLegacy} {
		enc := chunk.Encoder{Form: form}
		for _, ts := range times {
			data = enc.AppendEventRaw(data, good, nil, rec(records))
			data = enc.AppendEventRaw(data, ts, nil, rec(records+1))
			records += 2
		}
	}
	return data, records
}

// A record whose event time is unusable is stored with its time of arrival and
// counted; the chunk is accepted with every record, never refused (RETRY forever
// under Retry_Limit no_limits) and never cut short.
func TestUnusableEventTimesAreStoredWithArrivalTime(t *testing.T) {
	for _, storeDir := range []string{"spool", "off"} {
		t.Run(storeDir, func(t *testing.T) {
			var log syncBuf
			put := &memPut{}
			kv := map[string]string{"compression": "none", "other_key_format": "k/%Y/%m/%d/$UUID"}
			if storeDir == "off" {
				kv["store_dir"] = "off"
			}
			p := newPipelineLog(t, kv, put, &log)
			arrival := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
			p.now = func() time.Time { return arrival }
			data, records := poisonChunk(t, nil)
			for i := 0; i < 2; i++ {
				if retry, err := p.Flush(data, "app-firelens-0123"); retry || err != nil {
					t.Fatalf("flush %d: retry=%v err=%v", i, retry, err)
				}
			}
			p.Close(context.Background())
			lines := 0
			arrived := 0
			for key, body := range put.objs {
				n := bytes.Count(body, []byte("\n"))
				lines += n
				if strings.HasPrefix(key, "k/2031/05/06/") {
					arrived += n
				}
			}
			if lines != 2*records || arrived != records {
				t.Fatalf("stored %d lines (%d under the arrival date), want %d (%d): %v", lines, arrived, 2*records, records, keys(put))
			}
			s := p.Stats()
			if s.BadTime != int64(records) || s.RecordsIn != int64(2*records) || s.Bad != 0 {
				t.Fatalf("stats: bad_time=%d records=%d bad=%d, want %d, %d, 0", s.BadTime, s.RecordsIn, s.Bad, records, 2*records)
			}
			if n := strings.Count(log.String(), "time of arrival"); n != 1 {
				t.Fatalf("want the replacement logged once, got %d:\n%s", n, log.String())
			}
			if !strings.Contains(log.String(), "1764640000000 (integer seconds)") {
				t.Fatalf("the log line does not show the first bad time:\n%s", log.String())
			}
		})
	}
}

// A record with absurdly long metadata (a cluster name of 40 KB, a tag of 30 KB, a
// container name of control characters) is stored like any other: its batch's
// description stays small enough for the spool.
func TestAbsurdMetadataIsStored(t *testing.T) {
	put := &memPut{}
	p := newPipeline(t, map[string]string{"compression": "none", "other_logs": "s3",
		"other_key_format": "o/$CLUSTER/$TAG/$FAMILY/$UUID"}, put)
	meta := map[string]string{
		"ecs_cluster":         strings.Repeat("é", 20_000),
		"ecs_task_definition": strings.Repeat("f", 30_000) + ":1",
		"container_name":      strings.Repeat("\x01", 10_000),
	}
	data, records := poisonChunk(t, meta)
	tag := strings.Repeat("t", 30_000)
	if retry, err := p.Flush(data, tag); retry || err != nil {
		t.Fatalf("flush: retry=%v err=%v", retry, err)
	}
	p.Close(context.Background())
	lines := 0
	for key, body := range put.objs {
		lines += bytes.Count(body, []byte("\n"))
		if len(key) > 1024 {
			t.Errorf("key of %d bytes", len(key))
		}
	}
	if lines != records {
		t.Fatalf("stored %d of %d records", lines, records)
	}
}

func keys(m *memPut) []string {
	var out []string
	for k := range m.objs {
		out = append(out, k)
	}
	return out
}

func newPipelineLog(t *testing.T, kv map[string]string, put *memPut, log *syncBuf) *Pipeline {
	t.Helper()
	p := newPipeline(t, kv, put)
	p.log = flblog.NewWriter(log, "t", flblog.Info)
	return p
}

// A record whose content makes processing panic (a bug) loses that record only: the
// rest of the chunk is stored and the flush answers OK, instead of RETRY at every
// attempt (the panic would strike again each time).
func TestPanickingRecordLosesOnlyItself(t *testing.T) {
	var log syncBuf
	put := &memPut{}
	p := newPipelineLog(t, map[string]string{"compression": "none"}, put, &log)
	p.recordHook = func(ev *chunk.Event) {
		if v, ok := ev.Record.Get("log"); ok && strings.Contains(string(v.Bytes()), "xxxxxxx") {
			panic("boom")
		}
	}
	data, records := poisonChunk(t, nil) // record i has i x's: records 7 and up panic
	if retry, err := p.Flush(data, "tag"); retry || err != nil {
		t.Fatalf("flush: retry=%v err=%v", retry, err)
	}
	p.Close(context.Background())
	stored := 0
	for _, body := range put.objs {
		stored += bytes.Count(body, []byte("\n"))
	}
	if stored != 7 || p.Stats().Bad != int64(records-7) {
		t.Fatalf("stored %d records, bad=%d; want 7 and %d", stored, p.Stats().Bad, records-7)
	}
	if !strings.Contains(log.String(), "internal error on") || !strings.Contains(log.String(), "boom") {
		t.Fatalf("the loss is not reported:\n%s", log.String())
	}
}
