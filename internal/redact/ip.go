package redact

import (
	"bytes"
	"net/netip"
)

// IP addresses: the ipv4 and ipv6 detectors, and ip_anonymize truncate.
// Parsing works on bytes and never allocates; formatting uses netip's
// AppendTo, which does not either.

func isDigitDot(c byte) bool { return '0' <= c && c <= '9' || c == '.' }

func isV6Byte(c byte) bool { return isHex(c) || c == ':' || c == '.' }

// scanIPv4: trigger '.', then the maximal region of digits and dots around it.
func scanIPv4(sc *Scratch, s []byte) {
	for i := 0; i < len(s); {
		j := bytes.IndexByte(s[i:], '.')
		if j < 0 {
			return
		}
		d := i + j
		a := d
		for a > 0 && isDigitDot(s[a-1]) {
			a--
		}
		b := d + 1
		for b < len(s) && isDigitDot(s[b]) {
			b++
		}
		ipv4Region(sc, s, a, b)
		i = b
	}
}

// ipv4Region finds dotted quads in the region s[a:b] of digits and dots. A
// quad must not touch another dotted number: it starts the region (after a
// byte that is no letter) or follows "..", and it ends the region (before a
// byte that is no letter or digit) or is followed by "." and then neither a
// letter, a digit nor '[' (a host name such as 10.0.0.1.nip.io, or a
// replacement, stays) or by "..". So 1.2.3.4.5 and 5.1.2.3.4 stay.
func ipv4Region(sc *Scratch, s []byte, a, b int) {
	if b-a < len("0.0.0.0") || bytes.Count(s[a:b], []byte(".")) < 3 {
		return // version numbers, sizes, decimals: the common case
	}
	f := sc.fields[:0] // start of each dot-separated field
	f = append(f, int32(a))
	for p := a; p < b; p++ {
		if s[p] == '.' {
			f = append(f, int32(p+1))
		}
	}
	sc.fields = f
	nf := len(f)
	fieldEnd := func(k int) int {
		if k+1 < nf {
			return int(f[k+1]) - 1
		}
		return b
	}
	for k := 0; k+4 <= nf; k++ {
		switch {
		case k == 0:
			if a > 0 && isAlnum(s[a-1]) {
				continue
			}
		case k == 1:
			continue
		default:
			if fieldEnd(k-1) != int(f[k-1]) { // field k-1 not empty: no ".."
				continue
			}
		}
		ok := true
		for m := k; m < k+4 && ok; m++ {
			_, ok = octet(s[f[m]:fieldEnd(m)], true)
		}
		if !ok {
			continue
		}
		end := fieldEnd(k + 3)
		switch {
		case k+4 == nf:
			if end < len(s) && isAlnum(s[end]) {
				continue
			}
		case fieldEnd(k+4) != int(f[k+4]): // followed by ".digits": a longer number
			continue
		case k+5 == nf: // followed by "." ending the region
			if b < len(s) && (isAlnum(s[b]) || s[b] == '[') {
				continue
			}
		}
		if versionContext(s, int(f[k]), end) {
			continue
		}
		sc.add(int(f[k]), end, RuleIPv4)
		k += 3
	}
}

// versionWords, as the word before a dotted quad, make it a version.
var versionWords = [...]string{"version", "ver", "release", "build", "rev", "revision", "firmware", "fw", "patch", "sdk", "update", "agent"}

