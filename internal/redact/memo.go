package redact

import (
	"encoding/binary"
	"math/bits"
)

// Remembering clean values: a Memo keeps, for one field of one goroutine, the
// last memoLen values in which no rule of one Redactor matched anything, and
// Memoized passes such a value on unscanned when it comes again. Why that is
// safe is in the package documentation (redact.go).

// Op is an operation whose clean values a Memo remembers.
type Op uint8

const (
	OpString Op = iota // String
	OpPath             // Path
	OpIP               // IP
)

// A Memo remembers up to memoLen clean values of at most maxMemoLen bytes.
const (
	memoLen    = 8
	maxMemoLen = 512
)

// Memo holds the last few values that one operation of one Redactor found
// clean: a field's recent values, for Memoized. Its zero value is empty; keep
// one per field and per goroutine, next to the goroutine's Scratch.
type Memo struct {
	r    *Redactor
	op   Op
	n    uint8           // values held
	next uint8           // the value replaced next
	k    [memoLen]uint64 // memoKey of each value: most values that differ, differ here
	v    [memoLen][]byte
}

// memoKey is a cheap fingerprint of s (its length and its first and last eight
// bytes), which lets a lookup compare most values that differ in one word. Equal
// keys say nothing: the values are then compared in full.
func memoKey(s []byte) uint64 {
	n := len(s)
	k := uint64(n) * 0x9e3779b97f4a7c15
	if n < 8 {
		for i, c := range s {
			k ^= uint64(c) << (8 * i)
		}
		return k
	}
	return k ^ binary.LittleEndian.Uint64(s) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(s[n-8:]), 29)
}

// Memoized redacts s like String, Path or IP (op), skipping the scan when m
// holds s. When s comes out as it went in with nothing replaced, it returns
// dst as it was and false, so the caller keeps s itself and copies nothing;
// otherwise it appends the result to dst and returns true.
func (r *Redactor) Memoized(sc *Scratch, m *Memo, op Op, dst, s []byte) ([]byte, bool) {
	if sc.keys != nil || sc.cardKey {
		return r.apply(sc, op, dst, s)
	}
	if m.r != r || m.op != op {
		m.r, m.op, m.n, m.next = r, op, 0, 0
	}
	key := memoKey(s)
	for i, k := range m.k[:m.n] {
		if k == key && string(m.v[i]) == string(s) {
			return dst, false
		}
	}
	hits := sc.hits
	out, changed := r.apply(sc, op, dst, s)
	if !changed && sc.hits == hits && len(s) <= maxMemoLen {
		v := &m.v[m.next]
		if cap(*v) < len(s) {
			// Capacities of 64 to maxMemoLen bytes, powers of two: a slot
			// grows at most four times, then a field's values fit.
			*v = make([]byte, 0, max(64, 1<<bits.Len(uint(len(s)-1))))
		}
		*v = append((*v)[:0], s...)
		m.k[m.next] = key
		m.next = (m.next + 1) % memoLen
		if m.n < memoLen {
			m.n++
		}
	}
	return out, changed
}

// apply runs op on s; when s comes out as it went in with nothing replaced,
// it returns dst as it was and false.
func (r *Redactor) apply(sc *Scratch, op Op, dst, s []byte) ([]byte, bool) {
	if op != OpIP {
		return r.text(sc, dst, s, op == OpPath)
	}
	n, hits := len(dst), sc.hits
	dst = r.IP(sc, dst, s)
	if sc.hits == hits && string(dst[n:]) == string(s) {
		return dst[:n], false
	}
	return dst, true
}

// Repeated is String for values that repeat from record to record, such as a
// task's metadata (cluster, task ARN, container name), with a Memo of sc's
// own: a value sc has seen clean under r before, among the last few, is
// appended without being scanned again.
func (r *Redactor) Repeated(sc *Scratch, dst, s []byte) []byte {
	if out, changed := r.Memoized(sc, &sc.memo, OpString, dst, s); changed {
		return out
	}
	return append(dst, s...)
}
