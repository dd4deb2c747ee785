package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

// A misspelt key is found by walking Fluent Bit's property list, under both the 5.x
// and the 1.9 instance layouts, with random bytes around the list.
func TestMisspeltKeyFailsInit(t *testing.T) {
	so, host := artifacts(t)
	for _, mode := range []string{"current", "1.9"} {
		t.Run(mode, func(t *testing.T) {
			r := hosttest.Run(t, host, so, "--exit", mode, "--instance", "bucket=my-bucket", "region=us-east-1", "bukcet_typo=x", "compression=zstd")
			if r.InitRC(0) != hosttest.FLBError {
				t.Fatalf("init rc %d, want FLB_ERROR\n%s", r.InitRC(0), r.Stderr)
			}
			if r.ExitCode != 1 {
				t.Fatalf("host exit code %d after a failed Init, want 1", r.ExitCode)
			}
			line := errorLine(t, r.Stderr)
			if !strings.Contains(line, `"bukcet_typo"`) {
				t.Fatalf("error does not name the key: %s", line)
			}
		})
	}
}

func TestBadValueFailsInitWithOneLine(t *testing.T) {
	so, host := artifacts(t)
	r := hosttest.Run(t, host, so, "--instance", "bucket=my-bucket", "region=us-east-1", "compression=lz4")
	if r.InitRC(0) != hosttest.FLBError {
		t.Fatalf("init rc %d, want FLB_ERROR", r.InitRC(0))
	}
	line := errorLine(t, r.Stderr)
	for _, want := range []string{"compression", "lz4", "gzip"} {
		if !strings.Contains(line, want) {
			t.Errorf("error line lacks %q: %s", want, line)
		}
	}
}

// Every configuration mistake is logged at Init, one error line each, so one deploy shows them
// all: two misspelt keys, a bad value and a missing key.
func TestInitLogsEveryConfigError(t *testing.T) {
	so, host := artifacts(t)
	r := hosttest.Run(t, host, so, "--instance", "region=us-east-1", "bukcet=my-bucket", "compresion=zstd", "upload_timeout=5 minutes")
	if r.InitRC(0) != hosttest.FLBError {
		t.Fatalf("init rc %d, want FLB_ERROR\n%s", r.InitRC(0), r.Stderr)
	}
	var lines []string
	for _, l := range strings.Split(r.Stderr, "\n") {
		if strings.Contains(l, "[error] [output:envoy_s3") {
			lines = append(lines, l)
		}
	}
	want := []string{`"bukcet" (did you mean "bucket"?)`, `"compresion" (did you mean "compression"?)`, `upload_timeout "5 minutes" is not valid`, "bucket is required"}
	if len(lines) != len(want) {
		t.Fatalf("%d error lines, want %d:\n%s", len(lines), len(want), r.Stderr)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("error line %d %q; want it to contain %q", i, lines[i], w)
		}
	}
}

func TestHashModeKeyNeverLogged(t *testing.T) {
	so, host := artifacts(t)
	const secret = "Sup3rSecretHashKey-do-not-print"
	r := hosttest.Run(t, host, so, "--instance", "bucket=my-bucket", "region=us-east-1", "redact_mode=mask", "redact_hash_key="+secret)
	if r.InitRC(0) != hosttest.FLBError {
		t.Fatalf("init rc %d, want FLB_ERROR (hash key without hash mode)", r.InitRC(0))
	}
	if strings.Contains(r.Stderr, secret) {
		t.Fatalf("the hash key leaked into the log:\n%s", r.Stderr)
	}
}

// errorLine returns the plugin's single error line.
func errorLine(t *testing.T, stderr string) string {
	t.Helper()
	var found []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "[error] [output:envoy_s3") {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one error line, got %d:\n%s", len(found), stderr)
	}
	return found[0]
}

// Two instances, Fluent Bit 1.9's exit (every call gets the last instance's
// context): the first exit call must still upload both instances' batches.
func TestInstancesUnder19Exit(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "multi"
	m := env(t, bucket)
	task := chunkgen.DefaultTask()
	lines := accessOnly(gen.New(3).Mixed(1200))
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{Form: chunk.FormLegacy}, task, lines, 100, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--exit", "1.9", "--tag", task.Tag()}
	for i := 0; i < 2; i++ {
		args = append(args, instanceArgs(map[string]string{
			"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint, "store_dir": t.TempDir(),
			"s3_key_format": fmt.Sprintf("inst%d/$TASK_ID/$UUID", i), "other_logs": "drop",
			"upload_timeout": "1h",
		})...)
	}
	for _, f := range files {
		args = append(args, "--flush", f)
	}
	r := hosttest.Run(t, host, so, args...)
	for i := 0; i < 2; i++ {
		if r.InitRC(i) != hosttest.FLBOK {
			t.Fatalf("instance %d init rc %d\n%s", i, r.InitRC(i), r.Stderr)
		}
		for _, rc := range r.FlushRCs(i) {
			if rc != hosttest.FLBOK {
				t.Fatalf("instance %d flush rc %d\n%s", i, rc, r.Stderr)
			}
		}
		if got := countLines(t, m, bucket, fmt.Sprintf("inst%d/", i)); got != len(lines) {
			t.Errorf("instance %d: %d records in S3, want %d\n%s", i, got, len(lines), r.Stderr)
		}
	}
}

