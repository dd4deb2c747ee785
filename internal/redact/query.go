package redact

import "bytes"

// name=value pairs: query strings, ;parameters and #fragments.
//
// Every '=' of a value is a candidate. Its name is the run of name bytes
// (letters, digits, - _ . % + [ ] ~) before it; its value runs to the next
// '&' or '#', whitespace, quote, '<', '>', '`' or '\\' (so the escaped quote
// that closes a JSON string is never part of it); in a request path (Path)
// only '&' and '#' end it. The value of a ;parameter also ends at '?', '/'
// and ';'. A pair is in a query when its
// name follows '?', '&', ';' or '#': a query string (also one nested
// unescaped in a value, ?next=/a?token=x), path parameters (;jsessionid=),
// OAuth's implicit-flow fragment (#access_token=), or &amp;token= with its
// HTML escape. In a query, a name in the list (names.go: exact or "*part*",
// in normal form, %XX decoded) has its value replaced; "*" replaces every
// value. Outside a query (name=value in a log line) only the "*part*"
// entries apply, so password=... is caught and status code=200 stays.
//
// A pair without a value has nothing to hide; a value that already is a
// replacement stays. Only the value is replaced: names, separators and order
// are kept. Escaped queries (%3Ftoken%3D, \u0026token=) are found in the
// decodings of the value (decode.go).

var nameByte, valueEnd, pathValueEnd [256]bool

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		nameByte[c] = isAlnum(b) || bytes.IndexByte([]byte("-_.%+[]~"), b) >= 0
		valueEnd[c] = b <= ' ' || b == 0x7f || bytes.IndexByte([]byte("&#\"'<>`\\"), b) >= 0
		pathValueEnd[c] = b == '&' || b == '#'
	}
}

// maxNameScan bounds how far back a name is looked for.
const maxNameScan = 256

func (r *Redactor) scanPairs(sc *Scratch, s []byte, path bool) {
	end := &valueEnd
	if path {
		end = &pathValueEnd
	}
	for i := 0; i < len(s); {
		j := bytes.IndexByte(s[i:], '=')
		if j < 0 {
			return
		}
		eq := i + j
		i = eq + 1
		a := eq
		for a > 0 && eq-a < maxNameScan && nameByte[s[a-1]] {
			a--
		}
		if a == eq {
			continue
		}
		inQuery := a > 0 && (s[a-1] == '?' || s[a-1] == '&' || s[a-1] == ';' || s[a-1] == '#')
		name := s[a:eq]
		switch {
		case inQuery && (r.allParams || r.params.Match(name)):
		case !inQuery && r.params.MatchPart(name):
		default:
			continue
		}
		// The value is scanned only for a sensitive name, and the scan goes
		// on after it, so a value full of '=' costs linear time.
		e := eq + 1
		param := a > 0 && s[a-1] == ';' // a path parameter ends at the query or the next segment
		for e < len(s) && !end[s[e]] && !(param && (s[e] == '?' || s[e] == '/' || s[e] == ';')) {
			e++
		}
		if e == eq+1 || isMarker(s[eq+1:e]) {
			continue
		}
		sc.add(eq+1, e, RuleQueryParam)
		i = e
	}
}
