// Package jsonstr writes JSON strings exactly as encoding/json does with HTML escaping
// off, without allocating: the one escaper behind every line envoy_s3 writes, so
// normalised access logs and other records agree byte for byte.
package jsonstr

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// safe marks ASCII bytes that need no escaping in a JSON string.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// Append appends s as a quoted JSON string, byte for byte as
// encoding/json does with HTML escaping off: control characters escaped,
// invalid UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func Append(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip plain ASCII eight bytes at a time, then land exactly on the
		// first byte that needs a look.
		if i+8 <= len(s) {
			m := escapeMask(binary.LittleEndian.Uint64(s[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// PlainLen returns the length of the longest prefix of s that JSON writes as
// it is: printable ASCII (DEL included) other than '"' and '\\'. Callers that
// scan a value anyway use it to learn, in the same pass, that Append of it
// would be a plain copy between quotes.
func PlainLen(s []byte) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if m := escapeMask(binary.LittleEndian.Uint64(s[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(s) && s[i] < utf8.RuneSelf && safe[s[i]]; i++ {
	}
	return i
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// escapeMask flags, in the high bit of each byte of the little-endian word
// x, the bytes that are not plain JSON text: below 0x20, '"', '\\', or
// 0x80 and above. Flags above the first one may be wrong (borrows carry
// upward), so only the lowest set bit is meaningful; it is exact.
func escapeMask(x uint64) uint64 {
	ctl := (x - 0x20*ones) &^ x
	q := x ^ ('"' * ones)
	bs := x ^ ('\\' * ones)
	return (ctl | (q-ones)&^q | (bs-ones)&^bs | x) & highs
}