// versionContext reports whether the dotted quad s[st:end] is written as a
// 4-part version: after "Product/" (Chrome/120.0.0.0), after a version word
// (version 1.2.3.4, app_version=1.2.3.4; every part but the last below
// 100, as versions have), or followed by a pre-release or
// build suffix (1.2.3.4-beta, 1.2.3.4+b7).
func versionContext(s []byte, st, end int) bool {
	if st >= 2 && s[st-1] == '/' && isAlnum(s[st-2]) {
		// A product token (Chrome/, grpc-go/) starts the value or follows
		// a space; a path segment (/orders/) follows a '/'.
		p := st - 2
		for p > 0 && (isAlnum(s[p-1]) || s[p-1] == '-' || s[p-1] == '_' || s[p-1] == '.') {
			p--
		}
		return p == 0 || s[p-1] != '/'
	}
	if end+1 < len(s) && (s[end] == '-' || s[end] == '+') && isLetter(s[end+1]) {
		return true
	}
	// The word before, over at most two separators.
	e := st
	for e > 0 && st-e < 2 && !isAlnum(s[e-1]) {
		e--
	}
	b := e
	for b > 0 && e-b < 32 && isLetter(s[b-1]) {
		b--
	}
	w := s[b:e]
	// Versions after a word are small: every part but the last below 100.
	for p, k := st, 0; k < 3; k++ {
		d := bytes.IndexByte(s[p:end], '.')
		if d > 2 {
			return false
		}
		p += d + 1
	}
	for _, v := range versionWords {
		if len(w) >= len(v) && foldEqual(w[len(w)-len(v):], v) {
			return true
		}
	}
	return false
}

// octet parses a decimal octet; leading zeros are accepted only if lenient.
func octet(b []byte, lenient bool) (byte, bool) {
	if len(b) == 0 || len(b) > 3 || !lenient && len(b) > 1 && b[0] == '0' {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	if v > 255 {
		return 0, false
	}
	return byte(v), true
}

// parseIPv4 parses a dotted quad.
func parseIPv4(b []byte, lenient bool) (ip [4]byte, ok bool) {
	for k := range 4 {
		e := len(b)
		if k < 3 {
			e = bytes.IndexByte(b, '.')
			if e < 0 {
				return ip, false
			}
		}
		if ip[k], ok = octet(b[:e], lenient); !ok {
			return ip, false
		}
		if k < 3 {
			b = b[e+1:]
		}
	}
	return ip, true
}

// parseIPv6 parses an RFC 4291 address without zone, as netip.ParseAddr
// does (an embedded IPv4 tail has no leading zeros).
func parseIPv6(s []byte) (ip [16]byte, ok bool) {
	ellipsis := -1
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		s = s[2:]
		if len(s) == 0 {
			return ip, true
		}
	}
	i := 0
	for i < 16 {
		off, acc := 0, 0
		for ; off < len(s) && isHex(s[off]); off++ {
			if off > 3 {
				return ip, false
			}
			acc = acc<<4 | int(unhex(s[off]))
		}
		if off == 0 {
			return ip, false
		}
		if off < len(s) && s[off] == '.' {
			if ellipsis < 0 && i != 12 || i+4 > 16 {
				return ip, false
			}
			v4, ok := parseIPv4(s, false)
			if !ok {
				return ip, false
			}
			copy(ip[i:], v4[:])
			i += 4
			s = nil
			break
		}
		ip[i], ip[i+1] = byte(acc>>8), byte(acc)
		i += 2
		s = s[off:]
		if len(s) == 0 {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return ip, false
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return ip, false
			}
			ellipsis = i
			s = s[1:]
			if len(s) == 0 {
				break
			}
		}
	}
	if len(s) != 0 {
		return ip, false
	}
	if i < 16 {
		if ellipsis < 0 {
			return ip, false
		}
		n := 16 - i
		copy(ip[ellipsis+n:], ip[ellipsis:i])
		clear(ip[ellipsis : ellipsis+n])
	} else if ellipsis >= 0 {
		return ip, false
	}
	return ip, true
}

// scanIPv6: trigger ':', then the maximal region of hex digits, colons and
// dots around it.
func scanIPv6(sc *Scratch, s []byte) {
	for i := 0; i < len(s); {
		j := bytes.IndexByte(s[i:], ':')
		if j < 0 {
			return
		}
		c := i + j
		a := c
		for a > 0 && isV6Byte(s[a-1]) {
			a--
		}
		b := c + 1
		for b < len(s) && isV6Byte(s[b]) {
			b++
		}
		ipv6Region(sc, s, a, b)
		i = b
	}
}

