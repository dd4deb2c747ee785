// Package keyformat compiles s3_key_format templates once and renders S3 object
// keys from them without allocating, so that choosing the object (and the batch)
// for every record costs nothing in steady state.
//
// The template language follows Fluent Bit's s3 output where that makes sense:
//
//	$TAG        the whole tag
//	$TAG[n]     the n-th part (0 to 99; Fluent Bit stops at 9) of the tag
//	            split on '-' and '.'; empty parts are skipped, as Fluent
//	            Bit's strtok does
//	$UUID       a random ID, supplied by the caller per object (see AppendRandomID)
//	$INDEX      a sequence number, supplied by the caller per object
//	$CLUSTER    ECS cluster name (not the ARN)
//	$TASK_ID    ECS task ID
//	$FAMILY     task definition family
//	$CONTAINER  container name
//	%Y %m %d %H %M %S   UTC time of the batch's first record; %% is a literal '%'
//
// Differences from Fluent Bit, all deliberate:
//   - Variable values are made safe for object keys: every byte outside
//     [A-Za-z0-9._-] becomes '_' (so a '/' in a tag can never add a path level),
//     a value of only dots becomes underscores, a value is cut to MaxValueLen
//     bytes, and an empty value (or a $TAG[n] past the tag's end) renders as
//     "unknown", never as an empty path segment.
//   - Values are redacted before they are rendered (the caller, internal/pipeline,
//     passes the tag and the metadata through the same detectors and query
//     parameter rules as every string written): a secret in a tag or a container
//     name must not reach S3 through a key. A normal name matches no rule and
//     renders unchanged; a value holding a secret renders with its replacement made
//     key-safe (ecs-AKIA...-firelens-1 becomes ecs-_REDACTED_-firelens-1, or
//     ecs-_h_<16 hex>_-firelens-1 in hash mode, stable across records), so its
//     records still share a prefix without the secret.
//   - strftime applies to the template only, never to variable values, so a '%'
//     in a tag cannot turn into a date.
//   - Unknown variables, unknown % verbs, unsafe literal characters and empty
//     path segments fail Compile instead of being copied into keys.
//   - One leading '/' (which Fluent Bit requires) is accepted and dropped:
//     Fluent Bit's leading slash is not part of the object key either.
//   - A template with neither $UUID nor $INDEX gets "-$UUID" appended ("$UUID"
//     after a final '/'), as Fluent Bit appends "-object<random>", so two
//     objects never share a key.
//   - $UUID is 16 random characters of [0-9a-z] (about 82 bits) rather than
//     Fluent Bit's 8: with 8, a million objects under one prefix would collide
//     with a probability near 20%, and a collision overwrites data.
//
// The extension (.ndjson.gz, ...) is appended by the caller; Compile keeps
// room for it under S3's 1024-byte key limit.
package keyformat

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// MaxKeyLen is S3's limit on an object key, in bytes.
	MaxKeyLen = 1024
	// ExtensionRoom is the number of bytes Compile keeps free after the longest
	// possible key for the caller's extension (".ndjson.zst" is 11).
	ExtensionRoom = 24
	// MaxValueLen caps one variable's rendered value, so that a few long names
	// cannot push a key past MaxKeyLen.
	MaxValueLen = 128
	// MaxUUIDLen caps the rendered $UUID value supplied by the caller.
	MaxUUIDLen = 64
	// RandomIDLen is the length of the IDs AppendRandomID makes.
	RandomIDLen = 16
	// Missing is what an empty variable value renders as.
	Missing = "unknown"
	// maxTagPart is the largest n accepted in $TAG[n].
	maxTagPart = 99
)

// Sentinel errors, wrapped by the *SyntaxError that Compile returns.
var (
	ErrEmpty           = errors.New("keyformat: empty template")
	ErrUnknownVariable = errors.New("keyformat: unknown variable")
	ErrBadTagPart      = errors.New("keyformat: bad $TAG[n]")
	ErrUnknownVerb     = errors.New("keyformat: unknown time verb")
	ErrUnsafeChar      = errors.New("keyformat: character not allowed in object keys")
	ErrEmptySegment    = errors.New("keyformat: empty path segment")
	ErrTooLong         = errors.New("keyformat: keys can exceed the S3 key limit")
)

