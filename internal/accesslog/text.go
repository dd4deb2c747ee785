package accesslog

import (
	"bytes"
	"unicode/utf8"

	"github.com/envoy-s3/envoy_s3/internal/jsonstr"
)

// Limits of the TEXT grammar (see the package doc).
const (
	maxTokens = 6 // unquoted tokens after the request field
	maxQuoted = 6 // quoted fields at the end of an HTTP line
)

// parseText recognises the TEXT shapes.
func (p *Parser) parseText(line []byte, e *Entry) bool {
	end := len(line)
	for end > 0 && isSpace(line[end-1]) {
		end--
	}
	line = line[:end]
	if len(line) < 24 || line[0] != '[' {
		return false
	}
	// The timestamp is at most "YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+HH:MM" (35 bytes).
	j := 1
	for j < len(line) && j < 40 && line[j] != ']' {
		j++
	}
	if j >= len(line)-2 || line[j] != ']' || line[j+1] != ' ' {
		return false
	}
	ts, ok := appendTimestamp(p.scratch, line[1:j])
	if !ok {
		return false
	}
	n := len(p.scratch)
	p.scratch = ts
	e.Fields[Timestamp].setStr(p.scratch[n:len(p.scratch):len(p.scratch)], true)
	rest := line[j+2:]
	if rest[0] == '"' {
		return p.parseTextHTTP(rest, e)
	}
	return p.parseTextTCP(rest, e)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// parseTextHTTP parses `"METHOD PATH PROTO" tokens... "quoted"...`.
func (p *Parser) parseTextHTTP(b []byte, e *Entry) bool {
	// Method.
	i := 1
	for i < len(b) && b[i] != ' ' {
		if !isTokenChar(b[i]) {
			return false
		}
		i++
	}
	if i == 1 || i >= len(b) {
		return false
	}
	method := b[1:i]
	pathStart := i + 1
	// The request field ends at the first `" ` preceded by " PROTOCOL".
	var path, proto []byte
	k := pathStart
	for {
		q := indexQuoteSpace(b, k)
		if q < 0 {
			return false
		}
		// Find the last space in b[pathStart-1:q].
		s := q - 1
		for s >= pathStart-1 && b[s] != ' ' {
			s--
		}
		if s >= pathStart-1 && isProtocol(b[s+1:q]) {
			if s < pathStart { // no space between method and protocol
				return false
			}
			path = b[pathStart:s]
			proto = b[s+1 : q]
			k = q + 2
			break
		}
		k = q + 1
	}
	pathOK, pathPlain := checkText(path)
	if !pathOK {
		return false
	}

	// Unquoted tokens up to the first quoted field.
	var tok [maxTokens][]byte
	nt := 0
	for {
		if k >= len(b) {
			return false
		}
		if b[k] == '"' {
			break
		}
		s := k
		for k < len(b) && b[k] != ' ' {
			if b[k] == '"' || b[k] >= utf8.RuneSelf || b[k] < ' ' {
				return false
			}
			k++
		}
		if k == s || k >= len(b) || nt == maxTokens {
			return false
		}
		tok[nt] = b[s:k]
		nt++
		k++ // the space
	}

	// Quoted fields up to the end of the line.
	var quo [maxQuoted][]byte
	var quoPlain [maxQuoted]bool
	nq := 0
	for {
		if nq == maxQuoted || b[k] != '"' {
			return false
		}
		s := k + 1
		// Plain bytes first: when the first byte after them is the field's
		// closing quote, the field is found and proven plain in one pass.
		plainEnd := s + jsonstr.PlainLen(b[s:])
		c := plainEnd
		for {
			if c >= len(b) {
				return false
			}
			if b[c] != '"' {
				q := bytes.IndexByte(b[c:], '"')
				if q < 0 {
					return false
				}
				c += q
			}
			if c+1 == len(b) || (b[c+1] == ' ' && c+2 < len(b) && b[c+2] == '"') {
				break
			}
			c++
		}
		plain := c == plainEnd
		if !plain && !utf8.Valid(b[plainEnd:c]) {
			return false
		}
		quo[nq], quoPlain[nq] = b[s:c], plain
		nq++
		if c+1 == len(b) {
			break
		}
		k = c + 2
	}

	var shape Shape
	var grpc, flags []byte
	switch {
	case nt == 5 && nq == 5:
		shape = ShapeTextHTTP
	case nt == 5 && nq == 6:
		shape = ShapeTextHTTP2
	case nt == 6 && nq == 6:
		shape = ShapeTextGRPC
		grpc = tok[1]
		if !isGrpcStatus(grpc) {
			return false
		}
	case nt == 6 && nq == 5:
		shape = ShapeEnvoyDefault
		flags = tok[1]
		if !isResponseFlags(flags) {
			return false
		}
	default:
		return false
	}
	nums := tok[:nt]
	if nt == 6 { // drop the status or flags token: code br bs dur ust
		copy(tok[1:], tok[2:])
		nums = tok[:5]
	}
	if len(nums[0]) == 1 && nums[0][0] == '-' {
		return false // the response code is always printed
	}
	if !setTextInt(&e.Fields[ResponseCode], nums[0]) ||
		!setTextInt(&e.Fields[BytesReceived], nums[1]) ||
		!setTextInt(&e.Fields[BytesSent], nums[2]) ||
		!setTextInt(&e.Fields[DurationMs], nums[3]) ||
		!setTextInt(&e.Fields[UpstreamServiceTimeMs], nums[4]) {
		return false
	}
	// The method, protocol, status and flags were checked to be a token,
	// "HTTP/" digits and dots, and letters: plain.
	setTextStr(&e.Fields[Method], method, true)
	setTextStr(&e.Fields[Path], path, pathPlain)
	setTextStr(&e.Fields[Protocol], proto, true)
	setTextStr(&e.Fields[GrpcStatus], grpc, true)
	setTextStr(&e.Fields[ResponseFlags], flags, true)
	setTextStr(&e.Fields[ForwardedFor], quo[0], quoPlain[0])
	setTextStr(&e.Fields[UserAgent], quo[1], quoPlain[1])
	setTextStr(&e.Fields[RequestID], quo[2], quoPlain[2])
	setTextStr(&e.Fields[Authority], quo[3], quoPlain[3])
	setTextStr(&e.Fields[UpstreamHost], quo[4], quoPlain[4])
	if nq == 6 {
		setTextStr(&e.Fields[StreamID], quo[5], quoPlain[5])
	}
	e.setKind(p, shape)
	return true
}

// parseTextTCP parses `ADDR PORT BR BS DUR DETAILS... CONNID`.
func (p *Parser) parseTextTCP(b []byte, e *Entry) bool {
	var tok [5][]byte
	k := 0
	for n := range tok {
		s := k
		for k < len(b) && b[k] != ' ' {
			if b[k] >= utf8.RuneSelf || b[k] <= ' ' {
				return false
			}
			k++
		}
		if k == s || k >= len(b) {
			return false
		}
		tok[n] = b[s:k]
		k++
	}
	last := len(b) - 1
	for last >= k && b[last] != ' ' {
		last--
	}
	if last <= k { // no details, or an empty one
		return false
	}
	details, connID := b[k:last], b[last+1:]
	if details[0] == ' ' || details[len(details)-1] == ' ' ||
		len(connID) == 0 || (len(connID) == 1 && connID[0] == '-') {
		return false
	}
	detailsOK, detailsPlain := checkText(details)
	if !detailsOK {
		return false
	}
	if !isAddress(tok[0]) ||
		!setTextInt(&e.Fields[DownstreamRemotePort], tok[1]) ||
		!setTextInt(&e.Fields[BytesReceived], tok[2]) ||
		!setTextInt(&e.Fields[BytesSent], tok[3]) ||
		!setTextInt(&e.Fields[DurationMs], tok[4]) ||
		!setTextInt(&e.Fields[ConnectionID], connID) {
		return false
	}
	setTextStr(&e.Fields[DownstreamRemoteAddress], tok[0], jsonstr.PlainLen(tok[0]) == len(tok[0]))
	setTextStr(&e.Fields[ConnectionTerminationDetails], details, detailsPlain)
	e.setKind(p, ShapeTextTCP)
	return true
}

// indexQuoteSpace returns the index of the first `" ` at or after i, or -1.
func indexQuoteSpace(b []byte, i int) int {
	for i < len(b) {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return -1
		}
		i += q
		if i+1 < len(b) && b[i+1] == ' ' {
			return i
		}
		i++
	}
	return -1
}

