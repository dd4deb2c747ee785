package redact

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"slices"
)

// Scratch is the reusable per-goroutine state of redaction: the HMAC of
// ModeHash and the buffers of the fixpoint passes. Its zero value is ready to
// use; keep one per goroutine (it is not safe for concurrent use) and reuse it
// so steady-state redaction allocates nothing.
type Scratch struct {
	// Defer keeps the counts of replacements in the Scratch until
	// Redactor.Commit (or Discard), instead of adding them to the Redactor's.
	Defer  bool
	counts Counts

	spans   []span
	groups  []cardGroup
	fields  []int32
	a, b    []byte // outputs of successive passes
	dec     []byte // decoded secret, input of the pseudonym
	dec2    []byte
	lv      [2][]byte  // decodings of a value (decode.go)
	lo      [2][]int32 // their offsets in the value
	name    []byte     // a member name, decoded (json.go, members.go)
	cardKey bool       // the value redacted belongs to a key that names a card
	keys    *Names     // secret member names to find in text (members.go); nil: none
	mac     hash.Hash
	macFor  *Redactor // the Redactor whose key mac holds
	sum     [sha256.Size]byte
	memo    Memo   // values Repeated found clean
	hits    uint64 // replacements made with this Scratch, ever: what tells a clean value
}

// span is a byte range [start, end) of a value that a rule matched.
type span struct {
	start, end int32
	rule       Rule
}

func (sc *Scratch) add(start, end int, rule Rule) {
	sc.spans = append(sc.spans, span{int32(start), int32(end), rule})
}

// merge sorts the spans and joins overlapping ones, so every byte that any
// rule matched is inside exactly one replacement. A joined span keeps the
// rule of its earliest part.
func (sc *Scratch) merge() {
	sp := sc.spans
	sorted := true
	for i := 1; i < len(sp); i++ {
		if sp[i].start < sp[i-1].start {
			sorted = false
			break
		}
	}
	if !sorted {
		slices.SortFunc(sp, func(x, y span) int {
			if x.start != y.start {
				return int(x.start - y.start)
			}
			return int(x.rule) - int(y.rule)
		})
	}
	out := sp[:1]
	for _, s := range sp[1:] {
		last := &out[len(out)-1]
		if s.start < last.end {
			last.end = max(last.end, s.end)
			continue
		}
		out = append(out, s)
	}
	sc.spans = out
}

// pseudonym appends [h:<16 hex>] of HMAC-SHA256(r.key, v decoded), so
// the pseudonym of a token does not depend on how it was escaped.
func (sc *Scratch) pseudonym(r *Redactor, dst, v []byte) []byte {
	if sc.macFor != r {
		sc.mac = hmac.New(sha256.New, r.key)
		sc.macFor = r
	} else {
		sc.mac.Reset()
	}
	sc.mac.Write(sc.plain(v))
	sum := sc.mac.Sum(sc.sum[:0])
	dst = append(dst, hashPrefix...)
	dst = hex.AppendEncode(dst, sum[:hashHexLen/2])
	return append(dst, ']')
}

// digits returns the digits of v (into sc.dec), so a card number has one
// pseudonym however it is grouped.
func (sc *Scratch) digits(v []byte) []byte {
	d := sc.dec[:0]
	for _, c := range v {
		if isDigit(c) {
			d = append(d, c)
		}
	}
	sc.dec = d
	return d
}

// Discard forgets the replacements counted since the last Commit.
func (sc *Scratch) Discard() { sc.counts = Counts{} }
