package pipeline

import (
	"context"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/cwlogs"
	"github.com/envoy-s3/envoy_s3/internal/cwsink"
)

// limitsOf gives CloudWatch batches their own limits; objects use the configuration's.
func (p *Pipeline) limitsOf(m *batch.Meta) (int64, time.Duration) {
	if m.Stream.IsCloudWatch() {
		return cwsink.MaxRaw, cwsink.MaxAge
	}
	return p.cfg.TotalFileSize, p.cfg.UploadTimeout
}

// cwDest is where a CloudWatch batch goes: the client, log group and stream of
// its stream kind (other records or metrics), named from its first record.
func (p *Pipeline) cwDest(m *batch.Meta) (c *cwlogs.Client, group, stream string) {
	vars := metaVars(m)
	v := &vars
	if m.Stream == batch.StreamMetrics {
		if p.metrics == nil {
			return nil, "", ""
		}
		group, stream = p.metrics.Names(v)
		return p.metrics.Client(), group, stream
	}
	group, stream = p.cw.Names(v)
	return p.cw.Client(), group, stream
}

// sendCloudWatch delivers a sealed CloudWatch batch.
func (p *Pipeline) sendCloudWatch(ctx context.Context, c *cwlogs.Client, group, stream string, body []byte) error {
	return cwsink.Send(ctx, c, group, stream, body, func(line []byte, err error) {
		p.log.Errorf("skipping a damaged CloudWatch line in the store (%d bytes): %v", len(line), err)
	})
}

// cwTarget names a CloudWatch Logs destination in messages about its uploads.
func cwTarget(group, stream string) string {
	return "CloudWatch Logs group " + group + " stream " + stream
}