// checkText reports whether b is valid UTF-8 and whether it is plain
// (printable ASCII without '"' or '\\', written to JSON as it is), in one
// pass over plain bytes.
func checkText(b []byte) (valid, plain bool) {
	n := jsonstr.PlainLen(b)
	if n == len(b) {
		return true, true
	}
	return utf8.Valid(b[n:]), false
}

// setTextStr stores b, or null for "-" and ""; plain says every byte of b is
// plain (see Field).
func setTextStr(f *Field, b []byte, plain bool) {
	if len(b) == 0 || (len(b) == 1 && b[0] == '-') {
		return
	}
	f.setStr(b, plain)
}

// setTextInt stores digits as Int, "-" as null and an int64 overflow as null;
// it reports false for anything else.
func setTextInt(f *Field, b []byte) bool {
	if len(b) == 1 && b[0] == '-' {
		return true
	}
	v, ok, overflow := parseDigits(b)
	if !ok {
		return false
	}
	if !overflow {
		*f = Field{}
		f.Kind, f.Int = Int, v
	}
	return true
}

// parseDigits parses one or more ASCII digits. overflow is set (with ok) when
// the value does not fit in int64.
func parseDigits(b []byte) (v int64, ok, overflow bool) {
	if len(b) == 0 {
		return 0, false, false
	}
	const cutoff = (1<<63 - 1) / 10
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false, false
		}
		d := int64(c - '0')
		if overflow || v > cutoff || (v == cutoff && d > (1<<63-1)%10) {
			overflow = true
			continue
		}
		v = v*10 + d
	}
	if overflow {
		v = 0
	}
	return v, true, overflow
}

