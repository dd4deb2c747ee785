package accesslog

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

// keyPrefix[id] is `"name":`, preceded by a comma for every field but the
// first; keyNull[id] is the same followed by null, written in one append.
var keyPrefix, keyNull = func() (p, n [NumFields]string) {
	for id := range NumFields {
		s := `"` + fieldNames[id] + `":`
		if id > 0 {
			s = "," + s
		}
		p[id], n[id] = s, s+"null"
	}
	return p, n
}()

// AppendJSON appends e as one JSON object (no trailing newline): the schema
// fields in order, null for unset ones, then the Extra keys in input order.
// Strings are escaped here, so values rewritten after Parse are safe. The
// escaping matches encoding/json without HTML escaping: invalid UTF-8 becomes
// U+FFFD and U+2028/U+2029 are escaped.
func (e *Entry) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for id := range NumFields {
		f := &e.Fields[id]
		if f.Kind == Null {
			dst = append(dst, keyNull[id]...)
			continue
		}
		dst = append(dst, keyPrefix[id]...)
		dst = appendField(dst, f)
	}
	for i := range e.Extra {
		x := &e.Extra[i]
		dst = append(dst, ',')
		dst = appendString(dst, x.Key)
		dst = append(dst, ':')
		if len(x.RawJSON) > 0 {
			dst = append(dst, x.RawJSON...)
		} else {
			dst = appendField(dst, &x.Val)
		}
	}
	return append(dst, '}')
}

func appendField(dst []byte, f *Field) []byte {
	switch f.Kind {
	case String:
		return appendString(dst, f.Str)
	case Int:
		return strconv.AppendInt(dst, f.Int, 10)
	}
	return append(dst, "null"...)
}

// safe marks ASCII bytes that need no escaping in a JSON string.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendString appends s as a quoted JSON string.
func appendString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain ASCII bytes at a time.
		if i+8 <= len(s) && plain8(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
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
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
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
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plain8 reports whether the eight bytes of w need no escaping: ASCII, not
// control characters, neither '"' nor '\\'. With every byte below 0x80, a
// subtraction sets a high bit only where a byte is below the subtrahend or a
// lower byte already was (bit tricks from "Bit Twiddling Hacks"), so false
// answers may be spurious but true ones are exact.
func plain8(w uint64) bool {
	ctl := w - lsb*0x20
	quote := (w ^ lsb*'"') - lsb
	bslash := (w ^ lsb*'\\') - lsb
	return (w|ctl|quote|bslash)&msb == 0
}
