package redact

// JSON values.
//
// JSON redacts a JSON text (an object, array, string, number or literal)
// recursively and keeps it valid JSON with the same structure:
//   - every string, object keys included, goes through String on its
//     escaped form (String sees through the escapes and keeps them);
//   - an integer of 13 or more digits is checked by the detectors with the
//     key it belongs to as context (a card number sent as a JSON number);
//     a match becomes the replacement as a JSON string;
//   - with keys, the whole value of a member whose key keys matches
//     (password, token, ...) becomes the replacement as a JSON string,
//     whatever its type; an empty string or null stays (nothing to hide);
//   - with keys, name/value pairs are members too, as headers are logged:
//     the second element of a two-element array whose first is a string
//     keys matches ([["x-api-key","v"]]), and the "value" (or "values")
//     member of an object whose "name", "key" or "header" member is such a
//     string ([{"name":"x-api-key","value":"v"}], HAR's form).
//
// Text that is not valid JSON, or nested deeper than maxJSONDepth, is
// redacted as one string (String) instead: never dropped, never a panic.

const maxJSONDepth = 64

// JSON appends the redaction of the JSON text v to dst (see above); keys
// may be nil. It allocates nothing once sc has grown. dst must not overlap v.
func (r *Redactor) JSON(sc *Scratch, dst, v []byte, keys *Names) []byte {
	return r.JSONValue(sc, dst, nil, v, keys)
}

// Value redacts the string s that is the value of key (a JSON member, an
// extra field) like Text with keys (may be nil), with key as context: a card
// number without separators under a key that names a card ("cc",
// "card_number") is found without a card word in s.
func (r *Redactor) Value(sc *Scratch, dst, key, s []byte, keys *Names) []byte {
	sc.cardKey = cardKey(key)
	dst = r.Text(sc, dst, s, keys)
	sc.cardKey = false
	return dst
}

// cardKey reports whether a key names a card.
func cardKey(key []byte) bool { return len(key) > 0 && cardLabelled(key, len(key)) }

// JSONValue is JSON for the value v of the member (or extra field) named
// key: key is the context of v's numbers and strings, so a card number
// under a key that names a card ("card_number": 4111111111111111) is found.
// It does not judge key itself against keys; the caller does.
//
// Replacements are counted only for the output returned: when v turns out
// not to be JSON, what the attempt counted is forgotten and v is redacted as
// text, members named in keys included (members.go).
func (r *Redactor) JSONValue(sc *Scratch, dst, key, v []byte, keys *Names) []byte {
	start := len(dst)
	prevKeys := sc.setKeys(keys)
	outer, deferred := sc.counts, sc.Defer
	sc.counts, sc.Defer = Counts{}, true
	j := jsonRun{r: r, sc: sc, keys: keys, s: v}
	out, ok := j.value(j.ws(dst), key, 0)
	if ok {
		out = j.ws(out)
		ok = j.p == len(v)
	}
	if !ok {
		sc.counts = Counts{}
		out = r.String(sc, out[:start], v)
	}
	counted := sc.counts
	sc.counts, sc.Defer, sc.keys = outer, deferred, prevKeys
	if deferred {
		sc.counts.add(&counted)
	} else {
		r.add(&counted)
	}
	return out
}

type jsonRun struct {
	r    *Redactor
	sc   *Scratch
	keys *Names
	s    []byte
	p    int
	dry  bool // copy values unchanged (validating them): under a secret key
}

// ws appends the whitespace at j.p.
func (j *jsonRun) ws(dst []byte) []byte {
	a := j.p
	j.p = skipSpace(j.s, a)
	return append(dst, j.s[a:j.p]...)
}