// ipv6Region judges the region s[a:b]. It must be word-bounded, must not
// start with a single ':' (host:port text, or the rest after a replacement),
// and must hold a decimal digit or four or more groups.
// A final '.' or single ':' is punctuation unless '[' follows.
func ipv6Region(sc *Scratch, s []byte, a, b int) {
	if a > 0 && (isAlnum(s[a-1]) || s[a-1] == ']') || b < len(s) && isAlnum(s[b]) {
		return
	}
	if s[a] == ':' && (b-a < 2 || s[a+1] != ':') {
		return
	}
	y := b
	if b == len(s) || s[b] != '[' {
		for y > a && s[y-1] == '.' {
			y--
		}
		if y-a >= 2 && s[y-1] == ':' && s[y-2] != ':' {
			y--
		}
	}
	// Words of hex letters joined by colons (bad::add, cafe:face::bead) are
	// code or prose: an address has a decimal digit or at least four groups.
	digits, groups := false, 1
	for i, c := range s[a:y] {
		digits = digits || isDigit(c)
		if c == ':' && i > 0 && s[a+i-1] != ':' {
			groups++
		}
	}
	if !digits && groups < 4 {
		return
	}
	if _, ok := parseIPv6(s[a:y]); ok {
		sc.add(a, y, RuleIPv6)
	}
}

// IP truncates the addresses of an address field for ip_anonymize truncate:
// IPv4 to its /24 (a.b.c.0), IPv6 to its /48 (an IPv4-mapped IPv6 as IPv4),
// written in canonical form. It handles "ip", "ip:port", "[v6]:port",
// "v6%zone", "scheme://ip:port/..." , comma lists ("a, b" of
// X-Forwarded-For) and RFC 7239 Forwarded elements (for= and by= node
// identifiers, quoted or not: for="[2001:db8::17]:4711";proto=https),
// keeping ports, zones, separators and spaces. What is no address (a list
// element, a Forwarded parameter, the path after an address) goes through
// the text rules as String would, so an address field is covered like any
// other string. All of s is appended unchanged when truncation is off. dst
// must not overlap s.
func (r *Redactor) IP(sc *Scratch, dst, s []byte) []byte {
	if !r.ipTruncate {
		return append(dst, s...)
	}
	for p := 0; ; {
		e := bytes.IndexByte(s[p:], ',')
		if e < 0 {
			return r.ipElem(sc, dst, s[p:])
		}
		dst = r.ipElem(sc, dst, s[p:p+e])
		dst = append(dst, ',')
		p += e + 1
	}
}

// ipElem truncates one element of an address list.
func (r *Redactor) ipElem(sc *Scratch, dst, t []byte) []byte {
	x, y := 0, len(t)
	for x < y && (t[x] == ' ' || t[x] == '\t') {
		x++
	}
	for y > x && (t[y-1] == ' ' || t[y-1] == '\t') {
		y--
	}
	dst = append(dst, t[:x]...)
	core := t[x:y]
	if isForwarded(core) {
		dst = r.forwarded(sc, dst, core)
		return append(dst, t[y:]...)
	}
	// scheme://
	scheme := 0
	if k := bytes.Index(core, []byte("://")); k > 0 && isScheme(core[:k]) {
		scheme = k + 3
	}
	host, rest := core[scheme:], []byte(nil)
	if k := bytes.IndexByte(host, '/'); k >= 0 {
		host, rest = host[:k], host[k:]
	}
	n := len(dst)
	dst = append(dst, core[:scheme]...)
	d, ok := r.ipHost(sc, dst, host)
	switch {
	case !ok:
		dst = r.run(sc, dst[:n], core, false)
	case len(rest) > 0:
		dst = r.run(sc, d, rest, true)
	default:
		dst = d
	}
	return append(dst, t[y:]...)
}

// isForwarded reports whether t is an RFC 7239 forwarded-element: its first
// parameter is for=, by=, proto= or host=.
func isForwarded(t []byte) bool {
	k := bytes.IndexByte(t, '=')
	if k < 0 {
		return false
	}
	name := bytes.TrimRight(t[:k], " \t")
	return foldEqual(name, "for") || foldEqual(name, "by") || foldEqual(name, "proto") || foldEqual(name, "host")
}

