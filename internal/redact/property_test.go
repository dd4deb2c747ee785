package redact

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// benign holds values that look like secrets but are none: every rule must
// leave lines made of them byte for byte.
var benign = []string{
	"GET", "POST", "HTTP/1.1", "HTTP/2", "status=200", "bytes=1532", "took=12ms", "-",
	"/", "/api/v1/users/12345", "/search?q=shoes&page=2&sort=asc", "/p?keyboard=1&monkey=2&author=3&state=4",
	"/static/app.9f8e7d6c.js", "/index.html#section-2",
	"Mozilla/5.0", "(Macintosh;", "Intel", "Mac", "OS", "X", "10_15_7)", "AppleWebKit/537.36", "(KHTML,", "like", "Gecko)",
	"Chrome/120.0.6099.109", "Safari/537.36", "curl/8.11.1", "okhttp/4.12.0", "grpc-go/1.60.1",
	"version", "1.2.3.4.5", "v1.2.3.4", "1.3.6.1.4.1.311", "256.1.1.1", "10.0.0.1.nip.io",
	"12:34:56.789", "00:1a:2b:3c:4d:5e", "std::vector", "cafe:babe", "2025-11-11T07:40:46.216Z",
	"heyJude", "keyJar", "eyJ", "eyJabc.def.ghi", "bearer-token", "Bearer;", "unbearer",
	"AKIAIOSFODNN7EXAMPL", "xAKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN1EXAMPLE",
	"4111111111111112", "1234567812345670", "41111111111111111111", "x4111111111111111", "1700000000000",
	"foo@bar", "@handle", "user@localhost", "a@b.c", "what?", "?",
	"[REDACTED]", "[h:0123456789abcdef]", "backend.local:8080", "tcp://backend:80",
}

