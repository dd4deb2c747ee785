// Package redact removes secrets and personal data from log values before
// they leave the task.
//
// Access logs carry tokens in query strings, JWTs in paths, keys and bearer
// tokens in headers, and client addresses in forwarded-for; an archive that
// keeps them turns a cost saving into a security incident. The package is
// bytes in, bytes out and knows nothing of records, so every writer
// (normalised access records, raw lines, other logs, JSON values) shares one
// Redactor.
//
// The rules, each written down where its code is:
//   - names.go: sensitive names (query parameters, JSON keys) in normal
//     form, exact or "*part*";
//   - query.go: name=value pairs in queries, ;parameters and #fragments;
//   - detect.go, tokens.go, card.go, ip.go: the detectors (JWT, AWS keys,
//     bearer tokens, cards, e-mail, IP addresses, and credentials with
//     unmistakable shapes: GitHub, GitLab, Slack, Stripe, Google API keys,
//     PEM private keys, URL passwords, Authorization values, labelled AWS
//     secrets);
//   - decode.go: every rule also sees through %XX, JSON and HTML escapes,
//     and only the secret's bytes are replaced;
//   - json.go: JSON text redacted value by value, staying valid JSON;
//   - members.go: members with secret names in text that is not valid JSON,
//     and header lines with secret names (a header block in one string);
//   - cut.go: what touches the cuts of a piece of a split line written
//     without its neighbours (Piece);
//   - memo.go: the values of a field that came out clean lately, passed on
//     without a scan when they come again (Memo, Memoized).
//
// A value pays one table lookup per byte (class.go's trigger bits) and then
// only the scans its bytes call for; a value without secrets allocates
// nothing and comes out byte for byte.
//
// Most values of access records repeat (user agents, authorities, protocol,
// the task's metadata), so a caller keeps a Memo per field and per goroutine
// and redacts through Memoized. Remembering clean values is safe because:
// what the rules make of a value depends only on its bytes, the Redactor
// (immutable: rules, mode, hash key) and the operation (String, Path, IP),
// and a Memo is bound to one Redactor and one operation (and bypassed in the
// contexts of Text's member names and JSON's card keys); only a value in
// which no rule replaced anything is remembered, so the mode and key play no
// part and a value with a secret is scanned, replaced and counted each time
// it comes; a value is passed on only when equal byte for byte, in full, to
// one remembered (a fingerprint only skips comparisons, it never decides
// equality); and a Memo holds at most 8 values of at most 512 bytes, belongs
// to one goroutine and takes no lock.
//
// A Redactor is immutable after New and safe for concurrent use; the mutable
// per-goroutine state (HMAC, buffers) lives in a Scratch. Redaction runs to a
// fixpoint: the output of String and Path contains nothing any enabled rule
// matches, so redacting twice gives the same bytes as redacting once.
//
// Replacements: ModeMask writes [REDACTED]. ModeHash writes [h:0123456789abcdef],
// the first 16 hex digits (64 bits) of HMAC-SHA256(key, value), where value
// is the matched bytes with their escapes decoded (so a token is followed
// across a query string, a JSON line and a header), and a card number is its
// digits without spaces or dashes. Without the key the pseudonym cannot be
// reversed by enumeration.
package redact

import (
	"errors"
	"sync/atomic"
)

// Errors returned by New and the Parse functions. Messages name the
// configuration key and the remedy, never a secret.
var (
	// ErrNoHashKey: hash mode without a key would be an unkeyed, enumerable hash.
	ErrNoHashKey = errors.New("redact: redact_mode hash needs redact_hash_key; set it (FireLens secretOptions) or use redact_mode mask")
	// ErrShortHashKey: a short key can be brute-forced, which reveals every pseudonym.
	ErrShortHashKey = errors.New("redact: redact_hash_key is shorter than 16 bytes; use at least 32 random bytes (openssl rand -hex 32)")
	// ErrUnknownMode: redact_mode is neither mask nor hash.
	ErrUnknownMode = errors.New("redact: unknown redact_mode")
	// ErrUnknownDetector: a redact_detectors entry names no detector.
	ErrUnknownDetector = errors.New("redact: unknown redact_detectors entry")
	// ErrBadQueryParam: a redact_query_params entry could never match a parameter name.
	ErrBadQueryParam = errors.New("redact: bad redact_query_params entry")
)

// Mode says what replaces a secret.
type Mode uint8

