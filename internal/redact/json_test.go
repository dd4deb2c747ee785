package redact

import (
	"bytes"
	"encoding/json"
	"testing"
)

func jsonKeys(t testing.TB) *Names {
	k, err := NewNames([]string{"password", "*token*", "*secret*", "authorization"})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestJSON(t *testing.T) {
	r := mustNew(t, defaultConfig())
	keys := jsonKeys(t)
	for _, tc := range []struct{ in, want string }{
		// Nested objects and arrays: keys and values, at any depth.
		{`{"a":{"Password":"hunter2","n":[1,{"access-token":{"x":1}}]},"url":"/p?token=abc&page=2"}`,
			`{"a":{"Password":"[REDACTED]","n":[1,{"access-token":"[REDACTED]"}]},"url":"/p?token=[REDACTED]&page=2"}`},
		// A card number as a JSON number, with its key as context.
		{`{"card_number":4111111111111111,"order":4111111111111112,"n":-1.5e3}`,
			`{"card_number":"[REDACTED]","order":4111111111111112,"n":-1.5e3}`},
		// Secrets in keys, escaped values, whitespace kept.
		{"{ \"ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8\" : [ \"a\\u0026token=xyz\" , null ] }",
			"{ \"[REDACTED]\" : [ \"a\\u0026token=[REDACTED]\" , null ] }"},
		// Nothing to hide: null, "" and a replacement stay.
		{`{"password":null,"secret":"","token":"[REDACTED]"}`, `{"password":null,"secret":"","token":"[REDACTED]"}`},
		// Scalars.
		{`"Bearer abc.def"`, `"Bearer [REDACTED]"`},
		{`true`, `true`},
		// Not JSON: redacted as text, members with secret names included.
		{`{"token": "abc"`, `{"token": "[REDACTED]"`},
		{`{"password":"hunter2","n":1}trailing`, `{"password":"[REDACTED]","n":1}trailing`},
		{`{"db":"admin:hunter2@db.internal:5432/app","n":`, `{"db":"admin:[REDACTED]@db.internal:5432/app","n":`},
		{`token=abc&x=1 {`, `token=[REDACTED]&x=1 {`},
	} {
		var sc Scratch
		got := string(r.JSON(&sc, []byte("keep:"), []byte(tc.in), keys))
		if got != "keep:"+tc.want {
			t.Errorf("JSON(%s)\n got: %s\nwant: keep:%s", tc.in, got, tc.want)
		}
	}
}

// Valid JSON stays valid, redaction is idempotent and counted when it
// changes something, and JSON without secrets comes out byte for byte,
// allocating nothing.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":"c"}]}`, `{"password":"x","t":"Bearer abc"}`, `[4111111111111111]`, `"\ud83d\ude00 \u0026token=1"`, `{"k":{"secret":[1,{"x":"y"}]}}`} {
		f.Add([]byte(s))
	}
	rs := fuzzRedactors(f)
	keys := jsonKeys(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, r := range rs {
			sc := Scratch{Defer: true}
			out := r.JSON(&sc, nil, in, keys)
			// Counted exactly when something was replaced: what an attempt
			// to parse counted is not left over when in is not JSON.
			if counted := sc.counts.Total() > 0; counted == bytes.Equal(out, in) {
				t.Fatalf("counted %v:\n in: %s\nout: %s", sc.counts, in, out)
			}
			sc.Discard()
			if json.Valid(in) && !json.Valid(out) {
				t.Fatalf("invalid JSON out of valid input:\n in: %s\nout: %s", in, out)
			}
			if again := r.JSON(&sc, nil, out, keys); !bytes.Equal(again, out) {
				t.Fatalf("not idempotent:\n in: %s\nout: %s\n 2x: %s", in, out, again)
			}
		}
	})
}

func TestJSONZeroAllocs(t *testing.T) {
	r := mustNew(t, defaultConfig())
	keys := jsonKeys(t)
	in := []byte(`{"user":"bob","items":[{"sku":"A-1","qty":2}],"path":"/api/v1/orders?page=2","ts":1700000000000}`)
	var sc Scratch
	dst := make([]byte, 0, 1024)
	if a := testing.AllocsPerRun(100, func() { dst = r.JSON(&sc, dst[:0], in, keys) }); a != 0 {
		t.Errorf("%v allocs", a)
	}
	if !bytes.Equal(dst, in) {
		t.Errorf("changed: %s", dst)
	}
}

