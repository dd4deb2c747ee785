package accesslog

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/envoy-s3/envoy_s3/internal/jsonstr"
)

// maxDepth bounds the nesting of JSON values kept in Extra.
const maxDepth = 64

// keyClass tells what a JSON key means to the schema.
type keyClass uint8

const (
	keyExtra   keyClass = iota // not in the schema: kept in Entry.Extra
	keyField                   // a schema field (or its alias)
	keyDrop                    // FireLens or derived keys the schema does not carry
	keyPartial                 // a split record: never an access log
)

// keyDef is one JSON key the schema knows.
type keyDef struct {
	name  string
	id    FieldID
	class keyClass
}

var keyDefs = []keyDef{
	{"start_time", Timestamp, keyField},
	{"method", Method, keyField},
	{"path", Path, keyField},
	{"protocol", Protocol, keyField},
	{"response_code", ResponseCode, keyField},
	{"grpc_status", GrpcStatus, keyField},
	{"response_flags", ResponseFlags, keyField},
	{"bytes_received", BytesReceived, keyField},
	{"bytes_sent", BytesSent, keyField},
	{"duration", DurationMs, keyField},
	{"duration_ms", DurationMs, keyField},
	{"upstream_service_time", UpstreamServiceTimeMs, keyField},
	{"upstream_service_time_ms", UpstreamServiceTimeMs, keyField},
	{"forwarded_for", ForwardedFor, keyField},
	{"user_agent", UserAgent, keyField},
	{"request_id", RequestID, keyField},
	{"authority", Authority, keyField},
	{"upstream_host", UpstreamHost, keyField},
	{"stream_id", StreamID, keyField},
	{"downstream_remote_address", DownstreamRemoteAddress, keyField},
	{"downstream_remote_port", DownstreamRemotePort, keyField},
	{"connection_termination_details", ConnectionTerminationDetails, keyField},
	{"connection_id", ConnectionID, keyField},
	{"ecs_cluster", EcsCluster, keyField},
	{"ecs_task_arn", EcsTaskArn, keyField},
	{"ecs_task_definition", EcsTaskDefinition, keyField},
	{"container_name", ContainerName, keyField},
	{"source", Source, keyField},
	{"container_id", 0, keyDrop},
	{"ec2_instance_id", 0, keyDrop},
	{"timestamp", 0, keyDrop},
	{"kind", 0, keyDrop},
	{"partial_message", 0, keyPartial},
}

// keyBuckets holds keyDefs by a hash of their first four bytes (every known
// key has at least four), so a key is looked up by one multiply and a compare
// or two instead of a search over all of them.
var keyBuckets = func() (t [64][]keyDef) {
	for _, d := range keyDefs {
		h := keyHash(binary.LittleEndian.Uint32([]byte(d.name)))
		t[h] = append(t[h], d)
	}
	return t
}()

func keyHash(w uint32) uint32 { return (w * 0x9e3779b1) >> 26 }

func lookupKey(k []byte) (FieldID, keyClass) {
	if len(k) >= 4 {
		for _, d := range keyBuckets[keyHash(binary.LittleEndian.Uint32(k))] {
			if string(k) == d.name {
				return d.id, d.class
			}
		}
	}
	return 0, keyExtra
}

// knownKey recognises a known key written without escapes at b[i] == '"'
// without scanning it first: the bytes after the quote are one key's name and
// then a quote, which ends the string since no name holds a quote or a
// backslash. It returns the key's view and the index after its quote.
func knownKey(b []byte, i int) (key []byte, id FieldID, class keyClass, next int, ok bool) {
	if i+5 > len(b) {
		return nil, 0, 0, 0, false
	}
	for _, d := range keyBuckets[keyHash(binary.LittleEndian.Uint32(b[i+1:]))] {
		end := i + 1 + len(d.name)
		if end < len(b) && b[end] == '"' && string(b[i+1:end]) == d.name {
			return b[i+1 : end], d.id, d.class, end + 1, true
		}
	}
	return nil, 0, 0, 0, false
}

// valKind is the JSON type of a scanned value.
type valKind uint8

const (
	vString valKind = iota
	vInt            // a number written as an integer
	vNumber         // a number with a fraction or exponent
	vNull
	vOther // true, false, object, array
)

