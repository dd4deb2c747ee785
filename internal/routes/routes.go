// Package routes turns a request into the name of its route: the method plus a
// path template, so that the metrics of /orders/1234/items and
// /orders/98/items add up under one name, "GET /orders/{id}/items".
//
// The rules, applied to the path after redaction:
//   - the query string (from the first '?') and the fragment (from '#') are
//     removed; an absolute URL ("http://host/p") keeps only its path;
//   - the path is split on '/'; a segment becomes a placeholder when it is
//     an identifier or a secret, so a route never carries either:
//   - {redacted}: the segment holds '[' or ']' (what package redact writes:
//     "[REDACTED]", "[h:…]"; '[' is not legal unescaped in a path anyway);
//   - {email}: it holds '@' (or its escape %40);
//   - {id}: it is all decimal digits; a UUID (8-4-4-4-12 hex); 8 or more hex
//     digits with at least one digit; 4 or more decimal digits anywhere
//     (dates, "item-12345", "i-0abc1234"); 10 or more bytes mixing upper
//     case, lower case and digits (base64 and base64url ids, tokens); 16 or
//     more bytes with upper case, a digit and no '.' (access key ids, but
//     not gRPC's "pkg.v1.Service"); longer
//     than 48 bytes; or holds a byte outside printable ASCII or a
//     percent escape other than %40;
//   - other segments ("orders", "v1", "api", "healthz") are kept as they are;
//     empty segments are kept, so "/a//b" and "/a/b/" stay distinct routes;
//   - a path that does not start with '/' (after an absolute URL's host is
//     cut) is "{other}", and an empty one is "/";
//   - a template longer than MaxPath (256 bytes) is cut after a segment and
//     ends in "/{more}";
//   - the method is one of the nine standard methods, else OTHER.
//
// Rank then bounds the number of routes: the busiest keep their names and
// the rest are counted under Other.
package routes

import (
	"bytes"
	"slices"
	"strings"
)

// Placeholders a segment or a whole route can become.
const (
	ID       = "{id}"
	Email    = "{email}"
	Redacted = "{redacted}"
	// OtherPath stands for a path that is not an origin-form path ("*", "host:port").
	OtherPath = "{other}"
	// Other is the route (and authority) every name past the bound is counted under.
	Other = "other"
)

// MaxSegment is the longest segment kept as it is; longer ones are ids or tokens.
const MaxSegment = 48

// methods are the methods kept as they are (RFC 9110 and PATCH); any other is OTHER,
// since a client chooses the method and could otherwise mint routes at will.
var methods = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}

// AppendMethod appends the method's name, or OTHER for a non-standard one.
func AppendMethod(dst, m []byte) []byte {
	if len(m) >= 3 && len(m) <= 7 {
		for _, s := range methodsByLen[len(m)-3] {
			if string(m) == s {
				return append(dst, s...)
			}
		}
	}
	return append(dst, "OTHER"...)
}

// methodsByLen groups methods by length (3 to 7), so a lookup compares one or two.
var methodsByLen = func() (t [5][]string) {
	for _, s := range methods {
		t[len(s)-3] = append(t[len(s)-3], s)
	}
	return t
}()

// Append appends "METHOD /template" for method and path (see the package rules).
// It allocates nothing when dst has room.
func Append(dst, method, path []byte) []byte {
	dst = AppendMethod(dst, method)
	dst = append(dst, ' ')
	return AppendPath(dst, path)
}

// MaxPath is the longest path template kept whole (CloudWatch takes dimension values
// of up to 1,024 characters); a longer one is cut after a segment and ends in
// "/{more}".
const MaxPath = 256

// More ends a path template cut at MaxPath.
const More = "/{more}"

// AppendPath appends the template of path alone.
func AppendPath(dst, path []byte) []byte {
	start := len(dst)
	dst = appendPath(dst, path)
	if len(dst)-start <= MaxPath {
		return dst
	}
	cut := bytes.LastIndexByte(dst[start:start+MaxPath-len(More)+1], '/')
	return append(dst[:start+max(cut, 0)], More...)
}

func appendPath(dst, path []byte) []byte {
	if len(path) > 0 && path[0] == '/' {
		return appendSegments(dst, path)
	}
	for i, c := range path {
		if c == '?' || c == '#' {
			path = path[:i]
			break
		}
	}
	path = stripOrigin(path)
	if len(path) == 0 {
		return append(dst, '/')
	}
	if path[0] == '/' {
		return appendSegments(dst, path)
	}
	// "*" (OPTIONS *), authority-form of CONNECT, or something odd: one name,
	// not whatever the client wrote.
	if string(path) == Redacted || bytes.IndexByte(path, '[') >= 0 {
		return append(dst, Redacted...)
	}
	return append(dst, OtherPath...)
}

