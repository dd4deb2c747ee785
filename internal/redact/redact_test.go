package redact

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

func mustNew(t testing.TB, c Config) *Redactor {
	t.Helper()
	r, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func allDetectors() []Detector {
	var all []Detector
	for d := range numDetectors {
		all = append(all, d)
	}
	return all
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want error
	}{
		{Config{Mode: ModeHash}, ErrNoHashKey},
		{Config{Mode: ModeHash, HashKey: []byte("short")}, ErrShortHashKey},
		{Config{Mode: Mode(7)}, ErrUnknownMode},
		{Config{Detectors: []Detector{numDetectors}}, ErrUnknownDetector},
		{Config{QueryParams: []string{"a=b"}}, ErrBadQueryParam},
		{Config{QueryParams: []string{" "}}, ErrBadQueryParam},
		{Config{QueryParams: []string{strings.Repeat("k", maxParamLen+1)}}, ErrBadQueryParam},
	} {
		if _, err := New(tc.c); !errors.Is(err, tc.want) {
			t.Errorf("New(%+v) = %v, want %v", tc.c, err, tc.want)
		}
	}
	// The key never appears in an error.
	_, err := New(Config{Mode: ModeHash, HashKey: []byte("sekrit")})
	if err == nil || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("short key error %v", err)
	}
}

// TestDetectorAndModeNames: the names internal/config parses redact_detectors and redact_mode
// into, and the default set.
func TestDetectorAndModeNames(t *testing.T) {
	names := DetectorNames()
	if len(names) != int(numDetectors) {
		t.Fatalf("%d names for %d detectors", len(names), numDetectors)
	}
	for d := range numDetectors {
		if d.String() != names[d] || d.String() == "unknown" {
			t.Errorf("detector %d: String %q, name %q", d, d.String(), names[d])
		}
	}
	def := DefaultDetectorNames()
	for i, d := range DefaultDetectors() {
		if def[i] != d.String() || d == Email || d == IPv4 || d == IPv6 {
			t.Errorf("default %d: %v / %q", i, d, def[i])
		}
	}
	if ModeHash.String() != "hash" || ModeMask.String() != "mask" {
		t.Errorf("modes: %q %q", ModeHash, ModeMask)
	}
}

// paramName turns a list entry into a parameter name it covers: the name
// itself, or for "*part*" the part inside a longer name.
func paramName(entry string) string {
	if strings.HasPrefix(entry, "*") {
		return "my_" + strings.Trim(entry, "*") + "_x"
	}
	return entry
}

// Every built-in name is redacted in any case and with '-' and '_'
// swapped; a longer or shorter name is not, unless it contains a "*part*"
// entry; words that merely resemble them stay.
func TestDefaultQueryParams(t *testing.T) {
	r := mustNew(t, Config{QueryParams: DefaultQueryParams()})
	var sc Scratch
	swap := strings.NewReplacer("_", "-", "-", "_")
	for _, entry := range DefaultQueryParams() {
		name := paramName(entry)
		for _, n := range []string{name, strings.ToUpper(name), swap.Replace(name), strings.ReplaceAll(name, "_", "")} {
			in := "/p?a=1&" + n + "=v4lue&z=2"
			want := "/p?a=1&" + n + "=" + Mask + "&z=2"
			if got := string(r.Path(&sc, nil, []byte(in))); got != want {
				t.Errorf("Path(%q) = %q, want %q", in, got, want)
			}
		}
		for _, n := range []string{name + "x", "x" + name, name[1:]} {
			in := "/p?" + n + "=v4lue"
			if isDefaultParam(n) || r.params.MatchPart([]byte(n)) {
				continue
			}
			if got := string(r.Path(&sc, nil, []byte(in))); got != in {
				t.Errorf("Path(%q) = %q, want unchanged", in, got)
			}
		}
	}
	for _, n := range []string{"page", "author", "state", "sort", "limit", "q", "keyboard", "monkey", "key_id", "pkey",
		"sidebar", "code_style", "passage", "compass", "otpx", "hmacs", "tok", "sess", "sign", "creed", "api", "private"} {
		in := "/p?" + n + "=v4lue&x=" + n
		if got := string(r.Path(&sc, nil, []byte(in))); got != in {
			t.Errorf("Path(%q) = %q, want unchanged", in, got)
		}
	}
	// The returned list is a copy.
	DefaultQueryParams()[0] = "changed"
	if DefaultQueryParams()[0] == "changed" {
		t.Error("DefaultQueryParams shares its array")
	}
}

