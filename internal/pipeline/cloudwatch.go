package pipeline

import (
	"context"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/cwlogs"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
)

// CloudWatch batches are sealed much sooner than S3 objects: people read these logs
// in the console, and one PutLogEvents call takes 1 MiB at most anyway.
const (
	cloudWatchMaxRaw = 1 << 20
	cloudWatchMaxAge = 5 * time.Second
)

func cwOptions(cfg *config.Config, log *flblog.Logger) cwlogs.Options {
	return cwlogs.Options{
		Region: cfg.Region, RoleARN: cfg.RoleARN, ExternalID: cfg.ExternalID, STSEndpoint: cfg.STSEndpoint,
		LogGroupName: cfg.LogGroupName, LogStreamName: cfg.LogStreamName, LogStreamPrefix: cfg.LogStreamPrefix,
		AutoCreateGroup: cfg.AutoCreateGroup, LogRetentionDays: cfg.LogRetentionDays, LogGroupClass: cfg.LogGroupClass,
		Logf: log.Infof,
	}
}

// limitsOf gives CloudWatch batches their own limits; objects use the configuration's.
func (p *Pipeline) limitsOf(m *batch.Meta) (int64, time.Duration) {
	if m.Stream.IsCloudWatch() {
		return cloudWatchMaxRaw, cloudWatchMaxAge
	}
	return p.cfg.TotalFileSize, p.cfg.UploadTimeout
}

// cwNames are the log group and stream of records with vars: log_group_name and
// log_stream_name (or log_stream_prefix + tag) with their variables expanded.
func (p *Pipeline) cwNames(v *keyformat.Vars) (group, stream string) {
	group = p.cfg.LogGroup.Expand(v)
	o := cwlogs.Options{}
	switch {
	case p.cwStreamName != nil:
		o.LogStreamName = p.cwStreamName.Expand(v)
	case p.cwStreamPrefix != nil:
		o.LogStreamPrefix = p.cwStreamPrefix.Expand(v)
	}
	return group, cwlogs.StreamName(&o, string(v.Tag))
}

// cwDest is where a CloudWatch batch goes: the client, log group and stream of
// its stream kind (other records or metrics), named from its first record.
func (p *Pipeline) cwDest(m *batch.Meta) (c *cwlogs.Client, group, stream string) {
	v := &keyformat.Vars{Tag: []byte(m.Tag), Cluster: []byte(m.Cluster), TaskID: []byte(m.TaskID), Family: []byte(m.Family), Container: []byte(m.Container)}
	if m.Stream == batch.StreamMetrics {
		if p.metrics == nil {
			return nil, "", ""
		}
		group, stream = p.metrics.Names(v)
		return p.metrics.Client(), group, stream
	}
	group, stream = p.cwNames(v)
	return p.cw, group, stream
}

// compileStreamNames prepares log_stream_name / log_stream_prefix (validated by config).
func (p *Pipeline) compileStreamNames() (err error) {
	if p.cfg.LogStreamName != "" {
		p.cwStreamName, err = keyformat.CompileName(p.cfg.LogStreamName)
	} else if p.cfg.LogStreamPrefix != "" {
		p.cwStreamPrefix, err = keyformat.CompileName(p.cfg.LogStreamPrefix)
	}
	return err
}

// sendCloudWatch delivers a sealed CloudWatch batch: its {t,m} lines, as both stores
// keep them.
func (p *Pipeline) sendCloudWatch(ctx context.Context, c *cwlogs.Client, group, stream string, body []byte) error {
	if c == nil {
		// Spooled by an earlier configuration that sent this stream to CloudWatch.
		return errNoCloudWatch
	}
	events := cwlogs.ParseLines(body, func(line []byte, err error) {
		p.log.Errorf("skipping a damaged CloudWatch line in the store (%d bytes): %v", len(line), err)
	})
	return c.PutTo(ctx, group, stream, events)
}

// errNoCloudWatch: a spooled CloudWatch batch whose kind the current configuration
// no longer sends (other_logs or metrics changed). It stays in store_dir.
var errNoCloudWatch = noCloudWatchError{}

type noCloudWatchError struct{}

func (noCloudWatchError) Error() string {
	return "store_dir holds CloudWatch events from an earlier configuration that this one does not send"
}

func (noCloudWatchError) PermanentRemedy() (string, bool) {
	return "turn other_logs cloudwatch or metrics emf back on to send them, or delete their files from store_dir", true
}
