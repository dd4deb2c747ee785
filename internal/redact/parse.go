package redact

import (
	"fmt"
	"strings"
)

// defaultQueryParams is the built-in redact_query_params list: SPEC.md's
// names, the names services use for tokens, assertions and one-time codes,
// and "*part*" entries for any name containing a word that says secret.
// Names are matched in normal form (see names.go), so hyphen, underscore and
// case variants of each are covered.
var defaultQueryParams = [...]string{
	"token", "access_token", "id_token", "refresh_token", "api_key", "apikey",
	"key", "password", "passwd", "pwd", "secret", "client_secret", "session",
	"session_id", "sessionid", "sid", "sig", "signature", "x-amz-signature",
	"x-amz-credential", "x-amz-security-token", "code", "auth", "authorization",
	"jwt", "credential", "private_key",
	"auth_token", "access-token", "oauth_token", "session_token", "api-key",
	"x-api-key", "client_assertion", "samlresponse", "samlrequest",
	"code_verifier", "otp", "pass", "hmac", "x-goog-signature", "x-goog-credential",
	"*token*", "*secret*", "*passw*", "*signature*", "*credential*", "*api_key*",
	"*private_key*", "*session*",
}

// DefaultQueryParams returns a new copy of the built-in list of sensitive
// query parameter names (the redact_query_params default).
func DefaultQueryParams() []string { return append([]string(nil), defaultQueryParams[:]...) }

// DefaultDetectors returns a new copy of the redact_detectors default:
// every detector but the personal-data ones (email, ipv4, ipv6), which are
// on request.
func DefaultDetectors() []Detector {
	var out []Detector
	for d := range numDetectors {
		if d != Email && d != IPv4 && d != IPv6 {
			out = append(out, d)
		}
	}
	return out
}

// DetectorNames returns the redact_detectors names of all detectors.
func DetectorNames() []string { return append([]string(nil), detectorNames[:]...) }

// DefaultDetectorNames returns the names of DefaultDetectors.
func DefaultDetectorNames() []string {
	var out []string
	for _, d := range DefaultDetectors() {
		out = append(out, d.String())
	}
	return out
}

var detectorsAllowed = strings.Join(detectorNames[:], ", ") + ", or none"

// ParseDetectors parses a redact_detectors value: a comma list of detector
// names (any case, spaces ignored), or "none" for no detector (an empty,
// non-nil slice). Duplicates are dropped.
func ParseDetectors(csv string) ([]Detector, error) {
	items, err := splitList(csv, "redact_detectors", detectorsAllowed, ErrUnknownDetector)
	if err != nil {
		return nil, err
	}
	out := []Detector{}
	if len(items) == 1 && items[0] == "none" {
		return out, nil
	}
	var seen uint32
	for _, it := range items {
		d := Detector(0)
		for d < numDetectors && detectorNames[d] != it {
			d++
		}
		if d == numDetectors {
			return nil, fmt.Errorf("%w %q; use %s", ErrUnknownDetector, it, detectorsAllowed)
		}
		if seen&(1<<d) == 0 {
			seen |= 1 << d
			out = append(out, d)
		}
	}
	return out, nil
}

// ParseQueryParams parses a redact_query_params value: a comma list of
// parameter names (case-insensitive), "*" for all parameters, or "none" for
// no parameter (nil, false).
func ParseQueryParams(csv string) (names []string, all bool, err error) {
	items, err := splitList(csv, "redact_query_params", "parameter names, * or none", ErrBadQueryParam)
	if err != nil {
		return nil, false, err
	}
	if len(items) == 1 && items[0] == "none" {
		return nil, false, nil
	}
	for _, it := range items {
		_, _, a, err := checkParam(it)
		if err != nil {
			return nil, false, err
		}
		if a {
			all = true
			continue
		}
		names = append(names, it)
	}
	return names, all, nil
}

// ParseMode parses a redact_mode value: mask or hash.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "mask":
		return ModeMask, nil
	case "hash":
		return ModeHash, nil
	}
	return 0, fmt.Errorf("%w %q; use mask or hash", ErrUnknownMode, s)
}

// splitList splits a comma list into lowercase trimmed items, dropping
// empty ones; "none" must stand alone.
func splitList(csv, key, allowed string, bad error) ([]string, error) {
	var items []string
	for it := range strings.SplitSeq(csv, ",") {
		it = strings.ToLower(strings.TrimSpace(it))
		if it != "" {
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%w: %s is empty; use %s", ErrEmptyList, key, allowed)
	}
	if len(items) > 1 {
		for _, it := range items {
			if it == "none" {
				return nil, fmt.Errorf("%w %q: none cannot be combined with other entries in %s", bad, csv, key)
			}
		}
	}
	return items, nil
}
