package accesslog_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/jsonstr"
)

// addSeeds adds the hand-written cases and the first lines of each corpus
// file to the fuzz seed corpus.
func addSeeds(f *testing.F) {
	if b, err := os.ReadFile("testdata/cases.input"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if _, q, ok := strings.Cut(strings.TrimSpace(l), " "); ok && !strings.HasPrefix(l, "#") {
				if s, err := strconv.Unquote(q); err == nil {
					f.Add([]byte(s))
				}
			}
		}
	}
	inputs, _ := filepath.Glob(filepath.Join(corpusDir, "*.input"))
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		for i, l := range bytes.Split(b, []byte("\n")) {
			if i == 8 {
				break
			}
			if len(l) <= 4096 {
				f.Add(l)
			}
		}
	}
}

func FuzzParseText(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, line []byte) { checkAccepted(t, accesslog.FormatText, line) })
}

func FuzzParseJSON(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, line []byte) { checkAccepted(t, accesslog.FormatJSON, line) })
}

// checkAccepted parses line and, when it is accepted, checks that the output
// is valid JSON of the schema and agrees with the input.
func checkAccepted(t *testing.T, format accesslog.Format, line []byte) {
	p := accesslog.Parser{Format: format}
	var e accesslog.Entry
	orig := bytes.Clone(line)
	ok := p.Parse(line, &e)
	if !bytes.Equal(orig, line) {
		t.Fatal("Parse modified its input")
	}
	var auto accesslog.Parser
	var ae accesslog.Entry
	autoOK := auto.Parse(line, &ae)
	if !ok {
		// Auto may accept only what belongs to the other family.
		if autoOK && (line[0] == '[') == (format == accesslog.FormatText) {
			t.Fatalf("FormatAuto accepts a line that %v rejects", format)
		}
		return
	}
	if !autoOK {
		t.Fatalf("FormatAuto rejects a line that %v accepts", format)
	}
	if !utf8.Valid(line) || len(line) > accesslog.MaxLineSize {
		t.Fatal("accepted a line that is not UTF-8 or too long")
	}
	out := e.AppendJSON(nil)
	if string(out) != string(ae.AppendJSON(nil)) {
		t.Fatal("FormatAuto output differs")
	}
	if ref := referenceJSON(&e); string(out) != string(ref) {
		t.Fatalf("AppendJSON wrote\n%s\nescaping every value writes\n%s", out, ref)
	}
	if !json.Valid(out) || !utf8.Valid(out) {
		t.Fatalf("invalid JSON output: %s", out)
	}
	keys := topLevelKeys(t, out)
	names := accesslog.FieldNames()
	if len(keys) != len(names)+len(e.Extra) {
		t.Fatalf("%d keys, want %d schema + %d extra: %s", len(keys), len(names), len(e.Extra), out)
	}
	for i, n := range names {
		if keys[i] != n {
			t.Fatalf("key %d is %q, want %q", i, keys[i], n)
		}
	}
	for i, x := range e.Extra {
		if keys[len(names)+i] != string(x.Key) {
			t.Fatalf("extra key %d is %q, want %q", i, keys[len(names)+i], x.Key)
		}
		for _, n := range names {
			if n == string(x.Key) {
				t.Fatalf("extra key %q collides with the schema", n)
			}
		}
	}
	for id := range accesslog.NumFields {
		f := e.Fields[id]
		switch {
		case f.Kind == accesslog.Int && !id.IsInt(), f.Kind == accesslog.String && id.IsInt():
			t.Fatalf("%s has kind %v", id.Name(), f.Kind)
		case f.Kind == accesslog.String && (len(f.Str) == 0 || string(f.Str) == "-"):
			t.Fatalf("%s is an unset value %q, want null", id.Name(), f.Str)
		}
	}
	ts := e.Fields[accesslog.Timestamp]
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", string(ts.Str)); err != nil || len(ts.Str) != 24 {
		t.Fatalf("timestamp %q: %v", ts.Str, err)
	}
	if k := string(e.Fields[accesslog.Kind].Str); k != "http" && k != "tcp" {
		t.Fatalf("kind %q", k)
	}
	switch format {
	case accesslog.FormatText:
		if line[0] != '[' {
			t.Fatal("TEXT line does not start with [")
		}
	case accesslog.FormatJSON:
		checkAgainstEncodingJSON(t, line, &e)
	}
}

// referenceJSON renders e the plain way, every string through jsonstr.Append:
// what AppendJSON must write, whatever it skipped because Parse proved a value
// needs no escaping.
func referenceJSON(e *accesslog.Entry) []byte {
	val := func(dst []byte, f accesslog.Field) []byte {
		switch f.Kind {
		case accesslog.String:
			return jsonstr.Append(dst, f.Str)
		case accesslog.Int:
			return strconv.AppendInt(dst, f.Int, 10)
		}
		return append(dst, "null"...)
	}
	dst := []byte{'{'}
	for id := range accesslog.NumFields {
		if id > 0 {
			dst = append(dst, ',')
		}
		dst = append(jsonstr.Append(dst, []byte(id.Name())), ':')
		dst = val(dst, e.Fields[id])
	}
	for _, x := range e.Extra {
		dst = append(jsonstr.Append(append(dst, ','), x.Key), ':')
		if len(x.RawJSON) > 0 {
			dst = append(dst, x.RawJSON...)
		} else {
			dst = val(dst, x.Val)
		}
	}
	return append(dst, '}')
}

func topLevelKeys(t *testing.T, out []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(out))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("output is not an object: %s", out)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// checkAgainstEncodingJSON compares the hand-rolled scanner with
// encoding/json: the line must be valid JSON, and decoded string values must
// match.
func checkAgainstEncodingJSON(t *testing.T, line []byte, e *accesslog.Entry) {
	if !json.Valid(line) {
		t.Fatalf("accepted invalid JSON: %q", line)
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("encoding/json cannot decode an accepted line: %v", err)
	}
	for id := range accesslog.NumFields {
		if id.IsInt() || id == accesslog.Timestamp || id == accesslog.Kind {
			continue
		}
		v, present := m[id.Name()]
		f := e.Fields[id]
		switch v := v.(type) {
		case string:
			if v == "" || v == "-" {
				if f.Kind != accesslog.Null {
					t.Fatalf("%s: %q should be null", id.Name(), v)
				}
			} else if f.Kind != accesslog.String || string(f.Str) != v {
				t.Fatalf("%s = %q, encoding/json says %q", id.Name(), f.Str, v)
			}
		case json.Number:
			if string(f.Str) != string(v) {
				t.Fatalf("%s = %q, encoding/json says %s", id.Name(), f.Str, v)
			}
		case nil:
			if f.Kind != accesslog.Null {
				t.Fatalf("%s is %q, want null (present=%v)", id.Name(), f.Str, present)
			}
		default:
			t.Fatalf("%s accepted with a %T value", id.Name(), v)
		}
	}
	seen := map[string]int{}
	for _, x := range e.Extra {
		seen[string(x.Key)]++
	}
	for _, x := range e.Extra {
		v, ok := m[string(x.Key)]
		if !ok {
			t.Fatalf("extra key %q not in the input", x.Key)
		}
		if s, isStr := v.(string); isStr && (x.Val.Kind != accesslog.String || string(x.Val.Str) != s) {
			// With repeated keys (however escaped) encoding/json keeps the last
			// value; we keep each.
			if seen[string(x.Key)] < 2 {
				t.Fatalf("extra %q = %q, encoding/json says %q", x.Key, x.Val.Str, s)
			}
		}
	}
}
