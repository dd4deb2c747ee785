package redact

import (
	"bytes"
	"encoding/base64"
	"unicode/utf8"
)

// Credentials with unmistakable shapes: vendor token prefixes, PEM private
// keys, URL passwords, Authorization values and labelled AWS secrets. Each
// is found by a trigger byte or literal and validated by its shape; a token
// must not be glued to letters or digits before it (word-bounded).

func wordStart(s []byte, st int) bool { return st == 0 || !isAlnum(s[st-1]) }

// runOf returns the end of the run of bytes from p on that ok accepts.
func runOf(s []byte, p int, ok func(byte) bool) int {
	for p < len(s) && ok(s[p]) {
		p++
	}
	return p
}

func isAlnumUs(c byte) bool { return isAlnum(c) || c == '_' }
func isB64URLDot(c byte) bool {
	return isB64URL(c) || c == '.'
}

const googleKeyLen = 39 // "AIza" + 35

func isGoogleKey(s []byte, st int) bool {
	if st+googleKeyLen > len(s) || string(s[st:st+4]) != "AIza" || !wordStart(s, st) {
		return false
	}
	e := runOf(s, st+4, isB64URL)
	return e == st+googleKeyLen
}

// scanG: trigger 'g', for GitHub (gh?_, github_pat_) and GitLab (gl...-).
func scanG(sc *Scratch, s []byte, github, gitlab bool) {
	for i := 0; i+4 < len(s); {
		j := bytes.IndexByte(s[i:len(s)-4], 'g')
		if j < 0 {
			return
		}
		st := i + j
		i = st + 1
		if !wordStart(s, st) {
			continue
		}
		if github && (s[st+1] == 'h' || s[st+1] == 'i') {
			if e := githubToken(s, st); e > 0 {
				sc.add(st, e, RuleGitHub)
				i = e
			}
			continue
		}
		if gitlab && s[st+1] == 'l' {
			if e := gitlabToken(s, st); e > 0 {
				sc.add(st, e, RuleGitLab)
				i = e
			}
		}
	}
}

func githubToken(s []byte, st int) int {
	if st+4 <= len(s) && s[st+3] == '_' {
		switch s[st+2] {
		case 'p', 'o', 'u', 's', 'r':
			if e := runOf(s, st+4, isAlnum); e-(st+4) >= 30 && (e == len(s) || !isAlnumUs(s[e])) {
				return e
			}
		}
		return 0
	}
	if bytes.HasPrefix(s[st:], []byte("github_pat_")) {
		if e := runOf(s, st+11, isAlnumUs); e-(st+11) >= 40 && (e == len(s) || !isAlnum(s[e])) {
			return e
		}
	}
	return 0
}

var gitlabPrefixes = [...]string{"glpat-", "gloas-", "gldt-", "glrt-", "glptt-", "glcbt-", "glft-", "glimt-", "glsoat-"}

func gitlabToken(s []byte, st int) int {
	for _, p := range gitlabPrefixes {
		if !bytes.HasPrefix(s[st:], []byte(p)) {
			continue
		}
		b := st + len(p)
		e := runOf(s, b, isB64URLDot)
		for e > b && s[e-1] == '.' {
			e--
		}
		if e-b >= 20 {
			return e
		}
		return 0
	}
	return 0
}

// scanSlack: "xox?-" tokens, and the path of hooks.slack.com URLs.
func scanSlack(sc *Scratch, s []byte, m uint32) {
	if m&(tX|tDash) == tX|tDash {
		for i := 0; i+5 < len(s); {
			j := bytes.Index(s[i:], []byte("xox"))
			if j < 0 {
				break
			}
			st := i + j
			i = st + 3
			if st+5 > len(s) || s[st+4] != '-' || !wordStart(s, st) {
				continue
			}
			switch s[st+3] {
			case 'a', 'b', 'p', 'r', 's':
			default:
				continue
			}
			e := runOf(s, st+5, func(c byte) bool { return isAlnum(c) || c == '-' })
			if e-(st+5) >= 10 {
				sc.add(st, e, RuleSlack)
				i = e
			}
		}
	}
	if m&(tK|tDot) == tK|tDot {
		const host = "hooks.slack.com/"
		for i := 0; i < len(s); {
			j := bytes.Index(s[i:], []byte(host))
			if j < 0 {
				break
			}
			b := i + j + len(host)
			e := runOf(s, b, func(c byte) bool { return isB64URL(c) || c == '/' || c == '%' })
			i = b
			if e > b && !isMarker(s[b:e]) {
				sc.add(b, e, RuleSlack)
				i = e
			}
		}
	}
}

