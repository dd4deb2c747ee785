// Package buildinfo says which build of the plugin is running: the version the Makefile stamps
// at link time, the Go toolchain and the platform. The plugin logs it once per instance at Init,
// so "which .so is in this router?" is answered by the router's own log.
package buildinfo

import (
	"fmt"
	"runtime"
)

// Version is the Makefile's VERSION (`make -s version`): v<VERSION file> for a clean tree at
// that release's tag, v<VERSION file>-dev+g<commit>[.dirty] otherwise. It is set with
//
//	-ldflags "-X github.com/envoy-s3/envoy_s3/internal/buildinfo.Version=..."
//
// It stays "dev" in a build that was not stamped (go build, go test, a tree without git).
var Version = "dev"

// String describes this build in one phrase: "envoy_s3 v1.2.0 (go1.26.8, linux/arm64)".
func String() string {
	return fmt.Sprintf("envoy_s3 %s (%s, %s/%s)", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// EventFormat names the event encoding Fluent Bit hands the plugin, for the log: the legacy
// [time, record] form of Fluent Bit 1.9 and older, or the [[time, metadata], record] form of
// Fluent Bit 2.1 and newer. Fluent Bit does not tell a Go plugin which one it uses before the
// first flush, so the plugin reports it from the first event it decodes.
func EventFormat(legacy bool) string {
	if legacy {
		return "legacy [time, record] (Fluent Bit 1.9 and older)"
	}
	return "v2 [[time, metadata], record] (Fluent Bit 2.1 and newer)"
}
