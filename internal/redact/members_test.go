package redact

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// Members with secret names are found in text that is not valid JSON, as
// written and through escapes, and only their values are replaced.
func TestTextMembers(t *testing.T) {
	keys := jsonKeys(t)
	for _, tc := range []struct{ in, want string }{
		// JSON cut short, followed by text, after a prefix.
		{`{"user":"bob","password":"hunter2`, `{"user":"bob","password":"[REDACTED]`},
		{`{"password":"hunter2","n":1} and more`, `{"password":"[REDACTED]","n":1} and more`},
		{`login failed {"user":"bob", "Password" : "hunter2"}`, `login failed {"user":"bob", "Password" : "[REDACTED]"}`},
		// Values of every type; null, "" and replacements stay.
		{`x "api_token": 12345, "secret": [1, "a]"], "authorization": {"k": "}"} y`, `x "api_token": [REDACTED], "secret": [REDACTED], "authorization": [REDACTED] y`},
		{`x "secret": {"a": [1, 2`, `x "secret": [REDACTED]`},
		{`"password": hunter2 next`, `"password": [REDACTED] next`},
		{`"password":null, "secret":"", "token":"[REDACTED]", "authorization": [REDACTED]`, `"password":null, "secret":"", "token":"[REDACTED]", "authorization": [REDACTED]`},
		// Escaped quotes inside values and names; an escaped name is judged decoded.
		{`{"note":"say \"password\" twice","pass\u0077ord":"a\"b","n":1`, `{"note":"say \"password\" twice","pass\u0077ord":"[REDACTED]","n":1`},
		// A JSON object serialised into a string, as written and escaped twice.
		{`msg={\"token\":\"abc123\",\"n\":1}`, `msg={\"token\":\"[REDACTED]\",\"n\":1}`},
		{`{"m":"{\\\"password\\\":\\\"pw\\\"}"`, `{"m":"{\\\"password\\\":\\\"[REDACTED]\\\"}"`},
		// Single quotes, as Python prints a dict; each kind of quote pairs with its own.
		{`user={'name': 'bob', 'password': 'hunter2', 'api_token': 'it\'s'}`, `user={'name': 'bob', 'password': '[REDACTED]', 'api_token': '[REDACTED]'}`},
		{`{'secret': {'a': "]'", 'b': [1]}, 'n': 1}`, `{'secret': [REDACTED], 'n': 1}`},
		{`{"secret": {"a": "don't"}, "n": 1}`, `{"secret": [REDACTED], "n": 1}`},
		// Unquoted names are prose: the query parameter rule takes name=value.
		{`password: hunter2`, `password: hunter2`},
		// Names not in the list, and quotes that make no member.
		{`{"user":"bob","page":"2"} "password" is required`, `{"user":"bob","page":"2"} "password" is required`},
		{`"a" "password" "b": 1`, `"a" "password" "b": 1`},
	} {
		r := mustNew(t, Config{})
		var sc Scratch
		got := string(r.Text(&sc, []byte("keep:"), []byte(tc.in), keys))
		if got != "keep:"+tc.want {
			t.Errorf("Text(%s)\n got: %s\nwant: keep:%s", tc.in, got, tc.want)
		}
		if sc.keys != nil {
			t.Fatal("Text left its keys in the Scratch")
		}
		// String knows no keys: the members stay (redact_json_keys none).
		if got := string(r.String(&sc, nil, []byte(tc.in))); got != tc.in {
			t.Errorf("String(%s) = %s", tc.in, got)
		}
	}
}

