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
	numDetectors
)

var detectorNames = [numDetectors]string{"jwt", "aws_access_key", "bearer", "credit_card", "email", "ipv4", "ipv6"}

// String returns the redact_detectors name of d.
func (d Detector) String() string {
	if d < numDetectors {
		return detectorNames[d]
	}
	return "unknown"
}

// Rule returns the counter rule of d.
func (d Detector) Rule() Rule { return Rule(d) + RuleJWT }

func (r *Redactor) scanDetectors(sc *Scratch, s []byte) {
	if r.has(JWT) {
		scanJWT(sc, s)
	}
	if r.has(AWSAccessKey) {
		scanAWSKey(sc, s)
	}
	if r.has(Bearer) {
		scanBearer(sc, s)
	}
	if r.has(CreditCard) {
		scanCards(sc, s)
	}
	if r.has(Email) {
		scanEmail(sc, s)
	}
	if r.has(IPv4) {
		scanIPv4(sc, s)
	}
	if r.has(IPv6) {
		scanIPv6(sc, s)
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

// scanAWSKey: trigger 'A'.
func scanAWSKey(sc *Scratch, s []byte) {
	const n = 20
	for i := 0; i+n <= len(s); {
		j := bytes.IndexByte(s[i:len(s)-n+1], 'A')
		if j < 0 {
			return
		}
		st := i + j
		if isAWSKey(s, st) {
			sc.add(st, st+n, RuleAWSAccessKey)
			i = st + n
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

// scanBearer: trigger ' ' preceded by "bearer" in any case.
func scanBearer(sc *Scratch, s []byte) {
	for i := 6; i < len(s); {
		j := bytes.IndexByte(s[i:], ' ')
		if j < 0 {
			return
		}
		sp := i + j
		i = sp + 1
		if lower(s[sp-1]) != 'r' || !foldEqual(s[sp-6:sp], "bearer") || sp > 6 && isAlnum(s[sp-7]) {
			continue
		}
		t := sp + 1
		for t < len(s) && s[t] == ' ' {
			t++
		}
		e := t
		for e < len(s) && class[s[e]]&cB64Token != 0 {
			e++
		}
		if e == t {
			continue
		}
		te := e
		for e < len(s) && s[e] == '=' {
			e++
		}
		if e == te+1 && e < len(s) && s[e] == '"' && isAuthParam(s[t:te]) {
			continue
		}
		sc.add(t, e, RuleBearer)
		i = e
	}
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
