package redact

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// addSeeds adds the values of testdata/*.input and the benign look-alikes.
func addSeeds(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/*.input")
	for _, in := range inputs {
		src, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(src), "\n") {
			if fs := strings.SplitN(line, " ", 3); len(fs) == 3 && line[0] != '#' && line[0] != '@' {
				f.Add([]byte(fs[2]), fs[0] == "hash")
			}
		}
	}
	for _, b := range benign {
		f.Add([]byte(b), false)
	}
}

func fuzzRedactors(f *testing.F) [2]*Redactor {
	var rs [2]*Redactor
	for i, m := range []Mode{ModeMask, ModeHash} {
		r, err := New(Config{Mode: m, HashKey: goldenKey, QueryParams: DefaultQueryParams(), Detectors: allDetectors(), IPTruncate: true})
		if err != nil {
			f.Fatal(err)
		}
		rs[i] = r
	}
	return rs
}

// checkRedaction: never panics, keeps UTF-8 valid, is idempotent, leaves
// nothing any rule matches, and changes nothing when nothing matches.
func checkRedaction(t *testing.T, r *Redactor, in []byte, path bool) {
	apply := r.String
	if path {
		apply = r.Path
	}
	var sc Scratch
	matched := r.find(&sc, in, path)
	orig := bytes.Clone(in)
	out := apply(&sc, nil, in)
	if !bytes.Equal(in, orig) {
		t.Fatalf("input modified")
	}
	if !matched && !bytes.Equal(out, in) {
		t.Fatalf("nothing matched but output differs:\n in: %q\nout: %q", in, out)
	}
	if utf8.Valid(in) && !utf8.Valid(out) {
		t.Fatalf("invalid UTF-8 out of valid input:\n in: %q\nout: %q", in, out)
	}
	if r.find(&sc, out, path) {
		t.Fatalf("rules still match the output:\n in: %q\nout: %q\nspans: %v", in, out, sc.spans)
	}
	if again := apply(&sc, nil, out); !bytes.Equal(again, out) {
		t.Fatalf("not idempotent:\n in: %q\nout: %q\n 2x: %q", in, out, again)
	}
}

func FuzzString(f *testing.F) {
	addSeeds(f)
	rs := fuzzRedactors(f)
	f.Fuzz(func(t *testing.T, in []byte, hash bool) {
		r := rs[0]
		if hash {
			r = rs[1]
		}
		checkRedaction(t, r, in, false)
	})
}

func FuzzPath(f *testing.F) {
	addSeeds(f)
	rs := fuzzRedactors(f)
	f.Fuzz(func(t *testing.T, in []byte, hash bool) {
		r := rs[0]
		if hash {
			r = rs[1]
		}
		checkRedaction(t, r, in, true)
	})
}

// FuzzIP: truncation never panics, is idempotent, keeps UTF-8 valid and
// leaves values without addresses alone.
func FuzzIP(f *testing.F) {
	addSeeds(f)
	r := fuzzRedactors(f)[0]
	f.Fuzz(func(t *testing.T, in []byte, _ bool) {
		var sc Scratch
		before := r.Counts().Total()
		out := r.IP(&sc, nil, in)
		if r.Counts().Total() == before && !bytes.Equal(out, in) {
			t.Fatalf("no address or secret but changed: %q -> %q", in, out)
		}
		if utf8.Valid(in) && !utf8.Valid(out) {
			t.Fatalf("invalid UTF-8: %q -> %q", in, out)
		}
		if again := r.IP(&sc, nil, out); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
	})
}

// FuzzParseIP: the allocation-free parsers agree with net/netip.
func FuzzParseIP(f *testing.F) {
	for _, s := range []string{"::", "::1", "2001:db8::1", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1.2.3.4", "01.2.3.4", "1::2::3", "fe80::1%x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := netip.ParseAddr(s)
		ip6, ok6 := parseIPv6([]byte(s))
		want6 := err == nil && a.Is6() && a.Zone() == ""
		if ok6 != want6 || ok6 && ip6 != a.As16() {
			t.Fatalf("parseIPv6(%q) = %v %v; netip %v %v", s, ip6, ok6, a, err)
		}
		ip4, ok4 := parseIPv4([]byte(s), false)
		want4 := err == nil && a.Is4()
		if ok4 != want4 || ok4 && ip4 != a.As4() {
			t.Fatalf("parseIPv4(%q) = %v %v; netip %v %v", s, ip4, ok4, a, err)
		}
	})
}

// TestPieces glues fragments of secrets and their separators at random, the
// adversarial neighbourhoods byte-level fuzzing rarely builds, and checks
// them like the fuzz targets do.
func TestPieces(t *testing.T) {
	pieces := []string{"1", "4111111111111111", "4111", " ", "-", ".", "..", ":", "::", "@", "%40", "a", "x", "ffff",
		"eyJhbGciOiJIUzI1NiJ9", "AKIAIOSFODNN7EXAMPLE", "Bearer ", "bearer", "?", "token=", "&", "=", "#", "[REDACTED]",
		"[h:0123456789abcdef]", "[", "]", "10.0.0.1", "2001:db8::1", "com", "_", "%zz", "\"", "é"}
	rng := rand.New(rand.NewPCG(1, 2))
	rs := [2]*Redactor{
		mustNew(t, Config{QueryParams: DefaultQueryParams(), Detectors: allDetectors()}),
		mustNew(t, Config{Mode: ModeHash, HashKey: goldenKey, AllQueryParams: true, Detectors: allDetectors()}),
	}
	var b []byte
	for n := 0; n < 30000; n++ {
		b = b[:0]
		for range 1 + rng.IntN(12) {
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		}
		checkRedaction(t, rs[n%2], b, n%4 < 2)
	}
}

// FuzzDetector checks each detector alone, so one detector's match cannot
// hide another's fault: for every input, every detector (in mask or hash
// mode) never panics, keeps UTF-8 valid, is idempotent and leaves nothing it
// matches. Seeds: testdata/*.input (a golden file per detector class).
func FuzzDetector(f *testing.F) {
	addSeeds(f)
	var rs [2][numDetectors]*Redactor
	for i, m := range []Mode{ModeMask, ModeHash} {
		for d := range numDetectors {
			r, err := New(Config{Mode: m, HashKey: goldenKey, Detectors: []Detector{d}})
			if err != nil {
				f.Fatal(err)
			}
			rs[i][d] = r
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, hash bool) {
		m := 0
		if hash {
			m = 1
		}
		for _, r := range rs[m] {
			checkRedaction(t, r, in, false)
		}
	})
}

// FuzzPiece: masking the cuts of a piece never panics, keeps valid UTF-8,
// leaves a piece without cuts alone, and changes nothing the second time.
func FuzzPiece(f *testing.F) {
	addSeeds(f)
	rs := fuzzRedactors(f)
	f.Fuzz(func(t *testing.T, in []byte, hash bool) {
		r := rs[0]
		if hash {
			r = rs[1]
		}
		var sc Scratch
		if out := r.Piece(&sc, nil, in, Cut{}); !bytes.Equal(out, in) {
			t.Fatalf("no cut but changed: %q -> %q", in, out)
		}
		for _, c := range []Cut{{Before: true}, {After: true}, {Before: true, After: true}} {
			out := r.Piece(&sc, nil, in, c)
			if utf8.Valid(in) && !utf8.Valid(out) {
				t.Fatalf("%+v: invalid UTF-8: %q -> %q", c, in, out)
			}
			if again := r.Piece(&sc, nil, out, c); !bytes.Equal(again, out) {
				t.Fatalf("%+v: not idempotent: %q -> %q -> %q", c, in, out, again)
			}
		}
	})
}
