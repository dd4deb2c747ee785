// Command demo runs envoy_s3 end to end on an embedded default: it starts MinIO,
// feeds a few thousand FireLens-shaped Service Connect records (access logs mixed
// with the proxy's own lines, some carrying secrets) through the plugin, and prints
// what landed in the bucket.
//
// Without FLUENT_BIT the records go through test/host, the C stand-in for Fluent
// Bit's Go proxy. With FLUENT_BIT naming a Fluent Bit binary, they are sent to a real
// Fluent Bit's forward input, as Docker's fluentd log driver does under FireLens.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/cost"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/forward"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

const bucket = "envoy-demo"

func main() {
	n := flag.Int("records", 5000, "records to send")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(n int) error {
	root, err := miniotest.RepoRoot()
	if err != nil {
		return err
	}
	so := envOr("ENVOY_S3_SO", filepath.Join(root, "envoy_s3.so"))
	host := envOr("ENVOY_S3_HOST", filepath.Join(root, "bin", "flb-host-stub"))
	ctx := context.Background()
	m, err := miniotest.Launch(ctx, miniotest.Options{})
	if err != nil {
		return err
	}
	defer m.Stop()
	if err := m.MakeBucket(ctx, bucket); err != nil {
		return err
	}
	os.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
	os.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	fmt.Printf("MinIO at %s, bucket %q\n", m.Endpoint, bucket)

	work, err := os.MkdirTemp("", "envoy_s3-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	task := chunkgen.DefaultTask()
	// The demo's traffic: n requests over the last two minutes (about 25 ms apart),
	// so records, partitions and the rate the summary scales by all match.
	span := 2 * time.Minute
	start := time.Now().UTC().Add(-span)
	lines := gen.New(uint64(time.Now().UnixNano())).Starting(start).Mixed(n)
	planted, token := plantedLine(start.Add(span / 2))
	lines[len(lines)/2] = planted
	access := 0
	for _, l := range lines {
		if l.IsAccess {
			access++
		}
	}
	opts := [][2]string{
		{"bucket", bucket}, {"region", m.Region}, {"endpoint", m.Endpoint},
		{"compression", "zstd"}, {"store_dir", filepath.Join(work, "spool")},
		{"redact_detectors", "jwt,aws_access_key,bearer,credit_card,email"},
	}
	fmt.Printf("sending %d records (%d access logs, %d other lines) as tag %s\n", n, access, n-access, task.Tag())
	var logs bytes.Buffer
	began := time.Now()
	if fb := os.Getenv("FLUENT_BIT"); fb != "" {
		err = viaFluentBit(fb, so, work, task, lines, start, opts, &logs)
	} else {
		err = viaHost(host, so, work, task, lines, start, opts, &logs)
	}
	if err != nil {
		return err
	}
	fmt.Printf("plugin finished in %s\n\n", time.Since(began).Round(time.Millisecond))
	access1, err := show(ctx, m, "demo-planted-"+token[:8])
	if err != nil {
		return err
	}
	fmt.Printf("\none access line before and after redaction (the access_token was planted):\n  before %s\n  after  %s\n", planted.Line, access1)
	return summary(os.Stdout, logs.String(), m.Region, n, span)
}

// plantedLine is a Service Connect TEXT access line carrying a fresh access token.
func plantedLine(t time.Time) (gen.Labeled, string) {
	var b [16]byte
	rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	line := fmt.Sprintf(`[%s] "GET /api/orders?access_token=%s&page=2 HTTP/1.1" 200 0 512 3 2 "-" "curl/8.11.1" "demo-planted-%s" "backend" "10.0.2.1:8080"`,
		t.Format("2006-01-02T15:04:05.000Z"), token, token[:8])
	return gen.Labeled{Line: []byte(line), IsAccess: true}, token
}

func viaHost(host, so, work string, task chunkgen.Task, lines []gen.Labeled, start time.Time, opts [][2]string, logs *bytes.Buffer) error {
	files, err := chunkgen.WriteFiles(work, chunk.Encoder{}, task, lines, 500, start)
	if err != nil {
		return err
	}
	args := []string{"--plugin", so, "--tag", task.Tag(), "--instance"}
	for _, kv := range opts {
		args = append(args, kv[0]+"="+kv[1])
	}
	for _, f := range files {
		args = append(args, "--flush", f)
	}
	cmd := exec.Command(host, args...)
	cmd.Stderr = io.MultiWriter(os.Stderr, logs)
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("host: %v\n%s", err, out)
	}
	fmt.Printf("host (C stand-in for Fluent Bit's Go proxy) says:\n  %s\n", strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "\n  "))
	return nil
}

