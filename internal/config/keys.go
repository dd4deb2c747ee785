package config

// Keys is the one table of configuration keys: how each is parsed (values.go),
// written back out (Properties), documented (MarkdownTable) and checked.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/checksum"
	"github.com/envoy-s3/envoy_s3/internal/emf"
	"github.com/envoy-s3/envoy_s3/internal/redact"
)

// Defaults and vocabularies, exported so the pipeline and the README use the
// very lists that are validated here.
var (
	// DefaultS3KeyFormat is Hive-style, matching docker/'s Athena table.
	DefaultS3KeyFormat = "envoy-access-logs/cluster=$CLUSTER/family=$FAMILY/dt=%Y-%m-%d/hour=%H/$TASK_ID-%Y%m%dT%H%M%SZ-$UUID"
	// DefaultOtherKeyFormat is DefaultS3KeyFormat under envoy-other-logs/.
	DefaultOtherKeyFormat = "envoy-other-logs/cluster=$CLUSTER/family=$FAMILY/dt=%Y-%m-%d/hour=%H/$TASK_ID-%Y%m%dT%H%M%SZ-$UUID"

	// DefaultRedactQueryParams are the built-in sensitive query parameter
	// names and "*part*" entries (internal/redact owns the list).
	DefaultRedactQueryParams = redact.DefaultQueryParams()

	// Detectors are the names redact_detectors accepts.
	Detectors = redact.DetectorNames()
	// DefaultRedactDetectors are on unless redact_detectors says otherwise.
	DefaultRedactDetectors = redact.DefaultDetectorNames()

	// DefaultRedactJSONKeys are the built-in secret key names of redact_json_keys.
	DefaultRedactJSONKeys = redact.DefaultJSONKeys()

	// SchemaFields are the normalised field names, the names redact_fields accepts.
	SchemaFields = accesslog.FieldNames()

	// LogRetentionDays are the values CloudWatch Logs' PutRetentionPolicy accepts.
	LogRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

	// StorageClasses are the S3 storage classes an upload may ask for.
	StorageClasses = []string{"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "OUTPOSTS", "EXPRESS_ONEZONE"}
	// CannedACLs are S3's canned ACLs for objects.
	CannedACLs = []string{"private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read", "bucket-owner-read", "bucket-owner-full-control"}
)

// Limits enforced on sizes and durations.
const (
	MinTotalFileSize = 1_000         // 1K
	MaxTotalFileSize = 5_000_000_000 // 5G: under S3's 5 GiB single-PUT limit with room for codec overhead
	MinUploadTimeout = time.Second
	MaxUploadTimeout = 24 * time.Hour
	MaxStatsInterval = 24 * time.Hour
	MinHashKeyLen    = 16 // bytes of redact_hash_key
)

// Key is one row of the configuration table.
type Key struct {
	Name    string // lower case, as in the task definition
	Default string // as the README shows it
	Help    string

	def    string // value parsed when the key is unset; "" = none
	secret bool   // the value never appears in errors
	parse  func(p *parser, v string) error
	text   func(c *Config) string // the value of c, as parse reads it back
}

// Keys is the configuration table, in README order.
var Keys = []Key{
	{Name: "bucket", Default: "(required)", Help: "Destination bucket.", parse: (*parser).bucket, text: func(c *Config) string { return c.Bucket }},
	{Name: "region", Default: "`AWS_REGION`, then `AWS_DEFAULT_REGION`", Help: "AWS region of the bucket (and of STS and CloudWatch Logs). Init fails when none is found, or when it is no AWS region name (with the nearest one suggested); with `endpoint` any name is accepted except a misspelt AWS region.", parse: (*parser).region, text: func(c *Config) string { return c.Region }},
	{Name: "endpoint", Default: "AWS", Help: "S3-compatible endpoint URL (`http://` or `https://`); path-style addressing is used when set.", parse: (*parser).endpoint, text: func(c *Config) string { return c.Endpoint }},
	{Name: "role_arn", Default: "none", Help: "IAM role to assume (through STS) for every AWS call.", parse: (*parser).roleARN, text: func(c *Config) string { return c.RoleARN }},
	{Name: "external_id", Default: "none", Help: "External ID for assuming `role_arn`; never logged.", secret: true, parse: (*parser).externalID, text: func(c *Config) string { return c.ExternalID }},
	{Name: "sts_endpoint", Default: "AWS", Help: "STS endpoint URL used to assume `role_arn`.", parse: (*parser).stsEndpoint, text: func(c *Config) string { return c.STSEndpoint }},
	{Name: "s3_key_format", Default: "`" + DefaultS3KeyFormat + "`", def: DefaultS3KeyFormat, Help: "Object key template; the extension (`.ndjson`, `.ndjson.gz`, `.ndjson.zst`, or `.parquet` with `format parquet`) is appended. Variables: `$TAG`, `$TAG[n]` (tag split on `-` and `.`), `$UUID`, `$INDEX`, `$CLUSTER` (name, not ARN), `$TASK_ID`, `$FAMILY`, `$CONTAINER`; `%Y %m %d %H %M %S` (and `%%`) in UTC from the first record's event time. Variable values are made key-safe (bytes outside `A-Za-z0-9._-` become `_`, empty becomes `unknown`); `-$UUID` is appended when neither `$UUID` nor `$INDEX` is used.", parse: (*parser).s3KeyFormat, text: func(c *Config) string { return c.S3KeyFormat }},
	{Name: "format", Default: "`json_lines`", def: "json_lines", Help: "`json_lines` (NDJSON) or `parquet` (typed columns, rows sorted by time, key extension `.parquet`; needs `output_format normalized`).", parse: (*parser).format, text: func(c *Config) string { return c.Format.String() }},
	{Name: "compression", Default: "`gzip`; `zstd` with `format parquet`", Help: "`gzip`, `zstd` or `none`; with `format parquet`, the codec inside the file: `zstd`, `snappy`, `gzip` or `none`.", parse: (*parser).compression, text: func(c *Config) string { return c.Compression.String() }},
	{Name: "total_file_size", Default: "`50M`", def: "50M", Help: "Upload a batch when its uncompressed size reaches this. Sizes as in Fluent Bit: `K`, `M`, `G` (or `KB`...) are decimal, `KiB`, `MiB`, `GiB` binary; 1K to 5G.", parse: (*parser).totalFileSize, text: func(c *Config) string { return size(c.TotalFileSize) }},
	{Name: "upload_timeout", Default: "`5m`", def: "5m", Help: "Upload a batch when its first record is this old. Durations as in Fluent Bit (`30s`, `5m`, `1h`; a bare number is seconds) or Go (`1m30s`); 1s to 24h.", parse: (*parser).uploadTimeout, text: func(c *Config) string { return duration(c.UploadTimeout) }},
	{Name: "store_dir", Default: "`/tmp/fluent-bit/envoy_s3`", def: "/tmp/fluent-bit/envoy_s3", Help: "Absolute path of the durable spool; `off` keeps batches in memory only.", parse: (*parser).storeDir, text: func(c *Config) string { return map[bool]string{true: "off", false: c.StoreDir}[c.StoreDirOff] }},
	{Name: "store_dir_limit_size", Default: "`1G`", def: "1G", Help: "When the spool holds this much, flush returns RETRY (backpressure); nothing is dropped. `0` = no limit; otherwise at least `total_file_size`.", parse: (*parser).storeDirLimitSize, text: func(c *Config) string { return size(c.StoreDirLimitSize) }},
	{Name: "dead_letter_prefix", Default: "`" + DefaultDeadLetterPrefix + "`", def: DefaultDeadLetterPrefix, Help: "Where in the bucket bytes the spool cannot deliver are uploaded as they are, each with a JSON manifest, then removed from store_dir: ranges recovery cut from damaged batch files, and adopted batches whose recorded bucket no longer exists and that no single instance can take. Keys are `<prefix><cluster>/<task id>/<time>-<uuid>.bin` and `.json`; a `/` is appended when missing. Must not overlap the fixed start of `s3_key_format` or `other_key_format`; `off` keeps them in `<store_dir>/quarantine/`.", parse: (*parser).deadLetterPrefix, text: func(c *Config) string {
		return map[bool]string{true: "off", false: c.DeadLetterPrefix}[c.DeadLetterPrefix == ""]
	}},
	{Name: "storage_class", Default: "S3 default", Help: "Storage class of uploaded objects: " + orList(StorageClasses) + ".", parse: (*parser).storageClass, text: func(c *Config) string { return c.StorageClass }},
	{Name: "canned_acl", Default: "S3 default", Help: "Canned ACL of uploaded objects: " + orList(CannedACLs) + ".", parse: (*parser).cannedACL, text: func(c *Config) string { return c.CannedACL }},
	{Name: "server_side_encryption", Default: "bucket default", Help: "`AES256`, `aws:kms` or `aws:kms:dsse`.", parse: (*parser).sse, text: func(c *Config) string { return c.ServerSideEncryption }},
	{Name: "sse_kms_key_id", Default: "AWS managed key", Help: "KMS key ID, key ARN, alias (`alias/...`) or alias ARN; needs `server_side_encryption aws:kms`.", parse: (*parser).sseKMSKeyID, text: func(c *Config) string { return c.SSEKMSKeyID }},
	{Name: "bucket_key_enabled", Default: "`false`", Help: "Use an S3 Bucket Key for SSE-KMS; needs `server_side_encryption aws:kms`.", parse: (*parser).bucketKeyEnabled, text: func(c *Config) string { return strconv.FormatBool(c.BucketKeyEnabled) }},
	{Name: "expected_bucket_owner", Default: "none", Help: "12-digit account ID sent with every request; S3 refuses it if another account owns the bucket.", parse: (*parser).expectedBucketOwner, text: func(c *Config) string { return c.ExpectedBucketOwner }},
	{Name: "send_content_md5", Default: "`false`", Help: "Send Content-MD5 with every upload (needed for Object Lock buckets).", parse: (*parser).sendContentMD5, text: func(c *Config) string { return strconv.FormatBool(c.SendContentMD5) }},
	{Name: "checksum_algorithm", Default: "`CRC32C` (`none` with `send_content_md5 true`)", def: "CRC32C", Help: "Checksum S3 verifies for every object: `" + strings.Join(stringsOf(checksum.Algorithms), "`, `") + "`. Computed as the object is encoded and sent with PutObject, so S3 refuses a body damaged on its way (the upload is retried) and keeps the checksum. It satisfies Object Lock as `send_content_md5` does; setting both is refused.", parse: (*parser).checksumAlgorithm, text: func(c *Config) string { return c.ChecksumAlgorithm.String() }},
	{Name: "s3_object_tags", Default: "none", Help: "Tags of every object: `key=value,...`, at most 10, keys of 1 to 128 and values of up to 256 letters, digits, spaces and `+ - = . _ : / @`, no key starting with `aws:`. Values may use `$TAG`, `$TAG[n]`, `$CLUSTER`, `$TASK_ID`, `$FAMILY`, `$CONTAINER` (made safe as in keys, the value cut to 256 characters) and `$STREAM` (`access`, `other` or `dead_letter`). Needs `s3:PutObjectTagging`.", parse: (*parser).s3ObjectTags, text: func(c *Config) string { return c.S3ObjectTags }},
	{Name: "log_key", Default: "`log`", def: "log", Help: "Record key holding the raw line.", parse: (*parser).logKey, text: func(c *Config) string { return c.LogKey }},
	{Name: "access_log_format", Default: "`auto`", def: "auto", Help: "`auto`, `json` or `text`: which Service Connect/Envoy access-log syntax to recognise.", parse: (*parser).accessLogFormat, text: func(c *Config) string { return c.AccessLogFormat.String() }},
	{Name: "output_format", Default: "`normalized`", def: "normalized", Help: "`normalized` (the documented schema) or `raw` (the original line, redacted).", parse: (*parser).outputFormat, text: func(c *Config) string { return c.OutputFormat.String() }},
	{Name: "other_logs", Default: "`s3`", def: "s3", Help: "Where records that are not access logs go: `s3` (same bucket, `other_key_format`), `cloudwatch` or `drop`.", parse: (*parser).otherLogs, text: func(c *Config) string { return c.OtherLogs.String() }},
	{Name: "other_key_format", Default: "`" + DefaultOtherKeyFormat + "`", def: DefaultOtherKeyFormat, Help: "Object key template for other records (`other_logs s3`); same syntax as `s3_key_format`, and must differ from it.", parse: (*parser).otherKeyFormat, text: func(c *Config) string { return c.OtherKeyFormat }},
	{Name: "log_group_name", Default: "none", Help: "CloudWatch Logs group for other records; required with `other_logs cloudwatch`. Takes `$TAG`, `$TAG[n]`, `$CLUSTER`, `$TASK_ID`, `$FAMILY`, `$CONTAINER`.", parse: (*parser).logGroupName, text: func(c *Config) string { return c.LogGroupName }},
	{Name: "log_stream_name", Default: "none", Help: "CloudWatch Logs stream; not with `log_stream_prefix`. Takes the same variables.", parse: (*parser).logStreamName, text: func(c *Config) string { return c.LogStreamName }},
	{Name: "log_stream_prefix", Default: "none (stream named by the tag)", Help: "Stream name prefix; the tag is appended, as in Fluent Bit's `cloudwatch_logs`. Takes the same variables.", parse: (*parser).logStreamPrefix, text: func(c *Config) string { return c.LogStreamPrefix }},
	{Name: "auto_create_group", Default: "`false`", Help: "Create the log group if it does not exist.", parse: (*parser).autoCreateGroup, text: func(c *Config) string { return strconv.FormatBool(c.AutoCreateGroup) }},
	{Name: "log_retention_days", Default: "`0` (never expire)", Help: "Retention set on a group this plugin creates: `0` or one of " + intList(LogRetentionDays) + ".", parse: (*parser).logRetentionDays, text: func(c *Config) string { return strconv.Itoa(c.LogRetentionDays) }},
	{Name: "log_group_class", Default: "`STANDARD`", def: "STANDARD", Help: "Class of a group this plugin creates: `STANDARD` or `INFREQUENT_ACCESS`.", parse: (*parser).logGroupClass, text: func(c *Config) string { return c.LogGroupClass }},
	{Name: "redact_query_params", Default: "built-in list", def: "default", Help: "Comma list of query, `;`parameter and `#`fragment names whose values are replaced, compared ignoring case, `-`, `_` and %-escapes; `*part*` matches names containing part; `*` for all, `none` to turn off, `default` for the built-in list: `" + strings.Join(DefaultRedactQueryParams, "`, `") + "`.", parse: (*parser).redactQueryParams, text: func(c *Config) string { return names(c.RedactQueryParams, c.RedactAllQueryParams) }},
	{Name: "redact_fields", Default: "none", Help: "Comma list of normalised fields whose whole value is replaced, e.g. `forwarded_for,user_agent`.", parse: (*parser).redactFields, text: func(c *Config) string { return names(c.RedactFields, false) }},
	{Name: "redact_detectors", Default: "`" + strings.Join(DefaultRedactDetectors, ",") + "`", def: "default", Help: "Comma list of detectors applied to every string written: " + orList(Detectors) + "; `default` for the default set, `none` to turn off.", parse: (*parser).redactDetectors, text: func(c *Config) string { return names(stringsOf(c.RedactDetectors), false) }},
	{Name: "redact_json_keys", Default: "built-in list", def: "default", Help: "Comma list of key names whose values are replaced, at any depth, in JSON log lines that are not access logs (also where the JSON does not parse: cut short, after a prefix, serialised into another string) and in the extra keys of customised JSON access formats; names compare ignoring case, `-`, `_` and %-escapes, and `*part*` matches keys containing part (`*passw*` covers `db_password` and `dbPassword`); `none` to turn off, `default` for the built-in list: " + strings.Join(DefaultRedactJSONKeys, ", ") + ".", parse: (*parser).redactJSONKeys, text: func(c *Config) string { return names(c.RedactJSONKeys, false) }},
	{Name: "redact_mode", Default: "`mask`", def: "mask", Help: "`mask` (replace with `[REDACTED]`) or `hash` (keyed HMAC-SHA256 pseudonym; needs `redact_hash_key`).", parse: (*parser).redactMode, text: func(c *Config) string { return c.RedactMode.String() }},
	{Name: "redact_hash_key", Default: "none", Help: "Secret key (at least 16 bytes) for `redact_mode hash`; pass it with FireLens `secretOptions`. Never logged.", secret: true, parse: (*parser).redactHashKey, text: func(c *Config) string { return string(c.RedactHashKey) }},
	{Name: "ip_anonymize", Default: "`off`", def: "off", Help: "`off` or `truncate` (IPv4 to /24, IPv6 to /48).", parse: (*parser).ipAnonymize, text: func(c *Config) string { return c.IPAnonymize.String() }},
	{Name: "stats_interval", Default: "`60s`", def: "60s", Help: "How often a one-line summary is logged; `0` turns it off.", parse: (*parser).statsInterval, text: func(c *Config) string { return duration(c.StatsInterval) }},
	{Name: "cloudwatch_price_per_gb", Default: "price of the region", Help: "USD per GB of CloudWatch Logs ingestion, used only for the cost line of the summary; `0` = the region's list price.", parse: (*parser).cloudWatchPrice, text: func(c *Config) string { return strconv.FormatFloat(c.CloudWatchPricePerGB, 'g', -1, 64) }},
	{Name: "metrics", Default: "`off`", def: "off", Help: "`off` or `emf`: per-interval route metrics (requests, status classes, latency distributions, bytes) as CloudWatch Embedded Metric Format events; see Route metrics.", parse: (*parser).metrics, text: func(c *Config) string { return map[bool]string{true: "emf", false: "off"}[c.Metrics] }},
	{Name: "metrics_log_group_name", Default: "none", Help: "CloudWatch Logs group the EMF events go to; required with `metrics emf`. Takes the variables of `log_group_name`. Created with `auto_create_group`, `log_retention_days` and `log_group_class`.", parse: (*parser).metricsLogGroupName, text: func(c *Config) string { return c.MetricsLogGroupName }},
	{Name: "metrics_namespace", Default: "`" + DefaultMetricsNamespace + "`", def: DefaultMetricsNamespace, Help: "CloudWatch namespace of the metrics: 1 to 255 letters, digits and `. - _ / # :` or spaces, not starting with `AWS/`.", parse: (*parser).metricsNamespace, text: func(c *Config) string { return c.MetricsNamespace }},
	{Name: "metrics_dimensions", Default: "`cluster,family,authority`", def: "cluster,family,authority", Help: "Comma list of dimensions of every metric: " + orList(emf.DimNames[:]) + ". TCP metrics use only cluster and family.", parse: (*parser).metricsDimensions, text: func(c *Config) string { return names(stringsOf(c.MetricsDimensions), false) }},
	{Name: "metrics_resolution", Default: "`60s`", def: "60s", Help: "Interval of the metrics: `60s`, or `1s` for high-resolution metrics (60 times the events).", parse: (*parser).metricsResolution, text: func(c *Config) string { return duration(c.MetricsResolution) }},
	{Name: "metrics_max_routes", Default: "`100`", def: "100", Help: "Routes (and authorities) named per interval, 1 to 10000: the busiest keep their name, the rest are counted under `other`.", parse: (*parser).metricsMaxRoutes, text: func(c *Config) string { return strconv.Itoa(c.MetricsMaxRoutes) }},
}

// DefaultDeadLetterPrefix is dead_letter_prefix's default: outside the key formats
// default prefixes, so no Athena table of docker/athena.sql reads it.
const DefaultDeadLetterPrefix = "envoy-dead-letter/"

// DefaultMetricsNamespace is metrics_namespace's default.
const DefaultMetricsNamespace = "ServiceConnect/AccessLogs"

// MaxMetricsRoutes bounds metrics_max_routes (and with it the metrics' cost).
const MaxMetricsRoutes = 10000

// fluentBitKeys are handled by Fluent Bit's core for every output; they may
// appear in the property list but are not ours to check.
var fluentBitKeys = []string{"name", "match", "match_regex", "alias", "log_level", "log_suppress_interval", "retry_limit", "workers", "tls", "host", "port", "ipv6", "processors"}

var fluentBitPrefixes = []string{"storage.", "net.", "tls.", "http_", "oauth2", "_debug."}

// s3OnlyKeys are Fluent Bit s3 keys a migrating user may bring along, with
// why envoy_s3 has no such key.
var s3OnlyKeys = map[string]string{
	"use_put_object":               "envoy_s3 always uploads with PutObject",
	"upload_chunk_size":            "envoy_s3 uploads each batch with one PutObject; size batches with total_file_size",
	"part_size":                    "envoy_s3 uploads each batch with one PutObject; size batches with total_file_size",
	"s3_key_format_tag_delimiters": "$TAG[n] always splits the tag on '-' and '.'",
	"static_file_path":             "keys always come from s3_key_format, which gets a $UUID when it has none",
	"json_date_key":                "normalised records always carry an RFC 3339 timestamp field",
	"json_date_format":             "normalised records always carry an RFC 3339 timestamp field",
	"auto_retry_requests":          "envoy_s3 always retries with backoff",
	"retry_exhausted_action":       "envoy_s3 keeps data in store_dir until S3 accepts it",
}

func isFluentBitKey(k string) bool {
	if slices.Contains(fluentBitKeys, k) {
		return true
	}
	for _, p := range fluentBitPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// MarkdownTable renders Keys as the README's configuration table.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| key | default | meaning |\n|---|---|---|\n")
	esc := strings.NewReplacer("|", `\|`, "\n", " ")
	for _, k := range Keys {
		b.WriteString("| `" + k.Name + "` | " + esc.Replace(k.Default) + " | " + esc.Replace(k.Help) + " |\n")
	}
	return b.String()
}

// Properties writes the values of keys of c back out as key/value pairs that
// Parse reads into the same Config: the record a spool directory keeps of its
// destination. A key is left out when c holds no value for it, and when it
// does not apply to c (it only serves a setting that is off), as Parse refuses
// such a key when it is set.
func (c *Config) Properties(keys ...string) map[string]string {
	out := make(map[string]string, len(keys))
	for _, name := range keys {
		i := keyIndex(name)
		if i < 0 || !applies(c, name, func(k string) bool { return slices.Contains(keys, k) }) {
			continue
		}
		if v := Keys[i].text(c); v != "" {
			out[name] = v
		}
	}
	return out
}

// applies reports whether key name takes effect in c: a key that only serves
// another setting does not when that setting is off. Only the settings for which
// has is true count, so that a record of some keys never holds a key whose
// setting it leaves out.
func applies(c *Config, name string, has func(key string) bool) bool {
	on := func(key string, set bool) bool { return set && has(key) }
	switch name {
	case "external_id", "sts_endpoint":
		return on("role_arn", c.RoleARN != "")
	case "sse_kms_key_id", "bucket_key_enabled":
		return on("server_side_encryption", strings.HasPrefix(c.ServerSideEncryption, "aws:kms"))
	case "other_key_format":
		return c.OtherLogs == OtherS3 // the default: safe to write without other_logs
	case "log_group_name", "log_stream_name", "log_stream_prefix":
		return on("other_logs", c.OtherLogs == OtherCloudWatch)
	case "auto_create_group", "log_retention_days", "log_group_class":
		// Group creation settings serve metrics_log_group_name too.
		return on("other_logs", c.OtherLogs == OtherCloudWatch) || on("metrics", c.Metrics)
	case "metrics_log_group_name", "metrics_namespace", "metrics_dimensions", "metrics_resolution", "metrics_max_routes":
		return on("metrics", c.Metrics)
	case "redact_hash_key":
		return on("redact_mode", c.RedactMode == redact.ModeHash)
	}
	return true
}

func all(string) bool { return true }

// size and duration write values the way ParseSize and ParseDuration read them.
func size(n int64) string { return strconv.FormatInt(n, 10) }

func duration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// names writes a list as list reads it: "*" for all, "none" for an empty list.
func names(list []string, all bool) string {
	switch {
	case all:
		return "*"
	case len(list) == 0:
		return "none"
	}
	return strings.Join(list, ",")
}

func stringsOf[T fmt.Stringer](list []T) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = v.String()
	}
	return out
}

// Redaction is the configuration of the redaction engine (redact_fields is the
// caller's: it says which normalised fields are replaced whole).
func (c *Config) Redaction() redact.Config {
	return redact.Config{
		QueryParams:    c.RedactQueryParams,
		AllQueryParams: c.RedactAllQueryParams,
		Detectors:      c.RedactDetectors,
		Mode:           c.RedactMode,
		HashKey:        c.RedactHashKey,
		IPTruncate:     c.IPAnonymize == IPAnonymizeTruncate,
	}
}