// SyntaxError says what is wrong with a template, in one line, without
// repeating the template itself (the caller names it).
type SyntaxError struct {
	Offset int    // byte offset in the template, -1 when not about one place
	Reason string // one line, e.g. `unknown variable "$FOO" at byte 12: use ...`
	Err    error  // one of the sentinel errors above
}

func (e *SyntaxError) Error() string { return "keyformat: " + e.Reason }
func (e *SyntaxError) Unwrap() error { return e.Err }

type op uint8

const (
	opLit op = iota
	opTag
	opTagPart
	opUUID
	opIndex
	opCluster
	opTaskID
	opFamily
	opContainer
	opYear
	opMonth
	opDay
	opHour
	opMinute
	opSecond
)

// variables lists the names after '$'; none is a prefix of another. "$TAG[" is
// matched before this list is tried.
var variables = [...]struct {
	name string
	op   op
}{
	{"TASK_ID", opTaskID},
	{"CONTAINER", opContainer},
	{"CLUSTER", opCluster},
	{"FAMILY", opFamily},
	{"INDEX", opIndex},
	{"UUID", opUUID},
	{"TAG", opTag},
}

const variableList = "$TAG, $TAG[n], $UUID, $INDEX, $CLUSTER, $TASK_ID, $FAMILY or $CONTAINER"

type part struct {
	op    op
	final bool   // in the last path segment (after the template's last '/')
	n     int    // $TAG[n]
	lit   string // opLit
}

// Template is a compiled s3_key_format. It is immutable and safe for
// concurrent use.
type Template struct {
	src       string
	parts     []part
	hasUUID   bool
	hasIndex  bool
	hasTaskID bool
	hasTime   bool
}

// Vars are the per-record values of the template's variables. Empty means
// unknown. The slices are only read during the Append call.
type Vars struct{ Tag, Cluster, TaskID, Family, Container []byte }

func syntaxErr(off int, err error, reason string) error {
	return &SyntaxError{Offset: off, Reason: reason, Err: err}
}

// unsafeLiteral lists the characters AWS says to avoid in object keys, plus '$'
// (reserved for variables) and the control characters.
func unsafeLiteral(c byte) bool {
	if c < 0x20 || c == 0x7f {
		return true
	}
	return strings.IndexByte("\\{}^`[]\"<>~#|", c) >= 0
}

