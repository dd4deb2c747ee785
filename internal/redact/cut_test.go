package redact

import (
	"regexp"
	"strings"
	"testing"
)

// TestPieceCutsEveryDetector cuts a line holding a secret at every byte of
// the secret (and around it), as Docker's 16 KiB pieces do, redacts each
// piece alone (the rules, then Piece, as the pipeline does) and checks that no 4 bytes of the
// secret survive in either piece: neither the start of an AWS key id at the
// end of one piece nor its tail at the start of the next.
func TestPieceCutsEveryDetector(t *testing.T) {
	keys, err := NewNames([]string{"password"})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []Mode{ModeMask, ModeHash} {
		r := mustNew(t, Config{Detectors: allDetectors(), QueryParams: DefaultQueryParams(), Mode: mode, HashKey: goldenKey})
		var sc Scratch
		for _, tc := range []struct{ line, secret string }{
			{"user token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk in the path", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"},
			{"key id AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"},
			{"h: Authorization: Bearer abcDEF123456ghiJKL789 x", "abcDEF123456ghiJKL789"},
			{"paid with 4111 1111 1111 1111 today", "4111 1111 1111 1111"},
			{"paid with 4111-1111-1111-1111 today", "4111-1111-1111-1111"},
			{"paid with 4111111111111111 today", "4111111111111111"},
			{"mail alice.smith@example.com now", "alice.smith@example.com"},
			{"from 192.168.10.77 on", "192.168.10.77"},
			{"from 2001:db8:85a3::8a2e:370:7334 on", "2001:db8:85a3::8a2e:370:7334"},
			{"gh ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 ok", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"},
			{"gl glpat-aBcDeFgHiJkLmNoPqRsT1 ok", "glpat-aBcDeFgHiJkLmNoPqRsT1"},
			{"sl xoxb-1234567890-abcdefghijKL ok", "xoxb-1234567890-abcdefghijKL"},
			{"hook https://hooks.slack.com/services/T0A1B2C3/B0D4E5F6/XyZxYz0123456789 ok", "services/T0A1B2C3/B0D4E5F6/XyZxYz0123456789"},
			{"st sk_live_aBcDeFgHiJkLmNoPqRsTuVwX ok", "sk_live_aBcDeFgHiJkLmNoPqRsTuVwX"},
			{"g AIzaSyA-1234567890abcdefghijklmnopqrstu ok", "AIzaSyA-1234567890abcdefghijklmnopqrstu"},
			{"k -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7zQ\n-----END PRIVATE KEY----- ok", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7zQ"},
			{"db https://bob:hunter2secret@db.example.com/x ok", "hunter2secret"},
			{`h Authorization: Digest username="bob", response="6629fae49393a05397450978507c4ef1" ok`, "6629fae49393a05397450978507c4ef1"},
			{"h Authorization: Basic dXNlcjpwYXNzd29yZA== ok", "dXNlcjpwYXNzd29yZA=="},
			{"authorization=Token abc123def456ghi ok", "abc123def456ghi"},
			{"aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY ok", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
			{"GET /p?access_token=abcdef123456&x=1 ok", "abcdef123456"},
			{`log {"user":"bob","password":"hunter2hunter2"} ok`, "hunter2hunter2"},
			{`log {"user":"bob","password": "hunter2hunter2"} ok`, "hunter2hunter2"},
		} {
			i := strings.Index(tc.line, tc.secret)
			if i < 0 {
				t.Fatalf("%q not in %q", tc.secret, tc.line)
			}
			// Whole, the line loses its secret: the sample is valid.
			if whole := string(r.Text(&sc, nil, []byte(tc.line), keys)); leaks(whole, tc.secret) {
				t.Fatalf("%v: whole line %q -> %q", mode, tc.line, whole)
			}
			for k := max(1, i-12); k < min(len(tc.line), i+len(tc.secret)+3); k++ {
				a := string(r.Piece(&sc, nil, r.Text(&sc, nil, []byte(tc.line[:k]), keys), Cut{After: true}))
				b := string(r.Piece(&sc, nil, r.Text(&sc, nil, []byte(tc.line[k:]), keys), Cut{Before: true}))
				if leaks(a, tc.secret) || leaks(b, tc.secret) {
					t.Errorf("%v: cut %q | %q -> %q | %q", mode, tc.line[:k], tc.line[k:], a, b)
				}
			}
		}
	}
}

var markers = regexp.MustCompile(`\[REDACTED\]|\[h:[0-9a-f]{16}\]`)

// leaks reports whether out, without its replacements, holds 4 bytes in a
// row of secret.
func leaks(out, secret string) bool {
	out = markers.ReplaceAllString(out, "_")
	for i := 0; i+4 <= len(secret); i++ {
		if strings.Contains(out, secret[i:i+4]) {
			return true
		}
	}
	return false
}

// TestPieceKeepsTheMiddle: only what touches a cut is replaced, and a piece
// not cut (or cut where no token touches) comes out unchanged.
func TestPieceKeepsTheMiddle(t *testing.T) {
	r := mustNew(t, Config{Detectors: DefaultDetectors()})
	var sc Scratch
	for _, tc := range []struct {
		in   string
		c    Cut
		want string
	}{
		{"abc def ghi", Cut{}, "abc def ghi"},
		{"abc, def ghi", Cut{Before: true}, Mask + ", def ghi"},
		{"abc def, ghi", Cut{Before: true}, Mask + ", ghi"}, // a scheme and its token
		{"abc def ghi", Cut{After: true}, "abc def " + Mask},
		{"abc, def, ghi", Cut{Before: true, After: true}, Mask + ", def, " + Mask},
		{"4111 1111 1111 1111, ok", Cut{Before: true}, Mask + ", ok"},
		{"ok 4111 1111 1111 1111", Cut{After: true}, "ok " + Mask},
		{"AKIAIOSF", Cut{Before: true, After: true}, Mask},
		{" (ok) ", Cut{Before: true, After: true}, " (ok) "},
		{"MIIB\nAAAA\n-----END RSA PRIVATE KEY----- x", Cut{Before: true}, Mask + "-----END RSA PRIVATE KEY----- x"},
		{"MIIB\nAAAA\n-----END CERTIFICATE----- x", Cut{Before: true}, Mask + "\nAAAA\n-----END CERTIFICATE----- x"},
		{`"k=-----BEGIN RSA PRIVATE KEY-----\nMIIB`, Cut{Before: true}, Mask + "-----BEGIN RSA PRIVATE KEY-----\\nMIIB"},
	} {
		if got := string(r.Piece(&sc, nil, []byte(tc.in), tc.c)); got != tc.want {
			t.Errorf("Piece(%q, %+v) = %q, want %q", tc.in, tc.c, got, tc.want)
		}
	}
}
