package e2e

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
)

// Each instance says at Init which build it is (version, Go, OS/arch), and at its first flush
// which event format Fluent Bit sends, once. ENVOY_S3_VERSION is the version `make` stamped;
// a .so built by the tests themselves is unstamped and says "dev".
func TestInitSaysWhichBuild(t *testing.T) {
	version := os.Getenv("ENVOY_S3_VERSION")
	if version == "" || os.Getenv("ENVOY_S3_SO") == "" {
		version = "dev"
	}
	task := chunkgen.DefaultTask()
	lines := gen.New(3).Mixed(200)
	forms := map[string]chunk.Encoder{
		"legacy": {Form: chunk.FormLegacy},
		"v2":     {},
	}
	forEachTarget(t, func(t *testing.T, tg hosttest.Target) {
		for name, enc := range forms {
			t.Run(name, func(t *testing.T) {
				files, err := chunkgen.WriteFiles(t.TempDir(), enc, task, lines, 50, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				args := append([]string{"--tag", task.Tag()}, instanceArgs(map[string]string{
					// Nothing is uploaded: the endpoint refuses, and exit gives up at once.
					"bucket": "build-info", "region": "eu-west-1", "endpoint": "http://127.0.0.1:1",
					"store_dir": t.TempDir(),
				})...)
				for _, f := range files {
					args = append(args, "--flush", f)
				}
				t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "1ms")
				r := tg.Run(t, args...)
				if r.InitRC(0) != hosttest.FLBOK {
					t.Fatalf("init rc %d\n%s", r.InitRC(0), r.Stderr)
				}
				initLine := regexp.MustCompile(`(?m)^\[[^]]+\] \[ ?info\] \[output:envoy_s3:envoy_s3\.0\] envoy_s3 ` +
					regexp.QuoteMeta(version) + ` \(go1\.[0-9.]+[^,]*, linux/` + tg.Arch + `\); Fluent Bit event format: logged at the first flush$`)
				if n := len(initLine.FindAllString(r.Stderr, -1)); n != 1 {
					t.Errorf("want one Init line with version %s, Go and linux/%s; got %d in:\n%s", version, tg.Arch, n, r.Stderr)
				}
				want := "Fluent Bit event format: " + name + " "
				if n := strings.Count(r.Stderr, "] Fluent Bit event format: "); n != 1 || !strings.Contains(r.Stderr, want) {
					t.Errorf("want one line %q... after %d flushes, got %d:\n%s", want, len(files), n, r.Stderr)
				}
			})
		}
	})
}
