package flblog

import (
	"bytes"
	"regexp"
	"testing"
)

func TestFormatAndLevel(t *testing.T) {
	var b bytes.Buffer
	g := NewWriter(&b, "envoy_s3.1", Info)
	g.Infof("uploaded %d objects", 3)
	g.Debugf("hidden")
	g.Errorf("bucket %q denied", "x")
	want := regexp.MustCompile(`^\[\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\] \[ info\] \[output:envoy_s3:envoy_s3\.1\] uploaded 3 objects\n` +
		`\[\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\] \[error\] \[output:envoy_s3:envoy_s3\.1\] bucket "x" denied\n$`)
	if !want.Match(b.Bytes()) {
		t.Fatalf("unexpected log output:\n%s", b.String())
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]Level{"error": Error, "warn": Warn, "debug": Debug, "info": Info, "x": Info} {
		if got := ParseLevel(in); got != want {
			t.Errorf("ParseLevel(%q) = %d, want %d", in, got, want)
		}
	}
}
