package buildinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	defer func(v string) { Version = v }(Version)
	Version = "v1.2.3-4-gabcdef0-dirty"
	want := "envoy_s3 v1.2.3-4-gabcdef0-dirty (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")"
	if got := String(); got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
}

func TestUnstampedIsDev(t *testing.T) {
	if Version != "dev" {
		t.Errorf("a build without -X says %q; want dev", Version)
	}
}

func TestEventFormat(t *testing.T) {
	legacy, v2 := EventFormat(true), EventFormat(false)
	if !strings.HasPrefix(legacy, "legacy ") || !strings.HasPrefix(v2, "v2 ") {
		t.Errorf("EventFormat: %q, %q; want the legacy and v2 names first", legacy, v2)
	}
}
