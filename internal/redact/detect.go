package redact

import "bytes"

// Detector names a kind of secret found in any string, wherever it is.
type Detector uint8

// Detectors. Each finds candidates by a cheap trigger and then validates them;
// a match is word-bounded: the bytes around it are not ASCII letters or digits.
const (
	// JWT: a JWS/JWE compact serialisation: a first segment of at least 10
	// base64url characters starting "eyJ" (base64 of `{"`), then two or more
	// '.'-separated base64url segments. Segments may be empty (an unsecured
	// JWT has an empty signature: "h.p." matches); empty segments after the
	// third are not part of the match, so a sentence's final dot survives.
	JWT Detector = iota
	// AWSAccessKey: AKIA, ASIA, ABIA or ACCA then 16 of [A-Z2-7].
	AWSAccessKey
	// Bearer: the token after "Bearer " (any case, one or more spaces): RFC
	// 6750 b64token characters then '=' padding. "Bearer " is kept. Auth
	// parameters of a challenge (realm="...", error=, scope=, ...) are not tokens.
	Bearer
	// CreditCard: 13-19 digits, either one run or groups of 3-6 digits
	// joined by one space or one dash (the same throughout), passing Luhn
	// with a known issuer prefix and length (Visa, Mastercard, Amex,
	// Discover, JCB, Diners, UnionPay, Maestro, Mir, RuPay). A digit run
	// longer than 19 is an id, not a card.
	CreditCard
	// Email: local@domain.tld, also with '@' escaped as %40; the domain has
	// two or more labels and an alphabetic TLD of two or more letters.
	Email
	// IPv4: a dotted quad of decimal octets (0-255; leading zeros allowed),
	// not part of a longer dotted number such as a version 1.2.3.4.5.
	IPv4
	// IPv6: an RFC 4291 text address (with "::" and an embedded IPv4 tail),
	// validated without allocation; the zone (%eth0) is kept.
	IPv6
	// GitHub: ghp_, gho_, ghu_, ghs_ or ghr_ then 30 or more letters and
	// digits; github_pat_ then 40 or more letters, digits and '_'.
	GitHub
	// GitLab: glpat- (and the other gl...- token prefixes: gloas, gldt, glrt,
	// glptt, glcbt, glft, glimt, glsoat) then 20 or more of [A-Za-z0-9_.-].
	GitLab
	// Slack: xoxa-, xoxb-, xoxp-, xoxr- or xoxs- then 10 or more of
	// [A-Za-z0-9-]; and the path of a hooks.slack.com URL (its secret).
	Slack
	// Stripe: sk_live_ or rk_live_ then 10 or more letters and digits.
	Stripe
	// GoogleAPIKey: AIza then exactly 35 of [A-Za-z0-9_-].
	GoogleAPIKey
	// PrivateKey: the body of a PEM block whose label says PRIVATE KEY,
	// from its BEGIN line to its END line (or, cut off, to a quote or the
	// end of the value); the BEGIN and END lines are kept.
	PrivateKey
	// URLPassword: the password of URL userinfo, scheme://user:password@host
	// or user:password@host at the start of a value or of a quoted string
	// (an authority).
	URLPassword
	// Authorization: the credentials of an Authorization or
	// Proxy-Authorization value (label, then ':' or '=', then any scheme and
	// ' ', tab or ':' before the credentials; the scheme is kept), and
	// "Basic <base64 of user:password>" anywhere.
	Authorization
	// AWSSecretKey: a value labelled as an AWS secret access key (40 of
	// [A-Za-z0-9/+]) or session/security token (20 or more of [A-Za-z0-9/+=]):
	// aws_secret_access_key, SecretAccessKey, aws_session_token, SessionToken,
	// X-Amz-Security-Token, in any case, with ':' or '=' and quotes between.
	AWSSecretKey
	numDetectors
)

var detectorNames = [numDetectors]string{
	"jwt", "aws_access_key", "bearer", "credit_card", "email", "ipv4", "ipv6",
	"github", "gitlab", "slack", "stripe", "google_api_key", "private_key",
	"url_password", "authorization", "aws_secret_key",
}

// String returns the redact_detectors name of d.
func (d Detector) String() string {
	if d < numDetectors {
		return detectorNames[d]
	}
	return "unknown"
}

// Rule returns the counter rule of d.
func (d Detector) Rule() Rule { return Rule(d) + RuleJWT }

