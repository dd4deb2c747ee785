package redact

import "bytes"

// Secret-named members in text that is not valid JSON.
//
// json.go replaces the value of every member whose key is in redact_json_keys,
// but only in text that parses as JSON. Applications also write JSON that does
// not parse: a line cut off by a size limit, an object followed by more text,
// a prefix before it ("login failed {"password":"..."}"), or an object
// serialised into a string of another record. The rule here finds such members
// in any text the caller gives keys for (Text, and JSON's fallback and string
// values), on the text as written and through its escapes like every rule:
//
//   - a member is a quoted name (JSON escapes decoded before it is judged),
//     optional whitespace, ':', optional whitespace, then its value; the
//     quotes are double, or single as Python prints a dict
//     ({'password': 'x'}); a name that is not quoted (password: x) is prose,
//     left to the detectors and redact_query_params (password=x);
//   - the value is a string in either quote (its content up to the closing
//     quote, or to the end of the text when none follows), an object or
//     array (to its matching bracket, strings skipped, or to the end of the
//     text), or any other token (up to ',', '}', ']', a quote, whitespace or
//     the end);
//   - an empty string, null and a replacement already written stay;
//   - the replacement is counted under RuleField, as json.go counts it.
//
// The scan is linear: one pass per kind of quote, in which each quote starts
// at most one name candidate, which ends at the next unescaped quote of its
// kind, and a replaced value is skipped.

// scanMembers adds the values of the secret-named members of v to sc.spans.
func scanMembers(sc *Scratch, v []byte) {
	scanQuoted(sc, v, '"')
	if bytes.IndexByte(v, '\'') >= 0 {
		scanQuoted(sc, v, '\'')
	}
}

// scanQuoted finds the members whose names are quoted by quote.
func scanQuoted(sc *Scratch, v []byte, quote byte) {
	keys := sc.keys
	for i := 0; i < len(v); {
		q := bytes.IndexByte(v[i:], quote)
		if q < 0 {
			return
		}
		a := i + q + 1
		b := stringEnd(v, a, quote)
		if b == len(v) {
			return
		}
		i = b // the closing quote may open the next candidate
		p := skipSpace(v, b+1)
		if p == len(v) || v[p] != ':' || !keys.Match(sc.memberName(v[a:b])) {
			continue
		}
		p = skipSpace(v, p+1)
		start, end := memberValue(v, p)
		if end > start && !skipValue(v[start:end]) {
			sc.add(start, end, RuleField)
		}
		i = max(i+1, end)
		if start > p && i < len(v) {
			i++ // past a string value's closing quote, which opens no name
		}
	}
}

// memberValue returns the bounds of the value at p: the content of a string,
// a whole object or array, or a token.
func memberValue(v []byte, p int) (start, end int) {
	if p == len(v) {
		return p, p
	}
	switch v[p] {
	case '"', '\'':
		return p + 1, stringEnd(v, p+1, v[p])
	case '{', '[':
		return p, bracketEnd(v, p)
	}
	end = p
	for end < len(v) {
		switch v[end] {
		case ',', '}', ']', '"', '\'', ' ', '\t', '\r', '\n':
			return p, end
		}
		end++
	}
	return p, end
}

// skipValue reports whether a member's value has nothing to hide.
func skipValue(val []byte) bool { return string(val) == "null" || isMarker(val) }

// stringEnd returns the index of the quote that closes a string whose
// content starts at a, or len(v) when none does.
func stringEnd(v []byte, a int, quote byte) int {
	for i := a; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case quote:
			return i
		}
	}
	return len(v)
}

// bracketEnd returns the index just past the bracket that closes the object
// or array opening at p, or len(v) when none does; brackets in strings (of
// either quote: JSON's apostrophes are inside its strings) do not count.
func bracketEnd(v []byte, p int) int {
	depth := 0
	for i := p; i < len(v); i++ {
		switch v[i] {
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		case '"', '\'':
			if i = stringEnd(v, i+1, v[i]); i == len(v) {
				return i
			}
		}
	}
	return len(v)
}

func skipSpace(v []byte, p int) int {
	for p < len(v) && (v[p] == ' ' || v[p] == '\t' || v[p] == '\r' || v[p] == '\n') {
		p++
	}
	return p
}

// memberName returns a member name with its JSON escapes decoded, so an
// escaped name ("pass\u0077ord") is judged as the name it is.
func (sc *Scratch) memberName(name []byte) []byte {
	if bytes.IndexByte(name, '\\') < 0 {
		return name
	}
	sc.name, _ = decodeOnce(sc.name[:0], nil, name, false)
	return sc.name
}

// scanHeaders adds the values of the header lines of v whose names keys
// match: at the start of v or of a line (after a line feed, or its JSON
// escape \n), a field name (letters, digits, '-', '_'), ':', spaces, then
// the value up to the end of its line (CR, LF or their escapes): a header
// block logged as one string ("x-api-key: v\r\ncookie: sid=1"), which
// names no member in quotes. Alone on its line, a name without '-' is prose.
func scanHeaders(sc *Scratch, v []byte) {
	block := bytes.IndexByte(v, '\n') >= 0 || bytes.Contains(v, []byte(`\n`))
	nl, esc := -1, -1 // the next line feed and \n escape found, once looked for
	for st := 0; st < len(v); {
		e := runOf(v, st, func(c byte) bool { return isAlnum(c) || c == '-' || c == '_' })
		// One line is a header when its name has a '-' (x-api-key: v); else
		// "password: x" is prose, as an unquoted member is.
		header := block || bytes.IndexByte(v[st:e], '-') >= 0
		if e > st && e < len(v) && v[e] == ':' && header && sc.keys.Match(v[st:e]) {
			a := runOf(v, e+1, func(c byte) bool { return c == ' ' || c == '\t' })
			b := a
			for b < len(v) && v[b] != '\r' && v[b] != '\n' && !(v[b] == '\\' && b+1 < len(v) && (v[b+1] == 'r' || v[b+1] == 'n')) {
				b++
			}
			if b > a && !skipValue(v[a:b]) {
				sc.add(a, b, RuleField)
			}
		}
		// The next line: after the next LF or \n escape, each looked for
		// again only once passed, so the scan stays linear.
		if nl < st {
			if nl = bytes.IndexByte(v[st:], '\n'); nl >= 0 {
				nl += st
			} else {
				nl = len(v)
			}
		}
		if esc < st {
			if esc = bytes.Index(v[st:], []byte(`\n`)); esc >= 0 {
				esc += st
			} else {
				esc = len(v)
			}
		}
		switch {
		case esc < nl:
			st = esc + 2
		case nl < len(v):
			st = nl + 1
		default:
			return
		}
	}
}
