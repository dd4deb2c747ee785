package e2e

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
)

// The host is killed with SIGKILL after a random number of flushes while uploads
// are in flight, restarted on the same store_dir, and run to the end: every record
// of every flush that returned FLB_OK must be in the bucket. Duplicates (records
// both spooled and re-sent, or uploaded before the kill and again after) are
// counted and reported.
//
// The machine's architecture gets five kill points, the emulated one (arm64 under qemu-user)
// one, so that the spool's recovery is proven on both without the emulated run's cost five times.
func TestCrashRestartKeepsAcknowledged(t *testing.T) {
	const bucket = "crash"
	m := env(t, bucket)
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "30s")
	task := chunkgen.DefaultTask()
	lines := accessOnly(gen.New(31).Mixed(3000))
	rendered := make([]string, len(lines))
	for i, l := range lines {
		rendered[i] = expectedAccess(task, l)
	}
	// Chunks of 50 records, and of 700, whose flushes stage their lines in
	// store_dir before committing them (about 400 KB of lines each).
	for _, per := range []int{50, 700} {
		files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, per, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		chunkLines := func(i int) []string { return rendered[i*per : min((i+1)*per, len(rendered))] }

		forEachTarget(t, func(t *testing.T, tg hosttest.Target) {
			rounds, parquetRounds := 5, 3 // the same guarantees when the upload workers build Parquet
			if per > 50 {
				rounds, parquetRounds = 2, 2
			}
			if len(tg.Emulator) > 0 {
				rounds, parquetRounds = 1, 0
			}
			rng := rand.New(rand.NewPCG(2026, uint64(per)))
			for round := 0; round < rounds+parquetRounds; round++ {
				kill := 1 + rng.IntN(len(files)-1)
				pause := time.Duration(rng.IntN(300)) * time.Millisecond
				format := "json_lines"
				if round >= rounds {
					format = "parquet"
				}
				t.Run(fmt.Sprintf("%s-chunks-of-%d-kill-after-%d", format, per, kill), func(t *testing.T) {
					prefix := fmt.Sprintf("%s-p%d-r%d/", tg.Arch, per, round)
					args := append([]string{"--exit", "current"}, instanceArgs(map[string]string{
						"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint, "format": format,
						"store_dir":     t.TempDir(),
						"s3_key_format": prefix + "$UUID", "total_file_size": "64K", "upload_timeout": "1s",
						"other_logs": "drop", "redact_query_params": "none", "redact_detectors": "none",
					})...)
					acked := make([]bool, len(files))
					flush := func(h *hosttest.Host, i int) {
						if rc := h.Flush(0, files[i], task.Tag()); rc == hosttest.FLBOK {
							acked[i] = true
						} else if rc == hosttest.FLBError {
							t.Fatalf("flush %d rc FLB_ERROR (data dropped)\n%s", i, h.Stderr())
						}
					}

					h := tg.Start(t, args...)
					for i := 0; i < kill; i++ {
						flush(h, i)
					}
					time.Sleep(pause) // let uploads be in flight
					r := h.Kill()
					if r.InitRC(0) != hosttest.FLBOK {
						t.Fatalf("first run: init rc %d\n%s", r.InitRC(0), r.Stderr)
					}
					ackedBefore := 0
					for _, ok := range acked[:kill] {
						if ok {
							ackedBefore++
						}
					}

					// Restart on the same spool; Fluent Bit re-sends what was not acknowledged.
					h = tg.Start(t, args...)
					for i := range files {
						for try := 0; !acked[i] && try < 50; try++ {
							if try > 0 {
								time.Sleep(100 * time.Millisecond)
							}
							flush(h, i)
						}
						if !acked[i] {
							t.Fatalf("chunk %d never acknowledged after restart\n%s", i, h.Stderr())
						}
					}
					r = h.Exit()
					if r.InitRC(0) != hosttest.FLBOK || r.ExitRC(0) != hosttest.FLBOK {
						t.Fatalf("second run: init rc %d, exit rc %d\n%s", r.InitRC(0), r.ExitRC(0), r.Stderr)
					}

					want := map[string]int{}
					for i := range files {
						for _, l := range chunkLines(i) {
							want[l]++
						}
					}
					var got map[string]int
					if format == "parquet" {
						got = lineCounts(parquetObjects(t, m, bucket, prefix))
					} else {
						got = lineCounts(objects(t, m, bucket, prefix, compress.Gzip))
					}
					missing, dups, unexpected := 0, 0, 0
					for l, n := range want {
						if got[l] < n {
							missing += n - got[l]
							if missing <= 3 {
								t.Errorf("acknowledged record seen %d times, want %d:\n  %s", got[l], n, l)
							}
						} else {
							dups += got[l] - n
						}
					}
					for l, n := range got {
						if _, ok := want[l]; !ok {
							unexpected += n
						}
					}
					t.Logf("killed after %d flushes (%d acknowledged) and %v: %d records, %d missing, %d duplicated, %d unexpected",
						kill, ackedBefore, pause, len(rendered), missing, dups, unexpected)
					if missing > 0 || unexpected > 0 {
						t.Fatalf("%d acknowledged records missing, %d unexpected", missing, unexpected)
					}
				})
			}
		})
	}
}
