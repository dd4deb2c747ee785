package redact

import (
	"bytes"
	"slices"
	"unicode/utf8"
)

// Encodings.
//
// Secrets travel escaped: percent-encoded in URLs (Bearer%20<jwt>,
// %3Ftoken%3D..., twice-encoded %2574oken), JSON-escaped in raw lines
// (\u0026token=, \/), HTML-escaped in pages (&amp;token=, &#61;). Every rule
// therefore runs on the value as written and then on up to maxLevels
// decodings of it, each decoding one layer of %XX, JSON (\", \\, \/, \b, \f,
// \n, \r, \t, \uXXXX with surrogate pairs) and HTML (&amp; &lt; &gt; &quot;
// &apos; &nbsp; &#N; &#xH;) escapes at once. A match in a decoding is mapped back to
// the bytes it came from, widened to whole escapes, and only those are
// replaced: the rest of the value keeps its encoding. '+' is not decoded
// (it is a literal in paths and in tokens).
//
// Decoding costs nothing for a value without '%', '\\' or an '&' entity.

// maxLevels bounds how many layers of escaping are seen through.
const maxLevels = 3

// hasEscape reports whether s holds an escape decodeOnce would decode; m is
// the trigger mask of s.
func hasEscape(s []byte, m uint32) bool {
	if m&tEsc == 0 {
		return false
	}
	return m&tPct != 0 && escapeFrom(s, '%') || m&tBack != 0 && escapeFrom(s, '\\') ||
		m&(tAmp|tSemi) == tAmp|tSemi && escapeFrom(s, '&') // an entity ends with ';'
}

// escapeFrom reports whether one of the bytes c of s starts an escape.
func escapeFrom(s []byte, c byte) bool {
	for i := 0; ; i++ {
		j := bytes.IndexByte(s[i:], c)
		if j < 0 {
			return false
		}
		i += j
		if _, n := escapeAt(s, i); n > 0 {
			return true
		}
	}
}

// escapeAt decodes the escape at s[i] into at most 4 bytes of UTF-8 and
// returns them and the escape's length (0 when s[i] starts none).
func escapeAt(s []byte, i int) (out [4]byte, n int) {
	switch s[i] {
	case '%':
		if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			out[0] = unhex(s[i+1])<<4 | unhex(s[i+2])
			return out, 3
		}
	case '\\':
		if i+1 >= len(s) {
			return out, 0
		}
		switch c := s[i+1]; c {
		case '"', '\\', '/':
			out[0] = c
		case 'b':
			out[0] = '\b'
		case 'f':
			out[0] = '\f'
		case 'n':
			out[0] = '\n'
		case 'r':
			out[0] = '\r'
		case 't':
			out[0] = '\t'
		case 'u':
			r, ok := hex4(s, i+2)
			if !ok {
				return out, 0
			}
			n = 6
			if 0xD800 <= r && r < 0xDC00 && i+12 <= len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
				if lo, ok := hex4(s, i+8); ok && 0xDC00 <= lo && lo < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					n = 12
				}
			}
			if 0xD800 <= r && r < 0xE000 {
				r = utf8.RuneError
			}
			utf8.EncodeRune(out[:], r)
			return out, n
		default:
			return out, 0
		}
		return out, 2
	case '&':
		return entityAt(s, i)
	}
	return out, 0
}

// hex4 parses four hex digits at s[i:].
func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		if !isHex(c) {
			return 0, false
		}
		r = r<<4 | rune(unhex(c))
	}
	return r, true
}

// entityAt decodes an HTML character reference at s[i] ('&').
func entityAt(s []byte, i int) (out [4]byte, n int) {
	j := i + 1
	for j < len(s) && j-i <= 10 && s[j] != ';' && (isAlnum(s[j]) || s[j] == '#') {
		j++
	}
	if j >= len(s) || s[j] != ';' || j == i+1 {
		return out, 0
	}
	name := s[i+1 : j]
	n = j + 1 - i
	if name[0] == '#' {
		var r rune
		digits := name[1:]
		base := rune(10)
		if len(digits) > 0 && (digits[0] == 'x' || digits[0] == 'X') {
			base, digits = 16, digits[1:]
		}
		if len(digits) == 0 || len(digits) > 7 {
			return out, 0
		}
		for _, c := range digits {
			switch {
			case isDigit(c):
				r = r*base + rune(c-'0')
			case base == 16 && isHex(c):
				r = r*base + rune(unhex(c))
			default:
				return out, 0
			}
		}
		if !utf8.ValidRune(r) {
			r = utf8.RuneError
		}
		utf8.EncodeRune(out[:], r)
		return out, n
	}
	switch {
	case foldEqual(name, "amp"):
		out[0] = '&'
	case foldEqual(name, "lt"):
		out[0] = '<'
	case foldEqual(name, "gt"):
		out[0] = '>'
	case foldEqual(name, "quot"):
		out[0] = '"'
	case foldEqual(name, "apos"):
		out[0] = '\''
	case foldEqual(name, "nbsp"):
		utf8.EncodeRune(out[:], '\u00a0') // between a scheme and its token
	default:
		return out, 0
	}
	return out, n
}

// decodeOnce appends to dst the decoding of one layer of escapes of src.
// With withOff, it appends to off for each byte of the decoding the offset
// of the src bytes it comes from (the start of its escape), then len(src).
// A decoding is never longer than what it decodes, so both grow once, and the
// bytes between escapes are copied a run at a time.
func decodeOnce(dst []byte, off []int32, src []byte, withOff bool) ([]byte, []int32) {
	dst = slices.Grow(dst, len(src))
	if withOff {
		off = slices.Grow(off, len(src)+1)
	}
	for i := 0; i < len(src); {
		j := i
		for j < len(src) && !escStart[src[j]] {
			j++
		}
		dst = append(dst, src[i:j]...)
		if withOff {
			n := len(off)
			off = off[:n+j-i]
			for k := range off[n:] {
				off[n+k] = int32(i + k)
			}
		}
		if i = j; i == len(src) {
			break
		}
		b, n := escapeAt(src, i)
		if n == 0 {
			dst = append(dst, src[i])
			if withOff {
				off = append(off, int32(i))
			}
			i++
			continue
		}
		k := 1
		if b[0] >= utf8.RuneSelf {
			_, k = utf8.DecodeRune(b[:])
		}
		dst = append(dst, b[:k]...)
		if withOff {
			for range k {
				off = append(off, int32(i))
			}
		}
		i += n
	}
	if withOff {
		off = append(off, int32(len(src)))
	}
	return dst, off
}

// escStart marks the bytes an escape starts with.
var escStart = [256]bool{'%': true, '\\': true, '&': true}

// plain returns v with every layer of escapes decoded (at most maxLevels),
// in sc's buffers: the input of a pseudonym, so a token has one pseudonym
// however it was escaped.
func (sc *Scratch) plain(v []byte) []byte {
	for k := range maxLevels {
		if !hasEscape(v, triggers(v)) {
			break
		}
		if k%2 == 0 {
			sc.dec, _ = decodeOnce(sc.dec[:0], nil, v, false)
			v = sc.dec
		} else {
			sc.dec2, _ = decodeOnce(sc.dec2[:0], nil, v, false)
			v = sc.dec2
		}
	}
	return v
}