// scanStripe: trigger '_' of sk_live_ and rk_live_.
func scanStripe(sc *Scratch, s []byte) {
	for i := 2; i+6 < len(s); {
		j := bytes.Index(s[i:], []byte("_live_"))
		if j < 0 {
			return
		}
		u := i + j
		i = u + 1
		st := u - 2
		if st < 0 || s[st+1] != 'k' || s[st] != 's' && s[st] != 'r' || !wordStart(s, st) {
			continue
		}
		b := u + 6
		if e := runOf(s, b, isAlnum); e-b >= 10 {
			sc.add(st, e, RuleStripe)
			i = e
		}
	}
}

// scanPrivateKey: trigger "-----BEGIN ".
func scanPrivateKey(sc *Scratch, s []byte) {
	const begin, dashes = "-----BEGIN ", "-----"
	noEnd := false // no END line after some BEGIN: none after a later one either
	for i := 0; i < len(s); {
		j := bytes.Index(s[i:], []byte(begin))
		if j < 0 {
			return
		}
		st := i + j
		i = st + len(begin)
		// The label: up to the closing dashes, on one line.
		k := bytes.Index(s[i:min(len(s), i+64)], []byte(dashes))
		if k < 0 || !bytes.Contains(s[i:i+k], []byte("PRIVATE KEY")) {
			continue
		}
		b := i + k + len(dashes)
		e, x := len(s), -1
		if !noEnd {
			x = bytes.Index(s[b:], []byte("-----END "))
			noEnd = x < 0
		}
		if x >= 0 {
			e = b + x
		} else if q := bytes.IndexAny(s[b:], "\"'"); q >= 0 {
			e = b + q
		}
		if e > b && !isMarker(s[b:e]) {
			sc.add(b, e, RulePrivateKey)
		}
		i = max(e, b)
	}
}

// userinfo reports whether c may be in URL userinfo (RFC 3986, and '@',
// which real passwords contain unescaped).
func userinfo(c byte) bool {
	return isAlnum(c) || bytes.IndexByte([]byte("-._~%!$&'()*+,;=:@"), c) >= 0
}

// uriSchemes are schemes whose "scheme:x@host" is an address, not userinfo.
var uriSchemes = [...]string{"mailto", "sip", "sips", "tel", "xmpp", "im", "pres", "urn", "news"}

// scanURLPassword: trigger '@'. The password is between the first ':' of
// the userinfo and its '@'; the userinfo follows "//", or starts the value or a quoted string.
func scanURLPassword(sc *Scratch, s []byte) {
	prevAt, prevA := -1, 0
	for i := 0; i < len(s); {
		j := bytes.IndexByte(s[i:], '@')
		if j < 0 {
			return
		}
		at := i + j
		i = at + 1
		// The userinfo starts where the previous '@''s did when only
		// userinfo bytes lie between them (a password holding '@'), which
		// keeps a run of '@'s linear.
		a := at
		for a > prevAt+1 && at-a < 512 && userinfo(s[a-1]) {
			a--
		}
		if prevAt >= 0 && a == prevAt+1 {
			a = prevA
		}
		prevAt, prevA = at, a
		// Host after '@'.
		h := runOf(s, at+1, func(c byte) bool { return isAlnum(c) || c == '-' || c == '.' || c == '[' || c == ']' || c == '%' })
		if h == at+1 {
			continue
		}
		// A value that is an authority starts the text or a quoted string
		// (a JSON member seen as text: JSON cut short, or in a sentence).
		quoted := a > 0 && s[a-1] == '"'
		switch {
		case a >= 2 && s[a-1] == '/' && s[a-2] == '/':
		case a == 0 || quoted:
			// An authority: user:password@host[:port][/...], nothing else.
			if h < len(s) && s[h] != ':' && s[h] != '/' && !(quoted && s[h] == '"') {
				continue
			}
		default:
			continue
		}
		c := bytes.IndexByte(s[a:at], ':')
		if c < 0 {
			continue
		}
		c += a
		if a == 0 || quoted {
			user := s[a:c]
			skip := false
			for _, sch := range uriSchemes {
				skip = skip || foldEqual(user, sch)
			}
			if skip {
				continue
			}
		}
		if c+1 < at && !isMarker(s[c+1:at]) {
			sc.add(c+1, at, RuleURLPassword)
		}
	}
}

