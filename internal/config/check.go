package config

// Rules that span keys, checked once every key is parsed.

import (
	"strconv"
	"strings"

	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/checksum"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/redact"
)

// conflict reports a rule that spans keys; key is the one to change.
func conflict(key, msg string) *Error {
	return &Error{Key: key, err: ErrConflict, msg: msg}
}

// ok reports whether none of keys had its value refused: a rule is checked only over
// values that parsed, so a refused value is reported once, not again by every rule.
func (p *parser) ok(keys ...string) bool {
	for _, k := range keys {
		if p.failed[k] {
			return false
		}
	}
	return true
}

// rule records a broken rule, unless the key it blames had its own value refused already.
func (p *parser) rule(e *Error) {
	if !p.failed[e.Key] {
		p.fail(e)
	}
}

// crossCheck records every broken rule that spans keys.
func (p *parser) crossCheck() {
	c := p.c
	if c.Bucket == "" && p.ok("bucket") {
		p.rule(&Error{Key: "bucket", err: ErrMissing, msg: "bucket is required: set it to the name of the destination bucket"})
	}
	if c.Region == "" && p.ok("region") {
		for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
			if v := strings.TrimSpace(p.env(name)); v != "" {
				if !validRegion(v) {
					p.rule(&Error{Key: "region", err: ErrInvalidValue, msg: "region from " + name + " " + quote(v) + " is not valid: set region, or fix " + name})
				} else {
					c.Region = v
				}
				break
			}
		}
		if c.Region == "" && p.ok("region") {
			p.rule(&Error{Key: "region", err: ErrMissing, msg: "region is not set and neither AWS_REGION nor AWS_DEFAULT_REGION is in the environment: set region, e.g. region us-east-1"})
		}
	}
	if c.Region != "" && p.ok("region", "endpoint") {
		if msg := checkRegion(c.Region, c.Endpoint != ""); msg != "" {
			p.rule(&Error{Key: "region", err: ErrInvalidValue, msg: msg})
		}
	}
	if c.ExternalID != "" && c.RoleARN == "" && p.ok("role_arn") {
		p.rule(conflict("external_id", "external_id is set but role_arn is not: set role_arn, or remove external_id"))
	}
	if c.STSEndpoint != "" && c.RoleARN == "" && p.ok("role_arn") {
		p.rule(conflict("sts_endpoint", "sts_endpoint is set but role_arn is not: set role_arn, or remove sts_endpoint"))
	}
	kms := strings.HasPrefix(c.ServerSideEncryption, "aws:kms")
	if c.SSEKMSKeyID != "" && !kms && p.ok("server_side_encryption") {
		p.rule(conflict("sse_kms_key_id", "sse_kms_key_id needs server_side_encryption aws:kms (it is "+sseShown(c.ServerSideEncryption)+")"))
	}
	if c.BucketKeyEnabled && !kms && p.ok("server_side_encryption") {
		p.rule(conflict("bucket_key_enabled", "bucket_key_enabled needs server_side_encryption aws:kms (it is "+sseShown(c.ServerSideEncryption)+")"))
	}
	if !c.StoreDirOff && c.StoreDirLimitSize != 0 && c.StoreDirLimitSize < c.TotalFileSize && p.ok("store_dir", "store_dir_limit_size", "total_file_size") {
		p.rule(conflict("store_dir_limit_size", "store_dir_limit_size ("+strconv.FormatInt(c.StoreDirLimitSize, 10)+" bytes) is below total_file_size ("+strconv.FormatInt(c.TotalFileSize, 10)+" bytes), so a batch could never complete: raise store_dir_limit_size or lower total_file_size"))
	}
	if c.SendContentMD5 && c.ChecksumAlgorithm != checksum.None && p.ok("send_content_md5", "checksum_algorithm") {
		if p.set["checksum_algorithm"] {
			p.rule(conflict("checksum_algorithm", "send_content_md5 and checksum_algorithm "+c.ChecksumAlgorithm.String()+" are both set: keep one (either satisfies Object Lock; checksum_algorithm costs less CPU), or set checksum_algorithm none"))
		} else {
			c.ChecksumAlgorithm = checksum.None // Content-MD5 as before, not two checksums
		}
	}
	if !p.set["compression"] {
		c.Compression = compress.Gzip
		if c.Format == batch.FormatParquet {
			c.Compression = compress.Zstd
		}
	}
	if c.Format == batch.FormatParquet && c.OutputFormat == OutputRaw {
		p.rule(conflict("output_format", "output_format raw writes the original lines, which have no columns: use format json_lines with output_format raw, or output_format normalized with format parquet"))
	}
	if c.S3KeyFormat == c.OtherKeyFormat && p.ok("s3_key_format", "other_key_format") {
		p.rule(conflict("other_key_format", "other_key_format is the same as s3_key_format: give other records their own prefix, e.g. envoy-other-logs/..."))
	}
	if p.ok("dead_letter_prefix", "s3_key_format", "other_key_format", "other_logs") {
		if err := checkDeadLetter(c); err != nil {
			p.rule(err)
		}
	}
	if p.set["other_key_format"] && c.OtherLogs != OtherS3 && p.ok("other_logs") {
		p.rule(conflict("other_key_format", "other_key_format is set but other_logs is "+string(c.OtherLogs)+": set other_logs s3, or remove other_key_format"))
	}
	if c.OtherLogs == OtherCloudWatch {
		if c.LogGroupName == "" && p.ok("log_group_name") {
			p.rule(&Error{Key: "log_group_name", err: ErrMissing, msg: "other_logs cloudwatch needs log_group_name: set it, e.g. log_group_name /ecs/my-service/proxy"})
		}
		if c.LogStreamName != "" && c.LogStreamPrefix != "" {
			p.rule(conflict("log_stream_prefix", "log_stream_name and log_stream_prefix are both set: keep one"))
		}
	} else if p.ok("other_logs") {
		for _, k := range []string{"log_group_name", "log_stream_name", "log_stream_prefix", "auto_create_group", "log_retention_days", "log_group_class"} {
			if p.set[k] && !applies(c, k, all) {
				p.rule(conflict(k, k+" is set but other_logs is "+string(c.OtherLogs)+": set other_logs cloudwatch, or remove "+k))
			}
		}
	}
	if c.Metrics && c.MetricsLogGroupName == "" && p.ok("metrics_log_group_name") {
		p.rule(&Error{Key: "metrics_log_group_name", err: ErrMissing, msg: "metrics emf needs metrics_log_group_name: set it, e.g. metrics_log_group_name /ecs/my-service/metrics"})
	}
	if !c.Metrics && p.ok("metrics") {
		for _, k := range []string{"metrics_log_group_name", "metrics_namespace", "metrics_dimensions", "metrics_resolution", "metrics_max_routes"} {
			if p.set[k] && !applies(c, k, all) {
				p.rule(conflict(k, k+" is set but metrics is off: set metrics emf, or remove "+k))
			}
		}
	}
	if c.RedactMode == redact.ModeHash && c.RedactHashKey == nil && p.ok("redact_hash_key") {
		p.rule(&Error{Key: "redact_hash_key", err: ErrMissing, msg: "redact_mode hash needs redact_hash_key: pass a secret of at least 16 bytes with FireLens secretOptions"})
	}
	if c.RedactMode != redact.ModeHash && c.RedactHashKey != nil && p.ok("redact_mode") {
		p.rule(conflict("redact_hash_key", "redact_hash_key is set but redact_mode is "+c.RedactMode.String()+": set redact_mode hash, or remove redact_hash_key"))
	}
}

