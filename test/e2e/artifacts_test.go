package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/envoy-s3/envoy_s3/test/hosttest"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

var build struct {
	once     sync.Once
	so, host string
	err      error
}

// artifacts returns the plugin .so and the C host: the ones `make` built (named by
// ENVOY_S3_SO and ENVOY_S3_HOST), or fresh builds in a temporary directory.
func artifacts(t *testing.T) (so, host string) {
	t.Helper()
	build.once.Do(func() {
		build.so, build.host = os.Getenv("ENVOY_S3_SO"), os.Getenv("ENVOY_S3_HOST")
		if fileExists(build.so) && fileExists(build.host) {
			return
		}
		root, err := miniotest.RepoRoot()
		if err != nil {
			build.err = err
			return
		}
		dir, err := os.MkdirTemp("", "envoy_s3-e2e-")
		if err != nil {
			build.err = err
			return
		}
		build.so, build.host = filepath.Join(dir, "envoy_s3.so"), filepath.Join(dir, "host")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", build.so, "./plugin")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = &buildError{"go build", out, err}
			return
		}
		cmd = exec.Command("cc", "-std=c11", "-O2", "-o", build.host, "test/host/host.c", "-ldl", "-lpthread")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = &buildError{"cc", out, err}
		}
	})
	if build.err != nil {
		t.Fatalf("building the plugin and host: %v", build.err)
	}
	return build.so, build.host
}

type buildError struct {
	what string
	out  []byte
	err  error
}

func (e *buildError) Error() string { return e.what + ": " + e.err.Error() + "\n" + string(e.out) }

func fileExists(p string) bool {
	if p == "" {
		return false
	}
	_, err := os.Stat(p)
	return err == nil
}

// targets returns every architecture the e2e tests that call it run on: the machine's own
// (artifacts) and, when `make test` built it, the other one (ENVOY_S3_CROSS_*: the dist/ .so
// of that architecture, a C host cross-compiled for it, and the qemu-user command that runs
// that host here).
func targets(t *testing.T) []hosttest.Target {
	t.Helper()
	so, host := artifacts(t)
	out := []hosttest.Target{{Arch: runtime.GOARCH, SO: so, Host: host}}
	cross := hosttest.Target{
		Arch:     os.Getenv("ENVOY_S3_CROSS_ARCH"),
		SO:       os.Getenv("ENVOY_S3_CROSS_SO"),
		Host:     os.Getenv("ENVOY_S3_CROSS_HOST"),
		Emulator: strings.Fields(os.Getenv("ENVOY_S3_CROSS_EMULATOR")),
	}
	if cross.Arch == "" {
		return out
	}
	for _, f := range []string{cross.SO, cross.Host} {
		if !fileExists(f) {
			t.Fatalf("ENVOY_S3_CROSS_ARCH=%s but %q does not exist: run `make dist cross-host` (make test does)", cross.Arch, f)
		}
	}
	return append(out, cross)
}

// forEachTarget runs f as one subtest per architecture, named after it. Without the
// ENVOY_S3_CROSS_* variables of `make test` the other architecture's subtest is skipped,
// and says so.
func forEachTarget(t *testing.T, f func(t *testing.T, tg hosttest.Target)) {
	t.Helper()
	tgs := targets(t)
	for _, tg := range tgs {
		t.Run(tg.Arch, func(t *testing.T) { f(t, tg) })
	}
	if len(tgs) == 1 {
		t.Run("cross", func(t *testing.T) {
			t.Skip("no second architecture: ENVOY_S3_CROSS_* unset (`make test` sets them)")
		})
	}
}