func isDefaultParam(n string) bool {
	for _, p := range DefaultQueryParams() {
		if p == n {
			return true
		}
	}
	return false
}

// The pseudonym is the documented HMAC-SHA256 prefix of the unescaped value,
// and is the same whatever rule found the value.
func TestPseudonym(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	r := mustNew(t, Config{Mode: ModeHash, HashKey: key, QueryParams: []string{"token"}, Detectors: []Detector{Bearer, JWT}})
	m := hmac.New(sha256.New, key)
	m.Write([]byte("a+b/c="))
	want := "[h:" + hex.EncodeToString(m.Sum(nil)[:8]) + "]"
	var sc Scratch
	if got := string(r.Whole(&sc, nil, []byte("a+b/c="))); got != want {
		t.Errorf("Whole = %q, want %q", got, want)
	}
	if got := string(r.String(&sc, nil, []byte("Bearer a+b/c="))); got != "Bearer "+want {
		t.Errorf("Bearer = %q, want %q", got, want)
	}
	if got := string(r.Path(&sc, nil, []byte("/p?token=a%2Bb%2fc%3D"))); got != "/p?token="+want {
		t.Errorf("query = %q, want %q", got, want)
	}
	// Another key gives another pseudonym; another Redactor with the same
	// key, the same one (the Scratch follows the Redactor it serves).
	r2 := mustNew(t, Config{Mode: ModeHash, HashKey: []byte("another key, 16+ bytes")})
	if got := string(r2.Whole(&sc, nil, []byte("a+b/c="))); got == want || !isMarker([]byte(got)) {
		t.Errorf("other key: %q", got)
	}
	r3 := mustNew(t, Config{Mode: ModeHash, HashKey: key})
	if got := string(r3.Whole(&sc, nil, []byte("a+b/c="))); got != want {
		t.Errorf("same key: %q, want %q", got, want)
	}
}

func TestCountsAndActive(t *testing.T) {
	if mustNew(t, Config{}).Active() {
		t.Error("zero Config is active")
	}
	if !mustNew(t, Config{IPTruncate: true}).Active() || !mustNew(t, Config{Detectors: []Detector{Email}}).Active() ||
		!mustNew(t, Config{AllQueryParams: true}).Active() || !mustNew(t, Config{QueryParams: []string{"*"}}).Active() {
		t.Error("configured Redactor not active")
	}
	r := mustNew(t, Config{QueryParams: DefaultQueryParams(), Detectors: allDetectors(), IPTruncate: true})
	var sc Scratch
	in := "/p?token=x&sig=y eyJhbGciOiJIUzI1NiJ9.e30.s AKIAIOSFODNN7EXAMPLE Bearer t0k card 4111111111111111 a@b.io 10.0.0.1 2001:db8::1"
	r.String(&sc, nil, []byte(in))
	r.Whole(&sc, nil, []byte("ua"))
	r.IP(&sc, nil, []byte("10.0.0.1, 2001:db8::1"))
	c := r.Counts()
	want := Counts{RuleQueryParam: 2, RuleJWT: 1, RuleAWSAccessKey: 1, RuleBearer: 1, RuleCreditCard: 1, RuleEmail: 1,
		RuleIPv4: 1, RuleIPv6: 1, RuleField: 1, RuleIPTruncate: 2}
	if c != want {
		t.Errorf("Counts = %v, want %v", c, want)
	}
	if c.Total() != 12 {
		t.Errorf("Total = %d", c.Total())
	}
	txt := string(c.AppendText(nil))
	if txt != "query_param=2 jwt=1 aws_access_key=1 bearer=1 credit_card=1 email=1 ipv4=1 ipv6=1 field=1 ip_truncate=2" {
		t.Errorf("AppendText = %q", txt)
	}
	if strings.Contains(txt, "AKIA") || string(Counts{}.AppendText(nil)) != "" {
		t.Error("AppendText leaks or prints zeros")
	}
	for d := range numDetectors {
		if d.Rule().String() != d.String() {
			t.Errorf("rule name %q != detector name %q", d.Rule(), d)
		}
	}
}

