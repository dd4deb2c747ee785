package redact

import (
	"math/rand/v2"
	"slices"
	"testing"
	"unicode/utf8"
)

// decodeOnceByByte is decodeOnce one byte at a time, as it was written first:
// the reference for the one that copies runs.
func decodeOnceByByte(dst []byte, off []int32, src []byte) ([]byte, []int32) {
	for i := 0; i < len(src); {
		c := src[i]
		if c == '%' || c == '\\' || c == '&' {
			if b, n := escapeAt(src, i); n > 0 {
				k := 1
				if b[0] >= utf8.RuneSelf {
					_, k = utf8.DecodeRune(b[:])
				}
				dst = append(dst, b[:k]...)
				for range k {
					off = append(off, int32(i))
				}
				i += n
				continue
			}
		}
		dst = append(dst, c)
		off = append(off, int32(i))
		i++
	}
	return dst, append(off, int32(len(src)))
}

// hasEscapeByByte is hasEscape looking at every byte.
func hasEscapeByByte(s []byte) bool {
	for i := range s {
		if _, n := escapeAt(s, i); n > 0 {
			return true
		}
	}
	return false
}

// The escape scans that skip (hasEscape by trigger bits, decodeOnce by runs)
// agree with the byte-by-byte ones on values dense in escapes, broken ones
// included.
func TestEscapeScans(t *testing.T) {
	rng := rand.New(rand.NewPCG(28, 3))
	parts := []string{"%", "%2", "%2F", "%25", "%C3%A9", "%zz", `\`, `\n`, `\u00e9`, `\ud83d\ude00`, `\ud83d`, `\u12`, `\/`,
		"&", "&amp;", "&AMP;", "&#61;", "&#x3D;", "&#;", "&lt", "&nbsp;", ";", "a", "token=", "Z", "é", "\xff", " "}
	for range 20000 {
		var s []byte
		for range rng.IntN(12) {
			s = append(s, parts[rng.IntN(len(parts))]...)
		}
		if got, want := hasEscape(s, triggers(s)), hasEscapeByByte(s); got != want {
			t.Fatalf("hasEscape(%q) = %v, want %v", s, got, want)
		}
		pre := []byte("x")
		got, gotOff := decodeOnce(slices.Clone(pre), []int32{-1}, s, true)
		want, wantOff := decodeOnceByByte(slices.Clone(pre), []int32{-1}, s)
		if string(got) != string(want) || !slices.Equal(gotOff, wantOff) {
			t.Fatalf("decodeOnce(%q) = %q %v, want %q %v", s, got, gotOff, want, wantOff)
		}
		if plain, _ := decodeOnce(nil, nil, s, false); string(plain) != string(want[1:]) {
			t.Fatalf("decodeOnce(%q) without offsets = %q, want %q", s, plain, want[1:])
		}
	}
}

// scanAWSSecret skips labels shorter than minAWSLabel: none is shorter.
func TestMinAWSLabel(t *testing.T) {
	for _, l := range awsLabels {
		if len(l.suffix) < minAWSLabel {
			t.Errorf("label %q is shorter than minAWSLabel %d", l.suffix, minAWSLabel)
		}
	}
}

// Every exact name passes the filter of its list, whatever the list.
func TestNamesFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		var list []string
		for range 1 + rng.IntN(60) {
			list = append(list, randFrom(rng, "abcdefghijklmnopqrstuvwxyz0123456789_-.", 1+rng.IntN(maxParamLen)))
		}
		n, err := NewNames(list)
		if err != nil {
			continue
		}
		for _, name := range list {
			if !n.Match([]byte(name)) {
				t.Fatalf("%q is not matched by a list that holds it", name)
			}
		}
	}
}