type planted struct {
	text   string // what is written into the line
	secret string // what must not survive
}

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func randFrom(rng *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

func randCase(rng *rand.Rand, s string) string {
	b := []byte(s)
	for i, c := range b {
		if rng.IntN(2) == 0 && 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// cardNumber returns a Luhn-valid number of a scheme.
func cardNumber(rng *rand.Rand) string {
	schemes := []struct {
		prefix string
		n      int
	}{{"4", 16}, {"4", 13}, {"4", 19}, {"51", 16}, {"55", 16}, {"2221", 16}, {"2720", 16}, {"34", 15}, {"37", 15},
		{"6011", 16}, {"65", 16}, {"644", 16}, {"3528", 16}, {"3589", 19}, {"36", 14}, {"300", 14}, {"62", 16}, {"50", 16}, {"67", 19}}
	s := schemes[rng.IntN(len(schemes))]
	d := []byte(s.prefix + randFrom(rng, "0123456789", s.n-len(s.prefix)))
	for c := byte('0'); c <= '9'; c++ {
		d[len(d)-1] = c
		sum := 0
		for i := len(d) - 1; i >= 0; i-- {
			v := int(d[i] - '0')
			if (len(d)-1-i)%2 == 1 {
				if v *= 2; v > 9 {
					v -= 9
				}
			}
			sum += v
		}
		if sum%10 == 0 {
			break
		}
	}
	sep := []string{"", " ", "-"}[rng.IntN(3)]
	if sep == "" {
		// A run without separators is a card where a card word labels it.
		return string(d)
	}
	var sizes []int
	switch len(d) {
	case 13:
		sizes = []int{4, 4, 5}
	case 14:
		sizes = []int{4, 6, 4}
	case 15:
		sizes = []int{4, 6, 5}
	case 16:
		sizes = []int{4, 4, 4, 4}
	case 19:
		sizes = []int{4, 4, 4, 4, 3}
	}
	var b strings.Builder
	p := 0
	for i, n := range sizes {
		if i > 0 {
			b.WriteString(sep)
		}
		b.Write(d[p : p+n])
		p += n
	}
	return b.String()
}

// secret returns a secret of kind k (0..7: the detectors, then a query value).
func secret(rng *rand.Rand, k int) planted {
	switch k {
	case 0:
		t := "eyJ" + randFrom(rng, b64url, 17+rng.IntN(30)) + ".eyJ" + randFrom(rng, b64url, 10+rng.IntN(60)) + "." + randFrom(rng, b64url, rng.IntN(44))
		return planted{t, t}
	case 1:
		t := []string{"AKIA", "ASIA", "ABIA", "ACCA"}[rng.IntN(4)] + randFrom(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
		return planted{t, t}
	case 2:
		tok := randFrom(rng, b64url+".~+/", 8+rng.IntN(40)) + strings.Repeat("=", rng.IntN(3))
		return planted{randCase(rng, "bearer") + strings.Repeat(" ", 1+rng.IntN(2)) + tok, tok}
	case 3:
		c := cardNumber(rng)
		if !strings.ContainsAny(c, " -") {
			return planted{cardLabels[rng.IntN(len(cardLabels))] + c, c}
		}
		return planted{c, c}
	case 4:
		e := randFrom(rng, "abcdefghijklmnopqrstuvwxyz0123456789", 1+rng.IntN(10)) + randFrom(rng, "._+-", 1) +
			randFrom(rng, "abcdefghijklmnopqrstuvwxyz", 1+rng.IntN(8))
		d := randFrom(rng, "abcdefghijklmnopqrstuvwxyz", 2+rng.IntN(8)) + "." + []string{"com", "io", "co.uk", "example"}[rng.IntN(4)]
		at := []string{"@", "%40"}[rng.IntN(2)]
		return planted{e + at + d, e + at + d}
	case 5:
		ip := netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}).String()
		return planted{ip, ip}
	case 6:
		var a [16]byte
		for i := range a {
			if rng.IntN(3) > 0 {
				a[i] = byte(rng.IntN(256))
			}
		}
		a[0] |= 0x20 // not v4-mapped
		addr := netip.AddrFrom16(a)
		s := addr.String()
		if rng.IntN(3) == 0 {
			s = addr.StringExpanded()
		}
		if rng.IntN(3) == 0 {
			s = strings.ToUpper(s)
		}
		return planted{s, s}
	default:
		params := DefaultQueryParams()
		name := randCase(rng, paramName(params[rng.IntN(len(params))]))
		if rng.IntN(4) == 0 {
			name = fmt.Sprintf("%%%02X", name[0]) + name[1:]
		}
		v := randFrom(rng, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10+rng.IntN(20))
		u := "https://h.example/p?a=1&" + name + "=" + v
		if rng.IntN(2) == 0 {
			u += "&b=2"
		}
		if rng.IntN(3) == 0 {
			u += "#frag"
		}
		return planted{u, v}
	}
}

// cardLabels put a card word before a card number without separators.
var cardLabels = []string{"card ", "cc=", "card_number: ", `"cardNumber":"`, "/pay/", "Visa ", "PAN ", "credit card no. ", "amex:"}

var wrappers = []string{"%s", "(%s)", `"%s"`, "'%s'", "<%s>", "[%s]", "%s,", "%s.", "%s;", "=%s", "key: %s", `{"v":"%s"}`}

func benignLine(rng *rand.Rand) []string {
	n := 1 + rng.IntN(12)
	toks := make([]string, n)
	for i := range toks {
		switch rng.IntN(4) {
		case 0: // a UUID or a hex id, with a letter first so no digit run forms
			toks[i] = randFrom(rng, "abcdef", 1) + randFrom(rng, "0123456789abcdef", 7+rng.IntN(24))
		case 1: // a look-alike of one detector's class
			c := rateCorpora[rng.IntN(len(rateCorpora))]
			toks[i] = c.neg(rng)
		default:
			toks[i] = benign[rng.IntN(len(benign))]
		}
	}
	return toks
}

func propertyRedactor(t *testing.T, mode Mode) *Redactor {
	return mustNew(t, Config{Mode: mode, HashKey: goldenKey, QueryParams: DefaultQueryParams(), Detectors: allDetectors()})
}

// Lines made of look-alikes come out byte for byte; lines with planted
// secrets of every kind, at random places and in random wrappers, come out
// without any of them.
func TestPlantedSecrets(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 2024))
	for _, mode := range []Mode{ModeMask, ModeHash} {
		r := propertyRedactor(t, mode)
		var sc Scratch
		for n := 0; n < 3000; n++ {
			toks := benignLine(rng)
			line := []byte(strings.Join(toks, " "))
			if got := r.String(&sc, nil, line); !bytes.Equal(got, line) {
				t.Fatalf("%v: benign line changed:\n in: %s\nout: %s", mode, line, got)
			}
			if got := r.Path(&sc, nil, line); !bytes.Equal(got, line) {
				t.Fatalf("%v: benign path changed:\n in: %s\nout: %s", mode, line, got)
			}

			var secrets []string
			for range 1 + rng.IntN(4) {
				// The classes of secret(), then those of the credential
				// detectors, as written or in an encoding.
				var p planted
				if k := rng.IntN(8 + len(rateCorpora)); k < 8 {
					p = secret(rng, k)
				} else if c := rateCorpora[k-8]; c.pos != nil {
					p = c.pos(rng)
				} else {
					p = secret(rng, 3)
				}
				if rng.IntN(3) == 0 {
					p.text, p.secret = encode(rng, p)
				}
				text := fmt.Sprintf(wrappers[rng.IntN(len(wrappers))], p.text)
				at := rng.IntN(len(toks) + 1)
				toks = append(toks[:at], append([]string{text}, toks[at:]...)...)
				secrets = append(secrets, p.secret)
			}
			line = []byte(strings.Join(toks, " "))
			out := r.String(&sc, nil, line)
			for _, s := range secrets {
				if bytes.Contains(out, []byte(s)) && strings.Count(string(line), s) == 1 {
					t.Fatalf("%v: secret %q survived:\n in: %s\nout: %s", mode, s, line, out)
				}
			}
			if again := r.String(&sc, nil, out); !bytes.Equal(again, out) {
				t.Fatalf("%v: not idempotent:\n in: %s\nout: %s\n 2x: %s", mode, line, out, again)
			}
		}
	}
}

