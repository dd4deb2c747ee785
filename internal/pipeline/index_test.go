package pipeline

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/envoy-s3/envoy_s3/test/gen"
)

// Two instances that write one bucket with a key format of $INDEX, in one process,
// never use the same key: with the same configuration, and with configurations whose
// spool directories differ. With store_dir off, in-process instances share one count.
func TestIndexUniqueAcrossInstances(t *testing.T) {
	for _, storeDir := range []string{"spool", "off"} {
		t.Run(storeDir, func(t *testing.T) {
			dir := t.TempDir()
			if storeDir == "off" {
				dir = "off"
			}
			puts := []*memPut{{}, {}, {}}
			var ps []*Pipeline
			for i, other := range []string{"o/$UUID", "o/$UUID", "p/$UUID"} {
				ps = append(ps, newPipeline(t, map[string]string{"store_dir": dir, "s3_key_format": "x/$INDEX",
					"other_key_format": other, "total_file_size": "8K", "endpoint": "http://127.0.0.1:1"}, puts[i]))
			}
			var wg sync.WaitGroup
			for i, p := range ps {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for f := 0; f < 5; f++ {
						if retry, err := p.Flush(chunkOf(t, gen.New(uint64(10*i+f)).Mixed(100)), "tag"); retry || err != nil {
							t.Errorf("flush: %v %v", retry, err)
						}
					}
				}()
			}
			wg.Wait()
			seen := map[string]int{}
			total := 0
			for i, p := range ps {
				p.Close(context.Background())
				for k := range puts[i].objs {
					if strings.HasPrefix(k, "x/") {
						seen[k]++
						total++
					}
				}
			}
			if total < 9 {
				t.Fatalf("only %d objects; the test needs many", total)
			}
			for k, n := range seen {
				if n > 1 {
					t.Errorf("key %s was written by %d instances", k, n)
				}
			}
		})
	}
}
