package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// gatedPut holds every upload until open is closed.
type gatedPut struct {
	memPut
	open chan struct{}
}

func (g *gatedPut) Put(ctx context.Context, key string, body delivery.Body) error {
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.memPut.Put(ctx, key, body)
}

// A chunk answered RETRY is counted when it is accepted, once, not at every
// attempt; saved_usd counts only what has reached S3.
func TestStatsCountAcceptedChunksOnce(t *testing.T) {
	for _, storeDir := range []string{"spool", "off"} {
		t.Run(storeDir, func(t *testing.T) {
			put := &gatedPut{open: make(chan struct{})}
			// The spool counts raw bytes (about 157 KB a chunk), memory compressed ones.
			kv := map[string]string{"total_file_size": "10K", "store_dir_limit_size": "400K"}
			if storeDir == "off" {
				kv["store_dir"], kv["store_dir_limit_size"] = "off", "40K"
			}
			p := newPipeline(t, kv, put)
			data := chunkOf(t, gen.New(3).Mixed(200))
			if retry, err := p.Flush(data, "tag"); retry || err != nil {
				t.Fatalf("first flush: retry=%v err=%v", retry, err)
			}
			first := p.Stats()
			redactions := p.redactor.Counts()
			if first.RecordsIn != 200 || redactions.Total() == 0 {
				t.Fatalf("after one accepted flush: records=%d redactions=%d", first.RecordsIn, redactions.Total())
			}
			accepted, refused := int64(1), int64(0)
			for i := 0; i < 8; i++ {
				if retry, _ := p.Flush(data, "tag"); retry {
					refused++
				} else {
					accepted++
				}
			}
			if refused == 0 {
				t.Fatal("no flush was refused; the test proves nothing")
			}
			s := p.Stats()
			if s.RecordsIn != accepted*first.RecordsIn || s.Access != accepted*first.Access || s.Other != accepted*first.Other ||
				s.LogBytes != accepted*first.LogBytes || s.RawBytes != accepted*first.RawBytes || p.redactor.Counts().Total() != uint64(accepted)*redactions.Total() {
				t.Fatalf("%d accepted and %d refused flushes:\nafter the first %+v\nnow %+v\nredactions %d -> %d", accepted, refused, first, s, redactions.Total(), p.redactor.Counts().Total())
			}
			if s.Backpressure != refused {
				t.Fatalf("backpressure=%d, want the %d refused flushes", s.Backpressure, refused)
			}
			if line := p.StatsLine(); !strings.Contains(line, "saved_usd=0.000000") || !strings.Contains(line, "stored_records=0 ") {
				t.Fatalf("nothing is stored yet, but: %s", line)
			}
			close(put.open)
			p.Close(context.Background())
			s = p.Stats()
			if s.StoredRecords != s.Access+s.Other || s.StoredRecords == 0 {
				t.Fatalf("stored_records=%d, want %d", s.StoredRecords, s.Access+s.Other)
			}
			if line := p.StatsLine(); strings.Contains(line, "saved_usd=0.000000") {
				t.Fatalf("stored, but nothing saved: %s", line)
			}
		})
	}
}

// Broken msgpack in the middle of a chunk loses the damaged event only: the events
// after it are stored, and the log says how many bytes were skipped where and about
// how many events were lost.
func TestDamagedChunkKeepsGoodEvents(t *testing.T) {
	var log syncBuf
	put := &memPut{}
	p := newPipelineLog(t, map[string]string{"compression": "none"}, put, &log)
	lines := gen.New(8).Mixed(1000)
	data := chunkOf(t, lines)
	// Find event 500 and put the unused type byte 0xc1 where it starts.
	var d chunk.Decoder
	var ev chunk.Event
	d.Reset(data)
	for i := 0; i <= 500 && d.Next(&ev); i++ {
	}
	at := d.Offset() - len(ev.Raw)
	bad := bytes.Clone(data)
	bad[at] = 0xc1
	if retry, err := p.Flush(bad, "tag"); retry || err != nil {
		t.Fatalf("flush: retry=%v err=%v", retry, err)
	}
	p.Close(context.Background())
	stored := 0
	for _, body := range put.objs {
		stored += bytes.Count(body, []byte("\n"))
	}
	if stored != 999 {
		t.Fatalf("stored %d of the 999 intact records", stored)
	}
	if s := p.Stats(); s.Bad != 1 || s.RecordsIn != 999 {
		t.Fatalf("bad=%d records=%d, want 1 and 999", s.Bad, s.RecordsIn)
	}
	if !strings.Contains(log.String(), "about 1 event(s) lost") || !strings.Contains(log.String(), "the 999 good event(s) around them are kept") {
		t.Fatalf("the loss is not reported:\n%s", log.String())
	}
}