// Workers 2: flushes arrive concurrently on one instance; every record lands once. It runs on
// both architectures: arm64's weaker memory ordering is where a missing lock would show.
func TestWorkersConcurrentFlush(t *testing.T) {
	const bucket = "workers"
	m := env(t, bucket)
	task := chunkgen.DefaultTask()
	lines := accessOnly(gen.New(11).Mixed(4000))
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 50, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	forEachTarget(t, func(t *testing.T, tg hosttest.Target) {
		prefix := tg.Arch + "-w/"
		args := append([]string{"--workers", "2", "--tag", task.Tag()}, instanceArgs(map[string]string{
			"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint, "store_dir": t.TempDir(),
			"s3_key_format": prefix + "$UUID", "total_file_size": "64K", "other_logs": "drop",
			"redact_query_params": "none", "redact_detectors": "none",
		})...)
		for _, f := range files {
			args = append(args, "--flush", f)
		}
		requireAllOK(t, tg.Run(t, args...))
		objs := objects(t, m, bucket, prefix, compress.Gzip)
		if len(objs) < 2 {
			t.Errorf("total_file_size 64K should have cut several objects, got %d", len(objs))
		}
		diff(t, "access", wantAccess(task, lines), lineCounts(objs))
	})
}

func accessOnly(ls []gen.Labeled) []gen.Labeled {
	out := ls[:0:0]
	for _, l := range ls {
		if l.IsAccess {
			out = append(out, l)
		}
	}
	return out
}

// countLines counts the records in the gzip objects under prefix.
func countLines(t *testing.T, m *miniotest.Server, bucket, prefix string) int {
	n := 0
	for _, ls := range objects(t, m, bucket, prefix, compress.Gzip) {
		n += len(ls)
	}
	return n
}

// When one instance's Init fails, Fluent Bit 5.x stops initialising and still calls
// exit for every instance, with a NULL context for those never initialised.
func TestFailedInitThenExit(t *testing.T) {
	so, host := artifacts(t)
	for _, mode := range []string{"current", "1.9"} {
		t.Run(mode, func(t *testing.T) {
			r := hosttest.Run(t, host, so, "--exit", mode,
				"--instance", "bucket=good-bucket", "region=us-east-1", "store_dir="+t.TempDir(),
				"--instance", "bucket=good-bucket", "region=us-east-1", "compression=brotli")
			// Like Fluent Bit, the host exits 1 when an output fails Init; -1 or 134 would be a crash.
			if r.ExitCode != 1 {
				t.Fatalf("host exit code %d, want 1 (failed Init)\n%s", r.ExitCode, r.Stderr)
			}
			if r.InitRC(0) != hosttest.FLBOK || r.InitRC(1) != hosttest.FLBError {
				t.Fatalf("init rcs %d %d\n%s", r.InitRC(0), r.InitRC(1), r.Stderr)
			}
			for _, e := range r.Exits {
				if e.RC != hosttest.FLBOK {
					t.Fatalf("exit rc %d\n%s", e.RC, r.Stderr)
				}
			}
			if len(r.Exits) == 0 {
				t.Fatalf("no exit call was made\n%s", r.Stderr)
			}
		})
	}
}

// stats_interval logs a summary line periodically and at exit, through the real .so.
func TestStatsLinePeriodic(t *testing.T) {
	so, host := artifacts(t)
	m := env(t, "stats-bucket")
	task := chunkgen.DefaultTask()
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, gen.New(4).Mixed(500), 250, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h := hosttest.Start(t, host, so, instanceArgs(map[string]string{
		"bucket": "stats-bucket", "region": "ap-northeast-1", "endpoint": m.Endpoint,
		"store_dir": t.TempDir(), "stats_interval": "1s",
	})...)
	for _, f := range files {
		if rc := h.Flush(0, f, task.Tag()); rc != hosttest.FLBOK {
			t.Fatalf("flush rc %d", rc)
		}
	}
	time.Sleep(2500 * time.Millisecond)
	r := h.Exit()
	periodic := strings.Count(r.Stderr, "] stats: records=500 ")
	if periodic < 2 {
		t.Fatalf("want at least 2 periodic stats lines, got %d:\n%s", periodic, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "exit: records=500 ") || !strings.Contains(r.Stderr, "cloudwatch_usd=") {
		t.Fatalf("no exit stats line with costs:\n%s", r.Stderr)
	}
}
