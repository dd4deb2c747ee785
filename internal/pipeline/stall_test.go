package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

// stalled never answers: a black-holed endpoint.
type stalled struct{}

func (stalled) Put(ctx context.Context, _ string, _ delivery.Body) error {
	<-ctx.Done()
	return ctx.Err()
}

// An endpoint that never answers is explained, when an attempt times out and when
// shutdown gives up: the wait, the attempt timeout and the endpoint.
func TestStalledEndpointIsExplained(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration // attempt timeout
		want    []string
	}{
		{"timeout", 100 * time.Millisecond, []string{"no answer within the 100ms attempt timeout", "http://10.255.255.1:9000"}},
		{"shutdown", 0, []string{"could not be uploaded before shutdown", "had no answer after", "attempt timeout 1m0s", "http://10.255.255.1:9000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := mapGetter{"bucket": "test-bucket", "region": "us-east-1", "store_dir": t.TempDir(), "endpoint": "http://10.255.255.1:9000", "upload_timeout": "1s"}
			cfg, err := config.Parse(g, nil, func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			var log syncBuf
			p, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(&log, "t", flblog.Info), Putter: stalled{}, AttemptTimeout: tc.timeout})
			if err != nil {
				t.Fatal(err)
			}
			if retry, err := p.Flush(chunkOf(t, gen.New(3).Mixed(50)), chunkgen.DefaultTask().Tag()); retry || err != nil {
				t.Fatal(retry, err)
			}
			time.Sleep(2500 * time.Millisecond) // upload_timeout seals, an attempt starts
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			p.Close(ctx)
			for _, w := range tc.want {
				if !strings.Contains(log.String(), w) {
					t.Errorf("the log does not say %q:\n%s", w, log.String())
				}
			}
		})
	}
}
