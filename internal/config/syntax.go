package config

// Value syntax shared by the keys (sizes, durations, lists, names) and the
// rendering of a bad value in an error line.

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// suggest returns the known key nearest to name by edit distance, if near.
func suggest(name string) string {
	best, bestD := "", math.MaxInt
	for i := range Keys {
		if d := levenshtein(name, Keys[i].Name); d < bestD {
			best, bestD = Keys[i].Name, d
		}
	}
	if bestD <= max(2, len(name)/3) {
		return best
	}
	// A truncated key ("log_stream"): the shortest key it begins.
	best = ""
	for i := range Keys {
		k := Keys[i].Name
		if len(name) >= 4 && strings.HasPrefix(k, name) && (best == "" || len(k) < len(best)) {
			best = k
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// quote renders a user value for an error line: quoted (so control characters
// cannot break the line) and cut to a readable length.
func quote(v string) string {
	const max = 80
	if len(v) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = v[:cut] + "..."
	}
	return strconv.Quote(v)
}

// invalid reports a bad value of the key being parsed, hiding secrets.
func (p *parser) invalid(v, allowed string) error {
	shown := quote(v)
	if p.key.secret {
		shown = "(value hidden)"
	}
	return &Error{Key: p.key.Name, err: ErrInvalidValue, msg: p.key.Name + " " + shown + " is not valid: " + allowed}
}

// enumOf matches v (ignoring case) against the names of allowed and returns
// the value named.
func enumOf[T fmt.Stringer](p *parser, v string, allowed ...T) (T, error) {
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if strings.EqualFold(v, a.String()) {
			return a, nil
		}
		names[i] = a.String()
	}
	var zero T
	return zero, p.invalid(v, "use "+orList(names))
}

// enum matches v against allowed (case-insensitively) and returns the
// allowed spelling.
func (p *parser) enum(v string, allowed []string) (string, error) {
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a, nil
		}
	}
	return "", p.invalid(v, "use "+orList(allowed))
}

func orList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

func intList(s []int) string {
	parts := make([]string, len(s))
	for i, n := range s {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ", ")
}

func (p *parser) bool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "on", "yes", "1":
		return true, nil
	case "false", "off", "no", "0":
		return false, nil
	}
	return false, p.invalid(v, "use true or false (also on/off, yes/no, 1/0)")
}

// ParseSize reads a size the way Fluent Bit's flb_utils_size_to_bytes does
// (K/KB, M/MB, G/GB decimal; fractions allowed), plus KiB/MiB/GiB (binary).
func ParseSize(v string) (int64, bool) {
	s := strings.TrimSpace(v)
	i := len(s)
	for i > 0 && (s[i-1] >= 'a' && s[i-1] <= 'z' || s[i-1] >= 'A' && s[i-1] <= 'Z') {
		i--
	}
	num, unit := strings.TrimSpace(s[:i]), strings.ToUpper(s[i:])
	mult := map[string]float64{
		"": 1, "K": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9,
		"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30,
	}[unit]
	if mult == 0 || num == "" || strings.ContainsAny(num, "eExXpP_+-") {
		return 0, false
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f*mult >= math.MaxInt64/2 {
		return 0, false
	}
	return int64(f * mult), true
}

// ParseDuration reads a duration the way Fluent Bit's
// flb_utils_time_to_seconds does (an integer with s, m, h or d in either
// case; bare = seconds), or in Go's syntax ("1m30s", "500ms").
func ParseDuration(v string) (time.Duration, bool) {
	s := strings.TrimSpace(v)
	if s == "" {
		return 0, false
	}
	digits, unit := s, byte('s')
	if c := s[len(s)-1]; c < '0' || c > '9' {
		digits, unit = s[:len(s)-1], c|0x20 // lower case
	}
	if n, err := strconv.ParseUint(digits, 10, 32); err == nil && digits[0] != '+' {
		mult := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[unit]
		if mult != 0 && n <= uint64(math.MaxInt64/mult) {
			return time.Duration(n) * mult, true
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// list splits a comma list, trimming and lower-casing items and dropping
// duplicates. "none" alone gives an empty list; "default" expands to def;
// special, when not "", may appear only alone and sets *only.
func (p *parser) list(v string, def []string, special string, only *bool, check func(string) error) ([]string, error) {
	var out []string
	items := strings.Split(v, ",")
	for _, it := range items {
		it = strings.ToLower(strings.TrimSpace(it))
		switch {
		case it == "":
			continue
		case it == "none" || (special != "" && it == special):
			if len(items) != 1 {
				return nil, p.invalid(v, "write "+it+" alone, not in a list")
			}
			if it == special {
				*only = true
			}
			return nil, nil
		case it == "default" && def != nil:
			for _, d := range def {
				if !slices.Contains(out, d) {
					out = append(out, d)
				}
			}
			continue
		}
		if err := check(it); err != nil {
			return nil, err
		}
		if !slices.Contains(out, it) {
			out = append(out, it)
		}
	}
	if len(out) == 0 {
		return nil, p.invalid(v, "give a comma list of names, or none")
	}
	return out, nil
}

// member checks that name is one of names, suggesting the nearest.
func (p *parser) member(name string, names []string, what string) error {
	if slices.Contains(names, name) {
		return nil
	}
	best, bestD := "", math.MaxInt
	for _, n := range names {
		if d := levenshtein(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	hint := ""
	if bestD <= max(2, len(name)/3) {
		hint = " (did you mean " + strconv.Quote(best) + "?)"
	}
	// The bad item is what the line shows (cut like any value), not the list.
	return p.invalid(name, "it is not "+what+hint+": use "+orList(names))
}
