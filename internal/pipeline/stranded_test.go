package pipeline

import (
	"context"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/adopt"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// A stranded spool directory whose lock file is gone (copied, restored from a
// backup) is still a spool directory: its batches are adopted, not passed over in
// silence.
func TestStrandedSpoolWithoutLockIsAdopted(t *testing.T) {
	w := &world{}
	root := t.TempDir()
	w.acknowledge(t, root, map[string]string{"bucket": "logs", "s3_key_format": "old/$UUID"}, 300)
	w.create("logs")
	dirs := strandedDirs(t, root)
	if len(dirs) == 0 {
		t.Fatal("nothing left in the spool to adopt")
	}
	if err := os.Remove(filepath.Join(dirs[0], "lock")); err != nil {
		t.Fatal(err)
	}
	var log syncBuf
	p := w.start(t, root, &adopt.Registry{}, &log, map[string]string{"bucket": "logs", "s3_key_format": "new/$UUID"})
	p.Flush(chunkOf(t, gen.New(10).Mixed(10)), chunkgen.DefaultTask().Tag()) // every instance is up
	waitFor(t, "the adopted records", &log, func() bool { return w.lines("logs", "") >= 300 })
	p.Close(context.Background())
	if !strings.Contains(log.String(), dirs[0]) {
		t.Fatalf("the log does not name %s:\n%s", dirs[0], log.String())
	}
}

// A batch of a newer format in another spool directory is named in the log, with
// what to do, and the directory's other batches are delivered.
func TestStrandedNewerFormatIsReported(t *testing.T) {
	w := &world{}
	root := t.TempDir()
	w.acknowledge(t, root, map[string]string{"bucket": "logs", "s3_key_format": "old/$UUID"}, 300)
	w.create("logs")
	dirs := strandedDirs(t, root)
	if len(dirs) == 0 {
		t.Fatal("nothing left in the spool to adopt")
	}
	hdr := []byte("ES3SPL\x09\x00")
	hdr[7] = byte(crc32.Checksum(hdr[:7], crc32.MakeTable(crc32.Castagnoli)))
	future := filepath.Join(dirs[0], "sealed", "0000000000000001-000001.spl")
	if err := os.WriteFile(future, append(hdr, "newer segments"...), 0o600); err != nil {
		t.Fatal(err)
	}
	var log syncBuf
	p := w.start(t, root, &adopt.Registry{}, &log, map[string]string{"bucket": "logs", "s3_key_format": "new/$UUID"})
	p.Flush(chunkOf(t, gen.New(10).Mixed(10)), chunkgen.DefaultTask().Tag())
	waitFor(t, "the adopted records", &log, func() bool { return w.lines("logs", "") >= 300 })
	p.Close(context.Background())
	if n := strings.Count(log.String(), future); n != 1 {
		t.Fatalf("the newer-format file is named %d times, want once:\n%s", n, log.String())
	}
	if _, err := os.Stat(future); err != nil {
		t.Fatalf("the newer-format file is gone: %v", err)
	}
}
