package pipeline

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func healthPipeline(t *testing.T, kv map[string]string, put delivery.Putter, c *clock) *Pipeline {
	t.Helper()
	g := mapGetter{"bucket": "test-bucket", "region": "us-east-1", "store_dir": t.TempDir(), "stats_interval": "0"}
	for k, v := range kv {
		g[k] = v
	}
	cfg, err := config.Parse(g, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(io.Discard, "t", flblog.Error), Putter: put, Now: c.now, SlowRetry: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func field(line, key string) string {
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// The stats line's health field names each problem of its interval (refused
// flushes, a batch waiting more than twice upload_timeout), and the interval's
// health series counts what happened since the previous line.
func TestHealthOfAnInterval(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	put := &gatedPut{open: make(chan struct{})}
	p := healthPipeline(t, map[string]string{"total_file_size": "10K", "store_dir_limit_size": "400K", "upload_timeout": "1m"}, put, c)
	defer func() { close(put.open); p.Close(context.Background()) }()
	data := chunkOf(t, gen.New(3).Mixed(200))
	if retry, err := p.Flush(data, "tag"); retry || err != nil {
		t.Fatalf("flush: retry=%v err=%v", retry, err)
	}
	line, h := p.statsLine()
	if field(line, "health") != "ok" || h.RecordsIn != 200 || h.Backpressure != 0 || h.SpoolBytes == 0 || field(line, "refused_uploads") != "0" {
		t.Fatalf("one accepted flush: %+v\n%s", h, line)
	}
	refused := int64(0)
	for range 8 {
		if retry, _ := p.Flush(data, "tag"); retry {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("no flush was refused; the test proves nothing")
	}
	line, h = p.statsLine()
	if field(line, "health") != healthRefused || h.Backpressure != refused || h.RecordsIn != (8-refused)*200 {
		t.Fatalf("%d refused flushes: %+v\n%s", refused, h, line)
	}
	line, h = p.statsLine()
	if field(line, "health") != "ok" || h.Backpressure != 0 || h.RecordsIn != 0 {
		t.Fatalf("an interval without flushes: %+v\n%s", h, line)
	}
	c.add(2*time.Minute + time.Second) // uploads are held: the first batch now waits for 121 s
	line, h = p.statsLine()
	if field(line, "health") != healthStalled || h.OldestBatchAge < 2*time.Minute || field(line, "oldest_batch_age_s") != "121" {
		t.Fatalf("a batch waiting 121 s with upload_timeout 1m: %+v\n%s", h, line)
	}
}

// Uploads refused with an error the user must fix are counted apart from other
// failed attempts, and name the interval's health.
func TestHealthCountsRefusedUploads(t *testing.T) {
	c := &clock{t: time.Now()}
	p := healthPipeline(t, map[string]string{"upload_timeout": "1s"}, worldPut{w: &world{}, bucket: "gone"}, c)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		p.Close(ctx) // the bucket never comes: the batch stays in store_dir
	}()
	if retry, err := p.Flush(chunkOf(t, gen.New(4).Mixed(50)), "tag"); retry || err != nil {
		t.Fatalf("flush: retry=%v err=%v", retry, err)
	}
	c.add(2 * time.Second) // the batch is sealed at the next tick and refused
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats().Refused == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no refused upload counted: %+v", p.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	line, h := p.statsLine()
	if !strings.Contains(field(line, "health"), healthRejected) || h.RefusedUploads == 0 || h.Retries < h.RefusedUploads || field(line, "refused_uploads") == "0" {
		t.Fatalf("refused uploads: %+v\n%s", h, line)
	}
}
