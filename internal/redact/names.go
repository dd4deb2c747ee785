package redact

import (
	"fmt"
	"math/bits"
	"strings"
)

// Sensitive names: query parameters and (for callers) JSON keys.
//
// A name is compared in a normal form: valid %XX escapes decoded (twice, so
// the double-encoded %2574oken is token), HTML's &amp; kept out of it by the
// callers, ASCII letters folded to lower case, and '-', '_', '+' and spaces
// dropped. So x-api-key, X_API_KEY, xApiKey and x%2Dapi%2Dkey are one name,
// and session_id is sessionid. A list entry is either a name, matched
// exactly in that form, or "*part*", matched when the normal form of a name
// contains part: "*token*" covers private_token, oauth_token and
// accessToken, while author, page and state stay. A name that is a header
// prefix (req, request, resp, response, header, hdr, http) then a listed
// name matches as that name: req_cookie and response_set_cookie are the
// cookie headers an access log format logged under its own key.

// maxNameLen bounds a name's normal form; a longer name is judged on its
// first maxNameLen bytes (parts only: it equals no listed name).
const maxNameLen = 128

// Names is a compiled list of sensitive names. It is immutable and safe for
// concurrent use; Match allocates nothing.
type Names struct {
	exact    map[string]struct{}
	table    []string                    // the exact names by nameHash, open addressing; "" is a free slot
	filter   [nameFilterBits / 64]uint64 // nameBit of every exact name: most other names miss it
	parts    [][]string                  // normal forms of the "*part*" entries, grouped by first byte
	first    [256]uint16                 // 1 + the index in parts of the group of parts starting with a byte; 0: none
	maxExact int
	all      bool
}

// NewNames compiles a list of names: exact names, "*part*" entries, or "*"
// for every name. Entries are normalised as names are (see the package
// rules), so "api_key" and "api-key" are one entry.
func NewNames(list []string) (*Names, error) {
	n := &Names{}
	for _, e := range list {
		norm, part, all, err := checkParam(e)
		if err != nil {
			return nil, err
		}
		switch {
		case all:
			n.all = true
		case part:
			if n.first[norm[0]] == 0 {
				n.parts = append(n.parts, nil)
				n.first[norm[0]] = uint16(len(n.parts))
			}
			g := &n.parts[n.first[norm[0]]-1]
			*g = append(*g, norm)
		default:
			if n.exact == nil {
				n.exact = make(map[string]struct{}, len(list))
			}
			n.exact[norm] = struct{}{}
			b := nameBit([]byte(norm))
			n.filter[b/64] |= 1 << (b % 64)
			n.maxExact = max(n.maxExact, len(norm))
		}
	}
	if len(n.exact) > 0 {
		n.table = make([]string, max(8, 1<<bits.Len(uint(2*len(n.exact)))))
		mask := uint64(len(n.table) - 1)
		for norm := range n.exact {
			i := nameHash([]byte(norm)) & mask
			for n.table[i] != "" {
				i = (i + 1) & mask
			}
			n.table[i] = norm
		}
	}
	return n, nil
}

