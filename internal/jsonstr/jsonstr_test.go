package jsonstr

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strings"
	"testing"
)

// encodingJSON is the reference: encoding/json without HTML escaping.
func encodingJSON(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

func TestMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain ascii text", "quote\" back\\slash", "ctl\x00\x01\x1f\t\n\r\b\f",
		"日本語 テスト", "bad \xff\xfe utf8", "\u2028 and \u2029", "<html>&amp;", strings.Repeat("abcdefgh", 9) + "\"",
		"1234567\"", "12345678\\"} {
		if got, want := string(Append([]byte("x"), []byte(s))), "x"+encodingJSON(s); got != want {
			t.Errorf("%q: got %s want %s", s, got, want)
		}
	}
}

func FuzzMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "\u2028", "eight by"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(Append(nil, []byte(s))), encodingJSON(s); got != want {
			t.Fatalf("%q: got %s want %s", s, got, want)
		}
		if n := PlainLen([]byte(s)); n == len(s) && encodingJSON(s) != `"`+s+`"` {
			t.Fatalf("%q: PlainLen says plain, encoding/json writes %s", s, encodingJSON(s))
		}
	})
}

// TestPlainLen checks PlainLen against a byte loop over safe, for every byte
// value at every position of strings of 0 to 20 bytes (word and tail paths).
func TestPlainLen(t *testing.T) {
	want := func(s []byte) int {
		for i, c := range s {
			if c >= 0x80 || !safe[c] {
				return i
			}
		}
		return len(s)
	}
	for n := range 21 {
		s := []byte(strings.Repeat("a~ #[]", 4)[:n])
		if got := PlainLen(s); got != n {
			t.Fatalf("%q: %d, want %d", s, got, n)
		}
		for p := range n {
			for c := range 256 {
				s[p] = byte(c)
				if got, w := PlainLen(s), want(s); got != w {
					t.Fatalf("%q: %d, want %d", s, got, w)
				}
			}
			s[p] = 'a'
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	s := []byte(`Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36`)
	dst := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dst = Append(dst[:0], s)
	}
}

// TestEscapeMask checks that the lowest flag of escapeMask is exactly the
// first byte needing escape, for every byte value, and every pair of byte
// values, at every position over several fillers.
func TestEscapeMask(t *testing.T) {
	first := func(w []byte) int {
		for i, b := range w {
			if b >= 0x80 || !safe[b] {
				return i
			}
		}
		return 8
	}
	check := func(w []byte) {
		m := escapeMask(binary.LittleEndian.Uint64(w))
		if got, want := bits.TrailingZeros64(m)>>3, first(w); got != want {
			t.Fatalf("% x: first flagged byte %d, want %d", w, got, want)
		}
	}
	w := make([]byte, 8)
	for _, fill := range []byte{'a', ' ', '~', 0x7f, '!', '#', '[', ']'} {
		for p1 := range 8 {
			for c1 := range 256 {
				for i := range w {
					w[i] = fill
				}
				w[p1] = byte(c1)
				check(w)
				for p2 := p1 + 1; p2 < 8; p2++ {
					for c2 := range 256 {
						w[p2] = byte(c2)
						check(w)
					}
					w[p2] = fill
				}
			}
		}
	}
}