// value appends the value at j.p; key is the member name it belongs to
// (raw, escaped), for context.
func (j *jsonRun) value(dst, key []byte, depth int) ([]byte, bool) {
	if j.p >= len(j.s) || depth > maxJSONDepth {
		return dst, false
	}
	switch c := j.s[j.p]; {
	case c == '{':
		return j.object(dst, depth)
	case c == '[':
		return j.array(dst, depth)
	case c == '"':
		a, b, ok := j.str()
		if !ok {
			return dst, false
		}
		if j.dry {
			return append(dst, j.s[a-1:b+1]...), true
		}
		dst = append(dst, '"')
		dst = j.r.Value(j.sc, dst, key, j.s[a:b], j.keys)
		return append(dst, '"'), true
	case c == '-' || isDigit(c):
		a := j.p
		for j.p < len(j.s) && (isDigit(j.s[j.p]) || j.s[j.p] == '-' || j.s[j.p] == '+' || j.s[j.p] == '.' || j.s[j.p] == 'e' || j.s[j.p] == 'E') {
			j.p++
		}
		if !jsonNumber(j.s[a:j.p]) {
			// 10.0.0.1 or 1-2-3 is text, for the text rules to see.
			return dst, false
		}
		if j.dry {
			return append(dst, j.s[a:j.p]...), true
		}
		return j.number(dst, key, j.s[a:j.p]), true
	default:
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(j.s)-j.p >= len(lit) && string(j.s[j.p:j.p+len(lit)]) == lit {
				j.p += len(lit)
				return append(dst, lit...), true
			}
		}
	}
	return dst, false
}

// str scans the string at j.p and returns its content's bounds.
func (j *jsonRun) str() (a, b int, ok bool) {
	a = j.p + 1
	if b = stringEnd(j.s, a, '"'); b == len(j.s) {
		return 0, 0, false
	}
	j.p = b + 1
	return a, b, true
}

func (j *jsonRun) object(dst []byte, depth int) ([]byte, bool) {
	// A name/value pair: where the value member was written (to replace it
	// when the name comes after it) and whether the name is secret.
	valMark, valEnd, valA, named := -1, 0, 0, false
	dst, ok := j.seq(dst, '}', func(dst []byte) ([]byte, bool) {
		if j.p >= len(j.s) || j.s[j.p] != '"' {
			return dst, false
		}
		a, b, ok := j.str()
		if !ok {
			return dst, false
		}
		key := j.s[a:b]
		if j.dry {
			dst = append(dst, j.s[a-1:b+1]...)
		} else {
			dst = append(dst, '"')
			dst = j.r.String(j.sc, dst, key)
			dst = append(dst, '"')
		}
		dst = j.ws(dst)
		if j.p >= len(j.s) || j.s[j.p] != ':' {
			return dst, false
		}
		j.p++
		dst = j.ws(append(dst, ':'))
		if j.dry || j.keys == nil {
			return j.value(dst, key, depth+1)
		}
		name := j.sc.memberName(key)
		if j.keys.Match(name) {
			return j.whole(dst, depth)
		}
		switch {
		case foldEqual(name, "value") || foldEqual(name, "values"):
			if named {
				return j.whole(dst, depth)
			}
			mark, a := len(dst), j.p
			dst, ok := j.value(dst, key, depth+1)
			valMark, valEnd, valA = mark, len(dst), a
			return dst, ok
		case foldEqual(name, "name") || foldEqual(name, "key") || foldEqual(name, "header"):
			if j.p < len(j.s) && j.s[j.p] == '"' {
				if b := stringEnd(j.s, j.p+1, '"'); b < len(j.s) && j.keys.Match(j.s[j.p+1:b]) {
					named = true
				}
			}
		}
		return j.value(dst, key, depth+1)
	})
	if ok && named && valMark >= 0 {
		// The value came before its name: replace what was written for it.
		tail := append([]byte(nil), dst[valEnd:]...)
		end := j.p
		j.p, dst = valA, dst[:valMark]
		dst, _ = j.whole(dst, depth)
		j.p = end
		dst = append(dst, tail...)
	}
	return dst, ok
}

