package accesslog_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

const (
	textLine = `[2025-11-11T07:40:46.216Z] "GET /x?token=abc HTTP/1.1" 200 0 11 1 1 "-" "curl/8.11.1" "c13c" "backend" "10.0.1.23:8080"`
	jsonLine = `{"start_time":"2025-11-11T07:40:46.216Z","method":"GET","path":"/x","response_code":200,"duration":1,"upstream_cluster":"b","tls":{"v":1}}`
)

// TestFormatNames: the access_log_format spellings (internal/config parses them).
func TestFormatNames(t *testing.T) {
	for f, want := range map[accesslog.Format]string{accesslog.FormatAuto: "auto", accesslog.FormatJSON: "json", accesslog.FormatText: "text", 9: "invalid"} {
		if f.String() != want {
			t.Errorf("%d.String() = %q, want %q", f, f.String(), want)
		}
	}
}

func TestFieldNames(t *testing.T) {
	names := accesslog.FieldNames()
	if len(names) != gen.NumFields {
		t.Fatalf("%d fields, generator has %d", len(names), gen.NumFields)
	}
	for i, n := range names {
		if n != gen.FieldNames[i] || accesslog.FieldID(i).Name() != n {
			t.Errorf("field %d is %q, want %q", i, n, gen.FieldNames[i])
		}
	}
	for _, id := range []accesslog.FieldID{accesslog.ResponseCode, accesslog.BytesReceived, accesslog.BytesSent,
		accesslog.DurationMs, accesslog.UpstreamServiceTimeMs, accesslog.DownstreamRemotePort, accesslog.ConnectionID} {
		if !id.IsInt() {
			t.Errorf("%s is not an integer field", id.Name())
		}
	}
	if accesslog.Path.IsInt() || accesslog.NumFields.Name() != "" {
		t.Error("Path is an integer field or NumFields has a name")
	}
}

func TestFormatRestriction(t *testing.T) {
	var e accesslog.Entry
	for _, c := range []struct {
		format     accesslog.Format
		text, json bool
	}{
		{accesslog.FormatAuto, true, true},
		{accesslog.FormatText, true, false},
		{accesslog.FormatJSON, false, true},
		{accesslog.Format(9), false, false},
	} {
		p := accesslog.Parser{Format: c.format}
		if got := p.Parse([]byte(textLine), &e); got != c.text {
			t.Errorf("%v: text line accepted=%v", c.format, got)
		}
		if got := p.Parse([]byte(jsonLine), &e); got != c.json {
			t.Errorf("%v: JSON line accepted=%v", c.format, got)
		}
	}
}

func TestMaxLineSize(t *testing.T) {
	var p accesslog.Parser
	var e accesslog.Entry
	mk := func(size int) []byte {
		pad := size - len(textLine)
		return []byte(strings.Replace(textLine, "/x?", "/"+strings.Repeat("a", pad+1)+"?", 1))
	}
	if l := mk(accesslog.MaxLineSize); len(l) != accesslog.MaxLineSize || !p.Parse(l, &e) {
		t.Errorf("a %d-byte access line is rejected", len(l))
	}
	if l := mk(accesslog.MaxLineSize + 1); p.Parse(l, &e) {
		t.Errorf("a %d-byte line is accepted", len(l))
	}
	if p.Parse(bytes.Repeat([]byte("x"), 100<<10), &e) {
		t.Error("a 100 KB line is accepted")
	}
}

// TestEntryReuse parses different shapes into one Entry and checks nothing
// leaks from one line into the next.
func TestEntryReuse(t *testing.T) {
	var p accesslog.Parser
	var e, fresh accesslog.Entry
	var fp accesslog.Parser
	for _, l := range gen.New(3).Mixed(2000) {
		got := p.Parse(l.Line, &e)
		want := fp.Parse(l.Line, &fresh)
		if got != want || string(e.AppendJSON(nil)) != string(fresh.AppendJSON(nil)) {
			t.Fatalf("reused entry differs from a fresh one on %q", l.Line)
		}
		fresh = accesslog.Entry{}
		fp = accesslog.Parser{}
	}
}