// Compile parses tmpl. Errors are *SyntaxError.
func Compile(tmpl string) (*Template, error) {
	s := strings.TrimPrefix(tmpl, "/")
	if strings.TrimSpace(s) == "" {
		return nil, syntaxErr(-1, ErrEmpty, "the template is empty: give a key such as logs/%Y/%m/%d/$UUID")
	}
	if !utf8.ValidString(s) {
		return nil, syntaxErr(-1, ErrUnsafeChar, "the template is not valid UTF-8")
	}
	off := len(tmpl) - len(s) // report offsets in the user's template
	t := &Template{src: tmpl}
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			t.parts = append(t.parts, part{op: opLit, lit: string(lit)})
			lit = lit[:0]
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '$':
			name := s[i+1:]
			if strings.HasPrefix(name, "TAG[") {
				end := strings.IndexByte(name, ']')
				if end < 0 {
					return nil, syntaxErr(off+i, ErrBadTagPart, "\"$TAG[\" at byte "+strconv.Itoa(off+i)+" has no closing ']': write $TAG[0] to $TAG["+strconv.Itoa(maxTagPart)+"]")
				}
				digits := name[4:end]
				n, err := strconv.Atoi(digits)
				if err != nil || n < 0 || n > maxTagPart || digits[0] == '+' {
					return nil, syntaxErr(off+i, ErrBadTagPart, strconv.Quote("$"+name[:min(end+1, 10)])+" at byte "+strconv.Itoa(off+i)+" is not valid: write $TAG[0] to $TAG["+strconv.Itoa(maxTagPart)+"]")
				}
				flush()
				t.parts = append(t.parts, part{op: opTagPart, n: n})
				i += 1 + end + 1
				continue
			}
			found := false
			for _, v := range variables {
				if strings.HasPrefix(name, v.name) {
					flush()
					t.parts = append(t.parts, part{op: v.op})
					t.hasUUID = t.hasUUID || v.op == opUUID
					t.hasIndex = t.hasIndex || v.op == opIndex
					t.hasTaskID = t.hasTaskID || v.op == opTaskID
					i += 1 + len(v.name)
					found = true
					break
				}
			}
			if !found {
				j := 1
				for j < len(name)+1 && j < 24 && isIdent(s[i+j]) {
					j++
				}
				return nil, syntaxErr(off+i, ErrUnknownVariable, "unknown variable "+strconv.Quote(s[i:i+j])+" at byte "+strconv.Itoa(off+i)+": use "+variableList+" ('$' cannot appear literally)")
			}
		case c == '%':
			if i+1 >= len(s) {
				return nil, syntaxErr(off+i, ErrUnknownVerb, "'%' at the end of the template: use %Y %m %d %H %M %S, or %% for a literal '%'")
			}
			var o op
			switch s[i+1] {
			case 'Y':
				o = opYear
			case 'm':
				o = opMonth
			case 'd':
				o = opDay
			case 'H':
				o = opHour
			case 'M':
				o = opMinute
			case 'S':
				o = opSecond
			case '%':
				lit = append(lit, '%')
				i += 2
				continue
			default:
				_, size := utf8.DecodeRuneInString(s[i+1:])
				return nil, syntaxErr(off+i, ErrUnknownVerb, "unknown time verb "+strconv.Quote(s[i:i+1+size])+" at byte "+strconv.Itoa(off+i)+": use %Y %m %d %H %M %S, or %% for a literal '%'")
			}
			flush()
			t.parts = append(t.parts, part{op: o})
			t.hasTime = true
			i += 2
		case unsafeLiteral(c):
			return nil, syntaxErr(off+i, ErrUnsafeChar, "character "+strconv.QuoteRune(rune(c))+" at byte "+strconv.Itoa(off+i)+" is not allowed in object keys: use letters, digits and - _ . / =")
		default:
			lit = append(lit, c)
			i++
		}
	}
	flush()
	if !t.hasUUID && !t.hasIndex {
		if !strings.HasSuffix(s, "/") {
			t.parts = append(t.parts, part{op: opLit, lit: "-"})
		}
		t.parts = append(t.parts, part{op: opUUID})
		t.hasUUID = true
	}
	if err := t.checkSegments(); err != nil {
		return nil, err
	}
	t.markFinal()
	if n := t.maxLen(); n > MaxKeyLen-ExtensionRoom {
		return nil, syntaxErr(-1, ErrTooLong, "keys can be up to "+strconv.Itoa(n)+" bytes, over S3's "+strconv.Itoa(MaxKeyLen)+"-byte limit (each variable counts "+strconv.Itoa(MaxValueLen)+"): use fewer variables or shorter text")
	}
	return t, nil
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// checkSegments rejects keys with an empty path segment ("a//b", a trailing
// '/') or a segment that is only dots, which SDKs and tools normalise away.
func (t *Template) checkSegments() error {
	// Walk the template as segments of parts; a segment is empty or all dots
	// only when it holds no variable at all.
	var seg []byte
	hasVar := false
	check := func() error {
		if hasVar {
			return nil
		}
		if len(seg) == 0 {
			return syntaxErr(-1, ErrEmptySegment, "the template has an empty path segment (\"//\" or a '/' at the end): remove the extra '/'")
		}
		if strings.Trim(string(seg), ".") == "" {
			return syntaxErr(-1, ErrEmptySegment, "the template has a path segment "+strconv.Quote(string(seg))+": S3 tools treat it as a relative path, rename it")
		}
		return nil
	}
	for _, p := range t.parts {
		if p.op != opLit {
			hasVar = true
			continue
		}
		for i := 0; i < len(p.lit); i++ {
			if p.lit[i] == '/' {
				if err := check(); err != nil {
					return err
				}
				seg, hasVar = seg[:0], false
				continue
			}
			seg = append(seg, p.lit[i])
		}
	}
	return check()
}

