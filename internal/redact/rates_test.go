package redact

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// Recall and false-positive rate of each detector, measured on generated
// corpora: positives are secrets of the detector's class in random
// surroundings and in every encoding (percent-encoded after %3D,
// %20, %2C, %2F, twice percent-encoded, JSON-escaped, HTML-escaped, as a
// query, ;parameter or #fragment value); negatives are the look-alikes that
// class meets in real logs (identifiers, versions, words, near-miss
// prefixes). Every detector must find every positive, and change at most
// maxFalsePositive of the negatives. test/README.md shows the table this test
// computes (UPDATE_README=1 rewrites it).

const (
	rateN            = 4000
	maxFalsePositive = 0.005
)

type rateCorpus struct {
	name string // row name (detector, with the negatives' kind)
	det  Detector
	pos  func(*rand.Rand) planted // nil: FP row only
	neg  func(*rand.Rand) string
	desc string // what the negatives are
}

const (
	alnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b64std  = alnum + "+/"
	digits  = "0123456789"
	hexLow  = "0123456789abcdef"
	letters = "abcdefghijklmnopqrstuvwxyz"
)

func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// randID returns a random n-digit identifier (no leading zero).
func randID(rng *rand.Rand, n int) string {
	return randFrom(rng, "123456789", 1) + randFrom(rng, digits, n-1)
}

func idContext(rng *rand.Rand, id string) string {
	return pick(rng, id, "id="+id, "/orders/"+id+"/items", "order "+id, `"request_id":"`+id+`"`, "stream_id="+id,
		"trace "+id, "connection_id: "+id, "ts="+id, "/users/"+id, "x-request-id: "+id)
}

func versionString(rng *rand.Rand) string {
	return fmt.Sprintf("%d.%d.%d.%d", rng.IntN(30), rng.IntN(30), rng.IntN(60), rng.IntN(256))
}