func TestNames(t *testing.T) {
	n, err := NewNames([]string{"x-api-key", "*passw*", "code"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"x-api-key": true, "X_API_KEY": true, "xApiKey": true, "x%2Dapi%2Dkey": true, "x%252Dapi-key": true,
		"userPassword": true, "PASSWD": true, "code": true, "CODE": true, "co-de": true,
		"codes": false, "api-key": false, "pass": false, "": false,
	} {
		if got := n.Match([]byte(name)); got != want {
			t.Errorf("Match(%q) = %v, want %v", name, got, want)
		}
	}
	if n.MatchPart([]byte("code")) || !n.MatchPart([]byte("my-password")) {
		t.Error("MatchPart")
	}
	for _, bad := range []string{"", "**", "a=b", "*a*b*", "a b"} {
		if _, err := NewNames([]string{bad}); err == nil {
			t.Errorf("NewNames(%q) accepted", bad)
		}
	}
}

// Only JSON numbers pass as numbers: an address written bare in a JSON-looking
// line is text, for the detectors to see.
func TestJSONNumbersAreStrict(t *testing.T) {
	r := mustNew(t, Config{Detectors: []Detector{IPv4}})
	for in, want := range map[string]string{
		`{"ip":10.0.35.28,"n":1}`:       `{"ip":[REDACTED],"n":1}`,
		`{"n":-1.5e3,"z":0,"e":2E+10}`:  `{"n":-1.5e3,"z":0,"e":2E+10}`,
		`[0.5, 10.0.0.1]`:               `[0.5, [REDACTED]]`,
		`{"v":1.2.3.4-beta,"host":"x"}`: `{"v":1.2.3.4-beta,"host":"x"}`,
	} {
		var sc Scratch
		if got := string(r.JSON(&sc, nil, []byte(in), nil)); got != want {
			t.Errorf("JSON(%s) = %s, want %s", in, got, want)
		}
	}
	for _, n := range []string{"0", "-0", "12", "1.5", "1e9", "-2.5E-3"} {
		if !jsonNumber([]byte(n)) {
			t.Errorf("%s is a JSON number", n)
		}
	}
	for _, n := range []string{"", "-", "01", "1.", ".5", "1e", "1e+", "10.0.0.1", "1-2", "+1"} {
		if jsonNumber([]byte(n)) {
			t.Errorf("%s is not a JSON number", n)
		}
	}
}

// TestJSONHeaderPairs: name/value pairs and header blocks are members, with
// the default keys, in JSON and in text that is not JSON.
func TestJSONHeaderPairs(t *testing.T) {
	keys, err := NewNames(DefaultJSONKeys())
	if err != nil {
		t.Fatal(err)
	}
	r := mustNew(t, Config{Detectors: DefaultDetectors()})
	var sc Scratch
	for _, tc := range []struct{ in, want string }{
		{`{"req_cookie":"a=1"}`, `{"req_cookie":"[REDACTED]"}`},
		{`{"response_set_cookie":"a=1","request_id":"r1"}`, `{"response_set_cookie":"[REDACTED]","request_id":"r1"}`},
		{`[["x-api-key","v1"],["accept","*/*"]]`, `[["x-api-key","[REDACTED]"],["accept","*/*"]]`},
		{`[["x-api-key","v1","v2"]]`, `[["x-api-key","v1","v2"]]`}, // not a pair
		{`[{"name":"x-api-key","value":"v1"}]`, `[{"name":"x-api-key","value":"[REDACTED]"}]`},
		{`[{"value":["v1"],"n":1,"Name":"Cookie"}]`, `[{"value":"[REDACTED]","n":1,"Name":"Cookie"}]`},
		{`{"key":"token","values":"v1"}`, `{"key":"token","values":"[REDACTED]"}`},
		{`{"name":"page","value":"2"}`, `{"name":"page","value":"2"}`},
		{`{"h":"x-api-key: v1\r\ncookie: sid=1\r\naccept: */*"}`, `{"h":"x-api-key: [REDACTED]\r\ncookie: [REDACTED]\r\naccept: */*"}`},
		{`{"h":"x-api-key: v1"}`, `{"h":"x-api-key: [REDACTED]"}`},
		{`{"h":"password: hunter2"}`, `{"h":"password: hunter2"}`}, // prose
	} {
		if got := string(r.JSON(&sc, nil, []byte(tc.in), keys)); got != tc.want {
			t.Errorf("JSON(%s)\n got: %s\nwant: %s", tc.in, got, tc.want)
		}
	}
	text := "GET / x-api-key: v1\nCookie: sid=1\nAccept: */*"
	if got, want := string(r.Text(&sc, nil, []byte(text), keys)), "GET / x-api-key: v1\nCookie: [REDACTED]\nAccept: */*"; got != want {
		t.Errorf("Text(%q) = %q, want %q", text, got, want)
	}
}