// markFinal flags the parts after the last '/', splitting the literal that
// holds it so that the directory part ends exactly at the '/'.
func (t *Template) markFinal() {
	last := -1
	for i, p := range t.parts {
		if p.op == opLit && strings.IndexByte(p.lit, '/') >= 0 {
			last = i
		}
	}
	if last >= 0 {
		p := t.parts[last]
		cut := strings.LastIndexByte(p.lit, '/') + 1
		if cut < len(p.lit) {
			rest := part{op: opLit, lit: p.lit[cut:]}
			t.parts[last].lit = p.lit[:cut]
			t.parts = append(t.parts[:last+1], append([]part{rest}, t.parts[last+1:]...)...)
		}
	}
	for i := last + 1; i < len(t.parts); i++ {
		t.parts[i].final = true
	}
}

func (t *Template) maxLen() int {
	n := 0
	for _, p := range t.parts {
		switch p.op {
		case opLit:
			n += len(p.lit)
		case opUUID:
			n += MaxUUIDLen
		case opIndex:
			n += 20
		case opYear:
			n += 4
		case opMonth, opDay, opHour, opMinute, opSecond:
			n += 2
		default:
			n += MaxValueLen
		}
	}
	return n
}

// String returns the template as given to Compile.
func (t *Template) String() string { return t.src }

// HasIndex reports whether keys use $INDEX, so the caller knows it must keep
// a sequence number.
func (t *Template) HasIndex() bool { return t.hasIndex }

// HasUUID reports whether keys use $UUID (always true when the template has
// no $INDEX, since Compile then appends one).
func (t *Template) HasUUID() bool { return t.hasUUID }

// HasTaskID reports whether keys use $TASK_ID.
func (t *Template) HasTaskID() bool { return t.hasTaskID }

// Prefix is the fixed text every key of t starts with: the literal before its
// first variable or time verb ("" when the template starts with one). A table
// over t's objects has its location at or above it.
func (t *Template) Prefix() string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.op != opLit {
			break
		}
		b.WriteString(p.lit)
	}
	return b.String()
}

// AppendKey appends the object key (without extension) for a batch whose
// first record has vars v and time ts. uuid is the object's random ID
// (AppendRandomID), index its sequence number; both are ignored when the
// template does not use them.
func (t *Template) AppendKey(dst []byte, v *Vars, ts time.Time, uuid []byte, index uint64) []byte {
	return t.render(dst, v, ts, uuid, index, false)
}

// AppendPartition appends the batching key of a record: everything in the key
// that can differ between two records, rendered, with a 0 byte in place of
// each per-object item ($UUID, $INDEX, and time verbs of the last path
// segment, which come from the batch's first record). Records with equal
// partitions render equal keys for the same object, so they may share one.
// The result is not a valid object key.
func (t *Template) AppendPartition(dst []byte, v *Vars, ts time.Time) []byte {
	return t.render(dst, v, ts, nil, 0, true)
}