var rateCorpora = []rateCorpus{
	{"jwt", JWT, func(rng *rand.Rand) planted { return secret(rng, 0) },
		func(rng *rand.Rand) string {
			return pick(rng, "eyJ"+randFrom(rng, b64url, 5+rng.IntN(40)), "eyJ"+randFrom(rng, b64url, 20)+"."+randFrom(rng, b64url, 20),
				"heyJ"+randFrom(rng, b64url, 30)+".a.b", "keyJar", "/static/eyJ.js")
		}, "eyJ without three segments, glued to a word"},
	{"aws_access_key", AWSAccessKey, func(rng *rand.Rand) planted { return secret(rng, 1) },
		func(rng *rand.Rand) string {
			return pick(rng, pick(rng, "AKIB", "AXIA", "BKIA")+randFrom(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
				"AKIA"+randFrom(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 15), "AKIA"+randFrom(rng, "abcdefghijklmnopqrstuvwxyz", 16),
				"x"+"AKIA"+randFrom(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16))
		}, "other prefixes, 19 characters, lower case, glued"},
	{"bearer", Bearer, func(rng *rand.Rand) planted { return secret(rng, 2) },
		func(rng *rand.Rand) string {
			return pick(rng, "bearer-token", `WWW-Authenticate: Bearer realm="api", error="invalid_token"`, "unbearer "+randFrom(rng, alnum, 10),
				`"token_type":"Bearer",`, "Bearer;", "the bearer of bad news")
		}, "challenges, words"},
	{"credit_card", CreditCard, func(rng *rand.Rand) planted { return secret(rng, 3) },
		func(rng *rand.Rand) string { return idContext(rng, randID(rng, 16)) }, "random 16-digit ids"},
	{"credit_card", CreditCard, nil,
		func(rng *rand.Rand) string { return idContext(rng, randID(rng, 19)) }, "random 19-digit ids"},
	{"email", Email, func(rng *rand.Rand) planted { return secret(rng, 4) },
		func(rng *rand.Rand) string {
			return pick(rng, "user@localhost", "@"+randFrom(rng, letters, 8), "a@b", "foo@bar", "git@github", "x@y.z1")
		}, "handles, hosts without a TLD"},
	{"ipv4", IPv4, func(rng *rand.Rand) planted { return secret(rng, 5) },
		func(rng *rand.Rand) string {
			v := versionString(rng)
			return pick(rng, "version "+v, "Chrome/"+v, "grpc-go/"+v, "v"+v, "app_version="+v, "build "+v, v+"-beta", "Version: "+v,
				v+".1", "1."+v, "oid 1.3.6.1.4.1."+v)
		}, "4-part versions, OIDs"},
	{"ipv6", IPv6, func(rng *rand.Rand) planted { return secret(rng, 6) },
		func(rng *rand.Rand) string {
			w := func() string { return randFrom(rng, "abcdef", 1+rng.IntN(4)) }
			return pick(rng, w()+"::"+w(), w()+":"+w()+"::"+w(), "std::"+w(), fmt.Sprintf("%02d:%02d:%02d", rng.IntN(24), rng.IntN(60), rng.IntN(60)),
				randFrom(rng, hexLow, 2)+":"+randFrom(rng, hexLow, 2)+":"+randFrom(rng, hexLow, 2)+":"+randFrom(rng, hexLow, 2)+":"+randFrom(rng, hexLow, 2)+":"+randFrom(rng, hexLow, 2))
		}, "hex words joined by colons, times, MACs"},
	{"github", GitHub, func(rng *rand.Rand) planted {
		t := pick(rng, "ghp_", "gho_", "ghu_", "ghs_", "ghr_") + randFrom(rng, alnum, 36)
		if rng.IntN(4) == 0 {
			t = "github_pat_" + randFrom(rng, alnum, 22) + "_" + randFrom(rng, alnum, 59)
		}
		return planted{t, t}
	}, func(rng *rand.Rand) string {
		return pick(rng, "ghp_"+randFrom(rng, alnum, 20), "ghx_"+randFrom(rng, alnum, 36), "xghp_"+randFrom(rng, alnum, 36), "github_pat_short", "github.com/"+randFrom(rng, letters, 8))
	}, "short, other prefixes, glued"},
	{"gitlab", GitLab, func(rng *rand.Rand) planted {
		t := "glpat-" + randFrom(rng, b64url, 20+rng.IntN(10))
		return planted{t, t}
	}, func(rng *rand.Rand) string {
		return pick(rng, "glpat-"+randFrom(rng, alnum, 10), "glpatx-"+randFrom(rng, alnum, 20), "gitlab.com/"+randFrom(rng, letters, 8))
	}, "short, other prefixes"},
	{"slack", Slack, func(rng *rand.Rand) planted {
		if rng.IntN(3) == 0 {
			p := "T" + randFrom(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8) + "/B" + randFrom(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8) + "/" + randFrom(rng, alnum, 24)
			return planted{"https://hooks.slack.com/services/" + p, p}
		}
		t := "xox" + pick(rng, "a", "b", "p", "r", "s") + "-" + randID(rng, 12) + "-" + randID(rng, 13) + "-" + randFrom(rng, alnum, 24)
		return planted{t, t}
	}, func(rng *rand.Rand) string {
		return pick(rng, "xoxc-"+randFrom(rng, alnum, 20), "xoxb-short", "xox-"+randFrom(rng, alnum, 20), "slack.com/help", "hooks.slack.com")
	}, "other xox kinds, short, no path"},
	{"stripe", Stripe, func(rng *rand.Rand) planted {
		t := pick(rng, "sk_live_", "rk_live_") + randFrom(rng, alnum, 24+rng.IntN(75))
		return planted{t, t}
	}, func(rng *rand.Rand) string {
		return pick(rng, "sk_test_"+randFrom(rng, alnum, 24), "pk_live_"+randFrom(rng, alnum, 24), "sk_live_short", "ask_live_"+randFrom(rng, alnum, 24))
	}, "test and publishable keys, short"},
	{"google_api_key", GoogleAPIKey, func(rng *rand.Rand) planted {
		t := "AIza" + randFrom(rng, b64url, 35)
		return planted{t, t}
	}, func(rng *rand.Rand) string {
		return pick(rng, "AIza"+randFrom(rng, alnum, 34), "AIza"+randFrom(rng, alnum, 36), "AIzb"+randFrom(rng, alnum, 35))
	}, "34 or 36 characters, other prefixes"},
	{"private_key", PrivateKey, func(rng *rand.Rand) planted {
		label := pick(rng, "RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
		body := randFrom(rng, b64std, 64) + "\n" + randFrom(rng, b64std, 40)
		return planted{"-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----", body}
	}, func(rng *rand.Rand) string {
		label := pick(rng, "CERTIFICATE", "PUBLIC KEY", "CERTIFICATE REQUEST")
		return "-----BEGIN " + label + "-----\n" + randFrom(rng, b64std, 64) + "\n-----END " + label + "-----"
	}, "certificates, public keys"},
	{"url_password", URLPassword, func(rng *rand.Rand) planted {
		pw := randFrom(rng, alnum+"!$*", 8+rng.IntN(12))
		return planted{pick(rng, "postgres", "https", "redis", "amqp") + "://" + randFrom(rng, letters, 5) + ":" + pw + "@" + randFrom(rng, letters, 6) + ".internal:5432/db", pw}
	}, func(rng *rand.Rand) string {
		// Hosts without a TLD, so the e-mail detector has nothing to find either.
		return pick(rng, "ssh://"+randFrom(rng, letters, 5)+"@"+randFrom(rng, letters, 6)+"/x", "mailto:"+randFrom(rng, letters, 5)+"@intranet",
			randFrom(rng, letters, 6)+":8080", "tcp://backend:80", "sip:"+randFrom(rng, letters, 5)+"@pbx", randFrom(rng, letters, 5)+"@"+randFrom(rng, letters, 5))
	}, "user without password, mailto:, host:port"},
	{"authorization", Authorization, func(rng *rand.Rand) planted {
		cred := randFrom(rng, alnum, 12+rng.IntN(30))
		label := pick(rng, "Authorization", "authorization", "Proxy-Authorization", "AUTHORIZATION")
		return planted{label + pick(rng, ": ", "=", `":"`) + pick(rng, "Basic", "Token", "Bearer", "Negotiate", "ApiKey") + pick(rng, " ", "\t", ":") + cred, cred}
	}, func(rng *rand.Rand) string {
		return pick(rng, "authorization required", `"authorization": null`, "the basic idea", "Basic "+randFrom(rng, letters, 8), "authorizations=3", "unauthorized")
	}, "words, null, Basic of no user:password"},
	{"aws_secret_key", AWSSecretKey, func(rng *rand.Rand) planted {
		if rng.IntN(2) == 0 {
			v := randFrom(rng, b64std, 40)
			return planted{pick(rng, "aws_secret_access_key=", "AWS_SECRET_ACCESS_KEY: ", `"SecretAccessKey":"`, "secretAccessKey = ") + v, v}
		}
		v := randFrom(rng, b64std, 100+rng.IntN(200))
		return planted{pick(rng, "aws_session_token=", `"SessionToken": "`, "AWS_SESSION_TOKEN=", "X-Amz-Security-Token: ") + v, v}
	}, func(rng *rand.Rand) string {
		return pick(rng, "commit="+randFrom(rng, alnum, 40), "aws_secret_access_key: short", "session_token_ttl: 3600", "sha1: "+randFrom(rng, hexLow, 40))
	}, "other labels, short values"},
}

// encode returns the text as it is written in one of the encodings, and the
// secret as it then appears.
func encode(rng *rand.Rand, p planted) (text, secret string) {
	pct := func(s string, all bool) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			c := s[i]
			if isAlnum(c) || !all && strings.IndexByte("-_.~", c) >= 0 {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
		return b.String()
	}
	jsonEsc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`, "/", `\/`, "&", `\u0026`)
	html := strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;")
	switch k := rng.IntN(12); k {
	case 0, 1:
		return p.text, p.secret
	case 2, 3, 4, 5:
		before := []string{"%3D", "%20", "%2C", "%2F"}[k-2]
		return "/cb?next=%2Fp" + before + pct(p.text, false), pct(p.secret, false)
	case 6:
		e := strings.ReplaceAll(pct(p.text, false), "%", "%25")
		return "/r?u=%253D" + e, strings.ReplaceAll(pct(p.secret, false), "%", "%25")
	case 7:
		return `{"log":"x\u0026v=` + jsonEsc.Replace(p.text) + `\u0026z=1"}`, jsonEsc.Replace(p.secret)
	case 8:
		return `<a href="/p?a=1&amp;v=` + html.Replace(p.text) + `&amp;b=2">`, html.Replace(p.secret)
	case 9:
		return "/cb#state=1&v=" + pct(p.text, false), pct(p.secret, false)
	case 10:
		return "/app;v=" + pct(p.text, false) + "?page=2", pct(p.secret, false)
	default:
		return "GET /p?q=" + pct(p.text, false) + " HTTP/1.1", pct(p.secret, false)
	}
}

type rate struct {
	c                   rateCorpus
	found, pos, fp, neg int
}

func measureRates(t *testing.T) []rate {
	var out []rate
	for i, c := range rateCorpora {
		r := mustNew(t, Config{Detectors: []Detector{c.det}})
		var sc Scratch
		rng := rand.New(rand.NewPCG(uint64(i), 13))
		rt := rate{c: c}
		for n := 0; n < rateN && c.pos != nil; n++ {
			text, sec := encode(rng, c.pos(rng))
			line := pick(rng, "%s", "x %s y", "(%s)", "[%s]", `"%s"`, "%s,")
			in := []byte(fmt.Sprintf(line, text))
			rt.pos++
			out := r.String(&sc, nil, in)
			if bytes.Contains(out, []byte(sec)) {
				t.Errorf("%s: missed %q\n in: %s\nout: %s", c.name, sec, in, out)
				continue
			}
			rt.found++
		}
		for n := 0; n < rateN; n++ {
			in := []byte(fmt.Sprintf(pick(rng, "%s", "x %s y", "(%s)", `"%s"`, "%s,"), c.neg(rng)))
			rt.neg++
			if out := r.String(&sc, nil, in); !bytes.Equal(out, in) {
				rt.fp++
				if rt.fp <= 3 {
					t.Logf("%s: false positive:\n in: %s\nout: %s", c.name, in, out)
				}
			}
		}
		out = append(out, rt)
	}
	return out
}

func ratesTable(rs []rate) string {
	var b strings.Builder
	b.WriteString("| detector | recall (positives planted in every encoding) | false positives | negatives |\n|---|---|---|---|\n")
	for _, r := range rs {
		rec := "–"
		if r.pos > 0 {
			rec = fmt.Sprintf("%.1f%% of %d", 100*float64(r.found)/float64(r.pos), r.pos)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %.2f%% of %d | %s |\n", r.c.name, rec, 100*float64(r.fp)/float64(r.neg), r.neg, r.c.desc)
	}
	return b.String()
}

const (
	ratesBegin = "<!-- detector rates: internal/redact TestDetectorRates -->\n"
	ratesEnd   = "<!-- end of detector rates -->\n"
)

func TestDetectorRates(t *testing.T) {
	rs := measureRates(t)
	for _, r := range rs {
		if r.found != r.pos {
			t.Errorf("%s: recall %d of %d", r.c.name, r.found, r.pos)
		}
		if fp := float64(r.fp) / float64(r.neg); fp > maxFalsePositive {
			t.Errorf("%s: false positives %.2f%% > %.2f%% on %s", r.c.name, 100*fp, 100*maxFalsePositive, r.c.desc)
		}
	}
	table := ratesTable(rs)
	t.Log("\n" + table)
	readme, err := os.ReadFile("../../test/README.md")
	if err != nil {
		t.Fatal(err)
	}
	a, b := bytes.Index(readme, []byte(ratesBegin)), bytes.Index(readme, []byte(ratesEnd))
	if a < 0 || b < a {
		t.Fatalf("test/README.md lacks the %q ... %q block", ratesBegin, ratesEnd)
	}
	have := string(readme[a+len(ratesBegin) : b])
	if have == table {
		return
	}
	if os.Getenv("UPDATE_README") != "" {
		out := append(append(append([]byte(nil), readme[:a+len(ratesBegin)]...), table...), readme[b:]...)
		if err := os.WriteFile("../../test/README.md", out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("test/README.md's detector rates differ from this test's; run UPDATE_README=1 go test ./internal/redact -run TestDetectorRates")
}