const (
	// ModeMask replaces a secret with [REDACTED].
	ModeMask Mode = iota
	// ModeHash replaces a secret with a keyed pseudonym [h:<16 hex>], stable
	// across processes for the same key, so a token can be followed without
	// being revealed.
	ModeHash
)

// String returns the redact_mode value of m.
func (m Mode) String() string {
	switch m {
	case ModeMask:
		return "mask"
	case ModeHash:
		return "hash"
	}
	return "unknown"
}

// Mask is what ModeMask writes.
const Mask = "[REDACTED]"

// Pseudonym layout of ModeHash: hashPrefix, hashHexLen lowercase hex digits, ']'.
const (
	hashPrefix = "[h:"
	hashHexLen = 16
	hashLen    = len(hashPrefix) + hashHexLen + 1
)

// maxParamLen bounds configured parameter names, so matching a name needs
// only a stack buffer.
const maxParamLen = 64

// Rule names a redaction rule, for counters.
type Rule uint8

// Rules, in the order of Counts.
const (
	RuleQueryParam Rule = iota
	RuleJWT
	RuleAWSAccessKey
	RuleBearer
	RuleCreditCard
	RuleEmail
	RuleIPv4
	RuleIPv6
	RuleGitHub
	RuleGitLab
	RuleSlack
	RuleStripe
	RuleGoogleAPIKey
	RulePrivateKey
	RuleURLPassword
	RuleAuthorization
	RuleAWSSecretKey
	RuleField
	RuleIPTruncate
	RulePieceEdge // what touches the cuts of a piece of a split line (Piece)
	NumRules
)

var ruleNames = [NumRules]string{
	"query_param", "jwt", "aws_access_key", "bearer", "credit_card",
	"email", "ipv4", "ipv6", "github", "gitlab", "slack", "stripe",
	"google_api_key", "private_key", "url_password", "authorization",
	"aws_secret_key", "field", "ip_truncate", "piece_edge",
}

// String returns the rule's name as the stats line prints it.
func (r Rule) String() string {
	if r < NumRules {
		return ruleNames[r]
	}
	return "unknown"
}

// Counts holds how many values each rule replaced, indexed by Rule. It never
// holds what was replaced.
type Counts [NumRules]uint64

// add adds o to c.
func (c *Counts) add(o *Counts) {
	for i, n := range o {
		c[i] += n
	}
}

// Total is the number of replacements by all rules.
func (c Counts) Total() uint64 {
	var t uint64
	for _, n := range c {
		t += n
	}
	return t
}

// AppendText appends "rule=n" pairs separated by spaces for the rules that
// fired, e.g. "query_param=3 jwt=1"; nothing when no rule fired.
func (c Counts) AppendText(dst []byte) []byte {
	first := true
	for r, n := range c {
		if n == 0 {
			continue
		}
		if !first {
			dst = append(dst, ' ')
		}
		first = false
		dst = append(dst, ruleNames[r]...)
		dst = append(dst, '=')
		dst = appendUint(dst, n)
	}
	return dst
}