// parseJSON recognises one JSON object (see the package doc for the rule).
func (p *Parser) parseJSON(b []byte, e *Entry) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i >= len(b) {
		return false
	}
	var present uint32 // bit per FieldID seen
	var codeNum, connNum, brNum, bsNum bool
	if b[i] == '}' {
		return false
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		key, id, class, next, ok := knownKey(b, i)
		if !ok {
			if key, next, _, ok = p.scanString(b, i); !ok {
				return false
			}
			id, class = lookupKey(key)
		}
		i = skipWS(b, next)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return false
		}
		if class == keyPartial {
			return false
		}
		start := i
		var kind valKind
		var str []byte
		var plain bool
		switch c := b[i]; {
		case c == '"':
			str, i, plain, ok = p.scanString(b, i)
			kind = vString
		case c == '-' || (c >= '0' && c <= '9'):
			var isInt bool
			i, isInt, ok = skipNumber(b, i)
			kind = vNumber
			if isInt {
				kind = vInt
			}
		case c == 'n':
			i, ok = skipLiteral(b, i, "null")
			kind = vNull
		default:
			i, ok = skipValue(b, i, 1)
			kind = vOther
		}
		if !ok {
			return false
		}
		raw := b[start:i]

		switch class {
		case keyField:
			present |= 1 << id
			f := &e.Fields[id]
			switch {
			case id == Timestamp:
				if kind != vString {
					return false
				}
				n := len(p.scratch)
				ts, ok := appendTimestamp(p.scratch, str)
				if !ok {
					return false
				}
				p.scratch = ts
				f.setStr(p.scratch[n:len(p.scratch):len(p.scratch)], true)
			case fieldIsInt[id]:
				numeric, ok := setJSONInt(f, kind, raw, str)
				if !ok {
					return false
				}
				switch id {
				case ResponseCode:
					codeNum = numeric
				case ConnectionID:
					connNum = numeric
				case BytesReceived:
					brNum = numeric
				case BytesSent:
					bsNum = numeric
				}
			default:
				switch kind {
				case vString:
					*f = Field{}
					setTextStr(f, str, plain)
				case vInt, vNumber:
					f.setStr(raw, true) // a JSON number: digits, signs, dot, e or E
				case vNull:
					*f = Field{}
				default:
					return false
				}
				if id == Method && f.Kind == String && (kind != vString || !isToken(f.Str)) {
					return false
				}
			}
		case keyExtra:
			x := Extra{Key: key}
			switch kind {
			case vString:
				x.Val = Field{Kind: String, Str: str}
				if len(str) > 0 {
					x.Val.setStr(str, plain)
				}
			case vInt:
				if v, ok, overflow := parseInt(raw); ok && !overflow {
					x.Val = Field{Kind: Int, Int: v}
				} else {
					x.RawJSON = raw
				}
			case vNull:
			default:
				x.RawJSON = raw
			}
			e.Extra = append(e.Extra, x)
		}

		i = skipWS(b, i)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			i++
			break
		}
		if b[i] != ',' {
			return false
		}
		i = skipWS(b, i+1)
	}
	if skipWS(b, i) != len(b) {
		return false
	}

	if present&(1<<Timestamp) == 0 {
		return false
	}
	if present&(1<<Method) != 0 {
		if !codeNum || present&(1<<Path|1<<Authority) == 0 {
			return false
		}
		e.setKind(p, ShapeJSONHTTP)
		return true
	}
	if e.Fields[DownstreamRemoteAddress].Kind != String || !(connNum || (brNum && bsNum)) {
		return false
	}
	e.setKind(p, ShapeJSONTCP)
	return true
}

// setJSONInt stores an integer schema value. numeric reports a number (or a
// numeric string) rather than an unset value; ok is false for a wrong type.
func setJSONInt(f *Field, kind valKind, raw, str []byte) (numeric, ok bool) {
	*f = Field{}
	switch kind {
	case vNull:
		return false, true
	case vString:
		if len(str) == 0 || (len(str) == 1 && str[0] == '-') {
			return false, true
		}
		v, ok, overflow := parseInt(str)
		if !ok {
			return false, false
		}
		if !overflow {
			f.Kind, f.Int = Int, v // f is zero (above)
		}
		return true, true
	case vInt:
		if v, ok, overflow := parseInt(raw); ok && !overflow {
			f.Kind, f.Int = Int, v // f is zero (above)
		}
		return true, true
	case vNumber:
		if v, ok := wholeNumber(raw); ok {
			f.Kind, f.Int = Int, v // f is zero (above)
		}
		return true, true
	}
	return false, false
}

// parseInt parses an optionally '-'-signed run of digits; overflow is set
// (with ok) when the value does not fit in int64.
func parseInt(b []byte) (v int64, ok, overflow bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false, false
		}
		if u > (1<<64-1)/10 {
			overflow = true
			continue
		}
		u = u*10 + uint64(c-'0')
		if u < uint64(c-'0') { // wrapped
			overflow = true
		}
	}
	switch {
	case overflow:
		return 0, true, true
	case neg && u <= 1<<63:
		return int64(-u), true, false // -1<<63 wraps correctly
	case !neg && u <= 1<<63-1:
		return int64(u), true, false
	}
	return 0, true, true
}

