package config

import (
	"errors"
	"strings"
	"testing"
)

// A misspelt region fails Init with one line suggesting the nearest AWS region,
// with or without an endpoint; a real or plausible new region, and a custom
// endpoint's own name, are accepted.
func TestRegionShapeAndSuggestion(t *testing.T) {
	for _, tc := range []struct {
		region, endpoint string
		suggest          string // "" means accepted
		invalid          bool   // rejected without a suggestion
	}{
		{region: "us-east-1"},
		{region: "eusc-de-east-1"},
		{region: "us-gov-west-1"},
		{region: "ap-southeast-9"},                  // a future numbered region
		{region: "sa-west-1"},                       // a future region of known words
		{region: "us-east-l", suggest: "us-east-1"}, // letter l for digit 1
		{region: "us-esat-1", suggest: "us-east-1"}, // transposed
		{region: "ap-northeast1", suggest: "ap-northeast-1"},
		{region: "eu-west-01x", suggest: "eu-west-1"},
		{region: "US-EAST-1", suggest: "us-east-1"},
		{region: "tokyo", invalid: true},
		{region: "us-east-l", endpoint: "http://127.0.0.1:9000", suggest: "us-east-1"},
		{region: "us-wset-2", endpoint: "http://127.0.0.1:9000", suggest: "us-west-2"},
		{region: "local", endpoint: "http://127.0.0.1:9000"},
		{region: "auto", endpoint: "https://acct.r2.cloudflarestorage.com"},
		{region: "garage", endpoint: "http://127.0.0.1:3900"},
	} {
		m := mapGetter{"bucket": "acme-logs", "region": tc.region}
		if tc.endpoint != "" {
			m["endpoint"] = tc.endpoint
		}
		c, err := Parse(m, nil, noEnv)
		switch {
		case tc.suggest == "" && !tc.invalid:
			if err != nil || c.Region != tc.region {
				t.Errorf("region %q (endpoint %q): %v", tc.region, tc.endpoint, err)
			}
		case !errors.Is(err, ErrInvalidValue):
			t.Errorf("region %q (endpoint %q) accepted: %v", tc.region, tc.endpoint, err)
		default:
			checkErrorLine(t, "region", err)
			if tc.suggest != "" && !strings.Contains(err.Error(), `did you mean "`+tc.suggest+`"`) {
				t.Errorf("region %q: no suggestion of %q: %v", tc.region, tc.suggest, err)
			}
		}
	}
}

// AWS_REGION is checked the same way.
func TestRegionFromEnvironmentSuggests(t *testing.T) {
	_, err := Parse(mapGetter{"bucket": "acme-logs"}, nil, func(k string) string {
		return map[string]string{"AWS_REGION": "ap-northeast-l"}[k]
	})
	if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), `did you mean "ap-northeast-1"`) {
		t.Fatalf("AWS_REGION ap-northeast-l: %v", err)
	}
}