func appendUint(dst []byte, n uint64) []byte {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

// Config selects the rules of a Redactor. The zero value redacts nothing;
// the SPEC defaults are QueryParams: DefaultQueryParams() and Detectors:
// DefaultDetectors(), in ModeMask. redact_fields is the caller's: it calls
// Whole for those fields.
type Config struct {
	// QueryParams are parameter names whose values are replaced, compared
	// in normal form (names.go); "*part*" entries match names containing
	// part, and "*" means all.
	QueryParams []string
	// AllQueryParams replaces the value of every parameter.
	AllQueryParams bool
	// Detectors run over every string passed to String and Path.
	Detectors []Detector
	// Mode selects the replacement.
	Mode Mode
	// HashKey is the HMAC key of ModeHash (at least 16 bytes).
	HashKey []byte
	// IPTruncate makes IP truncate addresses (IPv4 /24, IPv6 /48).
	IPTruncate bool
}

// Redactor applies one Config. It is immutable after New and safe for
// concurrent use; give each goroutine its own Scratch.
type Redactor struct {
	params     *Names
	allParams  bool
	queryOn    bool
	dets       uint32 // bit d set when Detector d is enabled
	textActive bool
	mode       Mode
	key        []byte
	ipTruncate bool
	counts     [NumRules]atomic.Uint64
}

// New validates c and returns its Redactor.
func New(c Config) (*Redactor, error) {
	r := &Redactor{mode: c.Mode, ipTruncate: c.IPTruncate, allParams: c.AllQueryParams}
	switch c.Mode {
	case ModeMask:
	case ModeHash:
		if len(c.HashKey) == 0 {
			return nil, ErrNoHashKey
		}
		if len(c.HashKey) < 16 {
			return nil, ErrShortHashKey
		}
		r.key = append([]byte(nil), c.HashKey...)
	default:
		return nil, ErrUnknownMode
	}
	var err error
	if r.params, err = NewNames(c.QueryParams); err != nil {
		return nil, err
	}
	r.allParams = r.allParams || r.params.All()
	r.queryOn = r.allParams || !r.params.Empty()
	for _, d := range c.Detectors {
		if d >= numDetectors {
			return nil, ErrUnknownDetector
		}
		r.dets |= 1 << d
	}
	r.textActive = r.queryOn || r.dets != 0
	return r, nil
}

// Active reports whether any rule of the Redactor could change a value
// passed to String, Path or IP. When false, callers may skip them. Whole
// (redact_fields) is chosen by the caller and works regardless.
func (r *Redactor) Active() bool { return r.textActive || r.ipTruncate }

// Mode returns the replacement mode.
func (r *Redactor) Mode() Mode { return r.mode }

// count records one replacement by rule: in the Redactor's counters, or in sc
// until Commit when sc defers its counts.
func (r *Redactor) count(sc *Scratch, rule Rule) {
	sc.hits++
	if sc.Defer {
		sc.counts[rule]++
		return
	}
	r.counts[rule].Add(1)
}

// Commit adds the replacements counted in sc (with Defer set) to the Redactor's
// counters and clears them: a caller whose work may be refused and redone (a
// flush answered RETRY) commits only the work that was accepted.
func (r *Redactor) Commit(sc *Scratch) {
	r.add(&sc.counts)
	sc.Discard()
}

// add adds c to the Redactor's counters.
func (r *Redactor) add(c *Counts) {
	for i, n := range c {
		if n > 0 {
			r.counts[i].Add(n)
		}
	}
}

// Counts returns how many replacements each rule made since New.
func (r *Redactor) Counts() Counts {
	var c Counts
	for i := range r.counts {
		c[i] = r.counts[i].Load()
	}
	return c
}

// String redacts free text: detectors, and the values of sensitive
// name=value pairs (query strings, ;parameters, #fragments; see query.go),
// on the text as written and through its escapes (decode.go). It appends
// the result to dst; when nothing matches, that is s byte for byte. dst must
// not overlap s.
func (r *Redactor) String(sc *Scratch, dst, s []byte) []byte {
	return r.run(sc, dst, s, false)
}

// Text redacts a log line or other free text like String, and also replaces
// the values of members named in keys (may be nil) wherever the text holds
// JSON members, valid JSON or not (members.go). Text that is a JSON object or
// array is better given to JSON, which keeps it valid JSON.
func (r *Redactor) Text(sc *Scratch, dst, s []byte, keys *Names) []byte {
	prev := sc.setKeys(keys)
	dst = r.run(sc, dst, s, false)
	sc.keys = prev
	return dst
}

// setKeys makes sc find the members named in keys (none when empty) and
// returns the keys it found before.
func (sc *Scratch) setKeys(keys *Names) (prev *Names) {
	prev = sc.keys
	if keys.Empty() {
		keys = nil
	}
	sc.keys = keys
	return prev
}

// Path redacts a request path like String, except that a value of a pair
// ends only at '&' or '#' (a path holds no free text, so a space is part of
// the value).
func (r *Redactor) Path(sc *Scratch, dst, s []byte) []byte {
	return r.run(sc, dst, s, true)
}

// Whole replaces all of s (a redact_fields value) and appends the result to
// dst. An empty value, having nothing to hide, and a value that already is a
// replacement are appended unchanged.
func (r *Redactor) Whole(sc *Scratch, dst, s []byte) []byte {
	if len(s) == 0 || isMarker(s) {
		return append(dst, s...)
	}
	r.count(sc, RuleField)
	return r.replace(sc, dst, s)
}

// maxPasses bounds the fixpoint loop of run. Real values settle in one or
// two passes; a value that does not settle is replaced as a whole.
const maxPasses = 8

func (r *Redactor) run(sc *Scratch, dst, s []byte, path bool) []byte {
	if out, changed := r.text(sc, dst, s, path); changed {
		return out
	}
	return append(dst, s...)
}

// text is run, except that when no rule matches s it appends nothing and
// reports false (the caller keeps s itself); otherwise it appends the result
// and reports true.
func (r *Redactor) text(sc *Scratch, dst, s []byte, path bool) ([]byte, bool) {
	if !r.textActive && sc.keys == nil || !r.find(sc, s, path) {
		return dst, false
	}
	// A replacement can change the context of a neighbouring candidate
	// (e.g. a dot that followed digits now follows "]"), so redact the output
	// again until no rule matches: this makes String and Path idempotent and
	// guarantees that no enabled rule matches what they return.
	sc.a = r.emit(sc, sc.a[:0], s)
	for pass := 1; pass < maxPasses; pass++ {
		if !r.find(sc, sc.a, path) {
			return append(dst, sc.a...), true
		}
		sc.b = r.emit(sc, sc.b[:0], sc.a)
		sc.a, sc.b = sc.b, sc.a
	}
	return r.replace(sc, dst, s), true
}

// find collects the spans of s that rules match, as written and through
// up to maxLevels layers of escapes, into sc.spans, sorted and merged, and
// reports whether there is any.
func (r *Redactor) find(sc *Scratch, s []byte, path bool) bool {
	sc.spans = sc.spans[:0]
	m := triggers(s)
	r.scanView(sc, s, m, path)
	if hasEscape(s, m) {
		r.scanDecoded(sc, s, path)
	}
	if len(sc.spans) == 0 {
		return false
	}
	sc.merge()
	return true
}

// scanView runs every enabled rule over v, whose trigger mask is m.
func (r *Redactor) scanView(sc *Scratch, v []byte, m uint32, path bool) {
	if r.queryOn && m&tEq != 0 {
		r.scanPairs(sc, v, path)
	}
	if r.dets != 0 {
		r.scanDetectors(sc, v, m)
	}
	if sc.keys != nil && m&(tQuote|tColon) == tQuote|tColon {
		scanMembers(sc, v)
	}
	if sc.keys != nil && m&tColon != 0 {
		scanHeaders(sc, v)
	}
}

// scanDecoded runs the rules over the decodings of s and maps what they
// find back to the escapes of s it was decoded from.
func (r *Redactor) scanDecoded(sc *Scratch, s []byte, path bool) {
	v, orig := s, []int32(nil)
	for k := range maxLevels {
		buf, off := &sc.lv[k%2], &sc.lo[k%2]
		*buf, *off = decodeOnce((*buf)[:0], (*off)[:0], v, true)
		if orig != nil {
			for i, o := range *off {
				(*off)[i] = orig[o]
			}
		}
		v, orig = *buf, *off
		from := len(sc.spans)
		m := triggers(v)
		r.scanView(sc, v, m, path)
		for i := from; i < len(sc.spans); i++ {
			sp := &sc.spans[i]
			sp.start, sp.end = orig[sp.start], orig[sp.end]
		}
		if !hasEscape(v, m) {
			return
		}
	}
}

// emit appends s to dst with every span of sc.spans replaced.
func (r *Redactor) emit(sc *Scratch, dst, s []byte) []byte {
	prev := 0
	for i := range sc.spans {
		sp := sc.spans[i]
		dst = append(dst, s[prev:sp.start]...)
		v := s[sp.start:sp.end]
		if sp.rule == RuleCreditCard && r.mode == ModeHash {
			v = sc.digits(sc.plain(v))
		}
		dst = r.replace(sc, dst, v)
		r.count(sc, sp.rule)
		prev = int(sp.end)
	}
	return append(dst, s[prev:]...)
}

// replace appends the replacement of the secret v.
func (r *Redactor) replace(sc *Scratch, dst, v []byte) []byte {
	if r.mode == ModeMask {
		return append(dst, Mask...)
	}
	return sc.pseudonym(r, dst, v)
}

// isMarker reports whether v is exactly a replacement this package writes,
// so redacting it again changes nothing.
func isMarker(v []byte) bool {
	if string(v) == Mask {
		return true
	}
	if len(v) != hashLen || string(v[:len(hashPrefix)]) != hashPrefix || v[hashLen-1] != ']' {
		return false
	}
	for _, c := range v[len(hashPrefix) : hashLen-1] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