// isTokenChar reports an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// isProtocol accepts "-" and "HTTP/" followed by digits and dots.
func isProtocol(b []byte) bool {
	if len(b) == 1 && b[0] == '-' {
		return true
	}
	if len(b) < 6 || string(b[:5]) != "HTTP/" {
		return false
	}
	for _, c := range b[5:] {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// isGrpcStatus accepts "-", a number, or a camel-case status name.
func isGrpcStatus(b []byte) bool {
	if len(b) == 1 && b[0] == '-' {
		return true
	}
	if _, ok, _ := parseDigits(b); ok {
		return true
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return len(b) > 0
}

// isResponseFlags accepts "-" or comma-separated upper-case flags.
func isResponseFlags(b []byte) bool {
	if len(b) == 1 && b[0] == '-' {
		return true
	}
	prev := byte(',')
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
		case c == ',' && prev != ',':
		default:
			return false
		}
		prev = c
	}
	return prev != ','
}

// isAddress accepts the spellings of %DOWNSTREAM_REMOTE_ADDRESS%.
func isAddress(b []byte) bool {
	if len(b) == 1 && b[0] == '-' {
		return true
	}
	switch {
	case len(b) > 1 && (b[0] == '/' || b[0] == '@'):
		return true // unix socket path or abstract name
	case len(b) > 8 && string(b[:8]) == "envoy://":
		return true // internal listener
	case b[0] == '[':
		i := 1
		for i < len(b) && b[i] != ']' {
			i++
		}
		if i >= len(b) || !isIPv6(b[1:i]) {
			return false
		}
		return optionalPort(b[i+1:])
	}
	// IPv4 with an optional port, else a bare IPv6 address.
	i := 0
	for i < len(b) && b[i] != ':' {
		i++
	}
	if isIPv4(b[:i]) {
		return optionalPort(b[i:])
	}
	return isIPv6(b)
}

func optionalPort(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if b[0] != ':' || len(b) > 6 {
		return false
	}
	v, ok, _ := parseDigits(b[1:])
	return ok && v <= 65535
}

func isIPv4(b []byte) bool {
	parts, n, val := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if n == 0 || val > 255 {
				return false
			}
			parts++
			n, val = 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' || n == 3 {
			return false
		}
		val = val*10 + int(c-'0')
		n++
	}
	return parts == 4
}

// isIPv6 is a shape check: hex digits, colons (at least two) and an optional
// embedded IPv4 tail, at most 45 bytes, optional %zone.
func isIPv6(b []byte) bool {
	if len(b) < 2 || len(b) > 64 {
		return false
	}
	colons := 0
	for i, c := range b {
		switch {
		case c == ':':
			colons++
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == '.':
		case c == '%' && i > 0:
			return colons >= 2 && i+1 < len(b)
		default:
			return false
		}
	}
	return colons >= 2 && colons <= 7
}