// TestRewrittenValues checks that values set after Parse (metadata, redacted
// strings) are escaped by AppendJSON.
func TestRewrittenValues(t *testing.T) {
	var p accesslog.Parser
	var e accesslog.Entry
	if !p.Parse([]byte(jsonLine), &e) {
		t.Fatal("not parsed")
	}
	e.Set(accesslog.EcsCluster, []byte("prod"))
	e.Set(accesslog.Source, nil)
	e.Set(accesslog.NumFields, []byte("ignored"))
	e.Fields[accesslog.Path].Str = []byte("/x?token=\"[REDACTED]\"\\\n\x00\xff\u2028</script>")
	e.Extra[0].Val.Str = []byte("\t")
	out := e.AppendJSON([]byte("prefix "))
	if !bytes.HasPrefix(out, []byte("prefix {")) {
		t.Fatalf("AppendJSON does not append: %s", out)
	}
	out = out[len("prefix "):]
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("invalid JSON %s: %v", out, err)
	}
	if m["path"] != "/x?token=\"[REDACTED]\"\\\n\x00\ufffd\u2028</script>" || m["ecs_cluster"] != "prod" || m["source"] != nil || m["upstream_cluster"] != "\t" {
		t.Errorf("round trip lost values: %s", out)
	}
	if !bytes.Contains(out, []byte(`\u2028</script>`)) || !bytes.Contains(out, []byte(`\u0000\ufffd`)) {
		t.Errorf("escaping differs from encoding/json: %s", out)
	}
	if !bytes.HasSuffix(out, []byte(`,"upstream_cluster":"\t","tls":{"v":1}}`)) {
		t.Errorf("extras not kept in order: %s", out)
	}
}

// TestValues checks decoded values field by field, independently of the
// golden files.
func TestValues(t *testing.T) {
	var p accesslog.Parser
	var e accesslog.Entry
	type want map[accesslog.FieldID]any
	for _, c := range []struct {
		line  string
		shape accesslog.Shape
		want  want
	}{
		{textLine, accesslog.ShapeTextHTTP, want{accesslog.Path: "/x?token=abc", accesslog.ResponseCode: int64(200),
			accesslog.ForwardedFor: nil, accesslog.UpstreamHost: "10.0.1.23:8080", accesslog.Kind: "http"}},
		{`[2025-03-01T00:00:00.000+00:01] 10.0.3.4:1 1 2 3 - a  b 9223372036854775807`, accesslog.ShapeTextTCP,
			want{accesslog.Timestamp: "2025-02-28T23:59:00.000Z", accesslog.ConnectionTerminationDetails: "a  b",
				accesslog.ConnectionID: int64(9223372036854775807), accesslog.Kind: "tcp", accesslog.DurationMs: nil,
				accesslog.BytesSent: int64(3), accesslog.DownstreamRemotePort: int64(1)}},
		{`{"start_time":"2025-11-11T07:40:46Z","method":"-","path":"","response_code":"0","user_agent":"\ud83d\ude80\ud83d","stream_id":1e3}`,
			accesslog.ShapeJSONHTTP, want{accesslog.Method: nil, accesslog.Path: nil, accesslog.ResponseCode: int64(0),
				accesslog.UserAgent: "🚀\ufffd", accesslog.StreamID: "1e3", accesslog.Timestamp: "2025-11-11T07:40:46.000Z"}},
	} {
		if !p.Parse([]byte(c.line), &e) {
			t.Errorf("not parsed: %s", c.line)
			continue
		}
		if e.Shape != c.shape {
			t.Errorf("shape %v, want %v: %s", e.Shape, c.shape, c.line)
		}
		for id, w := range c.want {
			f := e.Fields[id]
			var got any
			switch f.Kind {
			case accesslog.String:
				got = string(f.Str)
			case accesslog.Int:
				got = f.Int
			}
			if got != w {
				t.Errorf("%s = %#v, want %#v in %s", id.Name(), got, w, c.line)
			}
		}
	}
}

