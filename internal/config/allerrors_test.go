package config

import (
	"errors"
	"strings"
	"testing"
)

// Two misspelt keys, a bad value and a rule across keys are all reported by one Parse, one
// line each, in the order the user fixes them (unknown keys, then values in the table's
// order, then rules across keys): a deploy per mistake is what this saves.
func TestParseReportsEveryError(t *testing.T) {
	g := mapGetter{"region": "us-east-1", "compresion": "zstd", "bukcet": "acme-logs", "upload_timeout": "5 minutes",
		"sse_kms_key_id": "alias/logs"}
	_, err := Parse(g, []string{"region", "compresion", "bukcet", "upload_timeout", "sse_kms_key_id"}, noEnv)
	if err == nil {
		t.Fatal("accepted")
	}
	want := []struct {
		key, has string
		is       error
	}{
		{"compresion", `did you mean "compression"`, ErrUnknownKey},
		{"bukcet", `did you mean "bucket"`, ErrUnknownKey},
		{"upload_timeout", `"5 minutes" is not valid`, ErrInvalidValue},
		{"bucket", "bucket is required", ErrMissing},
		{"sse_kms_key_id", "needs server_side_encryption aws:kms", ErrConflict},
	}
	all := All(err)
	if len(all) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(all), len(want), err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Errorf("Error() has %d lines, want one per error:\n%s", len(lines), err)
	}
	for i, w := range want {
		e := all[i]
		if e.Key != w.key || !strings.Contains(e.Error(), w.has) || !errors.Is(e, w.is) {
			t.Errorf("error %d: key %q %q; want key %q containing %q (%v)", i, e.Key, e, w.key, w.has, w.is)
		}
		checkErrorLine(t, w.key, e)
		if i < len(lines) && lines[i] != e.Error() {
			t.Errorf("line %d %q; want %q", i, lines[i], e)
		}
		if !errors.Is(err, w.is) {
			t.Errorf("errors.Is(err, %v) is false", w.is)
		}
	}
	var first *Error
	if !errors.As(err, &first) || first != all[0] {
		t.Errorf("errors.As finds %v; want the first error", first)
	}
}

// A bad value is one error, not also every rule it breaks afterwards: an invalid region is not
// then reported as missing, an invalid server_side_encryption does not make sse_kms_key_id a
// conflict.
func TestParseNoFollowOnErrors(t *testing.T) {
	for name, kv := range map[string][]string{
		"region":        {"region", "ap-northeest-1"},
		"region syntax": {"region", "not a region!"},
		"sse":           {"server_side_encryption", "kms", "sse_kms_key_id", "alias/logs"},
		"metrics":       {"metrics", "on", "metrics_log_group_name", "/m"},
		"other":         {"other_logs", "cloudwatchh", "log_group_name", "/g"},
	} {
		_, err := parse(kv...)
		if n := len(All(err)); n != 1 {
			t.Errorf("%s: %d errors, want 1:\n%v", name, n, err)
		}
	}
	if _, err := parse(); All(err) != nil {
		t.Errorf("a good configuration: %v", All(err))
	}
}
