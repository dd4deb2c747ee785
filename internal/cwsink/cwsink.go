// Package cwsink is the destination of `other_logs cloudwatch`: records that are
// not access logs, sent to CloudWatch Logs under log_group_name and log_stream_name
// (or log_stream_prefix and the tag), with their record variables expanded.
//
// Such records wait in the pipeline's store like objects do, as batches of
// cwlogs lines ({"t":ms,"m":message}), sealed much sooner than S3 objects (MaxRaw,
// MaxAge): people read these logs in the console, and one PutLogEvents call takes
// 1 MiB at most anyway. Send delivers one; route metrics use it too.
package cwsink

import (
	"context"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/cwlogs"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
)

// Limits of a CloudWatch batch in the store.
const (
	MaxRaw = 1 << 20
	MaxAge = 5 * time.Second
)

// Options are cfg's CloudWatch Logs client options: its credentials and the
// settings of a group the plugin creates.
func Options(cfg *config.Config, logf func(string, ...any)) cwlogs.Options {
	return cwlogs.Options{
		Region: cfg.Region, RoleARN: cfg.RoleARN, ExternalID: cfg.ExternalID, STSEndpoint: cfg.STSEndpoint,
		LogGroupName: cfg.LogGroupName, LogStreamName: cfg.LogStreamName, LogStreamPrefix: cfg.LogStreamPrefix,
		AutoCreateGroup: cfg.AutoCreateGroup, LogRetentionDays: cfg.LogRetentionDays, LogGroupClass: cfg.LogGroupClass,
		Logf: logf,
	}
}

// Sink names and sends other records bound for CloudWatch Logs.
type Sink struct {
	client       *cwlogs.Client
	group        *keyformat.Name
	streamName   *keyformat.Name // log_stream_name; nil when not set
	streamPrefix *keyformat.Name // log_stream_prefix; nil when not set
}

// New builds the sink of cfg (other_logs cloudwatch) and its client.
func New(ctx context.Context, cfg *config.Config, logf func(string, ...any)) (*Sink, error) {
	s := &Sink{group: cfg.LogGroup}
	var err error
	if cfg.LogStreamName != "" {
		s.streamName, err = keyformat.CompileName(cfg.LogStreamName)
	} else if cfg.LogStreamPrefix != "" {
		s.streamPrefix, err = keyformat.CompileName(cfg.LogStreamPrefix)
	}
	if err != nil {
		return nil, err
	}
	if s.client, err = cwlogs.New(ctx, Options(cfg, logf)); err != nil {
		return nil, err
	}
	return s, nil
}

// Client is the CloudWatch Logs client the records are sent with; nil for a nil
// Sink (other_logs is not cloudwatch), which Send refuses with ErrNotSent.
func (s *Sink) Client() *cwlogs.Client {
	if s == nil {
		return nil
	}
	return s.client
}

// Names are the log group and stream of records with v; "" for a nil Sink.
func (s *Sink) Names(v *keyformat.Vars) (group, stream string) {
	if s == nil {
		return "", ""
	}
	group = s.group.Expand(v)
	o := cwlogs.Options{}
	switch {
	case s.streamName != nil:
		o.LogStreamName = s.streamName.Expand(v)
	case s.streamPrefix != nil:
		o.LogStreamPrefix = s.streamPrefix.Expand(v)
	}
	return group, cwlogs.StreamName(&o, string(v.Tag))
}

// Send delivers a sealed CloudWatch batch: its cwlogs lines, as the stores keep
// them. A damaged line is passed to bad and skipped. A nil c (the batch was stored
// by an earlier configuration that sent this stream to CloudWatch) is ErrNotSent.
func Send(ctx context.Context, c *cwlogs.Client, group, stream string, body []byte, bad func(line []byte, err error)) error {
	if c == nil {
		return ErrNotSent
	}
	return c.PutTo(ctx, group, stream, cwlogs.ParseLines(body, bad))
}

// ErrNotSent: a stored CloudWatch batch whose kind the current configuration no
// longer sends (other_logs or metrics changed). It stays in store_dir.
var ErrNotSent error = notSent{}

type notSent struct{}

func (notSent) Error() string {
	return "store_dir holds CloudWatch events from an earlier configuration that this one does not send"
}

// PermanentRemedy makes the upload pool keep the batch and say what to do.
func (notSent) PermanentRemedy() (string, bool) {
	return "turn other_logs cloudwatch or metrics emf back on to send them, or delete their files from store_dir", true
}