func (j *jsonRun) array(dst []byte, depth int) ([]byte, bool) {
	i, named := 0, false
	return j.seq(dst, ']', func(dst []byte) ([]byte, bool) {
		k := i
		i++
		if j.dry || j.keys == nil || k > 1 {
			return j.value(dst, nil, depth+1)
		}
		if k == 1 && named && j.lastElem(depth) {
			return j.whole(dst, depth) // [name, value]
		}
		if k == 0 && j.p < len(j.s) && j.s[j.p] == '"' {
			if b := stringEnd(j.s, j.p+1, '"'); b < len(j.s) && j.keys.Match(j.s[j.p+1:b]) {
				named = true
			}
		}
		return j.value(dst, nil, depth+1)
	})
}

// lastElem reports whether the value at j.p is valid and the last of its array.
func (j *jsonRun) lastElem(depth int) bool {
	p := j.p
	j.dry = true
	_, ok := j.value(nil, nil, depth+1)
	j.dry = false
	end := skipSpace(j.s, j.p)
	j.p = p
	return ok && end < len(j.s) && j.s[end] == ']'
}

// seq appends the object or array at j.p: its opening byte, members
// (appended by member) separated by ',', and close.
func (j *jsonRun) seq(dst []byte, close byte, member func([]byte) ([]byte, bool)) ([]byte, bool) {
	dst = append(dst, j.s[j.p])
	j.p++
	dst = j.ws(dst)
	if j.p < len(j.s) && j.s[j.p] == close {
		j.p++
		return append(dst, close), true
	}
	for {
		var ok bool
		if dst, ok = member(j.ws(dst)); !ok {
			return dst, false
		}
		if dst = j.ws(dst); j.p >= len(j.s) {
			return dst, false
		}
		switch j.s[j.p] {
		case ',':
			j.p++
			dst = append(dst, ',')
		case close:
			j.p++
			return append(dst, close), true
		default:
			return dst, false
		}
	}
}

// whole replaces the value at j.p (of a secret-named key) as a JSON string.
func (j *jsonRun) whole(dst []byte, depth int) ([]byte, bool) {
	a := j.p
	// Validate and skip it: copied unchanged (dry), then cut off.
	mark := len(dst)
	j.dry = true
	tmp, ok := j.value(dst, nil, depth+1)
	j.dry = false
	if !ok {
		return tmp, false
	}
	v := j.s[a:j.p]
	dst = tmp[:mark]
	if string(v) == "null" || string(v) == `""` || isMarkerJSON(v) {
		return append(dst, v...), true
	}
	j.r.count(j.sc, RuleField)
	dst = append(dst, '"')
	if v[0] == '"' {
		v = v[1 : len(v)-1]
	}
	dst = j.r.replace(j.sc, dst, v)
	return append(dst, '"'), true
}

// jsonNumber reports whether n is a JSON number:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonNumber(n []byte) bool {
	i := 0
	digits := func() bool {
		from := i
		for i < len(n) && isDigit(n[i]) {
			i++
		}
		return i > from
	}
	if i < len(n) && n[i] == '-' {
		i++
	}
	if i < len(n) && n[i] == '0' {
		i++
	} else if !digits() {
		return false
	}
	if i < len(n) && n[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(n) && (n[i] == 'e' || n[i] == 'E') {
		i++
		if i < len(n) && (n[i] == '+' || n[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(n)
}

func isMarkerJSON(v []byte) bool { return len(v) > 2 && v[0] == '"' && isMarker(v[1:len(v)-1]) }

// number appends the number n, replaced when the detectors match it with
// its key as context.
func (j *jsonRun) number(dst, key, n []byte) []byte {
	digits := 0
	for _, c := range n {
		if isDigit(c) {
			digits++
		} else if c != '-' {
			// A fraction or exponent is a measurement, not an identifier: a
			// card detector would find Luhn-valid runs among its digits.
			return append(dst, n...)
		}
	}
	if digits < minCard || !j.r.textActive {
		return append(dst, n...)
	}
	sc := j.sc
	sc.cardKey = cardKey(key)
	found := j.r.find(sc, n, false)
	sc.cardKey = false
	if found {
		j.r.count(sc, sc.spans[0].rule)
		dst = append(dst, '"')
		dst = j.r.replace(sc, dst, n)
		return append(dst, '"')
	}
	return append(dst, n...)
}
