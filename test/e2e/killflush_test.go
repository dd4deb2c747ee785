package e2e

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/hosttest"
)

// A SIGKILL during a flush, as Fluent Bit meets it: Fluent Bit deletes a chunk only
// after handling the flush's OK, so the chunk being flushed is sent again after the
// restart even when the plugin had answered OK (or had stored part of it). Every
// record lands exactly once: the spool keeps all of a chunk or none of it, and a
// chunk it stored is answered OK without being stored again.
func TestKillDuringFlushStoresEachChunkOnce(t *testing.T) {
	so, host := artifacts(t)
	const bucket = "killflush"
	m := env(t, bucket)
	t.Setenv("ENVOY_S3_SHUTDOWN_TIMEOUT", "30s")
	task := chunkgen.DefaultTask()
	const per = 700
	lines := accessOnly(gen.New(41).Mixed(4000))
	files, err := chunkgen.WriteFiles(t.TempDir(), chunk.Encoder{}, task, lines, per, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2026, 15))
	replays := 0
	for round := 0; round < 24; round++ {
		prefix := fmt.Sprintf("r%d/", round)
		args := instanceArgs(map[string]string{
			"bucket": bucket, "region": m.Region, "endpoint": m.Endpoint, "store_dir": t.TempDir(),
			"s3_key_format": prefix + "$UUID", "total_file_size": "64K", "upload_timeout": "1s",
			"other_logs": "drop", "redact_query_params": "none", "redact_detectors": "none",
		})
		acked := make([]bool, len(files))
		h := hosttest.Start(t, host, so, args...)
		kill := rng.IntN(len(files))
		for i := 0; i < kill; i++ {
			acked[i] = h.Flush(0, files[i], task.Tag()) == hosttest.FLBOK
		}
		h.StartFlush(0, files[kill], task.Tag())
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		r := h.Kill()
		ended := "no OK seen"
		for _, f := range r.Flushes[kill:] {
			if f.File == files[kill] && f.RC == hosttest.FLBOK {
				ended = "OK seen" // the plugin answered before the kill
			}
		}
		// Fluent Bit sends the chunk again either way: it deletes a chunk only
		// after the OK is handled, which a kill can come before.
		acked[kill] = false
		h = hosttest.Start(t, host, so, args...)
		for i := range files {
			for try := 0; !acked[i] && try < 50; try++ {
				if try > 0 {
					time.Sleep(100 * time.Millisecond)
				}
				acked[i] = h.Flush(0, files[i], task.Tag()) == hosttest.FLBOK
			}
		}
		r = h.Exit()
		if r.ExitRC(0) != hosttest.FLBOK {
			t.Fatalf("exit rc %d\n%s", r.ExitRC(0), r.Stderr)
		}
		if strings.Contains(r.Stderr, "already stored came again") {
			replays++
		}
		want := wantAccess(task, lines)
		got := lineCounts(objects(t, m, bucket, prefix, compress.Gzip))
		missing, dups := 0, 0
		for l, n := range want {
			if got[l] < n {
				missing += n - got[l]
			} else {
				dups += got[l] - n
			}
		}
		t.Logf("round %d: killed during flush %d of %d (%s; %d records a chunk), the chunk sent again: %d missing, %d duplicated", round, kill, len(files), ended, per, missing, dups)
		if missing > 0 || dups > 0 {
			t.Fatalf("round %d: %d records missing, %d duplicated: want every record exactly once", round, missing, dups)
		}
	}
	// The kills must have hit stored chunks, or the test proves nothing.
	if replays == 0 {
		t.Fatal("no kill came after a chunk was stored: no replay was answered from the spool")
	}
	t.Logf("%d of 24 kills came after the chunk in flight was stored; each replay was answered without storing it again", replays)
}
