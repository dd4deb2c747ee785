package pipeline

import (
	"fmt"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/config"
)

// fieldRules says, per normalised field, which redaction applies.
type fieldRules struct {
	whole  [accesslog.NumFields]bool // redact_fields
	ip     [accesslog.NumFields]bool // ip_anonymize truncate
	detect [accesslog.NumFields]bool // detectors and query parameters
	any    bool
}

// requestFields carry what a client sent (or addresses), so secrets can hide there.
// connection_termination_details is written by Envoy but quotes what filters saw of
// the connection, client data included. Every other string field goes through the
// detectors too unless accesslog.Plain says Envoy wrote it (a timestamp, a 19-digit
// stream id, which may pass Luhn): a customised format can put anything anywhere, and
// ECS names are chosen by people.
var requestFields = []accesslog.FieldID{
	accesslog.Method, accesslog.Path, accesslog.Protocol, accesslog.ForwardedFor,
	accesslog.UserAgent, accesslog.RequestID, accesslog.Authority, accesslog.UpstreamHost,
	accesslog.DownstreamRemoteAddress, accesslog.ConnectionTerminationDetails,
}

func newFieldRules(cfg *config.Config) (fieldRules, error) {
	var r fieldRules
	for _, id := range requestFields {
		r.detect[id] = true
	}
	byName := map[string]accesslog.FieldID{}
	for id := accesslog.FieldID(0); id < accesslog.NumFields; id++ {
		byName[id.Name()] = id
	}
	for _, name := range cfg.RedactFields {
		id, ok := byName[name]
		if !ok {
			return r, fmt.Errorf("envoy_s3: redact_fields names %q, which is not a field of the schema", name)
		}
		r.whole[id], r.any = true, true
	}
	if cfg.IPAnonymize == config.IPAnonymizeTruncate {
		for _, id := range []accesslog.FieldID{accesslog.ForwardedFor, accesslog.DownstreamRemoteAddress, accesslog.UpstreamHost} {
			r.ip[id], r.any = true, true
		}
	}
	return r, nil
}
