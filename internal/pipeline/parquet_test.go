package pipeline

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/adopt"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/parquetenc"
	"github.com/envoy-s3/envoy_s3/internal/parquetread"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// With format parquet, access logs and other records land as Parquet files of
// their schemas, with every record, in both stores; the other records carry
// their event time.
func TestParquetObjects(t *testing.T) {
	for _, storeDir := range []string{t.TempDir(), "off"} {
		t.Run(map[bool]string{true: "memory", false: "spool"}[storeDir == "off"], func(t *testing.T) {
			put := &memPut{}
			p := newPipeline(t, map[string]string{"format": "parquet", "compression": "snappy", "store_dir": storeDir}, put)
			lines := gen.New(9).Mixed(800)
			if retry, err := p.Flush(chunkOf(t, lines), chunkgen.DefaultTask().Tag()); err != nil || retry {
				t.Fatalf("flush: retry=%v err=%v", retry, err)
			}
			p.Close(context.Background())
			wantAccess := 0
			for _, l := range lines {
				if l.IsAccess {
					wantAccess++
				}
			}
			if len(put.objs) != 2 {
				t.Fatalf("%d objects, want 2", len(put.objs))
			}
			start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC).UnixMilli() // chunkOf's first event time
			for key, body := range put.objs {
				if !strings.HasSuffix(key, ".parquet") {
					t.Errorf("key %s", key)
				}
				cols, rows, err := parquetread.Rows(body)
				if err != nil {
					t.Fatal(err)
				}
				s, ok := parquetenc.SchemaOf(cols)
				if !ok {
					t.Fatalf("%s: columns %v", key, cols)
				}
				var ts []int64
				for _, r := range rows {
					ts = append(ts, r["timestamp"].(int64))
				}
				if !slices.IsSorted(ts) {
					t.Errorf("%s: rows not sorted by timestamp", key)
				}
				switch {
				case strings.HasPrefix(key, "envoy-access-logs/"):
					if s != parquetenc.Access || len(rows) != wantAccess {
						t.Errorf("access: schema %d, %d rows, want %d", s, len(rows), wantAccess)
					}
				default:
					if s != parquetenc.Other || len(rows) != len(lines)-wantAccess {
						t.Errorf("other: schema %d, %d rows, want %d", s, len(rows), len(lines)-wantAccess)
					}
					for _, r := range rows {
						if ms := r["timestamp"].(int64); ms < start || ms >= start+int64(len(lines)) || r["ecs_cluster"] != "prod" {
							t.Fatalf("other row %v", r)
						}
					}
				}
			}
		})
	}
}

// failPut refuses every upload, so batches stay in store_dir.
type failPut struct{}

func (failPut) Put(context.Context, string, delivery.Body) error { return errors.New("unavailable") }

// A batch keeps the format it was spooled in: batches sealed as Parquet stay
// Parquet after a restart with format json_lines, and the other way round.
func TestFormatChangeKeepsSpooledFormat(t *testing.T) {
	for _, c := range []struct{ before, after, ext string }{
		{"parquet", "json_lines", ".parquet"},
		{"json_lines", "parquet", ".ndjson.gz"},
	} {
		t.Run(c.before, func(t *testing.T) {
			dir := t.TempDir()
			p := newPipeline(t, map[string]string{"store_dir": dir, "format": c.before}, failPut{})
			p.Flush(chunkOf(t, gen.New(3).Mixed(300)), "tag")
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			p.Close(ctx)
			cancel()
			put := &memPut{}
			p = newPipeline(t, map[string]string{"store_dir": dir, "format": c.after}, put)
			p.Close(context.Background())
			if len(put.objs) != 2 {
				t.Fatalf("%d objects after restart, want 2", len(put.objs))
			}
			for key, body := range put.objs {
				if !strings.HasSuffix(key, c.ext) {
					t.Errorf("key %s, want %s", key, c.ext)
				}
				_, _, err := parquetread.Rows(body)
				if isParquet := err == nil; isParquet != (c.ext == ".parquet") {
					t.Errorf("%s: body is parquet: %v", key, isParquet)
				}
			}
		})
	}
}

// A stranded spool directory of a Parquet instance with a codec only Parquet has
// is adopted by an instance writing json_lines: its record names the format, so
// its batches still arrive as Parquet in their bucket.
func TestStrandedParquetSpoolKeepsItsFormat(t *testing.T) {
	w := &world{}
	root := t.TempDir()
	w.acknowledge(t, root, map[string]string{"bucket": "logs", "s3_key_format": "old/$UUID", "format": "parquet", "compression": "snappy"}, 400)
	w.create("logs")
	w.create("new-logs")
	var log syncBuf
	p := w.start(t, root, &adopt.Registry{}, &log, map[string]string{"bucket": "new-logs", "s3_key_format": "new/$UUID"})
	p.Flush(chunkOf(t, gen.New(10).Mixed(10)), chunkgen.DefaultTask().Tag())
	rows := func() (n int) {
		w.mu.Lock()
		b := w.buckets["logs"]
		w.mu.Unlock()
		b.mu.Lock()
		defer b.mu.Unlock()
		for key, body := range b.objs {
			if strings.HasPrefix(key, "old/") && strings.HasSuffix(key, ".parquet") {
				if _, r, err := parquetread.Rows(body); err == nil {
					n += len(r)
				}
			}
		}
		return n
	}
	waitFor(t, "the adopted Parquet records", &log, func() bool { return rows() > 0 })
	p.Close(context.Background())
	access := 0
	for _, l := range gen.New(9).Mixed(400) {
		if l.IsAccess {
			access++
		}
	}
	if got := rows(); got != access {
		t.Fatalf("%d access rows in Parquet objects, want %d", got, access)
	}
}