// wholeNumber converts a JSON number with a fraction or exponent to int64 when
// it is a whole number that fits (1.0, 2e3); ok is false otherwise.
func wholeNumber(raw []byte) (int64, bool) {
	neg := raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	i := 0
	for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
		i++
	}
	ip := raw[:i]
	var fp []byte
	if i < len(raw) && raw[i] == '.' {
		j := i + 1
		for j < len(raw) && raw[j] >= '0' && raw[j] <= '9' {
			j++
		}
		fp = raw[i+1 : j]
		i = j
	}
	exp := 0
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		eneg := false
		if raw[i] == '+' || raw[i] == '-' {
			eneg = raw[i] == '-'
			i++
		}
		for ; i < len(raw); i++ {
			if exp < 100000 {
				exp = exp*10 + int(raw[i]-'0')
			}
		}
		if eneg {
			exp = -exp
		}
	}
	// The digits ip+fp scaled by 10^(exp-len(fp)).
	n := len(ip) + len(fp)
	digit := func(k int) byte {
		if k < len(ip) {
			return ip[k]
		}
		return fp[k-len(ip)]
	}
	lo, hi := 0, n
	for lo < hi && digit(lo) == '0' {
		lo++
	}
	if lo == hi {
		return 0, true
	}
	e10 := exp - len(fp)
	for digit(hi-1) == '0' {
		hi--
		e10++
	}
	if e10 < 0 || hi-lo+e10 > 19 {
		return 0, false
	}
	var u uint64
	for k := lo; k < hi; k++ {
		u = u*10 + uint64(digit(k)-'0')
	}
	for ; e10 > 0; e10-- {
		if u > (1<<64-1)/10 {
			return 0, false
		}
		u *= 10
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return int64(-u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// isToken reports a non-empty RFC 9110 token.
func isToken(b []byte) bool {
	for _, c := range b {
		if !isTokenChar(c) {
			return false
		}
	}
	return len(b) > 0
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString scans the string starting at b[i] == '"' and returns its
// unescaped content: a view into b, or into the scratch when it has escapes.
// plain reports a view of printable ASCII without '"' or '\\'.
func (p *Parser) scanString(b []byte, i int) (s []byte, next int, plain, ok bool) {
	start := i + 1
	end, escaped, plain, ok := stringEnd(b, start)
	if !ok {
		return nil, 0, false, false
	}
	seg := b[start:end]
	if !escaped {
		return seg, end + 1, plain, true
	}
	n := len(p.scratch)
	p.scratch, _ = jsonstr.AppendUnescaped(p.scratch, seg) // validated by stringEnd
	return p.scratch[n:len(p.scratch):len(p.scratch)], end + 1, false, true
}

// stringEnd validates a JSON string body starting at b[i] (after the opening
// quote) and returns the index of the closing quote. plain reports a body of
// printable ASCII without escapes, which JSON writes as it is.
func stringEnd(b []byte, i int) (end int, escaped, plain, ok bool) {
	// Fast path, eight bytes at a time: up to the closing quote, nothing
	// but plain ASCII.
	start := i
	i += jsonstr.PlainLen(b[i:])
	if i < len(b) && b[i] == '"' {
		return i, false, true, true
	}
	ascii := true
	for i < len(b) {
		if i+8 <= len(b) && plain8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
			continue
		}
		c := b[i]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(b[start:i]) {
				return 0, false, false, false
			}
			return i, escaped, false, true
		case c == '\\':
			if i+1 >= len(b) {
				return 0, false, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					return 0, false, false, false
				}
				i += 6
			default:
				return 0, false, false, false
			}
			escaped = true
		case c < ' ':
			return 0, false, false, false
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			i++
		}
	}
	return 0, false, false, false
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// skipNumber validates a JSON number at b[i].
func skipNumber(b []byte, i int) (next int, isInt, ok bool) {
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return 0, false, false
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, false, false
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		i++
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == s {
			return 0, false, false
		}
		isInt = false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == s {
			return 0, false, false
		}
		isInt = false
	}
	return i, isInt, true
}

func skipLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// skipValue validates any JSON value at b[i] without decoding it.
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, _, ok := stringEnd(b, i+1)
		return end + 1, ok
	case c == '-' || (c >= '0' && c <= '9'):
		next, _, ok := skipNumber(b, i)
		return next, ok
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return 0, false
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return 0, false
				}
				end, _, _, ok := stringEnd(b, i+1)
				if !ok {
					return 0, false
				}
				i = skipWS(b, end+1)
				if i >= len(b) || b[i] != ':' {
					return 0, false
				}
				i = skipWS(b, i+1)
			}
			var ok bool
			if i, ok = skipValue(b, i, depth+1); !ok {
				return 0, false
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return 0, false
			}
			if b[i] == closer {
				return i + 1, true
			}
			if b[i] != ',' {
				return 0, false
			}
			i = skipWS(b, i+1)
		}
	}
	return 0, false
}
