package redact

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// memoRef runs op on s with a Scratch of its own, counting apart: what
// Memoized must give, and count, every time.
func memoRef(r *Redactor, op Op, s []byte) ([]byte, Counts) {
	sc := Scratch{Defer: true}
	var out []byte
	switch op {
	case OpString:
		out = r.String(&sc, nil, s)
	case OpPath:
		out = r.Path(&sc, nil, s)
	default:
		out = r.IP(&sc, nil, s)
	}
	return out, sc.counts
}

// memoCheck runs s through Memoized with sc and m and fails unless the result
// and the replacements counted are those of op on a Scratch of its own.
func memoCheck(t *testing.T, r *Redactor, sc *Scratch, m *Memo, op Op, s string) {
	t.Helper()
	in := []byte(s)
	want, wantCounts := memoRef(r, op, in)
	sc.Discard()
	out, changed := r.Memoized(sc, m, op, []byte("dst:"), in)
	got := in
	if changed {
		if !bytes.HasPrefix(out, []byte("dst:")) {
			t.Fatalf("Memoized(%q) lost what dst held: %q", s, out)
		}
		got = out[len("dst:"):]
	} else if string(out) != "dst:" {
		t.Fatalf("Memoized(%q) reported no change but appended: %q", s, out)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("op %d: Memoized(%q) = %q, want %q", op, s, got, want)
	}
	if sc.counts != wantCounts {
		t.Fatalf("op %d: Memoized(%q) counted %v, want %v", op, s, sc.counts, wantCounts)
	}
}

// A remembered clean value lets through no value that differs from it, however
// little: one byte in the middle (same length and same ends, so the same
// fingerprint), one byte more or less, a secret that starts or ends like it.
// Each pair is a clean value, then a secret close to it, then both again.
func TestMemoNearMisses(t *testing.T) {
	pairs := []struct {
		op           Op
		clean, dirty string
	}{
		{OpString, "aaaaaaaa AKIAIOSFODNN1EXAMPLE zzzzzzzz", "aaaaaaaa AKIAIOSFODNN7EXAMPLE zzzzzzzz"},
		{OpString, "AKIAIOSFODNN7EXAMPL", "AKIAIOSFODNN7EXAMPLE"},
		{OpString, "key AKIAIOSFODNN7EXAMPLE1", "key AKIAIOSFODNN7EXAMPLE"},
		{OpString, "Bearer", "Bearer abcdef0123456789"},
		{OpString, "ghq_0123456789abcdefghijklmnopqrstuvwxyZ", "ghp_0123456789abcdefghijklmnopqrstuvwxyZ"},
		{OpString, "4111 1111 1111 1112", "4111 1111 1111 1111"},
		{OpPath, "/login?tokem=abc&x=1", "/login?token=abc&x=1"},
		{OpPath, "/a?next=%2Fhome", "/a?next=%2Fhome&token=1"},
		{OpPath, "/p?x=token%3D", "/p?x=&token%3D1"},
		{OpIP, "backend", "backend?token=abc"},
		{OpIP, "unknown", "10.0.0.1"},
	}
	for _, mode := range []Mode{ModeMask, ModeHash} {
		r := mustNew(t, Config{Mode: mode, HashKey: goldenKey, QueryParams: DefaultQueryParams(), Detectors: allDetectors(), IPTruncate: true})
		for _, p := range pairs {
			var sc Scratch
			sc.Defer = true
			var m Memo
			for _, s := range []string{p.clean, p.clean, p.dirty, p.clean, p.dirty, p.dirty} {
				memoCheck(t, r, &sc, &m, p.op, s)
			}
			if m.n != 1 {
				t.Errorf("%q then %q: the memo holds %d values, want the clean one only", p.clean, p.dirty, m.n)
			}
		}
	}
}