// forwarded truncates the node identifiers (for=, by=) of the forwarded
// element t; its other parameters, and a node that is no address
// ("unknown", "_hidden", anything else), go through the text rules.
func (r *Redactor) forwarded(sc *Scratch, dst, t []byte) []byte {
	for p := 0; ; {
		e := bytes.IndexByte(t[p:], ';')
		pair := t[p:]
		if e >= 0 {
			pair = t[p : p+e]
		}
		k := bytes.IndexByte(pair, '=')
		name := []byte(nil)
		if k >= 0 {
			name = bytes.TrimSpace(pair[:k])
		}
		if foldEqual(name, "for") || foldEqual(name, "by") {
			v := k + 1
			for v < len(pair) && (pair[v] == ' ' || pair[v] == '\t') {
				v++
			}
			node, q := pair[v:], 0
			if len(node) >= 2 && node[0] == '"' && node[len(node)-1] == '"' {
				node, q = node[1:len(node)-1], 1
			}
			n := len(dst)
			d, ok := r.ipHost(sc, append(dst, pair[:v+q]...), node)
			if ok {
				dst = append(d, pair[len(pair)-q:]...)
			} else {
				dst = r.run(sc, dst[:n], pair, false)
			}
		} else {
			dst = r.run(sc, dst, pair, false)
		}
		if e < 0 {
			return dst
		}
		dst = append(dst, ';')
		p += e + 1
	}
}

func isScheme(b []byte) bool {
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// ipHost appends the truncation of "ip", "ip:port", "[v6]:port" or
// "v6%zone" and reports whether h was one; when not, dst comes back as it
// was.
func (r *Redactor) ipHost(sc *Scratch, dst, h []byte) ([]byte, bool) {
	if len(h) > 0 && h[0] == '[' {
		k := bytes.IndexByte(h, ']')
		if k < 0 || !portOK(h[k+1:]) {
			return dst, false
		}
		if d, ok := r.truncV6(sc, append(dst, '['), h[1:k]); ok {
			return append(d, h[k:]...), true
		}
		return dst, false
	}
	if ip, ok := parseIPv4(h, true); ok {
		return r.truncV4(sc, dst, ip), true
	}
	if d, ok := r.truncV6(sc, dst, h); ok {
		return d, true
	}
	if k := bytes.LastIndexByte(h, ':'); k > 0 && portOK(h[k:]) {
		if ip, ok := parseIPv4(h[:k], true); ok {
			return append(r.truncV4(sc, dst, ip), h[k:]...), true
		}
	}
	return dst, false
}

// portOK reports whether b is empty or ":digits".
func portOK(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if len(b) < 2 || b[0] != ':' {
		return false
	}
	for _, c := range b[1:] {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

func (r *Redactor) truncV4(sc *Scratch, dst []byte, ip [4]byte) []byte {
	r.count(sc, RuleIPTruncate)
	ip[3] = 0
	return netip.AddrFrom4(ip).AppendTo(dst)
}

// truncV6 appends the truncation of the IPv6 text h (with an optional
// zone, kept as it is) and reports whether h was one.
func (r *Redactor) truncV6(sc *Scratch, dst, h []byte) ([]byte, bool) {
	addr, zone := h, []byte(nil)
	if k := bytes.IndexByte(h, '%'); k >= 0 {
		addr, zone = h[:k], h[k:]
		if len(zone) == 1 {
			return dst, false
		}
	}
	ip, ok := parseIPv6(addr)
	if !ok {
		return dst, false
	}
	r.count(sc, RuleIPTruncate)
	a := netip.AddrFrom16(ip)
	if a.Is4In6() {
		ip[15] = 0
	} else {
		clear(ip[6:])
	}
	dst = netip.AddrFrom16(ip).AppendTo(dst)
	return append(dst, zone...), true
}