// A replacement can make a neighbour look like a new match (here the card
// turns "...1111.1.2.3.4", a dotted number, into "].1.2.3.4"); the fixpoint
// catches it, so the result is stable and no enabled rule matches it.
func TestFixpoint(t *testing.T) {
	r := mustNew(t, Config{Detectors: []Detector{CreditCard, IPv4, IPv6, AWSAccessKey, Bearer}})
	var sc Scratch
	for _, in := range []string{
		"4111111111111111.1.2.3.4",
		"AKIAIOSFODNN7EXAMPLE:1::2",
		"Bearer abc=::1",
		"1::2:AKIAIOSFODNN7EXAMPLE",
	} {
		once := r.String(&sc, nil, []byte(in))
		twice := r.String(&sc, nil, once)
		if !bytes.Equal(once, twice) {
			t.Errorf("%q: once %q, twice %q", in, once, twice)
		}
		if r.find(&sc, once, false) {
			t.Errorf("%q: rules still match %q", in, once)
		}
	}
}

func TestDstAppend(t *testing.T) {
	r := mustNew(t, Config{QueryParams: DefaultQueryParams(), Detectors: DefaultDetectors(), IPTruncate: true})
	var sc Scratch
	for _, f := range []func(*Scratch, []byte, []byte) []byte{r.String, r.Path, r.Whole, r.IP} {
		dst := append(make([]byte, 0, 64), "head|"...)
		for _, in := range []string{"nothing", "/p?token=1", "10.1.2.3"} {
			dst = f(&sc, dst, []byte(in))
		}
		if !bytes.HasPrefix(dst, []byte("head|")) || len(dst) <= len("head|nothing") {
			t.Errorf("dst prefix lost: %q", dst)
		}
	}
}

