package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/preview"
	"github.com/envoy-s3/envoy_s3/internal/redact"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
)

// TestPreviewMatchesThePlugin runs the same records through envoy_s3-preview's
// pipeline and through the real .so into MinIO, with the same options, and checks
// that the preview told the truth: the same lines under the same key prefixes, the
// same counts and redactions as the plugin's exit stats line, and stored bytes within
// 2% of the objects' sizes.
func TestPreviewMatchesThePlugin(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "preview"
	m := env(t, bucket)
	task := chunkgen.DefaultTask()
	p := planter{rand.New(rand.NewPCG(3, 4))}
	// JSON input cannot carry invalid UTF-8 (a user's JSON file would not have it either).
	var lines []gen.Labeled
	for _, l := range gen.New(11).Mixed(3300) {
		if utf8.Valid(l.Line) && len(lines) < 3000 {
			lines = append(lines, l)
		}
	}
	for i := 0; i < len(lines); i += 10 { // a planted secret in every tenth line
		lines[i] = gen.Labeled{IsAccess: true, Line: []byte(fmt.Sprintf(
			`[2026-11-24T10:00:00.%03dZ] "GET /api/orders?access_token=%s&page=2 HTTP/1.1" 200 0 11 1 1 "-" "curl/8 Bearer %s" "req-%d" "backend" "10.0.0.1:8080"`,
			i%1000, p.token(), p.token(), i))}
	}
	ts := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	opts := map[string]string{"bucket": bucket, "region": m.Region, "compression": "gzip", "store_dir": "off",
		"redact_detectors": "default,email", "stats_interval": "0"}

	// The preview: FireLens records as Fluent Bit's [ts, {record}] JSON lines.
	var in bytes.Buffer
	for i, l := range lines {
		rec, err := json.Marshal(kvObject(task.Record(l.Line, chunkgen.Source(l))))
		if err != nil {
			t.Fatal(err)
		}
		at := ts.Add(time.Duration(i) * time.Millisecond)
		fmt.Fprintf(&in, "[%d.%03d,%s]\n", at.Unix(), at.Nanosecond()/1e6, rec)
	}
	var settings []string
	for k, v := range opts {
		settings = append(settings, k+"="+v)
	}
	var report bytes.Buffer
	s, err := preview.Run(&in, preview.Options{Settings: settings, Tag: task.Tag(), Records: &report, JSON: true})
	if err != nil {
		t.Fatal(err)
	}

	// The plugin: the same records as chunks through the host into MinIO.
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 500, ts)
	if err != nil {
		t.Fatal(err)
	}
	opts["endpoint"] = m.Endpoint
	args := append([]string{"--tag", task.Tag()}, instanceArgs(opts)...)
	for _, f := range files {
		args = append(args, "--flush", f)
	}
	r := hosttest.Run(t, host, so, args...)
	if r.ExitRC(0) != hosttest.FLBOK {
		t.Fatalf("exit rc %d\n%s", r.ExitRC(0), r.Stderr)
	}

	// Lines per key prefix, both ways.
	want := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(report.String()), "\n") {
		var x struct {
			Where  string          `json:"where"`
			Record json.RawMessage `json:"record"`
		}
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatal(err)
		}
		want[strings.TrimPrefix(x.Where, "s3://"+bucket+"/")+" "+string(x.Record)]++
	}
	got := map[string]int{}
	var stored int64
	for _, o := range m.List(bucket, "") {
		stored += o.Size
	}
	for key, ls := range objects(t, m, bucket, "", compress.Gzip) {
		for _, l := range ls {
			got[path.Dir(key)+"/ "+l]++
		}
	}
	diff(t, "lines under their key prefixes (preview vs bucket)", want, got)

	stats := exitStats(t, r.Stderr)
	for k, v := range map[string]int64{"records": s.Records, "access": s.Access, "other": s.Other, "bad": s.Bad, "log_bytes": s.LogBytes} {
		if stats[k] != strconv.FormatInt(v, 10) {
			t.Errorf("%s: preview %d, plugin %s", k, v, stats[k])
		}
	}
	if red := strings.ReplaceAll(string(s.Redactions.AppendText(nil)), " ", ","); stats["redactions"] != red || s.Redactions[redact.RuleQueryParam] < 300 {
		t.Errorf("redactions: preview %q, plugin %q", red, stats["redactions"])
	}
	var gz preview.FormatSize
	for _, f := range s.Formats {
		if f.Configured {
			gz = f
		}
	}
	if gz.Name != "json_lines gzip" || math.Abs(float64(gz.Bytes-stored)) > 0.02*float64(stored) {
		t.Errorf("stored bytes: preview %+v, bucket %d", gz, stored)
	}
}

// kvObject turns a FireLens record into a JSON object with its keys in order.
type kvObject []chunk.KV

func (o kvObject) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, kv := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(kv.Key)
		v := kv.Value
		if bs, ok := v.([]byte); ok {
			v = string(bs)
		}
		vb, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), vb...)
	}
	return append(b, '}'), nil
}

var statRE = regexp.MustCompile(`(\w+)=(\S+)`)

// exitStats reads the key=value pairs of the plugin's exit stats line.
func exitStats(t *testing.T, stderr string) map[string]string {
	t.Helper()
	i := strings.LastIndex(stderr, "exit: ")
	if i < 0 {
		t.Fatalf("no exit stats line:\n%s", stderr)
	}
	line, _, _ := strings.Cut(stderr[i:], "\n")
	out := map[string]string{}
	for _, m := range statRE.FindAllStringSubmatch(line, -1) {
		if _, seen := out[m[1]]; !seen {
			out[m[1]] = m[2]
		}
	}
	return out
}
