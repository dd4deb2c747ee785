package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

const (
	jwt  = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlMTIz"
	akid = "AKIAIOSFODNN7EXAMPLE"
	card = "4111111111111111"
)

// flushLines writes lines (access or not, as labelled) through a pipeline with kv and
// returns every line stored, objects concatenated.
func flushLines(t *testing.T, kv map[string]string, recs ...[]chunk.KV) []byte {
	t.Helper()
	put := &memPut{}
	kv["compression"] = "none"
	p := newPipeline(t, kv, put)
	var data []byte
	enc := chunk.Encoder{}
	for _, rec := range recs {
		var err error
		if data, err = enc.AppendEvent(data, time.Now(), nil, rec); err != nil {
			t.Fatal(err)
		}
	}
	if retry, err := p.Flush(data, "ecs-service-connect-AbCd-firelens-0123456789abcdef0123456789abcdef"); retry || err != nil {
		t.Fatalf("flush: %v %v", retry, err)
	}
	p.Close(context.Background())
	var all []byte
	for _, body := range put.objs {
		all = append(all, body...)
	}
	for _, l := range bytes.Split(bytes.TrimSuffix(all, []byte("\n")), []byte("\n")) {
		if len(all) > 0 && !json.Valid(l) {
			t.Errorf("invalid JSON line: %s", l)
		}
	}
	return all
}

func logRecord(line string) []chunk.KV {
	return []chunk.KV{{Key: "log", Value: line}, {Key: "source", Value: "stdout"}, {Key: "ecs_cluster", Value: "prod"}}
}

// Extra keys of a customised JSON access format: objects and arrays are redacted at
// every depth (keys and values), integers are checked as digits, secret-named keys
// are replaced, and benign values stay byte for byte.
func TestExtraKeysNestedAndIntegers(t *testing.T) {
	line := `{"start_time":"2026-11-24T10:00:00.000Z","method":"GET","path":"/","protocol":"HTTP/1.1","response_code":200,` +
		`"x_ctx":{"user":{"jwt_seen":"` + jwt + `","tags":["a","` + akid + `"]},"` + jwt + `":1},` +
		`"x_card":` + card + `,"x_order":1234567890123456,"x_list":[{"deep":[["Bearer abcdefghijklmnopqrstu"]]}],` +
		`"authorization":"Basic dXNlcjpwYXNzd29yZA==","x_meta":{"password":"hunter2","n":7,"ok":true},"x_team":"payments","x_ratio":0.5}`
	out := flushLines(t, map[string]string{"other_logs": "drop"}, logRecord(line))
	for _, secret := range []string{jwt, akid, card, "abcdefghijklmnopqrstu", "dXNlcjpwYXNzd29yZA", "hunter2"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("%q reached the object:\n%s", secret, out)
		}
	}
	for _, want := range []string{`"kind":"http"`, `"x_order":1234567890123456`, `"x_team":"payments"`, `"x_ratio":0.5`, `"n":7,"ok":true`, `"x_card":"[REDACTED]"`, `"authorization":"[REDACTED]"`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("object lacks %s:\n%s", want, out)
		}
	}
}

// connection_termination_details is quoted client data: the detectors apply to it.
func TestConnectionTerminationDetailsRedacted(t *testing.T) {
	line := `{"start_time":"2026-11-24T10:00:00.000Z","downstream_remote_address":"10.0.0.1","downstream_remote_port":4000,"bytes_received":1,"bytes_sent":2,"duration":3,"connection_termination_details":"rbac denied token ` + jwt + `","connection_id":9}`
	out := flushLines(t, map[string]string{"other_logs": "drop"}, logRecord(line))
	if bytes.Contains(out, []byte(jwt)) || !bytes.Contains(out, []byte(`"connection_termination_details":"rbac denied token [REDACTED]"`)) {
		t.Errorf("connection_termination_details not redacted:\n%s", out)
	}
}

// redact_json_keys: an app's JSON log line routed here (a log string holding JSON),
// and a record parsed upstream (secret keys at the record's top level): values of
// secret-named keys are replaced at any depth, the JSON stays valid, the rest stays.
func TestJSONKeysInOtherRecords(t *testing.T) {
	app := `{"level":"info","msg":"login ok","user":{"name":"alice","password":"hunter2","mfa":{"otp_secret":"JBSWY3DPEHPK3PXP"}},"headers":{"Cookie":"sid=s3ss10n","X-Api-Key":"k-live-123"}}`
	parsed := []chunk.KV{{Key: "level", Value: "warn"}, {Key: "client_secret", Value: "cs-987"}, {Key: "db", Value: map[string]any{"dbPassword": "pw-555", "port": 5432}},
		{Key: "token", Value: int64(778899)}, {Key: "ecs_cluster", Value: "prod"}}
	out := flushLines(t, map[string]string{}, logRecord(app), parsed)
	for _, secret := range []string{"hunter2", "JBSWY3DPEHPK3PXP", "s3ss10n", "k-live-123", "cs-987", "pw-555", "778899"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("%q reached the object:\n%s", secret, out)
		}
	}
	for _, want := range []string{`\"name\":\"alice\"`, `\"msg\":\"login ok\"`, `"port":5432`, `"level":"warn"`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("object lacks %s:\n%s", want, out)
		}
	}
	// The log string still holds valid JSON.
	for _, l := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var rec map[string]any
		json.Unmarshal(l, &rec)
		if s, ok := rec["log"].(string); ok && !json.Valid([]byte(s)) {
			t.Errorf("log is no longer JSON: %s", s)
		}
	}
	// none turns the key rule off; the detectors still run.
	kept := flushLines(t, map[string]string{"redact_json_keys": "none"}, logRecord(app))
	if !bytes.Contains(kept, []byte("hunter2")) {
		t.Errorf("redact_json_keys none still replaced values:\n%s", kept)
	}
}