// A value that JSON cannot parse is counted as what its text redaction did,
// not also as what the abandoned attempt found.
func TestJSONFallbackCounts(t *testing.T) {
	keys := jsonKeys(t)
	for _, tc := range []struct {
		in   string
		want uint64 // replacements in the output
	}{
		{`{"password":"hunter2","n":1}`, 1},
		{`{"password":"hunter2","n":1`, 1},
		{`{"password":"hunter2","n":1}x`, 1},
		{`{"u":"/p?token=abc","password":"pw","n":[`, 2},
		{`{"arn":"arn:aws:ecs:ap@northeast-1:1:task/x","z":`, 1},
		{`{"arn":"arn:aws:ecs:ap@northeast-1:1:task/x","z":1}`, 1},
		{`{"ok":"nothing here","z":`, 0},
	} {
		for _, deferred := range []bool{false, true} {
			r := mustNew(t, defaultConfig())
			sc := Scratch{Defer: deferred}
			out := r.JSON(&sc, nil, []byte(tc.in), keys)
			if deferred {
				if r.Counts().Total() != 0 {
					t.Fatalf("%s: counted before Commit", tc.in)
				}
				r.Commit(&sc)
			}
			if got := r.Counts().Total(); got != tc.want {
				t.Errorf("JSON(%s) (deferred %v) = %s, counted %d, want %d", tc.in, deferred, out, got, tc.want)
			}
			if n := uint64(bytes.Count(out, []byte(Mask))); n != tc.want {
				t.Errorf("JSON(%s) = %s: %d replacements, want %d", tc.in, out, n, tc.want)
			}
		}
	}
}

func TestTextZeroAllocs(t *testing.T) {
	r := mustNew(t, defaultConfig())
	keys := jsonKeys(t)
	var sc Scratch
	dst := make([]byte, 0, 1024)
	for _, in := range []string{
		`2026-12-01 request done {"user":"bob","page":"2","ms":12}`,
		`login failed {"user":"bob","password":"hunter2","retry":true`,
	} {
		b := []byte(in)
		r.Text(&sc, dst[:0], b, keys) // grow the scratch
		if a := testing.AllocsPerRun(100, func() { dst = r.Text(&sc, dst[:0], b, keys) }); a != 0 {
			t.Errorf("Text(%s): %v allocs", in, a)
		}
	}
}

// FuzzText: Text with keys never panics, keeps UTF-8 valid, is idempotent,
// leaves no member with a secret name, and changes nothing when nothing
// matches; JSON of valid JSON leaves no such member either.
func FuzzText(f *testing.F) {
	addSeeds(f)
	for _, s := range []string{
		`{"password":"hunter2","n":1`, `x "secret": {"a": [1, "]"`, `msg={\"token\":\"abc\"}`,
		`"a" "password" "b": 1`, `{"pass\u0077ord":"a\"b"}`, `"token": [REDACTED] "pwd":x`,
	} {
		f.Add([]byte(s), false)
	}
	rs := fuzzRedactors(f)
	keys := jsonKeys(f)
	f.Fuzz(func(t *testing.T, in []byte, hash bool) {
		r := rs[0]
		if hash {
			r = rs[1]
		}
		var sc Scratch
		sc.setKeys(keys)
		matched := r.find(&sc, in, false)
		sc.keys = nil
		out := r.Text(&sc, nil, in, keys)
		if !matched && !bytes.Equal(out, in) {
			t.Fatalf("nothing matched but output differs:\n in: %q\nout: %q", in, out)
		}
		if utf8.Valid(in) && !utf8.Valid(out) {
			t.Fatalf("invalid UTF-8 out of valid input:\n in: %q\nout: %q", in, out)
		}
		if again := r.Text(&sc, nil, out, keys); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n in: %q\nout: %q\n 2x: %q", in, out, again)
		}
		// Valid JSON: no member of the output has a secret name and a value
		// left (inside string values, String's fixpoint already says so).
		if json.Valid(in) {
			j := r.JSON(&sc, nil, in, keys)
			sc.spans = sc.spans[:0]
			sc.setKeys(keys)
			scanMembers(&sc, j)
			if sc.keys = nil; len(sc.spans) > 0 {
				t.Fatalf("JSON left a secret member:\n in: %q\nout: %q\nspans: %v", in, j, sc.spans)
			}
		}
	})
}
