package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
)

// fakeClock is a settable Options.Now, so timeouts need no sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newPartialPipeline(t *testing.T, kv map[string]string, put *memPut, clk *fakeClock) *Pipeline {
	t.Helper()
	g := mapGetter{"bucket": "test-bucket", "region": "us-east-1", "store_dir": t.TempDir(), "compression": "none"}
	for k, v := range kv {
		g[k] = v
	}
	cfg, err := config.Parse(g, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(io.Discard, "t", flblog.Error), Putter: put, Now: clk.now, PartialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// longAccessLine is a Service Connect TEXT line of about 40 KiB whose query carries a
// JWT cut by Docker's 16 KiB boundary.
func longAccessLine() (line, jwt string) {
	jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	pad := strings.Repeat("x", chunkgen.DockerPartSize-len(`[2026-11-24T10:00:00.000Z] "GET /search?q=`)-20)
	line = `[2026-11-24T10:00:00.000Z] "GET /search?q=` + pad + `&id_token=` + jwt + `&more=` + strings.Repeat("y", 24000) +
		` HTTP/1.1" 200 0 11 1 1 "-" "curl/8" "req-long" "backend" "10.0.0.1:80"`
	return line, jwt
}

func flushRecs(t *testing.T, p *Pipeline, recs [][]chunk.KV) {
	t.Helper()
	data, err := chunkgen.Records(chunk.Encoder{}, recs, time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if retry, err := p.Flush(data, chunkgen.DefaultTask().Tag()); retry || err != nil {
		t.Fatalf("flush: %v %v", retry, err)
	}
}

// objects returns every line written, by key prefix (access, other).
func objects(put *memPut) (access, other []string) {
	put.mu.Lock()
	defer put.mu.Unlock()
	for key, body := range put.objs {
		for _, l := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
			if strings.HasPrefix(key, "envoy-access-logs/") {
				access = append(access, l)
			} else {
				other = append(other, l)
			}
		}
	}
	return access, other
}

// A long access line split by Docker, its pieces in one flush or in two: recognised as
// one access log, and the secret cut at the boundary redacted.
func TestPartialReassembledThenRecognisedAndRedacted(t *testing.T) {
	line, jwt := longAccessLine()
	task := chunkgen.DefaultTask()
	pieces := task.Pieces([]byte(line), "stdout", "0123abcd", chunkgen.DockerPartSize)
	if len(pieces) != 3 {
		t.Fatalf("%d pieces", len(pieces))
	}
	normal := task.Record([]byte("[2025-11-04 06:49:07.518][15][info][main] proxy line"), "stderr")
	for name, flushes := range map[string][][][]chunk.KV{
		"one flush":    {{pieces[0], normal, pieces[1], pieces[2]}},
		"two flushes":  {{pieces[0], normal}, {pieces[1]}, {pieces[2]}},
		"out of order": {{pieces[2], pieces[0]}, {normal, pieces[1]}},
	} {
		t.Run(name, func(t *testing.T) {
			put := &memPut{}
			p := newPartialPipeline(t, nil, put, &fakeClock{t: time.Now()})
			for _, f := range flushes {
				flushRecs(t, p, f)
			}
			p.Close(context.Background())
			access, other := objects(put)
			if len(access) != 1 || len(other) != 1 {
				t.Fatalf("want 1 access and 1 other line, got %d and %d", len(access), len(other))
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(access[0]), &rec); err != nil {
				t.Fatal(err)
			}
			path, _ := rec["path"].(string)
			if rec["kind"] != "http" || rec["request_id"] != "req-long" || !strings.Contains(path, "&id_token=[REDACTED]&more=") {
				t.Errorf("not the normalised whole line: kind=%v request_id=%v path[...]=%q", rec["kind"], rec["request_id"], path[len(path)-40:])
			}
			for _, frag := range []string{jwt[:20], jwt[len(jwt)-20:], "partial_"} {
				if strings.Contains(access[0], frag) || strings.Contains(other[0], frag) {
					t.Errorf("%q was written", frag)
				}
			}
			if s := p.StatsLine(); !strings.Contains(s, "partial_pieces=3 partial_joined=1 partial_as_is=0 partial_held=0") {
				t.Errorf("stats line: %s", s)
			}
		})
	}
}

// Pieces whose siblings never come are written as they came once Timeout passed
// (never before, never dropped), and counted; pieces still waiting at exit are
// written then.
func TestPartialOrphansWrittenAsTheyCame(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	put := &memPut{}
	p := newPartialPipeline(t, nil, put, clk)
	task := chunkgen.DefaultTask()
	a := task.Pieces([]byte(strings.Repeat("a", 40000)), "stdout", "aaaa", chunkgen.DockerPartSize)
	b := task.Pieces([]byte(strings.Repeat("b", 40000)), "stdout", "bbbb", chunkgen.DockerPartSize)
	flushRecs(t, p, [][]chunk.KV{a[0], a[1]}) // a's last piece never comes
	clk.add(9 * time.Second)
	p.expirePartials(false)
	flushRecs(t, p, [][]chunk.KV{b[0]}) // b waits at exit
	if s := p.partials.Stats(); s.Held != 3 || s.AsIs != 0 {
		t.Fatalf("before the timeout: %+v", s)
	}
	clk.add(2 * time.Second)
	p.expirePartials(false)
	if s := p.partials.Stats(); s.Held != 1 || s.AsIs != 2 {
		t.Fatalf("after the timeout: %+v", s)
	}
	p.Close(context.Background())
	access, other := objects(put)
	if len(access) != 0 || len(other) != 3 {
		t.Fatalf("want 3 pieces written as they came, got %d access and %d other", len(access), len(other))
	}
	var got []string
	for _, l := range other {
		var rec map[string]any
		json.Unmarshal([]byte(l), &rec)
		got = append(got, rec["partial_id"].(string)+"#"+rec["partial_ordinal"].(string))
		if !bytes.Contains([]byte(l), []byte(`"partial_message":"true"`)) {
			t.Errorf("piece lost its keys: %.200s", l)
		}
	}
	if strings.Join(sortedCopy(got), ",") != "aaaa#1,aaaa#2,bbbb#1" {
		t.Errorf("written: %v", got)
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// With store_dir off the same rules hold, in memory.
func TestPartialStoreDirOff(t *testing.T) {
	line, jwt := longAccessLine()
	put := &memPut{}
	p := newPartialPipeline(t, map[string]string{"store_dir": "off"}, put, &fakeClock{t: time.Now()})
	pieces := chunkgen.DefaultTask().Pieces([]byte(line), "stdout", "id", chunkgen.DockerPartSize)
	flushRecs(t, p, pieces[:1])
	flushRecs(t, p, pieces[1:])
	p.Close(context.Background())
	access, _ := objects(put)
	if len(access) != 1 || strings.Contains(access[0], jwt[:20]) {
		t.Fatalf("store_dir off: %d access lines", len(access))
	}
}

// BenchmarkFlushPartial: a flush of 1,000 records of which 1% are split lines, each
// in three pieces.
func BenchmarkFlushPartial(b *testing.B) {
	p := newPipeline(b, map[string]string{"compression": "gzip"}, nopPut{})
	task := chunkgen.DefaultTask()
	line, _ := longAccessLine()
	var recs [][]chunk.KV
	for i := range 1000 {
		if i%100 == 0 {
			recs = append(recs, task.Pieces([]byte(line), "stdout", "id"+string(rune('a'+i/100)), chunkgen.DockerPartSize)...)
			continue
		}
		recs = append(recs, task.Record([]byte(`[2026-11-24T10:00:00.000Z] "GET /api/v1/orders?page=2 HTTP/1.1" 200 0 11 1 1 "-" "curl/8" "req" "backend" "10.0.0.1:80"`), "stdout"))
	}
	data, _ := chunkgen.Records(chunk.Encoder{}, recs, time.Now())
	benchChunk(b, p, data, len(recs))
}
