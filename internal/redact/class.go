package redact

// Byte classes, one table lookup each on hot paths.
const (
	cAlnum        = 1 << iota // [A-Za-z0-9]
	cB64URL                   // [A-Za-z0-9_-], JWT segments
	cB64Token                 // [A-Za-z0-9-._~+/], RFC 6750 b64token
	cLocal                    // [A-Za-z0-9._%+-], e-mail local part as logs carry it
	cHex                      // [0-9A-Fa-f]
	cTextQueryEnd             // ends a query string inside free text
)

var class [256]uint8

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		var f uint8
		alnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		if alnum {
			f |= cAlnum | cB64URL | cB64Token | cLocal
		}
		switch b {
		case '-':
			f |= cB64URL | cB64Token | cLocal
		case '_':
			f |= cB64URL | cB64Token | cLocal
		case '.':
			f |= cB64Token | cLocal
		case '~', '/':
			f |= cB64Token
		case '+':
			f |= cB64Token | cLocal
		case '%':
			f |= cLocal
		}
		if '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F' {
			f |= cHex
		}
		if b <= ' ' || b == 0x7f || b == '"' || b == '\'' || b == '<' || b == '>' || b == '`' || b == '\\' || b == '#' {
			f |= cTextQueryEnd
		}
		class[c] = f
	}
}

func isAlnum(c byte) bool  { return class[c]&cAlnum != 0 }
func isB64URL(c byte) bool { return class[c]&cB64URL != 0 }
func isHex(c byte) bool    { return class[c]&cHex != 0 }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Trigger bits: which rules could match a value. One pass over the value
// ORs the bits of its bytes (triggers); a rule runs only when the bytes it
// needs are all there, so a value pays one table lookup per byte and then
// only the scans its bytes call for.
const (
	tEq    = 1 << iota // '=': name=value pairs
	tEsc               // '%', '\\', '&': escapes to see through
	tPct               // '%': e-mail's %40
	tJ                 // 'J': a JWT starts "eyJ"
	tA                 // 'A': AKIA..., AIza...
	tB                 // 'b', 'B': Bearer, Basic
	tSep               // spaces, controls, ':', '+': after an auth scheme (sepEnd)
	tAt                // '@': e-mail, URL userinfo
	tZ                 // 'z', 'Z': Authorization, AIza
	tUs                // '_': ghp_, github_pat_, sk_live_
	tDash              // '-': glpat-, xoxb-, -----BEGIN
	tX                 // 'x', 'X': xox
	tG                 // 'g', 'G': gh, gl
	tK                 // 'k', 'K': sk_, rk_, slack, key, token
	tColon             // ':'
	tDot               // '.'
	tDigit             // '0'-'9'
	tN                 // 'N': BEGIN
	tGt                // '>': an XML element's value follows
	tQuote             // '"', '\'': a quoted member name (members.go)
	tBack              // '\\': a JSON escape
	tAmp               // '&': an HTML entity starts
	tSemi              // ';': an HTML entity ends
)

var trig [256]uint32

func init() {
	set := func(bits uint32, bs string) {
		for i := 0; i < len(bs); i++ {
			trig[bs[i]] |= bits
		}
	}
	set(tEq, "=")
	set(tEsc, "%\\&")
	set(tPct, "%")
	set(tJ, "J")
	set(tA, "A")
	set(tB, "bB")
	// Every byte sepEnd may start a separator with: ASCII controls and
	// space, ':', '+', DEL, and the lead bytes of the Unicode spaces.
	for c := 0; c <= ' '; c++ {
		trig[c] |= tSep
	}
	set(tSep, ":+\x7f\xc2\xe1\xe2\xe3\xef")
	set(tAt, "@")
	set(tZ, "zZ")
	set(tUs, "_")
	set(tDash, "-")
	set(tX, "xX")
	set(tG, "gG")
	set(tK, "kK")
	set(tColon, ":")
	set(tDot, ".")
	set(tDigit, "0123456789")
	set(tN, "N")
	set(tGt, ">")
	set(tQuote, `"'`)
	set(tBack, "\\")
	set(tAmp, "&")
	set(tSemi, ";")
}

// triggers returns the OR of the trigger bits of the bytes of s.
func triggers(s []byte) uint32 {
	var m0, m1 uint32
	i := 0
	for ; i+1 < len(s); i += 2 {
		m0 |= trig[s[i]]
		m1 |= trig[s[i+1]]
	}
	if i < len(s) {
		m0 |= trig[s[i]]
	}
	return m0 | m1
}