// viaFluentBit runs a real Fluent Bit with a forward input and our .so, and sends
// the records with the forward protocol (Forward mode: [tag, [[time, record]...]]).
func viaFluentBit(fb, so, work string, task chunkgen.Task, lines []gen.Labeled, start time.Time, opts [][2]string, logs *bytes.Buffer) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var conf strings.Builder
	fmt.Fprintf(&conf, "[SERVICE]\n    Flush 1\n    Grace 10\n    Log_Level info\n\n[INPUT]\n    Name forward\n    Listen 127.0.0.1\n    Port %d\n\n[OUTPUT]\n    Name envoy_s3\n    Match *\n", port)
	for _, kv := range opts {
		fmt.Fprintf(&conf, "    %s %s\n", kv[0], kv[1])
	}
	cfg := filepath.Join(work, "fluent-bit.conf")
	if err := os.WriteFile(cfg, []byte(conf.String()), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(fb, "-e", so, "-c", cfg)
	w := io.MultiWriter(os.Stderr, logs)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return err
	}
	conn, err := forward.Dial(port)
	if err != nil {
		cmd.Process.Kill()
		return err
	}
	for i := 0; i < len(lines); i += 500 {
		end := min(i+500, len(lines))
		// Forward mode with an ack: Fluent Bit answers {"ack": id} once the chunk is
		// in its buffer, so every record is in before Fluent Bit is stopped.
		id := fmt.Sprintf("demo-%d", i)
		msg := chunk.AppendArrayHeader(nil, 3)
		msg = chunk.AppendString(msg, task.Tag())
		msg = chunk.AppendArrayHeader(msg, end-i)
		for j := i; j < end; j++ {
			msg = chunk.AppendArrayHeader(msg, 2)
			msg = chunk.AppendEventTime(msg, start.Add(time.Duration(j)*time.Millisecond))
			if msg, err = chunk.AppendAny(msg, task.Record(lines[j].Line, chunkgen.Source(lines[j]))); err != nil {
				return err
			}
		}
		msg = chunk.AppendMapHeader(msg, 1)
		msg = chunk.AppendString(chunk.AppendString(msg, "chunk"), id)
		if _, err := conn.Write(msg); err != nil {
			return err
		}
		if err := forward.WaitAck(conn, id); err != nil {
			return err
		}
	}
	conn.Close()
	time.Sleep(2 * time.Second) // a Flush interval or two: the plugin holds it all then
	cmd.Process.Signal(os.Interrupt)
	return cmd.Wait()
}

// show prints the objects in the bucket and a few decoded lines of each stream, and
// returns the stored line that contains mark.
func show(ctx context.Context, m *miniotest.Server, mark string) (string, error) {
	objs, err := m.ListObjects(ctx, bucket, "")
	if err != nil {
		return "", err
	}
	found := ""
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	fmt.Printf("%d objects in s3://%s:\n", len(objs), bucket)
	var stored, raw int64
	samples := map[string][]string{}
	for _, o := range objs {
		body, err := m.GetObject(ctx, bucket, o.Key)
		if err != nil {
			return "", err
		}
		codec := compress.None
		switch {
		case strings.HasSuffix(o.Key, ".gz"):
			codec = compress.Gzip
		case strings.HasSuffix(o.Key, ".zst"):
			codec = compress.Zstd
		}
		plain, err := compress.Decode(codec, body)
		if err != nil {
			return "", fmt.Errorf("%s: %v", o.Key, err)
		}
		stored += int64(len(body))
		raw += int64(len(plain))
		recs := strings.Split(strings.TrimSpace(string(plain)), "\n")
		fmt.Printf("  %8d B  %5d records  %s\n", len(body), len(recs), o.Key)
		stream := strings.SplitN(o.Key, "/", 2)[0]
		for _, r := range recs {
			if strings.Contains(r, mark) {
				found = r
			}
			if len(samples[stream]) < 3 {
				samples[stream] = append(samples[stream], r)
			}
		}
	}
	if stored > 0 {
		fmt.Printf("\ncompression: the %d bytes of NDJSON written (normalised, redacted) are stored as %d bytes of zstd, %.1fx smaller\n",
			raw, stored, float64(raw)/float64(stored))
	}
	for _, stream := range []string{"envoy-access-logs", "envoy-other-logs"} {
		fmt.Printf("\nfirst lines under %s/:\n", stream)
		for _, r := range samples[stream] {
			fmt.Printf("  %s\n", r)
		}
	}
	if found == "" {
		return "", fmt.Errorf("the planted access line is not in the bucket")
	}
	return found, nil
}

