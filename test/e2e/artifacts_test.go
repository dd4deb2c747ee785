package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

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
