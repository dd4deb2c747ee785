package pipeline

import (
	"context"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
)

// $INDEX counts per store_dir: two tasks, or a replacement task starting with an
// empty store_dir, both PUT x/0. Init says so, once per key format, with the fix,
// whenever a key format with $INDEX has neither $UUID nor $TASK_ID; with store_dir
// off even $TASK_ID does not help (a restart of the router in the same task counts
// from 0 again).
func TestIndexWithoutPerTaskVariableWarns(t *testing.T) {
	for _, tc := range []struct {
		s3, other, storeDir string
		want                int // lines naming a key format that can collide
	}{
		{"x/$INDEX", "o/$UUID", "", 1},
		{"x/$INDEX", "o/$INDEX", "", 2},
		{"x/$TASK_ID/$INDEX", "o/$UUID", "", 0},
		{"x/$INDEX-$UUID", "o/$UUID", "", 0},
		{"x/$TASK_ID/$INDEX", "o/$UUID", "off", 1},
		{"x/$INDEX", "o/$UUID", "off", 1},
		{"x/$UUID", "o/$UUID", "", 0},
	} {
		g := mapGetter{"bucket": "test-bucket", "region": "us-east-1", "store_dir": t.TempDir(), "s3_key_format": tc.s3, "other_key_format": tc.other}
		if tc.storeDir != "" {
			g["store_dir"] = tc.storeDir
		}
		cfg, err := config.Parse(g, nil, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		var log syncBuf
		p, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(&log, "t", flblog.Info), Putter: &memPut{}})
		if err != nil {
			t.Fatal(err)
		}
		p.Close(context.Background())
		got := strings.Count(log.String(), "overwrite")
		if got != tc.want {
			t.Errorf("s3_key_format %s, other_key_format %s, store_dir %q: %d warning(s), want %d:\n%s", tc.s3, tc.other, tc.storeDir, got, tc.want, log.String())
		}
		if tc.want > 0 && tc.storeDir == "" && (!strings.Contains(log.String(), "$TASK_ID") || !strings.Contains(log.String(), "[error]")) {
			t.Errorf("%s: the warning is not an error line naming the fix ($TASK_ID):\n%s", tc.s3, log.String())
		}
	}
}