// scanAuthorization: "authorization" labels (trigger 'z'/'Z') and
// unlabelled "Basic <base64 user:password>" (trigger 'b'/'B').
func scanAuthorization(sc *Scratch, s []byte, m uint32) {
	if m&tZ != 0 && m&(tColon|tEq|tGt) != 0 {
		for _, z := range [2]byte{'z', 'Z'} {
			for i := 7; i+6 <= len(s); {
				j := bytes.IndexByte(s[i:len(s)-5], z)
				if j < 0 {
					break
				}
				p := i + j
				i = p + 1
				st := p - 7
				if !foldEqual(s[st:p+6], "authorization") || p+6 < len(s) && isAlnum(s[p+6]) {
					continue
				}
				v := labelValue(s, p+6)
				if v < 0 {
					continue
				}
				if e := authCredentials(sc, s, v); e > 0 {
					i = e
				}
			}
		}
	}
	if m&(tB|tSep) == tB|tSep {
		forWord(s, "basic", func(st int) int {
			t := sepEnd(s, st+5)
			if t == st+5 {
				return 0
			}
			e := runOf(s, t, isStdB64)
			if e < len(s) && isAlnum(s[e]) {
				return 0
			}
			// A '/' may be base64 or the end of a path segment.
			for e > t && !isBasicCreds(s[t:e]) {
				e = t + max(0, bytes.LastIndexByte(s[t:e], '/'))
			}
			if e == t {
				return 0
			}
			sc.add(t, e, RuleAuthorization)
			return e
		})
	}
}

// labelValue returns where the value of a label ending at p starts: after
// an optional closing quote (or \"), spaces, then ':', '=' or '>' (an XML
// element: <SecretAccessKey>...), then spaces and an optional opening quote
// (or \"). -1 when none of them follows.
func labelValue(s []byte, p int) int {
	p = skipQuote(s, p)
	p = runOf(s, p, func(c byte) bool { return c == ' ' || c == '\t' })
	if p >= len(s) || s[p] != ':' && s[p] != '=' && s[p] != '>' {
		return -1
	}
	p = runOf(s, p+1, func(c byte) bool { return c == ' ' || c == '\t' })
	return skipQuote(s, p)
}

func skipQuote(s []byte, p int) int {
	switch {
	case p < len(s) && (s[p] == '"' || s[p] == '\''):
		return p + 1
	case p+1 < len(s) && s[p] == '\\' && s[p+1] == '"':
		return p + 2
	}
	return p
}

// credByte: bytes of credentials in a header value as logs carry it.
func credByte(c byte) bool {
	return c > ' ' && c < 0x7f && bytes.IndexByte([]byte("\"'\\,;&<>`()[]{}"), c) < 0
}

