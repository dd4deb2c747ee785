package redact

import "bytes"

// Query strings.
//
// A query is split into pairs on '&' and also on '?', so the parameters of a
// URL nested unescaped in a value (?next=/a?token=x) are judged too. A pair
// without '=' or with an empty value has nothing to hide and stays. A name is
// compared after decoding valid %XX escapes and '+' and folding ASCII case,
// so %74oken is token; a malformed escape (%zz) stays literal and the name is
// still judged, and so is a value containing one. Names must match exactly:
// keyboard is not key. Only the value is replaced; names, separators and
// order are kept. Parameters separated by ';', and queries inside
// percent-encoded URLs (%3F), are not recognised.

// scanPathQuery finds the query of a request path: from the first '?' up to
// the first '#' (the fragment is no part of the query).
func (r *Redactor) scanPathQuery(sc *Scratch, s []byte) {
	q := bytes.IndexByte(s, '?')
	if q < 0 || bytes.IndexByte(s[:q], '#') >= 0 {
		return
	}
	q++
	end := len(s)
	if h := bytes.IndexByte(s[q:], '#'); h >= 0 {
		end = q + h
	}
	r.scanPairs(sc, s, q, end)
}

// scanTextQueries finds every query inside free text: from a '?' up to
// whitespace, a quote, '<', '>', '`', '\\' or '#', whatever precedes the '?'
// (a URL, a path, a Referer value or nothing).
func (r *Redactor) scanTextQueries(sc *Scratch, s []byte) {
	for i := 0; i < len(s); {
		j := bytes.IndexByte(s[i:], '?')
		if j < 0 {
			return
		}
		q := i + j + 1
		end := q
		for end < len(s) && class[s[end]]&cTextQueryEnd == 0 {
			end++
		}
		r.scanPairs(sc, s, q, end)
		i = end
	}
}

// scanPairs judges the name=value pairs of s[q:end].
func (r *Redactor) scanPairs(sc *Scratch, s []byte, q, end int) {
	for p := q; p < end; {
		e, eq := p, -1
		for ; e < end; e++ {
			c := s[e]
			if c == '&' || c == '?' {
				break
			}
			if c == '=' && eq < 0 {
				eq = e
			}
		}
		if eq >= 0 && eq+1 < e && (r.allParams || r.paramMatch(s[p:eq])) && !isMarker(s[eq+1:e]) {
			sc.add(eq+1, e, RuleQueryParam)
		}
		p = e + 1
	}
}

// paramMatch reports whether the raw parameter name is in the list.
func (r *Redactor) paramMatch(name []byte) bool {
	var buf [maxParamLen]byte
	n := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '%' && i+2 < len(name) && isHex(name[i+1]) && isHex(name[i+2]):
			c = unhex(name[i+1])<<4 | unhex(name[i+2])
			i += 2
		case c == '+':
			c = ' '
		}
		if n == r.maxParam {
			return false
		}
		buf[n] = lower(c)
		n++
	}
	_, ok := r.params[string(buf[:n])]
	return ok
}
