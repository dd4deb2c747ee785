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