// authCredentials adds the credentials of the Authorization value at v: the
// scheme is kept when a separator and credentials follow it; a lone token
// is replaced whole. It returns the end of what it replaced (0 if nothing).
func authCredentials(sc *Scratch, s []byte, v int) int {
	w := runOf(s, v, func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' })
	if isNoValue(s[v:w]) || escaped(s, v) || w > v && escaped(s, w) {
		return 0 // an escaped separator: the decoded view finds the credentials alone
	}
	if t := sepEnd(s, w); w > v && t > w {
		if markerAt(s, t) {
			return 0
		}
		e := authParams(s, t)
		if e < 0 {
			e = runOf(s, t, credByte)
		}
		if e > t {
			if isMarker(s[t:e]) {
				return 0
			}
			sc.add(t, e, RuleAuthorization)
			return e
		}
	}
	e := runOf(s, v, credByte)
	if e > v && !markerAt(s, v) && !isNoValue(s[v:e]) {
		sc.add(v, e, RuleAuthorization)
		return e
	}
	return 0
}

// escaped reports whether an escape decode.go decodes starts at s[p].
func escaped(s []byte, p int) bool {
	if p >= len(s) || s[p] != '%' && s[p] != '\\' && s[p] != '&' {
		return false
	}
	_, n := escapeAt(s, p)
	return n > 0
}

// markerAt reports whether a replacement starts at s[p:].
func markerAt(s []byte, p int) bool {
	return bytes.HasPrefix(s[p:], []byte(Mask)) || p+hashLen <= len(s) && isMarker(s[p:p+hashLen])
}

// isNoValue reports whether a lone value says there is none.
func isNoValue(v []byte) bool {
	for _, w := range [...]string{"null", "none", "-", "undefined", "nil"} {
		if foldEqual(v, w) {
			return true
		}
	}
	return false
}

// authParams returns the end of the auth-param list at t (Digest
// username="bob", realm="x", response="..."), or -1 when there is none.
func authParams(s []byte, t int) int {
	end := -1
	for p := t; ; {
		n := runOf(s, p, func(c byte) bool { return isAlnum(c) || c == '-' || c == '_' })
		if n == p || n >= len(s) || s[n] != '=' {
			return end
		}
		p = n + 1
		if p < len(s) && s[p] == '"' {
			q := bytes.IndexByte(s[p+1:], '"')
			if q < 0 {
				return end
			}
			p += q + 2
		} else {
			p = runOf(s, p, credByte)
		}
		end = p
		c := runOf(s, p, func(c byte) bool { return c == ',' || c == ' ' })
		if c == p || bytes.IndexByte(s[p:c], ',') < 0 {
			return end
		}
		p = c
	}
}

func isStdB64(c byte) bool { return isAlnum(c) || c == '+' || c == '/' || c == '=' }

// isBasicCreds reports whether b is base64 of "user:password" in printable
// UTF-8.
func isBasicCreds(b []byte) bool {
	if len(b) < 4 || len(b) > 684 || len(b)%4 != 0 {
		return false
	}
	var buf [512]byte
	n, err := base64.StdEncoding.Decode(buf[:], b)
	if err != nil || n < 2 {
		return false
	}
	colon := false
	for _, c := range buf[:n] {
		if c < ' ' || c == 0x7f {
			return false
		}
		colon = colon || c == ':'
	}
	return colon && utf8.Valid(buf[:n])
}

// awsLabels are the normal forms (names.go) of labels naming an AWS secret
// access key (want 40 bytes) or a session token (want 20 or more).
var awsLabels = [...]struct {
	suffix string
	exact  int // length the value must have; 0: at least 20
}{
	{"secretaccesskey", 40}, {"awssecretkey", 40}, {"sessiontoken", 0}, {"securitytoken", 0},
}

// minAWSLabel is the length of the shortest awsLabels suffix: a label is at
// least as long as its normal form.
const minAWSLabel = 12

// awsLabelEnd marks the last bytes of the awsLabels suffixes: the last letter
// or digit of a label, in lower case, is the last byte of its normal form.
var awsLabelEnd = func() (end [256]bool) {
	for _, l := range awsLabels {
		end[l.suffix[len(l.suffix)-1]] = true
	}
	return end
}()

// lastAlnum returns the last ASCII letter or digit of b, or 0.
func lastAlnum(b []byte) byte {
	for i := len(b) - 1; i >= 0; i-- {
		if isAlnum(b[i]) {
			return b[i]
		}
	}
	return 0
}

// scanAWSSecret: trigger ':', '=' and '>' (those of them the trigger mask m
// has) after a label that names an AWS secret.
func scanAWSSecret(sc *Scratch, s []byte, m uint32) {
	for _, sep := range [3]struct {
		c byte
		t uint32
	}{{':', tColon}, {'=', tEq}, {'>', tGt}} {
		if m&sep.t == 0 {
			continue
		}
		for i := 0; i < len(s); {
			j := bytes.IndexByte(s[i:], sep.c)
			if j < 0 {
				break
			}
			p := i + j
			i = p + 1
			// Back over spaces and a closing quote to the label.
			q := p
			for q > 0 && (s[q-1] == ' ' || s[q-1] == '\t') {
				q--
			}
			if q > 0 && (s[q-1] == '"' || s[q-1] == '\'') {
				q--
				if q > 0 && s[q-1] == '\\' {
					q--
				}
			}
			a := q
			for a > 0 && q-a < maxNameLen && (isAlnum(s[a-1]) || s[a-1] == '_' || s[a-1] == '-') {
				a--
			}
			if q-a < minAWSLabel || !awsLabelEnd[lower(lastAlnum(s[a:q]))] {
				continue
			}
			var buf [maxNameLen]byte
			k, _ := normName(&buf, s[a:q])
			want := -1
			for _, l := range awsLabels {
				if k >= len(l.suffix) && string(buf[k-len(l.suffix):k]) == l.suffix {
					want = l.exact
				}
			}
			if want < 0 {
				continue
			}
			v := labelValue(s, q)
			if v < 0 {
				continue
			}
			e := runOf(s, v, isStdB64)
			if want > 0 && e-v > want && s[v+want] == '/' {
				e = v + want // a key then a path separator
			}
			if want > 0 && e-v != want || want == 0 && e-v < 20 || e < len(s) && isAlnum(s[e]) {
				continue
			}
			sc.add(v, e, RuleAWSSecretKey)
			i = e
		}
	}
}