// Concurrent use of one Redactor with a Scratch per goroutine gives the
// serial results and exact counts (run with -race).
func TestConcurrent(t *testing.T) {
	r := mustNew(t, Config{Mode: ModeHash, HashKey: goldenKey, QueryParams: DefaultQueryParams(), Detectors: allDetectors()})
	inputs := []string{"/p?token=abc", "Bearer xyz", "card 4111111111111111", "plain text", "a@b.io"}
	var sc Scratch
	want := make([]string, len(inputs))
	for i, in := range inputs {
		want[i] = string(r.String(&sc, nil, []byte(in)))
	}
	before := r.Counts().Total()
	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sc Scratch
			var buf []byte
			for range rounds {
				for i, in := range inputs {
					buf = r.String(&sc, buf[:0], []byte(in))
					if string(buf) != want[i] {
						errs <- string(buf)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent result %q differs", e)
	}
	if got := r.Counts().Total() - before; got != workers*rounds*4 {
		t.Errorf("counted %d, want %d", got, workers*rounds*4)
	}
}

// Nothing allocates in steady state: neither when nothing matches nor when
// values are masked or hashed.
func TestZeroAllocs(t *testing.T) {
	for _, mode := range []Mode{ModeMask, ModeHash} {
		r := mustNew(t, Config{Mode: mode, HashKey: goldenKey, QueryParams: DefaultQueryParams(), Detectors: allDetectors(), IPTruncate: true})
		var sc Scratch
		dst := make([]byte, 0, 1024)
		values := [][]byte{
			[]byte("/api/v1/users/12345?page=2&sort=asc"),
			[]byte("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109"),
			[]byte("/p?token=abc&x=1 Bearer t0k AKIAIOSFODNN7EXAMPLE 4111111111111111 a@b.io 10.0.0.1 ::1 eyJhbGciOiJIUzI1NiJ9.e30.s"),
			// Escapes and the credential detectors: still nothing allocated once sc has grown.
			[]byte(`/cb?next=%2Fp%3Ftoken%3Dabc%26x%3D1&u=%2574oken%253Dx {"log":"a\u0026token=x\/y"} &amp;sid=1 ;jsessionid=2 #access_token=3`),
			[]byte(`ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8 glpat-xYz12AbCdEfGhIjKlMn0 xoxb-123456789012-abcdefghij sk_live_4eC39HqLyjWDarjtT1zdp7dc AIzaSyD-1234567890abcdefghijklmnopqrstu`),
			[]byte(`{"authorization":"Basic dXNlcjpwYXNz","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"} postgres://a:pw@db/x -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----`),
		}
		ips := []byte("10.0.0.1, [2001:db8::1]:443")
		run := func() {
			for _, v := range values {
				dst = r.String(&sc, dst[:0], v)
				dst = r.Path(&sc, dst[:0], v)
				dst = r.Whole(&sc, dst[:0], v)
			}
			dst = r.IP(&sc, dst[:0], ips)
		}
		run()
		if n := testing.AllocsPerRun(100, run); n != 0 {
			t.Errorf("%v: %v allocs per run", mode, n)
		}
	}
}

// parseIPv6 agrees with net/netip.
func TestParseIPv6(t *testing.T) {
	for _, s := range []string{
		"::", "::1", "1::", "2001:db8::1", "2001:db8:0:0:1:0:0:1", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4",
		"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::",
		"::1.2.3.4", "1:2:3:4:5:1.2.3.4", "::01.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", ":1", "1:", "", "::g", "fe80::1%eth0",
		"1.2.3.4", "0:0:0:0:0:0:0:0", "::ffff:256.1.1.1", "a:b:c:d:e:f:a:b", "ABCD::EF",
	} {
		ip, ok := parseIPv6([]byte(s))
		a, err := netip.ParseAddr(s)
		wantOK := err == nil && a.Is6() && a.Zone() == ""
		if ok != wantOK || ok && ip != a.As16() {
			t.Errorf("parseIPv6(%q) = %v %v; netip %v %v", s, ip, ok, a, err)
		}
	}
}

// A Scratch with Defer keeps its counts until Commit, and Discard forgets them: a
// flush answered RETRY and sent again is counted once.
func TestDeferredCounts(t *testing.T) {
	r := mustNew(t, Config{QueryParams: DefaultQueryParams(), Detectors: allDetectors(), IPTruncate: true})
	sc := Scratch{Defer: true}
	redactAll := func() {
		r.String(&sc, nil, []byte("/p?token=x eyJhbGciOiJIUzI1NiJ9.e30.s"))
		r.Whole(&sc, nil, []byte("ua"))
		r.IP(&sc, nil, []byte("10.0.0.1, 2001:db8::1"))
	}
	redactAll()
	sc.Discard()
	redactAll()
	if c := r.Counts(); c.Total() != 0 {
		t.Fatalf("counted before Commit: %v", c)
	}
	r.Commit(&sc)
	want := Counts{RuleQueryParam: 1, RuleJWT: 1, RuleField: 1, RuleIPTruncate: 2}
	if c := r.Counts(); c != want {
		t.Fatalf("Counts = %v, want %v", c, want)
	}
	r.Commit(&sc) // nothing new
	if c := r.Counts(); c != want {
		t.Fatalf("a second Commit counted again: %v", c)
	}
}

// TestSchemeSeparators: an auth scheme is separated from its credentials by
// any space or control character, Unicode spaces included, as written, in
// JSON and in %XX escapes (a no-break space or a NUL left the token whole).
func TestSchemeSeparators(t *testing.T) {
	r := mustNew(t, Config{Detectors: DefaultDetectors()})
	var sc Scratch
	const tok = "abc123DEF456ghi789"
	seps := []string{"\u00a0", "\x00", "\u2003", "\u202f", "\u3000", "\u200b", "\ufeff", "\u2028", "\f", "\v", "\r\n", "\u00a0\u00a0", " \u00a0"}
	for _, sep := range seps {
		for _, in := range []string{
			"Bearer" + sep + tok,
			"x Authorization: Bearer" + sep + tok,
			"authorization=Token" + sep + tok,
			"h: bearer" + sep + tok + " z",
		} {
			out := string(r.String(&sc, nil, []byte(in)))
			if strings.Contains(out, tok[:6]) {
				t.Errorf("String(%q) = %q: the token survives", in, out)
			}
		}
		basic := "Basic" + sep + "dXNlcjpwYXNzd29yZA=="
		if out := string(r.String(&sc, nil, []byte(basic))); strings.Contains(out, "dXNlcjpw") {
			t.Errorf("String(%q) = %q: the credentials survive", basic, out)
		}
	}
	for _, in := range []string{
		`{"h":"Bearer\u00a0` + tok + `"}`,
		`{"h":"Bearer\u0000` + tok + `"}`,
		"/p?h=Bearer%C2%A0" + tok,
		"/p?h=Bearer%00" + tok,
		"Bearer&nbsp;" + tok,
		"Bearer&#160;" + tok,
	} {
		if out := string(r.String(&sc, nil, []byte(in))); strings.Contains(out, tok[:6]) {
			t.Errorf("String(%q) = %q: the token survives", in, out)
		}
	}
	// Prose stays prose, whatever the space.
	for _, in := range []string{"the bearer\u00a0of the card", "the bearer\x00of it"} {
		if out := string(r.String(&sc, nil, []byte(in))); out != in {
			t.Errorf("String(%q) = %q, want it unchanged", in, out)
		}
	}
}

// TestIPForwarded: ip_anonymize truncate reaches the node identifiers of an
// RFC 7239 Forwarded value (for=, by=, quoted or not, with ports), and what
// is no address in an address field still goes through the detectors.
func TestIPForwarded(t *testing.T) {
	r := mustNew(t, Config{IPTruncate: true, Detectors: DefaultDetectors(), QueryParams: DefaultQueryParams()})
	var sc Scratch
	for _, tc := range []struct{ in, want string }{
		{"for=192.0.2.82;proto=https", "for=192.0.2.0;proto=https"},
		{"for=192.0.2.43, for=198.51.100.17;by=203.0.113.60;proto=http;host=example.com",
			"for=192.0.2.0, for=198.51.100.0;by=203.0.113.0;proto=http;host=example.com"},
		{`For="[2001:db8:cafe::17]:4711"`, `For="[2001:db8:cafe::]:4711"`},
		{`for="192.0.2.82:8080";proto=https`, `for="192.0.2.0:8080";proto=https`},
		{`for="_hidden", for=unknown`, `for="_hidden", for=unknown`},
		{"proto=https; for = 192.0.2.82", "proto=https; for = 192.0.2.0"},
		// Not an address: the detectors still run.
		{"AKIAIOSFODNN7EXAMPLE", Mask},
		{"for=AKIAIOSFODNN7EXAMPLE;proto=https", "for=" + Mask + ";proto=https"},
		{"10.0.0.1, Bearer abcdef0123456789", "10.0.0.0, Bearer " + Mask},
		{"http://10.0.0.1/x?token=abc", "http://10.0.0.0/x?token=" + Mask},
	} {
		if got := string(r.IP(&sc, nil, []byte(tc.in))); got != tc.want {
			t.Errorf("IP(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestRepeated: Repeated gives String's output, for values seen before too,
// and counts every replacement; a clean value is remembered per Redactor.
func TestRepeated(t *testing.T) {
	r := mustNew(t, Config{Detectors: DefaultDetectors()})
	r2 := mustNew(t, Config{Detectors: []Detector{Email}})
	var sc Scratch
	for round := 0; round < 3; round++ {
		for _, v := range []string{"prod", "app-AKIAIOSFODNN7EXAMPLE", "arn:aws:ecs:us-east-1:123456789012:task/prod/0123", "a@example.com"} {
			if got, want := string(r.Repeated(&sc, nil, []byte(v))), string(r.String(&sc, nil, []byte(v))); got != want {
				t.Errorf("Repeated(%q) = %q, want %q", v, got, want)
			}
		}
	}
	if got := string(r2.Repeated(&sc, nil, []byte("a@example.com"))); got != Mask {
		t.Errorf("another Redactor reused a value the first found clean: %q", got)
	}
	if c := r.Counts(); c[RuleAWSAccessKey] != 6 {
		t.Errorf("aws_access_key counted %d times, want 6 (3 Repeated, 3 String)", c[RuleAWSAccessKey])
	}
}
