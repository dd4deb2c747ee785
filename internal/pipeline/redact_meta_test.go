package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
)

// Every string of a normalised record goes through the detectors, in JSON lines as in
// TEXT lines: grpc_status, response_flags and stream_id of a customised JSON format
// may hold anything, and TEXT's response flags accept an AWS key id made of letters.
// Envoy's own values stay as they are.
func TestEveryFieldOfEveryFormatIsCovered(t *testing.T) {
	const letters = "AKIAABCDEFGHIJKLMNOP" // an AWS key id with no digit
	jsonLine := func(grpc, flags, stream string) string {
		return `{"start_time":"2026-11-24T10:00:00.000Z","method":"GET","path":"/","protocol":"HTTP/2","response_code":200,` +
			`"grpc_status":"` + grpc + `","response_flags":"` + flags + `","stream_id":"` + stream + `"}`
	}
	out := flushLines(t, map[string]string{"other_logs": "drop"},
		logRecord(jsonLine(akid, card, jwt)),
		logRecord(jsonLine("Bearer abcdefghijklmnop0123", jwt, card)),
		logRecord(jsonLine(letters, "x "+akid, "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789")),
		logRecord(jsonLine("OK", "UF,URX", "2703009730617671267")),
		logRecord(`[2026-11-24T10:00:00.000Z] "GET / HTTP/1.1" 200 `+letters+` 0 0 1 1 "-" "curl/8" "req" "host" "10.0.0.1:80"`),
		logRecord(`[2026-11-24T10:00:00.000Z] "POST /a HTTP/2" 200 `+letters+` 0 0 1 1 "-" "grpc" "req" "host" "10.0.0.1:80" "`+card+`"`),
	)
	for _, secret := range []string{akid, card, jwt, letters, "abcdefghijklmnop0123", "ghp_aBcD"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("%q reached the object:\n%s", secret, out)
		}
	}
	for _, want := range []string{`"grpc_status":"OK","response_flags":"UF,URX"`, `"stream_id":"2703009730617671267"`, `"response_flags":"[REDACTED]"`, `"grpc_status":"[REDACTED]"`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("object lacks %s:\n%s", want, out)
		}
	}
	if n := bytes.Count(out, []byte("\n")); n != 6 {
		t.Errorf("%d access lines, want 6:\n%s", n, out)
	}
}

// The FireLens metadata of access records and the tag go through the detectors too: a
// secret in a container or cluster name, or in the tag, reaches neither an object nor
// an object key ($TAG, $CONTAINER, $CLUSTER), while normal names render as before.
func TestMetadataAndTagRedacted(t *testing.T) {
	put := &memPut{}
	p := newPipeline(t, map[string]string{"compression": "none",
		"s3_key_format":    "/a/$TAG/$CLUSTER/$CONTAINER/$UUID",
		"other_key_format": "/o/$TAG/$CLUSTER/$CONTAINER/$UUID"}, put)
	access := `{"start_time":"2026-11-24T10:00:00.000Z","method":"GET","path":"/","response_code":200}`
	rec := func(log, cluster, container string) []chunk.KV {
		return []chunk.KV{{Key: "log", Value: log}, {Key: "source", Value: "stdout"}, {Key: "ecs_cluster", Value: cluster}, {Key: "container_name", Value: container}}
	}
	for _, f := range []struct {
		tag  string
		recs [][]chunk.KV
	}{
		{"ecs-" + akid + "-firelens-0123456789abcdef0123456789abcdef", [][]chunk.KV{
			rec(access, "prod-"+akid, "/ecs-app-3-"+akid+"-9a8b"),
			rec("plain text", "prod-"+akid, "/ecs-app-3-"+akid+"-9a8b"),
		}},
		{"app-firelens-0123456789abcdef0123456789abcdef", [][]chunk.KV{rec(access, "prod", "app"), rec("plain text", "prod", "app")}},
	} {
		var data []byte
		for _, r := range f.recs {
			var err error
			if data, err = (chunk.Encoder{}).AppendEvent(data, time.Now(), nil, r); err != nil {
				t.Fatal(err)
			}
		}
		if retry, err := p.Flush(data, f.tag); retry || err != nil {
			t.Fatalf("flush: %v %v", retry, err)
		}
	}
	p.Close(context.Background())
	put.mu.Lock()
	defer put.mu.Unlock()
	var keys []string
	for key, body := range put.objs {
		keys = append(keys, key)
		if strings.Contains(key, akid) || bytes.Contains(body, []byte(akid)) {
			t.Errorf("the key id reached %s:\n%s", key, body)
		}
	}
	all := strings.Join(keys, "\n")
	for _, want := range []string{"a/app-firelens-0123456789abcdef0123456789abcdef/prod/app/", "o/app-firelens-0123456789abcdef0123456789abcdef/prod/app/", "a/ecs-_REDACTED_-firelens-", "prod-_REDACTED_/"} {
		if !strings.Contains(all, want) {
			t.Errorf("no key with %q:\n%s", want, all)
		}
	}
}

// Header-shaped secrets in the extra keys of a customised JSON format: a key named
// after a header under a prefix (req_cookie), [name, value] pairs, {"name","value"}
// objects in either order, and a header block in one string. Benign pairs stay.
func TestExtraHeaderPairsRedacted(t *testing.T) {
	line := `{"start_time":"2026-11-24T10:00:00.000Z","method":"GET","path":"/","response_code":200,` +
		`"req_cookie":"sid=s3cr3t-c00k1e","hdrs":[["x-api-key","k3y-v4lue-1"],["accept","*/*"]],` +
		`"har":[{"name":"X-Api-Key","value":"k3y-v4lue-2"},{"value":"k3y-v4lue-3","name":"authorization"},{"name":"page","value":"2"}],` +
		`"raw":"x-api-key: k3y-v4lue-4\r\ncookie: sid=s3ss10n-5\r\naccept: text/html"}`
	out := flushLines(t, map[string]string{"other_logs": "drop"}, logRecord(line))
	for _, secret := range []string{"s3cr3t-c00k1e", "k3y-v4lue", "s3ss10n-5"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("%q reached the object:\n%s", secret, out)
		}
	}
	for _, want := range []string{`["accept","*/*"]`, `{"name":"page","value":"2"}`, `accept: text/html`, `"name":"authorization"`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("object lacks %s:\n%s", want, out)
		}
	}
}

// A card number where a count belongs (a JSON number in bytes_sent, digits in a TEXT
// line's byte counts) is not written: the field becomes null. Real counts stay.
func TestCardInIntegerFieldIsNull(t *testing.T) {
	out := flushLines(t, map[string]string{"other_logs": "drop"},
		logRecord(`{"start_time":"2026-11-24T10:00:00.000Z","method":"GET","path":"/","response_code":200,"bytes_sent":`+card+`,"bytes_received":1234567890123,"connection_id":"`+card+`"}`),
		logRecord(`[2026-11-24T10:00:00.000Z] "GET / HTTP/1.1" 200 - `+card+` 7 1 1 "-" "curl/8" "req" "host" "10.0.0.1:80"`),
	)
	if bytes.Contains(out, []byte(card)) {
		t.Errorf("the card reached the object:\n%s", out)
	}
	for _, want := range []string{`"bytes_sent":null,"duration_ms":null`, `"bytes_received":1234567890123`, `"bytes_received":null,"bytes_sent":7`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("object lacks %s:\n%s", want, out)
		}
	}
}