// scanDetectors runs the enabled detectors whose trigger bytes m has.
func (r *Redactor) scanDetectors(sc *Scratch, s []byte, m uint32) {
	d := r.dets
	if d&(1<<JWT) != 0 && m&tJ != 0 {
		scanJWT(sc, s)
	}
	if d&(1<<AWSAccessKey|1<<GoogleAPIKey) != 0 && m&tA != 0 {
		scanA(sc, s, d&(1<<AWSAccessKey) != 0, d&(1<<GoogleAPIKey) != 0 && m&tZ != 0)
	}
	if d&(1<<Bearer) != 0 && m&(tB|tSep) == tB|tSep {
		scanBearer(sc, s)
	}
	if d&(1<<CreditCard) != 0 && m&tDigit != 0 && len(s) >= minCard {
		scanCards(sc, s)
	}
	if d&(1<<Email) != 0 && m&(tAt|tPct) != 0 {
		scanEmail(sc, s)
	}
	if d&(1<<IPv4) != 0 && m&(tDot|tDigit) == tDot|tDigit {
		scanIPv4(sc, s)
	}
	if d&(1<<IPv6) != 0 && m&tColon != 0 {
		scanIPv6(sc, s)
	}
	if d&(1<<GitHub|1<<GitLab) != 0 && m&tG != 0 && m&(tUs|tDash) != 0 {
		scanG(sc, s, d&(1<<GitHub) != 0 && m&tUs != 0, d&(1<<GitLab) != 0 && m&tDash != 0)
	}
	if d&(1<<Slack) != 0 && (m&(tX|tDash) == tX|tDash || m&(tK|tDot) == tK|tDot) {
		scanSlack(sc, s, m)
	}
	if d&(1<<Stripe) != 0 && m&(tK|tUs) == tK|tUs {
		scanStripe(sc, s)
	}
	if d&(1<<PrivateKey) != 0 && m&(tDash|tN) == tDash|tN {
		scanPrivateKey(sc, s)
	}
	if d&(1<<URLPassword) != 0 && m&(tAt|tColon) == tAt|tColon {
		scanURLPassword(sc, s)
	}
	if d&(1<<Authorization) != 0 && (m&tZ != 0 && m&(tColon|tEq|tGt) != 0 || m&(tB|tSep) == tB|tSep) {
		scanAuthorization(sc, s, m)
	}
	if d&(1<<AWSSecretKey) != 0 && m&tK != 0 && m&(tColon|tEq|tGt) != 0 {
		scanAWSSecret(sc, s, m)
	}
}

// scanJWT: trigger "eyJ".
func scanJWT(sc *Scratch, s []byte) {
	for i := 0; i < len(s); {
		j := bytes.Index(s[i:], []byte("eyJ"))
		if j < 0 {
			return
		}
		st := i + j
		end, next := matchJWT(s, st)
		if end > 0 {
			sc.add(st, end, RuleJWT)
		}
		i = next
	}
}

// matchJWT returns the end of the JWT starting at st (0 when there is
// none) and where to look for the next one. A failed candidate fails for
// every later "eyJ" of its first segment too, so the scan skips them and
// stays linear.
func matchJWT(s []byte, st int) (end, next int) {
	if st > 0 && isAlnum(s[st-1]) {
		return 0, st + 3
	}
	p := st
	for p < len(s) && isB64URL(s[p]) {
		p++
	}
	if p-st < 10 {
		return 0, p
	}
	end, segs := p, 1
	for k := 1; p < len(s) && s[p] == '.'; k++ {
		q := p + 1
		for q < len(s) && isB64URL(s[q]) {
			q++
		}
		if q > p+1 || k < 3 {
			end, segs = q, k+1
		}
		p = q
	}
	if segs < 3 {
		return 0, end
	}
	return end, end
}

// scanA: trigger 'A', for AWS access key ids and Google API keys.
func scanA(sc *Scratch, s []byte, aws, google bool) {
	for i := 0; i+20 <= len(s); {
		j := bytes.IndexByte(s[i:len(s)-19], 'A')
		if j < 0 {
			return
		}
		st := i + j
		if aws && isAWSKey(s, st) {
			sc.add(st, st+20, RuleAWSAccessKey)
			i = st + 20
			continue
		}
		if google && isGoogleKey(s, st) {
			sc.add(st, st+googleKeyLen, RuleGoogleAPIKey)
			i = st + googleKeyLen
			continue
		}
		i = st + 1
	}
}