// checkDeadLetter refuses a dead_letter_prefix that overlaps the fixed start of a
// key format: a table over that format's objects (docker/athena.sql) would read the
// dead letters, which are not records of its schema.
func checkDeadLetter(c *Config) *Error {
	dl := c.DeadLetterPrefix
	if dl == "" {
		return nil
	}
	formats := []struct {
		key    string
		prefix string
	}{{"s3_key_format", c.S3Key.Prefix()}}
	if c.OtherLogs == OtherS3 {
		formats = append(formats, struct{ key, prefix string }{"other_key_format", c.OtherKey.Prefix()})
	}
	for _, f := range formats {
		// A table's location is the fixed start up to its last '/' (LOCATION
		// s3://bucket/envoy-access-logs/ for the default format).
		fixed := strings.TrimPrefix(f.prefix, "/")
		dir := fixed[:strings.LastIndexByte(fixed, '/')+1]
		if fixed != "" && (strings.HasPrefix(fixed, dl) || strings.HasPrefix(dl, fixed) || dir != "" && strings.HasPrefix(dl, dir)) {
			return conflict("dead_letter_prefix", "dead_letter_prefix "+quote(dl)+" overlaps "+f.key+", whose keys start with "+quote(fixed)+", so a table over those objects would read the dead letters: give dead_letter_prefix a prefix of its own, apart from "+quote(fixed)+" (the default is "+DefaultDeadLetterPrefix+"), or set it off")
		}
	}
	return nil
}

func sseShown(s string) string {
	if s == "" {
		return "not set"
	}
	return s
}
