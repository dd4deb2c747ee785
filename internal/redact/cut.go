package redact

import "bytes"

// Pieces of a split line written without the rest of their line (Docker's
// 16 KiB pieces that were never joined: a timeout, a line too long, too
// much held) can cut a secret in two, and then no rule matches either half:
// the first piece shows the start of an AWS key id, a token or a card
// number, the next its end. Whether the neighbour is at hand or not, Piece
// therefore masks what touches each cut, judged from the piece alone:
//
//   - the token at the cut: the run of bytes any detector's secret is made
//     of (letters, digits and -._~+/=%@:!$*), reaching over one space
//     between digit groups (a card written 4111 1111 1111 1111), and over
//     the quotes, spaces, ':' and '=' that touch the cut, so a scheme or a
//     member name cut off from its value does not leave the value;
//   - at the start of a piece, when that token is followed by ':' or '='
//     (the end of a parameter or member name: "en=abc", `ord":"hunter2"`),
//     the value after it too;
//   - at the start of a piece, the body of a PEM private key whose BEGIN
//     line was in an earlier piece, up to its END line.
//
// This masks more than the secret (the word at a cut may be innocent), which
// costs a few bytes of pieces that are rare; it never leaves a prefix of a
// secret at the end of a piece or its tail at the start of the next.

// Cut says on which sides of a piece its line was cut: Before when the line
// started in an earlier piece, After when it goes on in a later one.
type Cut struct{ Before, After bool }

// Piece appends s, a piece of a split line written without its neighbours,
// with what touches its cuts replaced (see above), counted as RulePieceEdge.
// The other rules are not applied: give Piece the output of String, Text or
// JSON, which find what they can while the piece's text is whole (a masked
// word at a cut could be the "Bearer" before a token). dst must not overlap s.
func (r *Redactor) Piece(sc *Scratch, dst, s []byte, c Cut) []byte {
	a, b := 0, len(s) // s[:a] and s[b:] are replaced
	if c.Before {
		if a = headEnd(s); isMarker(bytes.TrimRightFunc(s[:a], func(r rune) bool { return r < 0x80 && isEdgeSep(byte(r)) })) {
			a = 0 // already replaced (the body of a cut PEM key, say): its pseudonym stays
		}
	}
	if c.After {
		b = max(a, tailStart(s))
	}
	if a == 0 && b == len(s) {
		return append(dst, s...)
	}
	if a > 0 {
		r.count(sc, RulePieceEdge)
		if a == len(s) {
			return r.replace(sc, dst, s)
		}
		dst = r.replace(sc, dst, s[:a])
	}
	dst = append(dst, s[a:b]...)
	if b < len(s) {
		r.count(sc, RulePieceEdge)
		dst = r.replace(sc, dst, s[b:])
	}
	return dst
}

// isEdgeTok reports whether c may be part of a secret some detector finds.
func isEdgeTok(c byte) bool {
	return isAlnum(c) || bytes.IndexByte([]byte("-._~+/=%@:!$*"), c) >= 0
}

// isEdgeSep reports whether c may lie between a name or scheme and its
// value: quotes, a JSON escape's backslash, spaces, ':' and '='.
func isEdgeSep(c byte) bool {
	return c == '"' || c == '\'' || c == '\\' || c == ' ' || c == '\t' || c == ':' || c == '='
}

// headEnd returns the end of what s, cut before, starts with that may be the
// tail of a secret.
func headEnd(s []byte) int {
	if e := pemTail(s); e > 0 {
		return e
	}
	p := runOf(s, 0, isEdgeSep)
	t := tokEnd(s, p)
	end := 0
	if t > p {
		end = t
		w := runOf(s, p, isAlnumDash)
		v := -1
		if isSuffixFold(s[p:w], "authorization") {
			v = labelValue(s, w)
		}
		if v >= 0 {
			// A label cut: the credentials after it, as the detector finds them.
			var tmp Scratch
			end = max(end, authCredentials(&tmp, s, v))
		} else if q := runOf(s, t, isEdgeSep); q > t || s[t-1] == ':' || s[t-1] == '=' {
			// A name or a scheme cut (`ord":"hunter2"`, "rer abc"): the value
			// after it.
			end = max(end, tokEnd(s, q))
		}
		// A PEM block that starts here is the private_key detector's (its
		// BEGIN may end the token: the space after it is not part of it).
		if b := bytes.Index(s[:min(len(s), end+1)], []byte("-----BEGIN ")); b >= 0 {
			end = b
		}
	}
	// The rest of an auth-param list (Digest username="bob", response="..."),
	// which the Authorization detector masks whole.
	if q := runOf(s, max(end, p), func(c byte) bool { return c == '"' }); q < len(s) && s[q] == ',' {
		if e := authParams(s, runOf(s, q+1, func(c byte) bool { return c == ' ' })); e > 0 {
			end = e
		}
	}
	return end
}

func isAlnumDash(c byte) bool { return isAlnum(c) || c == '-' }

// isSuffixFold reports whether b is a non-empty suffix of the lowercase word
// w, ignoring case.
func isSuffixFold(b []byte, w string) bool {
	return len(b) > 0 && len(b) <= len(w) && foldEqual(b, w[len(w)-len(b):])
}

// tokEnd returns the end of the token at p, over single spaces between digits.
func tokEnd(s []byte, p int) int {
	e := runOf(s, p, isEdgeTok)
	for e > p && e+1 < len(s) && s[e] == ' ' && isDigit(s[e-1]) && isDigit(s[e+1]) {
		e = runOf(s, e+1, isEdgeTok)
	}
	return e
}

// tailStart returns the start of what s, cut after, ends with that may be the
// start of a secret.
func tailStart(s []byte) int {
	p := len(s)
	for p > 0 && isEdgeSep(s[p-1]) {
		p--
	}
	st := p
	for {
		for st > 0 && isEdgeTok(s[st-1]) {
			st--
		}
		if st >= 2 && st < p && s[st-1] == ' ' && isDigit(s[st]) && isDigit(s[st-2]) {
			st--
			continue
		}
		break
	}
	if st == p {
		return len(s)
	}
	return st
}

// pemTail returns the start of the END line of a PEM private key whose BEGIN
// line is not in s (0 when there is none): its body was cut.
func pemTail(s []byte) int {
	i := bytes.Index(s, []byte("-----END "))
	if i <= 0 || bytes.Contains(s[:i], []byte("-----BEGIN ")) {
		return 0
	}
	l := i + len("-----END ")
	k := bytes.Index(s[l:min(len(s), l+64)], []byte("-----"))
	if k < 0 || !bytes.Contains(s[l:l+k], []byte("PRIVATE KEY")) {
		return 0
	}
	return i
}