// appendSegments templates an origin-form path ("/..."), query and fragment
// included, in one pass: each byte is classified once.
func appendSegments(dst, path []byte) []byte {
	var seg segment
	start := 1
	dst = append(dst, '/')
	for i := 1; i < len(path); i++ {
		c := path[i]
		k := class[c]
		if k&cBreak == 0 {
			seg.digits += int(k & cDigit)
			seg.hex += int(k&cHex) >> 1
			seg.seen |= k
			if k&cStop != 0 && seg.mark == "" {
				seg.mark = stopMark(path[i:])
			}
			continue
		}
		dst = seg.append(dst, path[start:i])
		if c != '/' {
			return dst // '?' or '#'
		}
		dst = append(dst, '/')
		seg, start = segment{}, i+1
	}
	return seg.append(dst, path[start:])
}

// stopMark is the placeholder a stop byte at s[0] imposes on its segment.
func stopMark(s []byte) string {
	switch c := s[0]; {
	case c == '[' || c == ']':
		return Redacted
	case c == '@', c == '%' && len(s) > 2 && s[1] == '4' && s[2] == '0':
		return Email
	}
	return ID
}

// stripOrigin cuts "scheme://host" off an absolute URL; "" when only the origin is left.
func stripOrigin(path []byte) []byte {
	i := bytes.Index(path, []byte("://"))
	if i <= 0 || i >= 16 || !isScheme(path[:i]) {
		return path
	}
	rest := path[i+3:]
	if j := bytes.IndexByte(rest, '/'); j >= 0 {
		return rest[j:]
	}
	return nil
}

func isScheme(b []byte) bool {
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Byte classes of path bytes, one table lookup per byte.
const (
	cDigit = 1 << iota
	cHex
	cUpper
	cLower
	cDot
	cStop  // makes the segment a placeholder: '[' ']' '@' '%', control and non-ASCII bytes
	cBreak // ends the segment: '/', '?', '#'
)

var class = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case '0' <= c && c <= '9':
			t[c] = cDigit | cHex
		case 'a' <= c && c <= 'f':
			t[c] = cLower | cHex
		case 'A' <= c && c <= 'F':
			t[c] = cUpper | cHex
		case 'a' <= c && c <= 'z':
			t[c] = cLower
		case 'A' <= c && c <= 'Z':
			t[c] = cUpper
		case c == '.':
			t[c] = cDot
		case c == '/' || c == '?' || c == '#':
			t[c] = cBreak
		case c == '[' || c == ']' || c == '@' || c == '%' || c < 0x21 || c > 0x7e:
			t[c] = cStop
		}
	}
	return t
}()

// segment is what the scan of one segment found.
type segment struct {
	digits, hex int
	seen        uint8
	mark        string // placeholder a stop byte imposed
}

// append appends seg, or the placeholder it stands for.
func (g *segment) append(dst, seg []byte) []byte {
	n := len(seg)
	if n == 0 {
		return dst
	}
	if g.mark != "" {
		return append(dst, g.mark...)
	}
	hasDigit, upper, lower, dots := g.seen&cDigit != 0, g.seen&cUpper != 0, g.seen&cLower != 0, g.seen&cDot != 0
	switch {
	case n > MaxSegment,
		g.digits == n,
		g.digits >= 4,
		g.hex == n && n >= 8 && hasDigit,
		isUUID(seg),
		n >= 10 && hasDigit && upper && lower && !dots,
		n >= 16 && hasDigit && upper && !dots:
		return append(dst, ID...)
	}
	return append(dst, seg...)
}

// isUUID reports 8-4-4-4-12 hex digits.
func isUUID(s []byte) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Rank returns the names to keep when counts (requests per name) has more than
// limit names: the limit busiest, ties broken by name so the choice is stable.
// Names not kept are meant to be counted under Other. With limit or fewer names,
// every name is kept; Other itself is never in the result.
func Rank(counts map[string]int64, limit int) map[string]bool {
	keep := make(map[string]bool, min(len(counts), limit))
	if len(counts) <= limit {
		for n := range counts {
			if n != Other {
				keep[n] = true
			}
		}
		return keep
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		if n != Other {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if ca, cb := counts[a], counts[b]; ca != cb {
			if ca > cb {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, n := range names[:min(limit, len(names))] {
		keep[n] = true
	}
	return keep
}
