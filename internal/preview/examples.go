package preview

import (
	"context"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/internal/pipeline"
	"github.com/envoy-s3/envoy_s3/internal/redact"
)

// exampler finds a before/after example for every rule that fired. A record in which one rule
// fired shows it directly: every replacement in the line is that rule's. Where several fired,
// the record goes again through pipelines of its own, in hash mode with a key of the preview's:
// one with every rule, and one per rule with only that rule. A hash pseudonym depends only on
// the value replaced, so each replacement of the first is named by the one-rule pipelines that
// wrote the same pseudonym; the example is then cut from the line the user's options wrote,
// each replacement shown as ‹rule›. No line with a secret left in it is ever shown.
type exampler struct {
	settings []string
	env      func(string) string
	tag      string
	now      time.Time
	all      *pipeline.Pipeline
	only     [redact.NumRules]*pipeline.Pipeline
}

// exampleKey is the hash key of the labelling pipelines: pseudonyms there only pair up
// replacements and are never shown.
const exampleKey = "envoy_s3-preview-labels-0123456789abcdef"

// redactionKeys are the options that choose what is redacted and how; a labelling pipeline
// sets them itself.
var redactionKeys = []string{"redact_query_params", "redact_fields", "redact_detectors", "redact_json_keys", "redact_mode", "redact_hash_key", "ip_anonymize"}

// ruleSource names the option behind each rule's count, for the summary.
func ruleSource(r redact.Rule) string {
	switch {
	case r == redact.RuleQueryParam:
		return "redact_query_params"
	case r == redact.RuleField:
		return "redact_fields, redact_json_keys: a whole value"
	case r == redact.RuleIPTruncate:
		return "ip_anonymize"
	case r == redact.RulePieceEdge:
		return "the cut of a split line"
	case r < redact.RuleField:
		return "redact_detectors"
	}
	return ""
}

// isolated reports whether a pipeline can run r alone, and with which options.
func isolated(r redact.Rule) ([]string, bool) {
	off := []string{"ip_anonymize=off"}
	switch {
	case r == redact.RuleQueryParam:
		return append(off, "redact_detectors=none", "redact_json_keys=none"), true
	case r == redact.RuleField:
		return append(off, "redact_detectors=none", "redact_query_params=none"), true
	case r < redact.RuleField:
		return append(off, "redact_detectors="+r.String(), "redact_query_params=none", "redact_json_keys=none"), true
	}
	return nil, false
}

