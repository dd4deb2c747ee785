package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
)

// tinyFS mounts a 256 KiB tmpfs, so the spool meets a really full disk (ENOSPC). It is
// 0700: store_dir must not be writable by others (a tmpfs is 1777 by default).
func tinyFS(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// While S3 cannot take data, the spool fills up; flush must answer RETRY (Fluent Bit
// keeps the chunk) instead of dropping, and once uploads free space, the chunks sent
// again land exactly once.
func TestFullSpoolAnswersRetryAndLosesNothing(t *testing.T) {
	so, host := artifacts(t)
	for _, tc := range []struct {
		name     string
		storeDir func(t *testing.T) string
		limit    string
		refusal  string // what the log says when flush starts answering RETRY
	}{
		{"store_dir_limit_size", func(t *testing.T) string { return t.TempDir() }, "100K", "store_dir_limit_size"},
		{"disk_full", tinyFS, "1G", "no space left on device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bucket := "bp-" + strings.ReplaceAll(tc.name, "_", "-")
			m := env(t, "unrelated-bucket")
			t.Setenv("ENVOY_S3_PERMANENT_RETRY", "1s")
			t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "30s")
			task := chunkgen.DefaultTask()
			lines := accessOnly(gen.New(21).Mixed(3000))
			files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 100, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			h := hosttest.Start(t, host, so, instanceArgs(map[string]string{
				"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint,
				"store_dir": tc.storeDir(t), "store_dir_limit_size": tc.limit,
				"total_file_size": "32K", "upload_timeout": "1s", "s3_key_format": "bp/$UUID",
				"other_logs": "drop", "redact_query_params": "none", "redact_detectors": "none",
			})...)
			// The bucket is missing: everything accepted stays in the spool until it fills.
			var refused []string
			for _, f := range files {
				switch rc := h.Flush(0, f, task.Tag()); rc {
				case hosttest.FLBOK:
				case hosttest.FLBRetry:
					refused = append(refused, f)
				default:
					t.Fatalf("flush rc %d: a full spool must answer RETRY\n%s", rc, h.Stderr())
				}
			}
			if len(refused) == 0 {
				t.Fatalf("the spool never filled: no flush answered RETRY\n%s", h.Stderr())
			}
			if !strings.Contains(h.Stderr(), tc.refusal) {
				t.Errorf("the log does not say why flushes are refused (%q):\n%s", tc.refusal, h.Stderr())
			}
			// Space returns once S3 takes the data; Fluent Bit retries the refused chunks.
			m.CreateBucket(bucket)
			deadline := time.Now().Add(60 * time.Second)
			for len(refused) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%d chunks still refused after the bucket appeared\n%s", len(refused), h.Stderr())
				}
				if rc := h.Flush(0, refused[0], task.Tag()); rc == hosttest.FLBOK {
					refused = refused[1:]
				} else {
					time.Sleep(200 * time.Millisecond)
				}
			}
			if r := h.Exit(); r.ExitRC(0) != hosttest.FLBOK {
				t.Fatalf("exit rc %d", r.ExitRC(0))
			}
			diff(t, "access", wantAccess(task, lines), lineCounts(objects(t, m, bucket, "bp/", compress.Gzip)))
		})
	}
}

// fill writes a file in dir until its file system answers ENOSPC.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !strings.Contains(err.Error(), "no space left on device") {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return
		}
	}
}

// A restart with store_dir's file system full must not stop the router: Init
// succeeds, the batches of the earlier run are uploaded (which frees space), flushes
// answer RETRY until there is room, and that is said once. Real Fluent Bit exits when
// an output's Init fails, and on Fargate the spool goes with the task.
func TestFullDiskAtStartStillUploads(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "full-at-start"
	m := env(t, "unrelated-bucket")
	t.Setenv("ENVOY_S3_PERMANENT_RETRY", "1s")
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "2s")
	store := tinyFS(t)
	task := chunkgen.DefaultTask()
	lines := accessOnly(gen.New(22).Mixed(1500))
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, 100, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	args := instanceArgs(map[string]string{
		"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint,
		"store_dir": store, "store_dir_limit_size": "1G",
		"total_file_size": "32K", "upload_timeout": "1s", "s3_key_format": "full/$UUID",
		"other_logs": "drop", "redact_query_params": "none", "redact_detectors": "none",
	})
	// First run: the bucket is missing, so what is accepted stays in store_dir.
	h := hosttest.Start(t, host, so, args...)
	var refused []string
	for _, f := range files {
		if rc := h.Flush(0, f, task.Tag()); rc != hosttest.FLBOK {
			refused = append(refused, f)
		}
	}
	h.Exit()
	if len(refused) == len(files) {
		t.Fatalf("the first run accepted nothing\n%s", h.Stderr())
	}
	fill(t, store) // whatever room the first run left
	// Second run on a full disk, and now the bucket exists.
	m.CreateBucket(bucket)
	h = hosttest.Start(t, host, so, args...)
	deadline := time.Now().Add(60 * time.Second)
	for len(refused) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d chunks still refused 60 s after a start on a full disk\n%s", len(refused), h.Stderr())
		}
		switch rc := h.Flush(0, refused[0], task.Tag()); rc {
		case hosttest.FLBOK:
			refused = refused[1:]
		case hosttest.FLBRetry:
			time.Sleep(200 * time.Millisecond)
		default:
			t.Fatalf("flush rc %d on a full disk, want RETRY\n%s", rc, h.Stderr())
		}
	}
	os.Remove(filepath.Join(store, "filler"))
	if r := h.Exit(); r.ExitRC(0) != hosttest.FLBOK {
		t.Fatalf("exit rc %d", r.ExitRC(0))
	}
	if n := strings.Count(h.Stderr(), "writing to store_dir failed"); n > 1 {
		t.Errorf("the full disk is reported %d times, want at most once\n%s", n, h.Stderr())
	}
	diff(t, "access", wantAccess(task, lines), lineCounts(objects(t, m, bucket, "full/", compress.Gzip)))
}