// summary reads the plugin's exit stats line and says what the run means in five
// seconds: what came in, what was redacted, and the money at this traffic's rate.
func summary(w io.Writer, logs, region string, n int, span time.Duration) error {
	i := strings.LastIndex(logs, "exit: ")
	if i < 0 {
		return fmt.Errorf("the plugin logged no exit stats line")
	}
	line, _, _ := strings.Cut(logs[i+len("exit: "):], "\n")
	st := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			st[k] = v
		}
	}
	num := func(k string) int64 { v, _ := strconv.ParseInt(st[k], 10, 64); return v }
	records, logBytes, stored := num("records"), num("log_bytes"), num("stored_bytes")
	ingest := logBytes + records*cost.CloudWatchEventOverhead
	prices, _ := cost.For(region)
	rate := float64(n) / span.Seconds()
	dailyGB := float64(ingest) / span.Seconds() * 86400 / (1 << 30)
	// The plugin's defaults: upload_timeout 5m for each of the two prefixes, total_file_size 50M.
	mo := cost.ScaleMonthly(prices, 0, dailyGB, cost.Sample{IngestBytes: ingest, WrittenBytes: num("raw_bytes"), StoredBytes: stored}, 50e6, 2*24*12, cost.LifecycleDays)
	fmt.Fprintf(w, "\n== summary\n")
	fmt.Fprintf(w, "records     %d in: %s access logs to S3, %s other lines to S3 under envoy-other-logs/\n", records, st["access"], st["other"])
	fmt.Fprintf(w, "redactions  %s\n", strings.TrimPrefix(st["redactions"], "redactions="))
	fmt.Fprintf(w, "bytes       CloudWatch Logs would ingest %.1f KiB (the lines plus %d bytes an event); S3 stores %.1f KiB: %.0fx smaller\n",
		float64(ingest)/1024, cost.CloudWatchEventOverhead, float64(stored)/1024, float64(ingest)/float64(max(stored, 1)))
	fmt.Fprintf(w, "            (this ratio compares what each service bills: the raw lines against the normalised, redacted, compressed\n")
	fmt.Fprintf(w, "            objects; the compression line above compares the NDJSON written with the objects, compression alone)\n")
	verdict := fmt.Sprintf("saves $%.2f (%.0f%%)", mo.Saved(), mo.SavedPercent())
	if mo.Saved() < 0 {
		verdict = fmt.Sprintf("costs $%.2f more", -mo.Saved())
	}
	fmt.Fprintf(w, "per month   at this traffic's rate (%.0f records/s, %.2f GB/day) in %s: CloudWatch Logs $%.2f (ingestion), envoy_s3 $%.2f: %s\n",
		rate, dailyGB, region, mo.CloudWatch, mo.EnvoyS3(), verdict)
	fmt.Fprintf(w, "            envoy_s3 is S3 storage $%.2f at steady state, objects expiring after %d days (docker/lifecycle.json), and PUTs $%.2f\n",
		mo.S3Storage, cost.LifecycleDays, mo.S3Puts)
	fmt.Fprintf(w, "            for %.0f objects a month (one per upload_timeout 5m per prefix, or per total_file_size 50M); %s\n", mo.Objects, cost.PriceTable)
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