func isAWSKey(s []byte, st int) bool {
	switch string(s[st : st+4]) {
	case "AKIA", "ASIA", "ABIA", "ACCA":
	default:
		return false
	}
	if st > 0 && isAlnum(s[st-1]) || st+20 < len(s) && isAlnum(s[st+20]) {
		return false
	}
	for _, c := range s[st+4 : st+20] {
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// scanBearer: the word "bearer" in any case, then one or more of ' ',
// '\t', ':', then the token. A token of lower-case letters only is a word
// of prose unless "bearer" starts a header value.
func scanBearer(sc *Scratch, s []byte) {
	forWord(s, "bearer", func(st int) int {
		t := sepEnd(s, st+6)
		if t == st+6 {
			return 0
		}
		e := runOf(s, t, func(c byte) bool { return class[c]&cB64Token != 0 })
		if e == t {
			return 0
		}
		te := e
		e = runOf(s, e, func(c byte) bool { return c == '=' })
		if e == te+1 && e < len(s) && s[e] == '"' && isAuthParam(s[t:te]) {
			return 0
		}
		if e == te && isWord(s[t:te]) && !headerStart(s, st) {
			return 0 // prose: "the bearer of", "token_type=bearer in"
		}
		sc.add(t, e, RuleBearer)
		return e
	})
}

// isWord reports whether b is only lower-case letters, as words of prose
// are and tokens rarely are.
func isWord(b []byte) bool {
	for _, c := range b {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// headerStart reports whether s[st:] starts a header value: at the start of
// s, or after ':' (and spaces or a quote).
func headerStart(s []byte, st int) bool {
	p := st
	for p > 0 && (s[p-1] == ' ' || s[p-1] == '\t' || s[p-1] == '"' || s[p-1] == '\'') {
		p--
	}
	return p == 0 || s[p-1] == ':'
}

// forWord calls match with the start of every occurrence of the lowercase
// ASCII word w in s, in any case, that is not preceded by a letter or digit
// and is followed by at least one byte. match returns where to go on (0: the
// next byte).
func forWord(s []byte, w string, match func(st int) int) {
	for _, b := range [2]byte{w[0], w[0] - 'a' + 'A'} {
		for i := 0; i+len(w) < len(s); {
			j := bytes.IndexByte(s[i:len(s)-len(w)], b)
			if j < 0 {
				break
			}
			st := i + j
			i = st + 1
			if !foldEqual(s[st:st+len(w)], w) || !wordStart(s, st) {
				continue
			}
			if e := match(st); e > i {
				i = e
			}
		}
	}
}

// sepEnd returns the end of the run of separators from p on that may part
// an auth scheme from its credentials: spaces, tabs and every other ASCII
// control character (NUL, CR, LF, ...), a colon, '+' (a space in a
// form-encoded value: Bearer+token), and the Unicode spaces written in UTF-8
// (no-break, en/em, ideographic, zero-width, line and paragraph separators,
// BOM), which a header written by hand or copied from a page carries.
func sepEnd(s []byte, p int) int {
	for p < len(s) {
		c := s[p]
		switch {
		case c <= ' ' || c == 0x7f || c == ':' || c == '+':
			p++
		case c >= 0xc2:
			n := uniSpace(s[p:])
			if n == 0 {
				return p
			}
			p += n
		default:
			return p
		}
	}
	return p
}

// uniSpace returns the length of the UTF-8 Unicode space that starts b, or 0:
// U+0085, U+00A0, U+1680, U+180E, U+2000-U+200D, U+2028, U+2029, U+202F,
// U+205F, U+2060, U+3000, U+FEFF.
func uniSpace(b []byte) int {
	switch {
	case len(b) >= 2 && b[0] == 0xc2 && (b[1] == 0x85 || b[1] == 0xa0):
		return 2
	case len(b) < 3:
		return 0
	case b[0] == 0xe1 && (b[1] == 0x9a && b[2] == 0x80 || b[1] == 0xa0 && b[2] == 0x8e):
		return 3
	case b[0] == 0xe2 && b[1] == 0x80 && (b[2] <= 0x8d || b[2] == 0xa8 || b[2] == 0xa9 || b[2] == 0xaf):
		return 3
	case b[0] == 0xe2 && b[1] == 0x81 && (b[2] == 0x9f || b[2] == 0xa0):
		return 3
	case b[0] == 0xe3 && b[1] == 0x80 && b[2] == 0x80, b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf:
		return 3
	}
	return 0
}

// isAuthParam reports whether name is an RFC 6750 challenge parameter,
// which follows "Bearer " in WWW-Authenticate and is no token.
func isAuthParam(name []byte) bool {
	for _, p := range [...]string{"realm", "scope", "error", "error_description", "error_uri"} {
		if foldEqual(name, p) {
			return true
		}
	}
	return false
}

// foldEqual reports whether b equals the lowercase ASCII word w, ignoring case.
func foldEqual(b []byte, w string) bool {
	if len(b) != len(w) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != w[i] {
			return false
		}
	}
	return true
}

// E-mail limits of RFC 5321, which also bound the scans of a trigger.
const (
	maxLocal  = 64
	maxDomain = 255
)

// scanEmail: triggers '@' and "%40".
func scanEmail(sc *Scratch, s []byte) {
	for i := 0; i < len(s); {
		j := bytes.IndexByte(s[i:], '@')
		if j < 0 {
			break
		}
		at := i + j
		emailAt(sc, s, at, at+1)
		i = at + 1
	}
	for i := 0; i < len(s); {
		j := bytes.Index(s[i:], []byte("%40"))
		if j < 0 {
			break
		}
		at := i + j
		emailAt(sc, s, at, at+3)
		i = at + 3
	}
}

// emailAt matches an address whose '@' (or %40) is s[at:d].
func emailAt(sc *Scratch, s []byte, at, d int) {
	l := at
	for l > 0 && at-l < maxLocal && class[s[l-1]]&cLocal != 0 {
		l--
	}
	for l < at && s[l] == '.' {
		l++
	}
	if l == at {
		return
	}
	end, labels := -1, 0
	for p := d; p < len(s) && p-d < maxDomain; {
		q := p
		for q < len(s) && (isAlnum(s[q]) || s[q] == '-') {
			q++
		}
		if q == p {
			break
		}
		labels++
		if labels >= 2 && isTLD(s[p:q]) {
			end = q
		}
		if q+1 < len(s) && s[q] == '.' {
			p = q + 1
			continue
		}
		break
	}
	if end < 0 {
		return
	}
	sc.add(l, end, RuleEmail)
}

func isTLD(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
