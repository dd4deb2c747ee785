// Package filterpattern matches CloudWatch Logs filter patterns of unstructured log
// events against log lines, for the subset of the syntax envoy_s3's documented
// metric filters use: terms separated by spaces, each a "quoted phrase" or a bare
// word of letters, digits and underscores, all of which must appear in the event
// (case-sensitive). Anything else (?term, -term, JSON and space-delimited
// patterns, %regex%) is refused, so a pattern outside the subset cannot pass a test
// by accident.
package filterpattern

import (
	"fmt"
	"strings"
)

// Pattern is a parsed filter pattern.
type Pattern struct{ terms []string }

// Parse reads a filter pattern of the subset.
func Parse(s string) (*Pattern, error) {
	p := &Pattern{}
	rest := strings.TrimSpace(s)
	for rest != "" {
		if rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("filter pattern %q: unterminated quote", s)
			}
			term := rest[1 : 1+end]
			if term == "" || strings.ContainsAny(term, `\`) {
				return nil, fmt.Errorf("filter pattern %q: empty or escaped phrase", s)
			}
			p.terms = append(p.terms, term)
			rest = strings.TrimLeft(rest[2+end:], " ")
			continue
		}
		word, after, _ := strings.Cut(rest, " ")
		for _, c := range word {
			if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return nil, fmt.Errorf("filter pattern %q: term %q is outside the supported subset (quote it, or use letters, digits and _)", s, word)
			}
		}
		p.terms = append(p.terms, word)
		rest = strings.TrimLeft(after, " ")
	}
	if len(p.terms) == 0 {
		return nil, fmt.Errorf("filter pattern %q matches every event", s)
	}
	return p, nil
}

// Match reports whether every term appears in the event's message.
func (p *Pattern) Match(message string) bool {
	for _, t := range p.terms {
		if !strings.Contains(message, t) {
			return false
		}
	}
	return true
}