func (t *Template) render(dst []byte, v *Vars, ts time.Time, uuid []byte, index uint64, partition bool) []byte {
	var clock [6]int // year, month, day, hour, minute, second
	if t.hasTime {
		ts = ts.UTC()
		y, mo, d := ts.Date()
		h, mi, s := ts.Clock()
		clock = [6]int{min(max(y, 0), 9999), int(mo), d, h, mi, s}
	}
	for i := range t.parts {
		p := &t.parts[i]
		if out, ok := appendRecordPart(dst, p, v); ok {
			dst = out
			continue
		}
		switch p.op {
		case opUUID:
			if partition {
				dst = append(dst, 0)
				continue
			}
			if len(uuid) > MaxUUIDLen {
				uuid = uuid[:MaxUUIDLen]
			}
			dst = appendValue(dst, uuid)
		case opIndex:
			if partition {
				dst = append(dst, 0)
				continue
			}
			dst = strconv.AppendUint(dst, index, 10)
		case opYear:
			if partition && p.final {
				dst = append(dst, 0)
				continue
			}
			y := clock[0]
			dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
		default: // two-digit time verbs, in clock order from opMonth
			if partition && p.final {
				dst = append(dst, 0)
				continue
			}
			n := clock[p.op-opYear]
			dst = append(dst, byte('0'+n/10), byte('0'+n%10))
		}
	}
	return dst
}

// safe marks the bytes kept as they are in variable values.
var safe = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	t['-'], t['_'], t['.'] = true, true, true
	return t
}()

// appendValue appends a variable's value made safe for an object key (see the
// package documentation).
func appendValue(dst, val []byte) []byte {
	if len(val) > MaxValueLen {
		val = val[:MaxValueLen]
	}
	if len(val) == 0 {
		return append(dst, Missing...)
	}
	dots := true
	for _, c := range val {
		if c != '.' {
			dots = false
			break
		}
	}
	for _, c := range val {
		if !safe[c] || dots {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// tagPart returns the n-th non-empty part of tag split on '-' and '.'.
func tagPart(tag []byte, n int) []byte {
	k := 0
	for i := 0; i < len(tag); {
		for i < len(tag) && (tag[i] == '-' || tag[i] == '.') {
			i++
		}
		if i == len(tag) {
			break
		}
		j := i
		for j < len(tag) && tag[j] != '-' && tag[j] != '.' {
			j++
		}
		if k == n {
			return tag[i:j]
		}
		k++
		i = j
	}
	return nil
}

const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// AppendRandomID appends RandomIDLen random characters of [0-9a-z], a value
// for $UUID. The source is math/rand/v2's per-thread ChaCha8 generator,
// seeded by the OS: unpredictable enough for key uniqueness, and lock-free.
func AppendRandomID(dst []byte) []byte {
	for range RandomIDLen / 8 {
		// 8 base-36 digits of a uniform uint64: 36^8 divides 2^64 so unevenly
		// little (2^64/36^8 > 6e6) that the bias is below 1e-6.
		r := rand.Uint64()
		for range 8 {
			dst = append(dst, idAlphabet[r%36])
			r /= 36
		}
	}
	return dst
}

// PartitionUnit is the finest time unit AppendPartition depends on: records with equal
// Vars whose times fall in the same unit (counted from the Unix epoch, in UTC) have
// equal partitions, so a caller may reuse one. Year, month and day all report a day,
// since their boundaries are day boundaries. 0 means time does not matter.
func (t *Template) PartitionUnit() time.Duration {
	var unit time.Duration
	for i := range t.parts {
		p := &t.parts[i]
		if p.op < opYear || p.op > opSecond || p.final {
			continue
		}
		u := [...]time.Duration{24 * time.Hour, 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second}[p.op-opYear]
		if unit == 0 || u < unit {
			unit = u
		}
	}
	return unit
}

// appendRecordPart renders a literal or a record variable ($TAG, $TAG[n], $CLUSTER,
// $TASK_ID, $FAMILY, $CONTAINER), the parts keys and CloudWatch names share; ok is
// false for any other part.
func appendRecordPart(dst []byte, p *part, v *Vars) (out []byte, ok bool) {
	switch p.op {
	case opLit:
		return append(dst, p.lit...), true
	case opTag:
		return appendValue(dst, v.Tag), true
	case opTagPart:
		return appendValue(dst, tagPart(v.Tag, p.n)), true
	case opCluster:
		return appendValue(dst, v.Cluster), true
	case opTaskID:
		return appendValue(dst, v.TaskID), true
	case opFamily:
		return appendValue(dst, v.Family), true
	case opContainer:
		return appendValue(dst, v.Container), true
	}
	return dst, false
}
