package parquetenc

import (
	"encoding/binary"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/envoy-s3/envoy_s3/internal/jsonstr"
)

// scanner reads the JSON this plugin writes into its spool. It accepts any
// valid JSON (the spool may hold lines of an older version), rejects what is not,
// and never panics; nesting is bounded by maxDepth.
type scanner struct {
	b []byte
	i int
}

const maxDepth = 64

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// eat consumes c if it is the next non-space byte.
func (s *scanner) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// lit consumes the literal word (null, true, false).
func (s *scanner) lit(word string) bool {
	s.ws()
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// str reads a JSON string. Without escapes the result aliases the input;
// otherwise it is unescaped into *buf (appended) and aliases that. Plain ASCII
// is skipped eight bytes at a time: it is most of every line.
func (s *scanner) str(buf *[]byte) ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	s.i++
	start, i, b := s.i, s.i, s.b
	ascii := true
	for {
		for i+8 <= len(b) && !special(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			s.i = i
			return nil, false
		}
		switch c := b[i]; {
		case c == '"':
			v := b[start:i]
			s.i = i + 1
			if !ascii && !utf8.Valid(v) {
				return nil, false
			}
			return v, true
		case c == '\\':
			s.i = i
			return s.strSlow(start, buf)
		case c < 0x20:
			s.i = i
			return nil, false
		case c >= 0x80:
			ascii = false
		}
		i++
	}
}

// special reports whether any of the eight bytes of w is a quote, a
// backslash, a control character or not ASCII (SWAR: the bit tricks of
// "Bit Twiddling Hacks", exact as a yes/no answer).
func special(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	return (w-0x20*ones)&^w&highs|zero(w^'"'*ones)|zero(w^'\\'*ones)|w&highs != 0
}

// strSlow reads a string that holds an escape, from its start to its closing
// quote, and unescapes it into *buf.
func (s *scanner) strSlow(start int, buf *[]byte) ([]byte, bool) {
	end := s.i
	for end < len(s.b) && s.b[end] != '"' {
		if s.b[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(s.b) {
		s.i = end
		return nil, false
	}
	n := len(*buf)
	out, ok := jsonstr.AppendUnescaped(*buf, s.b[start:end])
	*buf = out
	s.i = end + 1
	if v := out[n:]; ok && utf8.Valid(v) {
		return v[:len(v):len(v)], true
	}
	return nil, false
}

// number consumes a JSON number and returns its text.
func (s *scanner) number() ([]byte, bool) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if n := digits(); n == 0 || (n > 1 && s.b[s.i-n] == '0') {
		return nil, false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return nil, false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	return s.b[start:s.i], true
}

// skip consumes one JSON value of any type and reports whether it was valid.
func (s *scanner) skip(depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch s.peek() {
	case '"':
		var none []byte
		_, ok := s.str(&none)
		return ok
	case '{':
		s.i++
		if s.eat('}') {
			return true
		}
		for {
			var none []byte
			if _, ok := s.str(&none); !ok || !s.eat(':') || !s.skip(depth+1) {
				return false
			}
			if s.eat('}') {
				return true
			}
			if !s.eat(',') {
				return false
			}
		}
	case '[':
		s.i++
		if s.eat(']') {
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			if s.eat(']') {
				return true
			}
			if !s.eat(',') {
				return false
			}
		}
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	}
	_, ok := s.number()
	return ok
}

// parseInt parses a JSON number that is a whole int64.
func parseInt(b []byte) (int64, bool) {
	v, err := strconv.ParseInt(string(b), 10, 64)
	return v, err == nil
}

// parseTime reads an RFC 3339 timestamp as Unix milliseconds. The normalised
// form (2025-11-11T07:40:46.216Z) takes a fast path.
func parseTime(b []byte) (int64, bool) {
	if len(b) == 24 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[19] == '.' && b[23] == 'Z' {
		var v [7]int
		ok := true
		num := func(i, n int) int {
			x := 0
			for _, c := range b[i : i+n] {
				if c < '0' || c > '9' {
					ok = false
				}
				x = x*10 + int(c-'0')
			}
			return x
		}
		v[0], v[1], v[2], v[3], v[4], v[5], v[6] = num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2), num(20, 3)
		t := time.Date(v[0], time.Month(v[1]), v[2], v[3], v[4], v[5], v[6]*1e6, time.UTC)
		// time.Date normalises (Feb 30 is Mar 2): only an exact date passes.
		if ok && v[3] < 24 && v[4] < 60 && v[5] < 60 && t.Day() == v[2] && int(t.Month()) == v[1] {
			return t.UnixMilli(), true
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return 0, false
	}
	return t.UnixMilli(), true
}