// A value with a secret is redacted and counted every time it comes, before and
// after clean values, in every counting mode, with the Redactor's own counters
// too.
func TestMemoCountsRepeatedSecret(t *testing.T) {
	r := mustNew(t, Config{QueryParams: DefaultQueryParams(), Detectors: DefaultDetectors()})
	var sc Scratch
	var m Memo
	const secret, clean = "client AKIAIOSFODNN7EXAMPLE", "client grpc-go/1.60.1"
	for range 5 {
		for _, s := range []string{secret, clean, secret, secret} {
			out, changed := r.Memoized(&sc, &m, OpString, nil, []byte(s))
			if s == secret && (!changed || string(out) != "client "+Mask) {
				t.Fatalf("%q came out %q (changed %v)", s, out, changed)
			}
			if s == clean && changed {
				t.Fatalf("%q came out changed: %q", s, out)
			}
		}
	}
	if c := r.Counts(); c[RuleAWSAccessKey] != 15 || c.Total() != 15 {
		t.Fatalf("15 secrets counted as %v", c)
	}
}

// A Memo belongs to one Redactor and one operation: a value one found clean is
// scanned again by another, which may find a secret in it.
func TestMemoPerRedactorAndOp(t *testing.T) {
	noEmail := mustNew(t, Config{Detectors: DefaultDetectors()})
	email := mustNew(t, Config{Detectors: []Detector{Email}})
	var sc Scratch
	sc.Defer = true
	var m Memo
	memoCheck(t, noEmail, &sc, &m, OpString, "a@example.com")
	memoCheck(t, noEmail, &sc, &m, OpString, "a@example.com")
	memoCheck(t, email, &sc, &m, OpString, "a@example.com")
	memoCheck(t, noEmail, &sc, &m, OpString, "a@example.com")

	// String ends a query value at a space, Path does not.
	q := mustNew(t, Config{QueryParams: DefaultQueryParams()})
	const v = "/x?token= abc"
	memoCheck(t, q, &sc, &m, OpString, v)
	memoCheck(t, q, &sc, &m, OpString, v)
	memoCheck(t, q, &sc, &m, OpPath, v)
	memoCheck(t, q, &sc, &m, OpString, v)
}

// Random streams of clean values, secrets and near misses, repeating as a
// proxy's do, through a few Memos: every value comes out and is counted as
// without a Memo, and the memory stays bounded.
func TestMemoStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 28))
	var pool []string
	for _, b := range benign {
		pool = append(pool, b, "/p?"+b)
	}
	for k := range 8 {
		for range 4 {
			s := secret(rng, k).text
			pool = append(pool, s, s[:len(s)-1], s+"x", "x"+s)
		}
	}
	for _, mode := range []Mode{ModeMask, ModeHash} {
		r := mustNew(t, Config{Mode: mode, HashKey: goldenKey, QueryParams: DefaultQueryParams(), Detectors: allDetectors(), IPTruncate: true})
		var sc Scratch
		sc.Defer = true
		var memos [3]Memo
		for range 20000 {
			// Mostly a few values, sometimes any of them.
			s := pool[rng.IntN(12)]
			if rng.IntN(3) == 0 {
				s = pool[rng.IntN(len(pool))]
			}
			op := Op(rng.IntN(3))
			memoCheck(t, r, &sc, &memos[op], op, s)
		}
		for _, m := range memos {
			if m.n > memoLen {
				t.Fatalf("a memo holds %d values", m.n)
			}
			for _, v := range m.v {
				if len(v) > maxMemoLen {
					t.Fatalf("a memo holds a value of %d bytes", len(v))
				}
			}
		}
	}
}

// FuzzMemo: a Memo never changes what a value comes out as, nor what is
// counted, whatever came before it: a, then b, then a and b again through one
// Memo give what they give each on its own.
func FuzzMemo(f *testing.F) {
	f.Add([]byte("aaaaaaaa AKIAIOSFODNN1EXAMPLE zzzzzzzz"), []byte("aaaaaaaa AKIAIOSFODNN7EXAMPLE zzzzzzzz"), uint8(0))
	f.Add([]byte("/login?tokem=abc"), []byte("/login?token=abc"), uint8(1))
	f.Add([]byte("backend"), []byte("10.0.0.1"), uint8(2))
	rs := fuzzRedactors(f)
	f.Fuzz(func(t *testing.T, a, b []byte, how uint8) {
		r := rs[how>>2&1]
		op := Op(how % 3)
		var sc Scratch
		sc.Defer = true
		var m Memo
		for _, s := range [][]byte{a, a, b, a, b, b} {
			memoCheck(t, r, &sc, &m, op, string(s))
		}
	})
}