// The same for request paths: a secret as a path segment and a sensitive
// query parameter.
func TestPlantedSecretsInPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 2024))
	segs := []string{"api", "v1", "users", "12345", "orders", "1.2.3.4.5", "eyJ", "x"}
	for _, mode := range []Mode{ModeMask, ModeHash} {
		r := propertyRedactor(t, mode)
		var sc Scratch
		for n := 0; n < 2000; n++ {
			var b strings.Builder
			var secrets []string
			for range 1 + rng.IntN(4) {
				b.WriteString("/" + segs[rng.IntN(len(segs))])
			}
			if k := rng.IntN(8); k != 2 && k != 7 { // a bearer or a URL is no path segment
				p := secret(rng, k)
				b.WriteString("/" + strings.ReplaceAll(p.text, " ", "-"))
				secrets = append(secrets, strings.ReplaceAll(p.secret, " ", "-"))
			}
			b.WriteString("?page=2")
			params := DefaultQueryParams()
			v := randFrom(rng, "abcdefghijklmnopqrstuvwxyz0123456789%+=._-", 8+rng.IntN(20))
			fmt.Fprintf(&b, "&%s=%s&sort=asc", randCase(rng, paramName(params[rng.IntN(len(params))])), v)
			secrets = append(secrets, v)
			in := []byte(b.String())
			out := r.Path(&sc, nil, in)
			for _, s := range secrets {
				if bytes.Contains(out, []byte(s)) && strings.Count(string(in), s) == 1 {
					t.Fatalf("%v: secret %q survived:\n in: %s\nout: %s", mode, s, in, out)
				}
			}
			if !bytes.Contains(out, []byte("?page=2&")) || !bytes.HasSuffix(out, []byte("&sort=asc")) {
				t.Fatalf("%v: innocent parameters changed: %s", mode, out)
			}
		}
	}
}

// Realistic secret-free values (the benchmark's records and Envoy's own
// lines) come out byte for byte under the default rules.
func TestCleanValuesUnchanged(t *testing.T) {
	values := []string{
		"[2023-08-15 07:17:32.026][14][info][main] [source/server/server.cc:408] all clusters initialized. initializing cds, version 1.2.3",
		"[2025-11-04 06:49:07.518][15][warning][config] [source/common/config/grpc_stream.h:201] StreamAggregatedResources gRPC config stream to xds closed: 13, ",
		`{"level":"info","msg":"request done","status":200,"duration_ms":12,"path":"/api/v1/orders?page=2&sort=desc","user_agent":"okhttp/4.12.0"}`,
		"GET /search?q=caf%C3%A9&page=2&state=open&author=bob HTTP/1.1",
		`{"log":"GET \/p?page=2\u0026sort=asc HTTP\/1.1 200 \u003cok\u003e"}`,
		"upstream connect error or disconnect/reset before headers. reset reason: connection timeout",
		"arn:aws:ecs:ap-northeast-1:123456789012:task/prod/0123456789abcdef0123456789abcdef",
	}
	for _, r := range benchRecords {
		values = append(values, r[:]...)
	}
	for _, c := range []Config{defaultConfig()} {
		r := mustNew(t, c)
		var sc Scratch
		for _, v := range values {
			if got := r.String(&sc, nil, []byte(v)); string(got) != v {
				t.Errorf("String changed a clean value:\n in: %s\nout: %s", v, got)
			}
			if got := r.Path(&sc, nil, []byte(v)); string(got) != v {
				t.Errorf("Path changed a clean value:\n in: %s\nout: %s", v, got)
			}
		}
	}
}
