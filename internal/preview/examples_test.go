package preview

import (
	"bytes"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/redact"
)

// multiRule is one access line in which five rules fire together: a query token, an e-mail
// address, an AWS access key, a card number, and user_agent under redact_fields.
const multiRule = `[2026-11-24T07:40:46.216Z] "GET /api/orders?access_token=tok-1234567890abcdef&mail=jane.doe@example.com&ref=AKIAIOSFODNN7EXAMPLE&card=4111111111111111 HTTP/1.1" 200 0 11 1 0 "-" "curl/8.11.1" "c13c6bc6-5a9e-4ee8-929d-7089c54f31fd" "backend" "10.0.2.1:8080"` + "\n"

// Every rule that fired has a before/after example, also when it never fired alone on a line,
// and each example marks its own rule's replacement (the others by their rules' names), in
// both replacement modes; no example shows a secret.
func TestExampleForEveryRuleThatFired(t *testing.T) {
	secrets := []string{"tok-1234567890abcdef", "jane.doe@example.com", "AKIAIOSFODNN7EXAMPLE", "4111111111111111", "curl/8.11.1"}
	for _, mode := range [][]string{{"redact_mode=mask"}, {"redact_mode=hash", "redact_hash_key=0123456789abcdef0123456789abcdef"}} {
		opts := append([]string{"redact_detectors=default,email", "redact_fields=user_agent"}, mode...)
		s, err := Run(strings.NewReader(multiRule), Options{Now: fixedNow, Settings: opts})
		if err != nil {
			t.Fatal(err)
		}
		fired := 0
		for r, n := range s.Redactions {
			if n == 0 {
				continue
			}
			fired++
			rule := redact.Rule(r)
			ex := s.Examples[r]
			if ex == nil {
				t.Errorf("%s: rule %s fired %d time(s) and has no example", mode[0], rule, n)
				continue
			}
			label := "‹" + rule.String() + "›"
			if !strings.Contains(ex.Before, label) {
				t.Errorf("%s: %s example does not mark its replacement: %q", mode[0], rule, ex.Before)
			}
			if !strings.Contains(string(redact.ReplaceMarkers(nil, []byte(ex.After), "‹›")), "‹›") {
				t.Errorf("%s: %s example's after shows no replacement: %q", mode[0], rule, ex.After)
			}
			// Before and after are the same bytes of the line but for the replacements.
			if got := string(redact.ReplaceMarkers(nil, []byte(ex.After), "‹›")); got != stripLabels(ex.Before) {
				t.Errorf("%s: %s before and after differ beyond the replacements:\n%q\n%q", mode[0], rule, ex.Before, ex.After)
			}
			for _, sec := range secrets {
				if strings.Contains(ex.Before+ex.After, sec) {
					t.Errorf("%s: %s example shows %q", mode[0], rule, sec)
				}
			}
		}
		if fired < 5 {
			t.Errorf("%s: %d rules fired (%v); the line was made for 5", mode[0], fired, s.Redactions)
		}
		var out bytes.Buffer
		if err := s.Write(&out); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"  field (redact_fields, redact_json_keys", "  email (redact_detectors)", "  query_param (redact_query_params)"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: summary lacks %q:\n%s", mode[0], want, out.String())
			}
		}
	}
}

// stripLabels turns every ‹rule› of s into ‹›.
func stripLabels(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "‹")
		if i < 0 {
			return b.String() + s
		}
		j := strings.Index(s[i:], "›")
		if j < 0 {
			return b.String() + s
		}
		b.WriteString(s[:i] + "‹›")
		s = s[i+j+len("›"):]
	}
}

// With route metrics on, the labelling pipelines still find every rule's example.
func TestExamplesWithMetrics(t *testing.T) {
	opts := []string{"redact_detectors=default,email", "redact_fields=user_agent", "metrics=emf", "metrics_log_group_name=/m", "metrics_dimensions=cluster,family,route"}
	s, err := Run(strings.NewReader(multiRule), Options{Now: fixedNow, Settings: opts})
	if err != nil {
		t.Fatal(err)
	}
	for r, n := range s.Redactions {
		if n > 0 && s.Examples[r] == nil {
			t.Errorf("rule %s fired and has no example", redact.Rule(r))
		}
	}
}
