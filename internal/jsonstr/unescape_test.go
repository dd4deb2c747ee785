package jsonstr

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// unescapeCases seed the fuzzer and the table test: escapes of every kind, pairs,
// lone and reversed surrogates, and bodies that are no JSON string.
var unescapeCases = []string{
	``, `plain`, `a\"b\\c\/d`, `\b\f\n\r\t`, `\u00e9\u20AC`, `\ud83d\ude00`, `x\ud83dy`, `\ude00\ud83d`,
	`\ud83d\u0041`, `\ud83d\uZZZZ`, `\u12`, `\x`, `a\`, `"`, "\x01", `é€`, `\uD834\uDD1E tail`,
}

// AppendUnescaped decodes exactly what encoding/json decodes, and refuses what it
// refuses, for bodies of valid UTF-8.
func TestAppendUnescapedMatchesEncodingJSON(t *testing.T) {
	for _, s := range unescapeCases {
		checkUnescape(t, s)
	}
}

func FuzzAppendUnescaped(f *testing.F) {
	for _, s := range unescapeCases {
		f.Add(s)
	}
	f.Fuzz(checkUnescape)
}

func checkUnescape(t *testing.T, s string) {
	if !utf8.ValidString(s) {
		return // encoding/json replaces invalid UTF-8; callers check it themselves
	}
	var want string
	wantErr := json.Unmarshal([]byte(`"`+s+`"`), &want)
	got, ok := AppendUnescaped([]byte("prefix"), []byte(s))
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatalf("%q: dst's bytes were not kept: %q", s, got)
	}
	switch {
	case ok != (wantErr == nil):
		t.Fatalf("%q: ok %v, encoding/json: %v", s, ok, wantErr)
	case ok && string(got[6:]) != want:
		t.Fatalf("%q: %q, encoding/json %q", s, got[6:], want)
	}
}