// TestZeroAllocs proves the steady state allocates nothing per record.
func TestZeroAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	g := gen.New(11)
	var p accesslog.Parser
	var e accesslog.Entry
	buf := make([]byte, 0, 4096)
	for _, k := range gen.Kinds() {
		if k == gen.Huge {
			continue
		}
		lines := make([][]byte, 64)
		for i := range lines {
			lines[i] = g.Line(k)
		}
		for _, l := range lines { // warm up: grow scratch and Extra
			p.Parse(l, &e)
			buf = e.AppendJSON(buf[:0])
		}
		i := 0
		allocs := testing.AllocsPerRun(200, func() {
			l := lines[i%len(lines)]
			i++
			if p.Parse(l, &e) {
				buf = e.AppendJSON(buf[:0])
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %.2f allocations per record", k, allocs)
		}
	}
}

func TestPlain(t *testing.T) {
	for _, tc := range []struct {
		id   accesslog.FieldID
		v    string
		want bool
	}{
		{accesslog.Timestamp, "2025-11-11T07:40:46.216Z", true},
		{accesslog.Kind, "http", true},
		{accesslog.StreamID, "2703009730617671267", true},
		{accesslog.StreamID, "18446744073709551615", true},
		{accesslog.StreamID, "18446744073709551616", false}, // past uint64
		{accesslog.StreamID, "4111111111111111", false},     // 16 digits: a card, not Envoy's
		{accesslog.StreamID, "AKIAIOSFODNN7EXAMPLE", false},
		{accesslog.StreamID, "27030097306176712x7", false},
		{accesslog.GrpcStatus, "OK", false},
		{accesslog.ResponseFlags, "UF,URX", false},
		{accesslog.ContainerName, "app", false},
		{accesslog.Source, "stdout", false},
		{accesslog.Path, "/", false},
	} {
		if got := accesslog.Plain(tc.id, []byte(tc.v)); got != tc.want {
			t.Errorf("Plain(%s, %q) = %v, want %v", tc.id.Name(), tc.v, got, tc.want)
		}
	}
}

// TestPlainMarkFollowsStr: AppendJSON copies a string Parse proved plain without
// escaping it only while Str is still that view. A value replaced after Parse
// (as redaction does) or a view widened over bytes Parse did not prove is
// escaped like any other.
func TestPlainMarkFollowsStr(t *testing.T) {
	var p accesslog.Parser
	var e accesslog.Entry
	for _, line := range []string{
		`{"start_time":"2025-11-11T07:40:46.216Z","method":"GET","path":"/a","x":"\"q","response_code":200}`,
		`[2025-11-11T07:40:46.216Z] "GET /a HTTP/1.1" 200 0 11 1 1 "-" "curl" "c13c" "backend" "10.0.1.23:8080"`,
	} {
		if !p.Parse([]byte(line), &e) {
			t.Fatalf("not an access log: %s", line)
		}
		path := &e.Fields[accesslog.Path]
		path.Str = path.Str[:cap(path.Str)] // the rest of the line, quotes included
		wide := string(path.Str)
		e.Fields[accesslog.UserAgent].Str = []byte("a\"b\\c\x01") // kept the old view's mark until now
		if e.Fields[accesslog.UserAgent].Kind != accesslog.String {
			e.Fields[accesslog.UserAgent] = accesslog.Field{Kind: accesslog.String, Str: []byte("a\"b\\c\x01")}
		}
		out := e.AppendJSON(nil)
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%s: invalid JSON %s: %v", line, out, err)
		}
		if m["path"] != wide || m["user_agent"] != "a\"b\\c\x01" {
			t.Fatalf("%s: path %q user_agent %q, want %q and the replaced value", line, m["path"], m["user_agent"], wide)
		}
	}
}

// AppendJSON reuses its rendering of the FireLens metadata only while every
// value is byte-equal to the one rendered: each change below, including
// one of the same length, to null, to a value that needs escaping and to one
// too long to keep, shows in the output, and an Entry copied with its cache
// renders its own values.
func TestMetadataRenderingFollowsValues(t *testing.T) {
	var p accesslog.Parser
	var e accesslog.Entry
	if !p.Parse([]byte(textLine), &e) {
		t.Fatal("not an access log")
	}
	long := strings.Repeat("x", 3000)
	steps := [][accesslog.NumFields - accesslog.EcsCluster]string{
		{"prod", "arn:aws:ecs:eu-west-1:1:task/prod/abc", "web:3", "envoy", "stdout"},
		{"prod", "arn:aws:ecs:eu-west-1:1:task/prod/abc", "web:3", "envoy", "stdout"},
		{"prox", "arn:aws:ecs:eu-west-1:1:task/prod/abc", "web:3", "envoy", "stdout"},
		{"prox", "arn:aws:ecs:eu-west-1:1:task/prod/abc", "web:3", "envoy", ""},
		{"prox", "arn:aws:ecs:eu-west-1:1:task/prod/abd", "web:3", "envoy", ""},
		{"pr\"x", "arn:aws:ecs:eu-west-1:1:task/prod/abd", "web:3", "envoy", "stderr"},
		{"prod", "arn:aws:ecs:eu-west-1:1:task/prod/abc", "web:3", "envoy", "stdout"},
		{"prod", long, "web:3", "envoy", "stdout"},
		{"prod", long, "web:3", "envoy", "stdout"},
		{"prod", "arn:aws:ecs:eu-west-1:1:task/prod/abc", "web:3", "envoy", "stdout"},
	}
	for i, vals := range steps {
		for k, v := range vals {
			e.Set(accesslog.EcsCluster+accesslog.FieldID(k), []byte(v))
		}
		if got, want := e.AppendJSON(nil), referenceJSON(&e); string(got) != string(want) {
			t.Fatalf("step %d:\n got %s\nwant %s", i, got, want)
		}
	}
	c := e // the cache holds the last step's values
	c.Set(accesslog.EcsCluster, []byte("copy"))
	e.Set(accesslog.Source, []byte("stderr"))
	for _, x := range []*accesslog.Entry{&c, &e, &c, &e} {
		if got, want := x.AppendJSON(nil), referenceJSON(x); string(got) != string(want) {
			t.Fatalf("after a copy:\n got %s\nwant %s", got, want)
		}
	}
}
