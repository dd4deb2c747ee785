package fieldredact

import (
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/redact"
)

type getter map[string]string

func (g getter) Get(k string) string { return g[k] }

func rules(t testing.TB, kv getter) *Rules {
	kv["bucket"], kv["region"] = "b-bucket", "eu-west-1"
	cfg, err := config.Parse(kv, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	red, err := redact.New(cfg.Redaction())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := redact.NewNames(cfg.RedactJSONKeys)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, red, keys)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func str(s string) accesslog.Field { return accesslog.Field{Kind: accesslog.String, Str: []byte(s)} }

// Each field gets its rule, and the values rewritten live in the scratch.
func TestEntry(t *testing.T) {
	r := rules(t, getter{"redact_fields": "user_agent", "ip_anonymize": "truncate"})
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
	var e accesslog.Entry
	e.Fields[accesslog.Timestamp] = str("2025-11-11T07:40:46.216Z")
	e.Fields[accesslog.Path] = str("/login?token=abc&x=1")
	e.Fields[accesslog.UserAgent] = str("curl/8.11.1")
	e.Fields[accesslog.ForwardedFor] = str("192.0.2.82")
	e.Fields[accesslog.ResponseFlags] = str(jwt) // a customised format can put anything anywhere
	e.Fields[accesslog.BytesSent] = accesslog.Field{Kind: accesslog.Int, Int: 4111111111111111}
	e.Fields[accesslog.BytesReceived] = accesslog.Field{Kind: accesslog.Int, Int: 1234}
	e.Extra = []accesslog.Extra{{Key: []byte("password"), Val: str("hunter2")}, {Key: []byte("plain"), Val: str("kept")}}
	var s Scratch
	r.Entry(&redact.Scratch{}, &s, &e)
	got := func(id accesslog.FieldID) string { return string(e.Fields[id].Str) }
	for _, c := range []struct {
		name, got, want string
	}{
		{"timestamp", got(accesslog.Timestamp), "2025-11-11T07:40:46.216Z"},
		{"path", got(accesslog.Path), "/login?token=[REDACTED]&x=1"},
		{"user_agent", got(accesslog.UserAgent), "[REDACTED]"},
		{"forwarded_for", got(accesslog.ForwardedFor), "192.0.2.0"},
		{"response_flags", got(accesslog.ResponseFlags), "[REDACTED]"},
		{"extra password", string(e.Extra[0].Val.Str), "[REDACTED]"},
		{"extra plain", string(e.Extra[1].Val.Str), "kept"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
	if f := e.Fields[accesslog.BytesSent]; f.Kind != accesslog.Null && f.Kind != 0 {
		t.Errorf("a card number in bytes_sent stays: %+v", f)
	}
	if f := e.Fields[accesslog.BytesReceived]; f.Kind != accesslog.Int || f.Int != 1234 {
		t.Errorf("a count changed: %+v", f)
	}
	if strings.Contains(string(s.arena), "hunter2") {
		t.Error("the secret is in the scratch")
	}
}

// With no rule that could change a string and no redact_fields, Entry leaves the
// record as it is and writes nothing.
func TestEntryWithoutRules(t *testing.T) {
	r := rules(t, getter{"redact_detectors": "none", "redact_query_params": "none", "redact_json_keys": "none"})
	var e accesslog.Entry
	e.Fields[accesslog.Path] = str("/login?token=abc")
	var s Scratch
	r.Entry(&redact.Scratch{}, &s, &e)
	if string(e.Fields[accesslog.Path].Str) != "/login?token=abc" || len(s.arena) != 0 {
		t.Fatalf("%q, arena %q", e.Fields[accesslog.Path].Str, s.arena)
	}
}

// A value the rules leave as it was keeps its view into the parsed line (so
// AppendJSON can copy a value Parse proved plain); a changed one is a copy.
func TestEntryKeepsUnchangedViews(t *testing.T) {
	r := rules(t, getter{})
	line := []byte(`[2025-11-11T07:40:46.216Z] "GET /x?token=abc HTTP/1.1" 200 0 11 1 1 "-" "curl/8.11.1" "c13c" "backend" "10.0.1.23:8080"`)
	var p accesslog.Parser
	var e accesslog.Entry
	if !p.Parse(line, &e) {
		t.Fatal("not an access log")
	}
	ua, path := &e.Fields[accesslog.UserAgent].Str[0], &e.Fields[accesslog.Path].Str[0]
	var s Scratch
	r.Entry(&redact.Scratch{}, &s, &e)
	if &e.Fields[accesslog.UserAgent].Str[0] != ua {
		t.Error("the unchanged user_agent is a copy, not its view into the line")
	}
	if string(e.Fields[accesslog.Path].Str) != "/x?token=[REDACTED]" || &e.Fields[accesslog.Path].Str[0] == path {
		t.Errorf("path %q, want the redacted copy", e.Fields[accesslog.Path].Str)
	}
}
