package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"github.com/envoy-s3/envoy_s3/test/cputime"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/cwlogs"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/internal/s3sink"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// memPut keeps uploaded objects in memory.
type memPut struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func (m *memPut) Put(_ context.Context, key string, body delivery.Body) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objs == nil {
		m.objs = map[string][]byte{}
	}
	b, err := delivery.ReadAll(body)
	if err != nil {
		return err
	}
	m.objs[key] = append([]byte(nil), b...)
	return nil
}

type mapGetter map[string]string

func (g mapGetter) Get(k string) string { return g[k] }

func newPipeline(tb testing.TB, kv map[string]string, put delivery.Putter) *Pipeline {
	tb.Helper()
	g := mapGetter{"bucket": "test-bucket", "region": "us-east-1", "store_dir": tb.TempDir()}
	for k, v := range kv {
		g[k] = v
	}
	cfg, err := config.Parse(g, nil, func(string) string { return "" })
	if err != nil {
		tb.Fatal(err)
	}
	p, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(io.Discard, "t", flblog.Error), Putter: put})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func chunkOf(tb testing.TB, lines []gen.Labeled) []byte {
	tb.Helper()
	data, err := chunkgen.Chunk(chunk.Encoder{}, chunkgen.DefaultTask(), lines, time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func TestFlushRoutesAndRedacts(t *testing.T) {
	put := &memPut{}
	p := newPipeline(t, map[string]string{"compression": "gzip"}, put)
	lines := gen.New(5).Mixed(600)
	if retry, err := p.Flush(chunkOf(t, lines), chunkgen.DefaultTask().Tag()); err != nil || retry {
		t.Fatalf("flush: retry=%v err=%v", retry, err)
	}
	p.Close(context.Background())
	s := p.Stats()
	if s.RecordsIn != 600 || s.Access+s.Other != 600 || s.Objects != 2 {
		t.Fatalf("stats %+v", s)
	}
	var access, other int
	for key, body := range put.objs {
		plain, err := compress.Decode(compress.Gzip, body)
		if err != nil {
			t.Fatal(err)
		}
		n := bytes.Count(plain, []byte("\n"))
		switch {
		case strings.HasPrefix(key, "envoy-access-logs/"):
			access += n
		case strings.HasPrefix(key, "envoy-other-logs/"):
			other += n
		default:
			t.Errorf("unexpected key %s", key)
		}
		// gen plants JWTs and signed URLs; the default rules must have removed them.
		for _, secret := range []string{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0", "X-Amz-Signature=0f1e"} {
			if bytes.Contains(plain, []byte(secret)) {
				t.Errorf("%s still holds %q", key, secret)
			}
		}
	}
	if int64(access) != s.Access || int64(other) != s.Other {
		t.Fatalf("objects hold %d access and %d other lines, stats say %d and %d", access, other, s.Access, s.Other)
	}
}

func TestOtherLogsDrop(t *testing.T) {
	put := &memPut{}
	p := newPipeline(t, map[string]string{"other_logs": "drop"}, put)
	lines := gen.New(9).Mixed(300)
	p.Flush(chunkOf(t, lines), "tag")
	p.Close(context.Background())
	for key := range put.objs {
		if !strings.HasPrefix(key, "envoy-access-logs/") {
			t.Errorf("other_logs drop wrote %s", key)
		}
	}
	if s := p.Stats(); s.Dropped == 0 || s.Other != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// blockingPut never finishes, so the backlog grows until backpressure.
type blockingPut struct{}

func (blockingPut) Put(ctx context.Context, _ string, _ delivery.Body) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestBackpressureAnswersRetry(t *testing.T) {
	for _, storeDir := range []string{t.TempDir(), "off"} {
		t.Run(map[bool]string{true: "memory", false: "spool"}[storeDir == "off"], func(t *testing.T) {
			g := mapGetter{"bucket": "test-bucket", "region": "us-east-1", "store_dir": storeDir,
				"total_file_size": "10K", "store_dir_limit_size": "40K"}
			cfg, err := config.Parse(g, nil, func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(io.Discard, "t", flblog.Error), Putter: blockingPut{}})
			if err != nil {
				t.Fatal(err)
			}
			data := chunkOf(t, gen.New(1).Mixed(200))
			retried := false
			for i := 0; i < 50 && !retried; i++ {
				retry, err := p.Flush(data, "tag")
				if err != nil && !retry {
					t.Fatalf("flush failed without retry: %v", err)
				}
				retried = retry
			}
			if !retried {
				t.Fatal("a stalled upload never caused RETRY")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			p.Close(ctx)
		})
	}
}

// count is the number of objects stored so far.
func (m *memPut) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.objs)
}

// upload_timeout seals a batch by the age of its first record, before any exit.
func TestUploadTimeoutSealsByAge(t *testing.T) {
	for _, storeDir := range []string{t.TempDir(), "off"} {
		t.Run(map[bool]string{true: "memory", false: "spool"}[storeDir == "off"], func(t *testing.T) {
			put := &memPut{}
			p := newPipeline(t, map[string]string{"store_dir": storeDir, "upload_timeout": "1s"}, put)
			defer p.Close(context.Background())
			p.Flush(chunkOf(t, gen.New(6).Mixed(100)), "tag")
			deadline := time.Now().Add(10 * time.Second)
			for put.count() < 2 {
				if time.Now().After(deadline) {
					t.Fatalf("%d objects after 10 s with upload_timeout 1s, want 2 (access and other)", put.count())
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// BenchmarkFlush is the whole per-record cost inside Fluent Bit's flush call:
// decode, recognise, normalise, redact (default rules), encode and compress, with a
// no-op upload. ns/record is the number to hold against the 5 µs budget.
func BenchmarkFlush(b *testing.B) {
	for _, codec := range []string{"gzip", "zstd"} {
		b.Run(codec, func(b *testing.B) { benchFlush(b, map[string]string{"compression": codec}) })
	}
}

// benchFlush flushes the same 1,000-record chunk b.N times through a pipeline
// configured by kv and reports the time and CPU per record.
func benchFlush(b *testing.B, kv map[string]string) {
	lines := gen.New(42).Mixed(1000)
	benchChunk(b, newPipeline(b, kv, nopPut{}), chunkOf(b, lines), len(lines))
}

// benchChunk flushes data (records records) b.N times through p, reporting the time
// and CPU per record, and closes p.
func benchChunk(b *testing.B, p *Pipeline, data []byte, records int) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	p.Flush(data, "warm-up") // partitions (and metrics series) exist from here on
	b.ResetTimer()
	cpu0 := cputime.Process()
	for i := 0; i < b.N; i++ {
		p.Flush(data, "ecs-service-connect-AbCd-firelens-0123456789abcdef0123456789abcdef")
	}
	cpu := cputime.Process() - cpu0
	b.StopTimer()
	n := float64(b.N * records)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/record")
	p.Close(context.Background())
}

type nopPut struct{}

func (nopPut) Put(context.Context, string, delivery.Body) error { return nil }

// Detectors run over what a client sent, not over values Envoy writes itself: a
// 19-digit stream id that passes Luhn is not a card number.
func TestDetectorsSkipEnvoyGeneratedFields(t *testing.T) {
	put := &memPut{}
	p := newPipeline(t, map[string]string{"compression": "none", "other_logs": "drop"}, put)
	const card = "4111111111111111"
	line := `[2026-11-24T10:00:00.000Z] "POST /pay?card=` + card + ` HTTP/2" 200 0 11 1 1 "-" "agent card ` + card + `" "req" "backend" "10.0.0.1:80" "4111111111111111110"`
	data, err := chunkgen.Chunk(chunk.Encoder{}, chunkgen.DefaultTask(), []gen.Labeled{{Line: []byte(line), IsAccess: true}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p.Flush(data, "tag")
	p.Close(context.Background())
	if len(put.objs) != 1 {
		t.Fatalf("want one object, got %d", len(put.objs))
	}
	for _, body := range put.objs {
		for _, want := range []string{`"stream_id":"4111111111111111110"`, `"path":"/pay?card=[REDACTED]"`, `"user_agent":"agent card [REDACTED]"`} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("object lacks %s:\n%s", want, body)
			}
		}
	}
}

func TestStatsLineCountsAndCosts(t *testing.T) {
	lines := gen.New(5).Mixed(400)
	line := func(region, price string) string {
		put := &memPut{}
		kv := map[string]string{"region": region}
		if price != "" {
			kv["cloudwatch_price_per_gb"] = price
		}
		p := newPipeline(t, kv, put)
		p.Flush(chunkOf(t, lines), "tag")
		p.Close(context.Background())
		return p.StatsLine()
	}
	us, tokyo, custom := line("us-east-1", ""), line("ap-northeast-1", ""), line("us-east-1", "5")
	for _, want := range []string{"records=400 ", "objects=2 ", "redactions=", "query_param=", "cloudwatch_usd=", "saved_usd="} {
		if !strings.Contains(us, want) {
			t.Errorf("stats line lacks %q: %s", want, us)
		}
	}
	cw := func(l string) string { return strings.Fields(l[strings.Index(l, "cloudwatch_usd="):])[0] }
	if cw(us) == cw(tokyo) || cw(us) == cw(custom) {
		t.Errorf("region or cloudwatch_price_per_gb did not change the estimate: %s / %s / %s", cw(us), cw(tokyo), cw(custom))
	}
	// The line never carries record content: gen plants this JWT in query strings.
	if strings.Contains(us, "eyJ") || strings.Contains(us, "token=") {
		t.Errorf("stats line leaks record content: %s", us)
	}
}

// output_format raw writes each access log's original line, redacted, instead of the
// normalised object; other records are unchanged.
func TestOutputFormatRaw(t *testing.T) {
	put := &memPut{}
	p := newPipeline(t, map[string]string{"compression": "none", "output_format": "raw", "other_logs": "drop"}, put)
	line := `[2026-11-24T10:00:00.000Z] "GET /login?token=abc123&page=2 HTTP/1.1" 200 0 11 1 1 "-" "curl/8" "req-1" "backend" "10.0.0.1:80"`
	data, err := chunkgen.Chunk(chunk.Encoder{}, chunkgen.DefaultTask(), []gen.Labeled{{Line: []byte(line), IsAccess: true}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p.Flush(data, "tag")
	p.Close(context.Background())
	want := strings.Replace(line, "token=abc123", "token=[REDACTED]", 1) + "\n"
	for _, body := range put.objs {
		if string(body) != want {
			t.Fatalf("raw output:\n got %q\nwant %q", body, want)
		}
		return
	}
	t.Fatal("nothing written")
}

// $INDEX keeps counting across restarts on the same store_dir, so a key format with
// $INDEX and no $UUID never reuses (and overwrites) an earlier object's key.
func TestIndexSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	var keys []string
	for run := 0; run < 2; run++ {
		put := &memPut{}
		p := newPipeline(t, map[string]string{"store_dir": dir, "s3_key_format": "x/$INDEX", "other_logs": "drop"}, put)
		p.Flush(chunkOf(t, gen.New(uint64(run)).Mixed(50)), "tag")
		p.Close(context.Background())
		for k := range put.objs {
			keys = append(keys, k)
		}
	}
	if len(keys) != 2 || keys[0] == keys[1] {
		t.Fatalf("keys across a restart: %v", keys)
	}
}

// Keys of a customised JSON format are kept, and the detectors apply to them too.
func TestExtraKeysAreRedacted(t *testing.T) {
	put := &memPut{}
	p := newPipeline(t, map[string]string{"compression": "none", "other_logs": "drop"}, put)
	line := `{"start_time":"2026-11-24T10:00:00.000Z","method":"GET","path":"/","protocol":"HTTP/1.1","response_code":200,"x_auth":"Bearer abcdefghijklmnop1234","x_team":"payments"}`
	data, err := chunkgen.Chunk(chunk.Encoder{}, chunkgen.DefaultTask(), []gen.Labeled{{Line: []byte(line), IsAccess: true}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p.Flush(data, "tag")
	p.Close(context.Background())
	for _, body := range put.objs {
		for _, want := range []string{`"x_auth":"Bearer [REDACTED]"`, `"x_team":"payments"`} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("object lacks %s:\n%s", want, body)
			}
		}
		return
	}
	t.Fatal("nothing written")
}

// Permanent S3 and CloudWatch errors both reach delivery as permanent, with their remedy.
func TestClassifyBothServices(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("wrapped: %w", &s3sink.Error{Permanent: true, Remedy: "fix bucket"}),
		fmt.Errorf("wrapped: %w", &cwlogs.Error{Permanent: true, Remedy: "fix bucket"}),
	} {
		if v := delivery.ByRemedy(err); !v.Permanent || v.Remedy != "fix bucket" {
			t.Errorf("%v classified %+v", err, v)
		}
	}
	if v := delivery.ByRemedy(&s3sink.Error{Retryable: true}); v.Permanent {
		t.Errorf("a retryable error classified permanent")
	}
}
