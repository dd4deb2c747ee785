package keyindex

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/test/specialfile"
)

// A FIFO, socket or directory where the counter or a legacy index file is expected
// never hangs Open (Init) or Take; the counter's says what it is and what to do.
func TestPlantedSpecialFiles(t *testing.T) {
	for _, kind := range specialfile.Kinds {
		for _, file := range []string{Name("", "b"), Name("", "b") + ".lock"} {
			t.Run(kind+"/"+file, func(t *testing.T) {
				dir := t.TempDir()
				specialfile.Plant(t, kind, filepath.Join(dir, file))
				var err error
				specialfile.Within(t, "Open", func() { _, err = Open(dir, "", "b") })
				if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), "remove it") {
					t.Fatalf("Open = %v, want an error saying it is no regular file and what to do", err)
				}
			})
		}
		t.Run(kind+"/legacy", func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "envoy_s3-a.index"), []byte("7\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			specialfile.Plant(t, kind, filepath.Join(dir, "envoy_s3-b.index"))
			var c *Counter
			var err error
			specialfile.Within(t, "Open", func() { c, err = Open(dir, "", "b") })
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var n uint64
			specialfile.Within(t, "Next", func() { n, err = c.Next() })
			if err != nil || n != 7 {
				t.Fatalf("Next = %d, %v; want 7 (after the readable legacy index)", n, err)
			}
		})
	}
}