// nameHash is FNV-1a of a normal form, which places it in Names.table.
func nameHash(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

// All reports whether the list is "*" (every name).
func (n *Names) All() bool { return n != nil && n.all }

// Empty reports whether the list matches no name.
func (n *Names) Empty() bool { return n == nil || !n.all && len(n.exact) == 0 && len(n.parts) == 0 }

// Match reports whether the raw name (as written: escaped, any case) is in
// the list.
func (n *Names) Match(name []byte) bool {
	if n == nil {
		return false
	}
	if n.all {
		return true
	}
	var buf [maxNameLen]byte
	k, long := normName(&buf, name)
	return !long && (n.exactMatch(buf[:k]) || n.exactMatch(headerName(buf[:k]))) || n.partMatch(buf[:k])
}

// headerPrefixes are the normal forms of the prefixes under which access log
// formats name a header they log: req_cookie, request_authorization,
// resp_set_cookie, http_cookie.
var headerPrefixes = [...]string{"request", "req", "response", "resp", "res", "headers", "header", "hdr", "http"}

// headerName returns the header a name logs when it is a header prefix then
// a name (cookie for reqcookie), or nil: such a name matches as that header.
func headerName(norm []byte) []byte {
	if len(norm) < 4 || norm[0] != 'r' && norm[0] != 'h' {
		return nil
	}
	for _, p := range headerPrefixes {
		if len(norm) > len(p) && string(norm[:len(p)]) == p {
			return norm[len(p):]
		}
	}
	return nil
}

// MatchPart reports whether the raw name contains one of the "*part*"
// entries ("*" alone is no part).
func (n *Names) MatchPart(name []byte) bool {
	if n == nil || len(n.parts) == 0 {
		return false
	}
	var buf [maxNameLen]byte
	k, _ := normName(&buf, name)
	return n.partMatch(buf[:k])
}

func (n *Names) exactMatch(norm []byte) bool {
	if len(norm) == 0 || len(norm) > n.maxExact {
		return false
	}
	if b := nameBit(norm); n.filter[b/64]&(1<<(b%64)) == 0 {
		return false
	}
	mask := uint64(len(n.table) - 1)
	for i := nameHash(norm) & mask; n.table[i] != ""; i = (i + 1) & mask {
		if n.table[i] == string(norm) {
			return true
		}
	}
	return false
}

// nameFilterBits is the size of Names.filter, a one-hash Bloom filter of the
// exact names: a name whose bit is clear is in none, without a map lookup.
const nameFilterBits = 1024

// nameBit is the filter bit of the non-empty normal form norm, from its
// length and its first and last bytes.
func nameBit(norm []byte) uint {
	return (uint(len(norm))*0x9e37 ^ uint(norm[0])*0x2f ^ uint(norm[len(norm)-1])*0x3b5) % nameFilterBits
}

func (n *Names) partMatch(norm []byte) bool {
	if len(n.parts) == 0 {
		return false
	}
	for i, c := range norm {
		if n.first[c] == 0 {
			continue
		}
		for _, p := range n.parts[n.first[c]-1] {
			if len(norm)-i >= len(p) && string(norm[i:i+len(p)]) == p {
				return true
			}
		}
	}
	return false
}

// normName writes the normal form of name into buf and returns its length,
// and whether it was cut at maxNameLen.
func normName(buf *[maxNameLen]byte, name []byte) (int, bool) {
	k := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '%' {
			if i+2 < len(name) && isHex(name[i+1]) && isHex(name[i+2]) {
				c = unhex(name[i+1])<<4 | unhex(name[i+2])
				i += 2
				// %25XX: a double-encoded byte.
				if c == '%' && i+2 < len(name) && isHex(name[i+1]) && isHex(name[i+2]) {
					c = unhex(name[i+1])<<4 | unhex(name[i+2])
					i += 2
				}
			}
		}
		switch c {
		case '-', '_', '+', ' ':
			continue
		}
		if k == maxNameLen {
			return k, true
		}
		buf[k] = lower(c)
		k++
	}
	return k, false
}

// checkParam validates one list entry and returns its normal form: a name,
// a part ("*part*" gives part) or all ("*").
func checkParam(p string) (norm string, part, all bool, err error) {
	name := strings.ToLower(strings.TrimSpace(p))
	if name == "*" {
		return "", false, true, nil
	}
	bad := func() (string, bool, bool, error) {
		return "", false, false, fmt.Errorf("%w %q; use a parameter name of at most %d bytes without & = ? # or spaces, *part* for names containing part, * for all, or none", ErrBadQueryParam, p, maxParamLen)
	}
	if len(name) > 2 && name[0] == '*' && name[len(name)-1] == '*' {
		name, part = name[1:len(name)-1], true
	}
	if name == "" || len(name) > maxParamLen || strings.ContainsAny(name, "&=?#* \t\r\n") {
		return bad()
	}
	var buf [maxNameLen]byte
	k, _ := normName(&buf, []byte(name))
	if k == 0 {
		return bad()
	}
	return string(buf[:k]), part, false, nil
}