// pipeline builds a labelling pipeline: the user's options in hash mode with the preview's
// key; with one, only rule r, from the user's own option for it.
func (e *exampler) pipeline(r redact.Rule, one bool) (*pipeline.Pipeline, error) {
	drop := map[string]bool{"redact_mode": true, "redact_hash_key": true}
	var extra []string
	if one {
		extra, _ = isolated(r)
		for _, k := range redactionKeys {
			drop[k] = true
		}
		switch r {
		case redact.RuleQueryParam:
			drop["redact_query_params"] = false
		case redact.RuleField:
			drop["redact_fields"], drop["redact_json_keys"] = false, false
		}
	}
	var settings []string
	for _, kv := range e.settings {
		k, _, _ := strings.Cut(kv, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		// Route metrics play no part in what a line looks like: labelling runs without them.
		if !drop[k] && !strings.HasPrefix(k, "metrics") {
			settings = append(settings, kv)
		}
	}
	settings = append(append(settings, extra...), "redact_mode=hash", "redact_hash_key="+exampleKey)
	cfg, _, err := parseSettings(settings, e.env)
	if err != nil {
		return nil, err
	}
	now := e.now
	return pipeline.New(cfg, pipeline.Options{Name: "preview-labels", Log: flblog.NewWriter(io.Discard, "preview", flblog.Error), Putter: refusePutter{}, NoDelivery: true, Now: func() time.Time { return now }})
}

// place runs one encoded record through p and returns the line it writes.
func (e *exampler) place(p *pipeline.Pipeline, rec []byte) []byte {
	var line []byte
	p.Inspect(rec, e.tag, func(pl pipeline.Placed) { line = append([]byte(nil), pl.Line...) })
	return line
}

func (e *exampler) close() {
	for _, p := range append(e.only[:], e.all) {
		if p != nil {
			p.Close(context.Background())
		}
	}
}

// example fills s.Examples for the rules that fired on this record (counts was before it,
// now after) and have none yet. rec is the encoded record, line what the user's options wrote.
func (e *exampler) example(s *Summary, rec []byte, was, now redact.Counts, line []byte) error {
	var fired, missing []redact.Rule
	for i := range now {
		if now[i] > was[i] {
			fired = append(fired, redact.Rule(i))
			if s.Examples[i] == nil {
				missing = append(missing, redact.Rule(i))
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	spans := markerSpans(line)
	for _, r := range missing {
		if r == redact.RuleIPTruncate {
			s.Examples[r] = &Example{After: string(line)} // addresses cut, nothing masked: the line shows it
		}
	}
	if len(spans) == 0 {
		return nil // counted without a replacement in the line: no example rather than a crash
	}
	if len(fired) == 1 || len(fired) == 2 && fired[1] == redact.RuleIPTruncate {
		r := fired[0]
		labels := make([]string, len(spans))
		for i := range labels {
			labels[i] = r.String()
		}
		if s.Examples[r] == nil {
			s.Examples[r] = cut(line, spans, labels, 0)
		}
		return nil
	}
	if e.all == nil {
		p, err := e.pipeline(0, false)
		if err != nil {
			return err
		}
		e.all = p
	}
	hashed := e.place(e.all, rec)
	hspans := markerSpans(hashed)
	if len(hspans) != len(spans) {
		return nil // the two lines disagree: try the next record
	}
	// Which rules wrote each replacement.
	by := make([][]redact.Rule, len(spans))
	for _, r := range fired {
		if _, ok := isolated(r); !ok {
			continue
		}
		if e.only[r] == nil {
			p, err := e.pipeline(r, true)
			if err != nil {
				return err
			}
			e.only[r] = p
		}
		mine := map[string]bool{}
		one := e.place(e.only[r], rec)
		for _, sp := range markerSpans(one) {
			mine[string(one[sp[0]:sp[1]])] = true
		}
		for i, sp := range hspans {
			if mine[string(hashed[sp[0]:sp[1]])] {
				by[i] = append(by[i], r)
			}
		}
	}
	for _, r := range missing {
		at := -1
		labels := make([]string, len(spans))
		for i, rules := range by {
			labels[i] = "redacted"
			if len(rules) > 0 {
				labels[i] = rules[0].String()
			}
			for _, x := range rules {
				if x == r && at < 0 {
					at, labels[i] = i, r.String()
				}
			}
		}
		if at >= 0 {
			s.Examples[r] = cut(line, spans, labels, at)
		}
	}
	return nil
}

// markerSpans finds the replacements redact wrote in line, as [start, end) offsets.
func markerSpans(line []byte) [][2]int {
	var out [][2]int
	for i := 0; i < len(line); i++ {
		if line[i] != '[' {
			continue
		}
		if n := redact.MarkerLen(line[i:]); n > 0 {
			out = append(out, [2]int{i, i + n})
			i += n - 1
		}
	}
	return out
}

// exampleContext is how many bytes of a line an example shows around the secret.
const exampleContext = 60

// cut shows the neighbourhood of replacement at: after is the line's bytes, before the same
// bytes with each replacement shown as ‹its rule›. A replacement at an edge is shown whole.
func cut(line []byte, spans [][2]int, labels []string, at int) *Example {
	from, to := max(0, spans[at][0]-exampleContext), min(len(line), spans[at][1]+exampleContext)
	for _, sp := range spans {
		if sp[0] < from && from < sp[1] {
			from = sp[0]
		}
		if sp[0] < to && to < sp[1] {
			to = sp[1]
		}
	}
	for from > 0 && !utf8.RuneStart(line[from]) {
		from--
	}
	for to < len(line) && !utf8.RuneStart(line[to]) {
		to++
	}
	var before strings.Builder
	prev := from
	for i, sp := range spans {
		if sp[0] < from || sp[1] > to {
			continue
		}
		before.Write(line[prev:sp[0]])
		before.WriteString("‹" + labels[i] + "›")
		prev = sp[1]
	}
	before.Write(line[prev:to])
	return &Example{Before: ellipsis(before.String(), from > 0, to < len(line)), After: ellipsis(string(line[from:to]), from > 0, to < len(line))}
}

func ellipsis(s string, head, tail bool) string {
	if head {
		s = "…" + s
	}
	if tail {
		s += "…"
	}
	return s
}