// redact_json_keys where the JSON does not parse: a line cut short, an object with
// text after it, an object after a prefix, an object serialised into another field
// of a record parsed upstream, a DSN as a member's value, and a dict as Python
// prints it. Every secret goes,
// whatever other_logs does with the record.
func TestJSONKeysInTextThatIsNotJSON(t *testing.T) {
	lines := []string{
		`{"level":"info","user":"bob","password":"hunter2","session_id":"s3ss10n","note":"cut at 16 KiB`,
		`{"level":"warn","client_secret":"cs-987"} (retrying)`,
		`2026-12-01T06:20:46Z ERROR login failed {"user":"bob","X-Api-Key":"k-live-123","attempt":3}`,
		`{"db":"admin:pw-555@db.internal:5432/app","pool":`,
		`INFO payload {'user': 'bob', 'passwd': 'py-secret-1'}`,
	}
	parsed := []chunk.KV{{Key: "msg", Value: `payload={"token":"778899","n":1}`}, {Key: "ecs_cluster", Value: "prod"}}
	for _, other := range []string{"s3", "cloudwatch"} {
		var recs [][]chunk.KV
		for _, l := range lines {
			recs = append(recs, logRecord(l))
		}
		recs = append(recs, parsed)
		kv := map[string]string{"other_logs": other}
		var out []byte
		if other == "cloudwatch" {
			kv["log_group_name"] = "/ecs/app"
			out = cloudWatchMessages(t, kv, recs...)
		} else {
			out = flushLines(t, kv, recs...)
		}
		for _, secret := range []string{"hunter2", "s3ss10n", "cs-987", "k-live-123", "pw-555", "778899", "py-secret-1"} {
			if bytes.Contains(out, []byte(secret)) {
				t.Errorf("other_logs %s: %q reached the output:\n%s", other, secret, out)
			}
		}
		for _, want := range []string{"cut at 16 KiB", "(retrying)", "login failed", `attempt`, "db.internal:5432"} {
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("other_logs %s: output lacks %s:\n%s", other, want, out)
			}
		}
	}
}

// cloudWatchMessages flushes recs with other_logs cloudwatch (kv) to a loopback
// CloudWatch Logs server and returns every message it received, one per line.
func cloudWatchMessages(t *testing.T, kv map[string]string, recs ...[]chunk.KV) []byte {
	t.Helper()
	srv := cwEnv(t)
	kv["auto_create_group"] = "true"
	flushLines(t, kv, recs...)
	var out []byte
	for _, g := range srv.Groups() {
		for _, st := range srv.Streams(g) {
			for _, e := range srv.Events(g, st) {
				out = append(append(out, e.Message...), '\n')
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no message reached CloudWatch (failures %v)", srv.Failures())
	}
	return out
}

// Access lines and other lines without secrets come out as before: the JSON walk
// changes nothing it does not redact.
func TestJSONRedactionKeepsCleanLines(t *testing.T) {
	app := `{"level":"info","msg":"a \"quoted\" \u00e9 line","n":[1,2.5e3,-0,true,null],"page":2}`
	out := flushLines(t, map[string]string{}, logRecord(app))
	var rec map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(out), &rec); err != nil || rec["log"] != app {
		t.Fatalf("clean app line changed: %v\n%s", err, out)
	}
}

// BenchmarkFlushCustomJSON: customised JSON access lines with nested extras and app
// JSON lines, nothing to redact: the added walk allocates nothing per record.
func BenchmarkFlushCustomJSON(b *testing.B) {
	p := newPipeline(b, map[string]string{"compression": "gzip"}, nopPut{})
	var lines []gen.Labeled
	for i := range 1000 {
		if i%4 == 3 {
			lines = append(lines, gen.Labeled{Line: []byte(`{"level":"info","msg":"order created","user":{"id":42,"plan":"pro"},"items":[{"sku":"A-1","qty":2}],"page":2}`)})
			continue
		}
		lines = append(lines, gen.Labeled{IsAccess: true, Line: []byte(`{"start_time":"2026-11-24T10:00:00.000Z","method":"GET","path":"/api/orders?page=2","protocol":"HTTP/1.1","response_code":200,"duration":3,"x_ctx":{"user":{"id":"u-1","tags":["a","b"]},"n":12345},"x_team":"payments"}`)})
	}
	benchChunk(b, p, chunkOf(b, lines), len(lines))
}
