// Package config turns the keys of one envoy_s3 [OUTPUT] section into one
// typed, validated Config, so that every mistake a user can make in a task
// definition fails FLBPluginInit with one line that names the key, the value
// and what is allowed, instead of surfacing hours later as a missing object.
//
// The keys are read through Getter, a one-method view of Fluent Bit's
// output_get_property, so the whole table is tested without cgo. Keys is the
// single table the parser, the README and the tests are built from: a key
// cannot be parsed without a row there, nor documented without being parsed.
//
// Value syntax follows Fluent Bit, so a user's habits carry over:
//   - sizes as flb_utils_size_to_bytes reads them: a number (fractions allowed)
//     with K, KB, M, MB, G or GB, DECIMAL (50M = 50,000,000 bytes, as in every
//     Fluent Bit release since 2017); KiB, MiB and GiB are binary (1024).
//   - durations as flb_utils_time_to_seconds reads them: an integer with s, m,
//     h or d (either case; a bare integer is seconds), plus Go's forms such as
//     1m30s.
//   - booleans as flb_utils_bool reads them: true/false, on/off, yes/no, and
//     also 1/0.
//   - key names are case-insensitive (Fluent Bit compares them with strcasecmp).
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/emf"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
	"github.com/envoy-s3/envoy_s3/internal/redact"
)

// Getter reads one configuration key. "" means the key is unset, as with
// Fluent Bit's output_get_property. Lookups should ignore case.
type Getter interface{ Get(key string) string }

// Sentinel errors; every error Parse returns is an *Error wrapping one of them.
var (
	ErrUnknownKey   = errors.New("envoy_s3: unknown key")
	ErrInvalidValue = errors.New("envoy_s3: invalid value")
	ErrMissing      = errors.New("envoy_s3: missing value")
	ErrConflict     = errors.New("envoy_s3: conflicting keys")
)

// Error is a configuration error: one line, prefixed "envoy_s3: ", that never
// contains the value of a secret key.
type Error struct {
	Key string // the key at fault (for a conflict, the key to change)
	msg string
	err error
}

func (e *Error) Error() string { return "envoy_s3: " + e.msg }
func (e *Error) Unwrap() error { return e.err }

// OutputFormat is what one NDJSON line in S3 holds.
type OutputFormat string

// OutputFormat values.
const (
	OutputNormalized OutputFormat = "normalized"
	OutputRaw        OutputFormat = "raw"
)

func (f OutputFormat) String() string { return string(f) }

// OtherLogs is where records that are not access logs go.
type OtherLogs string

// OtherLogs values.
const (
	OtherS3         OtherLogs = "s3"
	OtherCloudWatch OtherLogs = "cloudwatch"
	OtherDrop       OtherLogs = "drop"
)

func (o OtherLogs) String() string { return string(o) }

// IPAnonymize is how client addresses are shortened.
type IPAnonymize string

// IPAnonymize values.
const (
	IPAnonymizeOff      IPAnonymize = "off"
	IPAnonymizeTruncate IPAnonymize = "truncate"
)

func (a IPAnonymize) String() string { return string(a) }

// Config is one validated [OUTPUT] section. Strings are normalised (enum
// case fixed, lists lower-cased and de-duplicated); "" means "not set, use the
// service's default" unless a field says otherwise.
type Config struct {
	Bucket      string
	Region      string
	Endpoint    string // S3-compatible endpoint URL; "" = AWS. Use path-style when set.
	RoleARN     string
	ExternalID  string // secret-ish: never logged
	STSEndpoint string

	S3KeyFormat string
	S3Key       *keyformat.Template // S3KeyFormat compiled
	Format      batch.Format
	Compression compress.Codec // of NDJSON objects, or inside Parquet files

	TotalFileSize     int64 // bytes of uncompressed NDJSON that close a batch
	UploadTimeout     time.Duration
	StoreDir          string // absolute, cleaned; meaningless when StoreDirOff
	StoreDirOff       bool
	StoreDirLimitSize int64 // bytes; 0 = no limit

	StorageClass         string // S3 StorageClass, "" = S3 default
	CannedACL            string
	ServerSideEncryption string // "", AES256, aws:kms or aws:kms:dsse
	SSEKMSKeyID          string
	BucketKeyEnabled     bool
	ExpectedBucketOwner  string
	SendContentMD5       bool

	LogKey          string
	AccessLogFormat accesslog.Format
	OutputFormat    OutputFormat

	OtherLogs        OtherLogs
	OtherKeyFormat   string
	OtherKey         *keyformat.Template // OtherKeyFormat compiled
	LogGroupName     string
	LogGroup         *keyformat.Name // LogGroupName compiled
	LogStreamName    string          // one of LogStreamName and LogStreamPrefix is "";
	LogStreamPrefix  string          // with both "", streams are named by the tag
	AutoCreateGroup  bool
	LogRetentionDays int    // 0 = do not set a retention policy
	LogGroupClass    string // STANDARD or INFREQUENT_ACCESS

	RedactQueryParams    []string // lower-case names; ignored when RedactAllQueryParams
	RedactAllQueryParams bool
	RedactFields         []string          // SchemaFields names
	RedactDetectors      []redact.Detector // nil: none
	RedactJSONKeys       []string          // key names whose values are replaced in JSON lines
	RedactMode           redact.Mode
	RedactHashKey        []byte // secret; set only in hash mode
	IPAnonymize          IPAnonymize

	StatsInterval        time.Duration // 0 = no summary
	CloudWatchPricePerGB float64       // USD; 0 = the region's list price

	Metrics             bool            // metrics emf
	MetricsLogGroupName string          // required with Metrics
	MetricsLogGroup     *keyformat.Name // MetricsLogGroupName compiled
	MetricsNamespace    string
	MetricsDimensions   []emf.Dim     // de-duplicated, in event order
	MetricsResolution   time.Duration // time.Minute or time.Second
	MetricsMaxRoutes    int
}

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

	// SchemaFields are the normalised field names (SPEC "What lands in S3"),
	// the names redact_fields accepts.
	SchemaFields = []string{
		"timestamp", "kind", "method", "path", "protocol", "response_code",
		"grpc_status", "response_flags", "bytes_received", "bytes_sent",
		"duration_ms", "upstream_service_time_ms", "forwarded_for", "user_agent",
		"request_id", "authority", "upstream_host", "stream_id",
		"downstream_remote_address", "downstream_remote_port",
		"connection_termination_details", "connection_id", "ecs_cluster",
		"ecs_task_arn", "ecs_task_definition", "container_name", "source",
	}

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
	{Name: "storage_class", Default: "S3 default", Help: "Storage class of uploaded objects: " + orList(StorageClasses) + ".", parse: (*parser).storageClass, text: func(c *Config) string { return c.StorageClass }},
	{Name: "canned_acl", Default: "S3 default", Help: "Canned ACL of uploaded objects: " + orList(CannedACLs) + ".", parse: (*parser).cannedACL, text: func(c *Config) string { return c.CannedACL }},
	{Name: "server_side_encryption", Default: "bucket default", Help: "`AES256`, `aws:kms` or `aws:kms:dsse`.", parse: (*parser).sse, text: func(c *Config) string { return c.ServerSideEncryption }},
	{Name: "sse_kms_key_id", Default: "AWS managed key", Help: "KMS key ID, key ARN, alias (`alias/...`) or alias ARN; needs `server_side_encryption aws:kms`.", parse: (*parser).sseKMSKeyID, text: func(c *Config) string { return c.SSEKMSKeyID }},
	{Name: "bucket_key_enabled", Default: "`false`", Help: "Use an S3 Bucket Key for SSE-KMS; needs `server_side_encryption aws:kms`.", parse: (*parser).bucketKeyEnabled, text: func(c *Config) string { return strconv.FormatBool(c.BucketKeyEnabled) }},
	{Name: "expected_bucket_owner", Default: "none", Help: "12-digit account ID sent with every request; S3 refuses it if another account owns the bucket.", parse: (*parser).expectedBucketOwner, text: func(c *Config) string { return c.ExpectedBucketOwner }},
	{Name: "send_content_md5", Default: "`false`", Help: "Send Content-MD5 with every upload (needed for Object Lock buckets).", parse: (*parser).sendContentMD5, text: func(c *Config) string { return strconv.FormatBool(c.SendContentMD5) }},
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

// parser carries one Parse call's state.
type parser struct {
	c   *Config
	env func(string) string
	key *Key            // the key being parsed
	set map[string]bool // keys the user gave a value
}

// Parse reads every key of Keys through g and validates the result.
// setKeys lists the keys the user wrote (nil when the host cannot list them);
// any of them not in Keys and not a Fluent Bit core key is an error. env reads
// the environment (nil = os.Getenv). The first error found is returned.
func Parse(g Getter, setKeys []string, env func(string) string) (*Config, error) {
	if env == nil {
		env = os.Getenv
	}
	for _, k := range setKeys {
		if err := checkKnown(k); err != nil {
			return nil, err
		}
	}
	p := &parser{c: &Config{}, env: env, set: map[string]bool{}}
	for i := range Keys {
		k := &Keys[i]
		p.key = k
		v := strings.TrimSpace(g.Get(k.Name))
		if v != "" {
			p.set[k.Name] = true
		} else {
			v = k.def
		}
		if v == "" {
			continue
		}
		if err := k.parse(p, v); err != nil {
			return nil, err
		}
	}
	if err := p.crossCheck(); err != nil {
		return nil, err
	}
	return p.c, nil
}

func checkKnown(k string) error {
	name := strings.ToLower(strings.TrimSpace(k))
	if name == "" || isFluentBitKey(name) || keyIndex(name) >= 0 {
		return nil
	}
	q := quote(k)
	if why, ok := s3OnlyKeys[name]; ok {
		return &Error{Key: name, err: ErrUnknownKey, msg: "unknown key " + q + ": " + why + "; see the README's configuration table"}
	}
	hint := ""
	if s := suggest(name); s != "" {
		hint = " (did you mean " + strconv.Quote(s) + "?)"
	}
	return &Error{Key: name, err: ErrUnknownKey, msg: "unknown key " + q + hint + "; see the README's configuration table"}
}

func keyIndex(name string) int {
	for i := range Keys {
		if Keys[i].Name == name {
			return i
		}
	}
	return -1
}

// suggest returns the known key nearest to name by edit distance, if near.
func suggest(name string) string {
	best, bestD := "", math.MaxInt
	for i := range Keys {
		if d := levenshtein(name, Keys[i].Name); d < bestD {
			best, bestD = Keys[i].Name, d
		}
	}
	if bestD <= max(2, len(name)/3) {
		return best
	}
	// A truncated key ("log_stream"): the shortest key it begins.
	best = ""
	for i := range Keys {
		k := Keys[i].Name
		if len(name) >= 4 && strings.HasPrefix(k, name) && (best == "" || len(k) < len(best)) {
			best = k
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// quote renders a user value for an error line: quoted (so control characters
// cannot break the line) and cut to a readable length.
func quote(v string) string {
	const max = 80
	if len(v) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = v[:cut] + "..."
	}
	return strconv.Quote(v)
}

// invalid reports a bad value of the key being parsed, hiding secrets.
func (p *parser) invalid(v, allowed string) error {
	shown := quote(v)
	if p.key.secret {
		shown = "(value hidden)"
	}
	return &Error{Key: p.key.Name, err: ErrInvalidValue, msg: p.key.Name + " " + shown + " is not valid: " + allowed}
}

// enumOf matches v (ignoring case) against the names of allowed and returns
// the value named.
func enumOf[T fmt.Stringer](p *parser, v string, allowed ...T) (T, error) {
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if strings.EqualFold(v, a.String()) {
			return a, nil
		}
		names[i] = a.String()
	}
	var zero T
	return zero, p.invalid(v, "use "+orList(names))
}

// enum matches v against allowed (case-insensitively) and returns the
// allowed spelling.
func (p *parser) enum(v string, allowed []string) (string, error) {
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a, nil
		}
	}
	return "", p.invalid(v, "use "+orList(allowed))
}

func orList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

func intList(s []int) string {
	parts := make([]string, len(s))
	for i, n := range s {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ", ")
}

func (p *parser) bool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "on", "yes", "1":
		return true, nil
	case "false", "off", "no", "0":
		return false, nil
	}
	return false, p.invalid(v, "use true or false (also on/off, yes/no, 1/0)")
}

// ParseSize reads a size the way Fluent Bit's flb_utils_size_to_bytes does
// (K/KB, M/MB, G/GB decimal; fractions allowed), plus KiB/MiB/GiB (binary).
func ParseSize(v string) (int64, bool) {
	s := strings.TrimSpace(v)
	i := len(s)
	for i > 0 && (s[i-1] >= 'a' && s[i-1] <= 'z' || s[i-1] >= 'A' && s[i-1] <= 'Z') {
		i--
	}
	num, unit := strings.TrimSpace(s[:i]), strings.ToUpper(s[i:])
	mult := map[string]float64{
		"": 1, "K": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9,
		"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30,
	}[unit]
	if mult == 0 || num == "" || strings.ContainsAny(num, "eExXpP_+-") {
		return 0, false
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f*mult >= math.MaxInt64/2 {
		return 0, false
	}
	return int64(f * mult), true
}

// ParseDuration reads a duration the way Fluent Bit's
// flb_utils_time_to_seconds does (an integer with s, m, h or d in either
// case; bare = seconds), or in Go's syntax ("1m30s", "500ms").
func ParseDuration(v string) (time.Duration, bool) {
	s := strings.TrimSpace(v)
	if s == "" {
		return 0, false
	}
	digits, unit := s, byte('s')
	if c := s[len(s)-1]; c < '0' || c > '9' {
		digits, unit = s[:len(s)-1], c|0x20 // lower case
	}
	if n, err := strconv.ParseUint(digits, 10, 32); err == nil && digits[0] != '+' {
		mult := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[unit]
		if mult != 0 && n <= uint64(math.MaxInt64/mult) {
			return time.Duration(n) * mult, true
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

var (
	reBucket        = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	reAnyRegion     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	reRoleARN       = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]+$`)
	reExternalID    = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
	reKMSKey        = regexp.MustCompile(`^(arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[\w/+=,.@-]+|alias/[\w/+=,.@-]+|(mrk-)?[0-9a-fA-F-]{32,36})$`)
	reAccount       = regexp.MustCompile(`^[0-9]{12}$`)
	reLogGroupChars = regexp.MustCompile(`^[\w./#-]*$`)
	reParamName     = regexp.MustCompile(`^[^\s=&?#,]+$`)
)

func (p *parser) bucket(v string) error {
	if !reBucket.MatchString(v) || strings.Contains(v, "..") || net.ParseIP(v) != nil {
		return p.invalid(v, "use an S3 bucket name: 3-63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit")
	}
	p.c.Bucket = v
	return nil
}

// validRegion reports whether v can name a region: AWS's or a custom
// endpoint's. Lengths are checked apart from the patterns: a bounded
// repetition such as {1,512} compiles to a copy of its class per position,
// tens of kilobytes held for the life of the process.
func validRegion(v string) bool { return len(v) <= 64 && reAnyRegion.MatchString(v) }

func (p *parser) region(v string) error {
	// A custom endpoint (MinIO, R2, ...) may use any region name; endpoint is
	// parsed later, so region is checked against it in crossCheck.
	if !validRegion(v) {
		return p.invalid(v, "use an AWS region such as us-east-1 or ap-northeast-1")
	}
	p.c.Region = v
	return nil
}

func (p *parser) url(v string) (string, error) {
	if strings.Contains(v, "@") {
		// The value may hold credentials (user:password@host): never echo it.
		return "", &Error{Key: p.key.Name, err: ErrInvalidValue, msg: p.key.Name + " (value hidden: it has a user or password) is not valid: use http(s)://host[:port] without credentials"}
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", p.invalid(v, "use an http:// or https:// URL such as https://s3.example.com:9000")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func (p *parser) endpoint(v string) (err error) {
	p.c.Endpoint, err = p.url(v)
	return err
}

func (p *parser) stsEndpoint(v string) (err error) {
	p.c.STSEndpoint, err = p.url(v)
	return err
}

func (p *parser) roleARN(v string) error {
	if !reRoleARN.MatchString(v) || len(v)-strings.LastIndexByte(v, '/')-1 > 64 { // role names: 1-64
		return p.invalid(v, "use an IAM role ARN such as arn:aws:iam::123456789012:role/envoy-s3-writer")
	}
	p.c.RoleARN = v
	return nil
}

func (p *parser) externalID(v string) error {
	if len(v) < 2 || len(v) > 1224 || !reExternalID.MatchString(v) {
		return p.invalid(v, "use 2 to 1224 letters, digits and +=,.@:/-")
	}
	p.c.ExternalID = v
	return nil
}

func (p *parser) keyFormat(v string) (*keyformat.Template, error) {
	t, err := keyformat.Compile(v)
	if err != nil {
		var se *keyformat.SyntaxError
		reason := err.Error()
		if errors.As(err, &se) {
			reason = se.Reason
		}
		return nil, p.invalid(v, reason)
	}
	return t, nil
}

func (p *parser) s3KeyFormat(v string) (err error) {
	p.c.S3KeyFormat = v
	p.c.S3Key, err = p.keyFormat(v)
	return err
}

func (p *parser) otherKeyFormat(v string) (err error) {
	p.c.OtherKeyFormat = v
	p.c.OtherKey, err = p.keyFormat(v)
	return err
}

func (p *parser) format(v string) (err error) {
	p.c.Format, err = enumOf(p, v, batch.FormatJSONLines, batch.FormatParquet)
	return err
}

// compression is parsed after format, whose codecs it checks.
func (p *parser) compression(v string) (err error) {
	if p.c.Format == batch.FormatParquet {
		p.c.Compression, err = enumOf(p, v, compress.Zstd, compress.Snappy, compress.Gzip, compress.None)
	} else {
		p.c.Compression, err = enumOf(p, v, compress.Gzip, compress.Zstd, compress.None)
	}
	return err
}

func (p *parser) totalFileSize(v string) error {
	n, ok := ParseSize(v)
	if !ok || n < MinTotalFileSize || n > MaxTotalFileSize {
		return p.invalid(v, "use a size from 1K to 5G, such as 50M")
	}
	p.c.TotalFileSize = n
	return nil
}

func (p *parser) uploadTimeout(v string) error {
	d, ok := ParseDuration(v)
	if !ok || d < MinUploadTimeout || d > MaxUploadTimeout {
		return p.invalid(v, "use a duration from 1s to 24h, such as 30s, 5m or 1h")
	}
	p.c.UploadTimeout = d
	return nil
}

func (p *parser) storeDir(v string) error {
	if strings.EqualFold(v, "off") {
		p.c.StoreDirOff, p.c.StoreDir = true, ""
		return nil
	}
	if !filepath.IsAbs(v) || strings.ContainsRune(v, 0) {
		return p.invalid(v, "use an absolute directory path such as /var/lib/envoy_s3, or off")
	}
	if systemDirs[filepath.Clean(v)] {
		return p.invalid(v, "it is a system directory the spool would write into; use a directory of its own such as /var/lib/envoy_s3, or off")
	}
	p.c.StoreDirOff, p.c.StoreDir = false, filepath.Clean(v)
	return nil
}

// systemDirs are refused as store_dir: the spool creates and removes entries in it.
var systemDirs = map[string]bool{
	"/": true, "/bin": true, "/boot": true, "/dev": true, "/etc": true, "/home": true, "/lib": true,
	"/lib32": true, "/lib64": true, "/opt": true, "/proc": true, "/root": true, "/run": true,
	"/sbin": true, "/srv": true, "/sys": true, "/tmp": true, "/usr": true, "/var": true,
	"/var/lib": true, "/var/log": true, "/var/tmp": true, "/usr/local": true, "/fluent-bit": true,
}

func (p *parser) storeDirLimitSize(v string) error {
	n, ok := ParseSize(v)
	if !ok {
		return p.invalid(v, "use a size such as 1G or 500M, or 0 for no limit")
	}
	p.c.StoreDirLimitSize = n
	return nil
}

func (p *parser) storageClass(v string) (err error) {
	p.c.StorageClass, err = p.enum(v, StorageClasses)
	return err
}

func (p *parser) cannedACL(v string) (err error) {
	p.c.CannedACL, err = p.enum(v, CannedACLs)
	return err
}

func (p *parser) sse(v string) (err error) {
	p.c.ServerSideEncryption, err = p.enum(v, []string{"AES256", "aws:kms", "aws:kms:dsse"})
	return err
}

func (p *parser) sseKMSKeyID(v string) error {
	if !reKMSKey.MatchString(v) {
		return p.invalid(v, "use a KMS key ID, key ARN, alias/NAME or alias ARN")
	}
	p.c.SSEKMSKeyID = v
	return nil
}

func (p *parser) bucketKeyEnabled(v string) (err error) {
	p.c.BucketKeyEnabled, err = p.bool(v)
	return err
}

func (p *parser) expectedBucketOwner(v string) error {
	if !reAccount.MatchString(v) {
		return p.invalid(v, "use the 12-digit AWS account ID of the bucket owner")
	}
	p.c.ExpectedBucketOwner = v
	return nil
}

func (p *parser) sendContentMD5(v string) (err error) {
	p.c.SendContentMD5, err = p.bool(v)
	return err
}

func (p *parser) logKey(v string) error {
	if len(v) > 256 || strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 || !utf8.ValidString(v) {
		return p.invalid(v, "use a record key name of up to 256 printable characters, such as log")
	}
	p.c.LogKey = v
	return nil
}

func (p *parser) accessLogFormat(v string) (err error) {
	p.c.AccessLogFormat, err = enumOf(p, v, accesslog.FormatAuto, accesslog.FormatJSON, accesslog.FormatText)
	return err
}

func (p *parser) outputFormat(v string) error {
	s, err := p.enum(v, []string{"normalized", "raw"})
	p.c.OutputFormat = OutputFormat(s)
	return err
}

func (p *parser) otherLogs(v string) error {
	s, err := p.enum(v, []string{"s3", "cloudwatch", "drop"})
	p.c.OtherLogs = OtherLogs(s)
	return err
}

// logGroupName accepts the record variables of s3_key_format ($CLUSTER, $TASK_ID, ...)
// and checks the rest against CloudWatch's rules; values are made safe when expanded.
func (p *parser) logGroupName(v string) (err error) {
	p.c.LogGroup, err = p.groupName(v)
	p.c.LogGroupName = v
	return err
}

func (p *parser) groupName(v string) (*keyformat.Name, error) {
	n, err := keyformat.CompileName(v)
	if err != nil {
		return nil, p.invalid(v, err.Error())
	}
	if lit := n.Literal(); (lit == v && (len(v) == 0 || len(v) > 512)) || !reLogGroupChars.MatchString(lit) {
		return nil, p.invalid(v, "use 1 to 512 letters, digits and . _ - / #, and the variables $TAG, $TAG[n], $CLUSTER, $TASK_ID, $FAMILY, $CONTAINER")
	}
	return n, nil
}

func (p *parser) streamName(v string) (string, error) {
	n, err := keyformat.CompileName(v)
	if err != nil {
		return "", p.invalid(v, err.Error())
	}
	lit := n.Literal()
	if len(v) > 512 || strings.ContainsAny(lit, ":*") || strings.IndexFunc(lit, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 || !utf8.ValidString(v) {
		return "", p.invalid(v, "use up to 512 printable characters other than ':' and '*', and the variables $TAG, $TAG[n], $CLUSTER, $TASK_ID, $FAMILY, $CONTAINER")
	}
	return v, nil
}

func (p *parser) logStreamName(v string) (err error) {
	p.c.LogStreamName, err = p.streamName(v)
	return err
}

func (p *parser) logStreamPrefix(v string) (err error) {
	p.c.LogStreamPrefix, err = p.streamName(v)
	return err
}

func (p *parser) autoCreateGroup(v string) (err error) {
	p.c.AutoCreateGroup, err = p.bool(v)
	return err
}

func (p *parser) logRetentionDays(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || (n != 0 && !slices.Contains(LogRetentionDays, n)) {
		return p.invalid(v, "use 0 (never expire) or one of "+intList(LogRetentionDays))
	}
	p.c.LogRetentionDays = n
	return nil
}

func (p *parser) logGroupClass(v string) (err error) {
	p.c.LogGroupClass, err = p.enum(v, []string{"STANDARD", "INFREQUENT_ACCESS"})
	return err
}

// list splits a comma list, trimming and lower-casing items and dropping
// duplicates. "none" alone gives an empty list; "default" expands to def;
// special, when not "", may appear only alone and sets *only.
func (p *parser) list(v string, def []string, special string, only *bool, check func(string) error) ([]string, error) {
	var out []string
	items := strings.Split(v, ",")
	for _, it := range items {
		it = strings.ToLower(strings.TrimSpace(it))
		switch {
		case it == "":
			continue
		case it == "none" || (special != "" && it == special):
			if len(items) != 1 {
				return nil, p.invalid(v, "write "+it+" alone, not in a list")
			}
			if it == special {
				*only = true
			}
			return nil, nil
		case it == "default" && def != nil:
			for _, d := range def {
				if !slices.Contains(out, d) {
					out = append(out, d)
				}
			}
			continue
		}
		if err := check(it); err != nil {
			return nil, err
		}
		if !slices.Contains(out, it) {
			out = append(out, it)
		}
	}
	if len(out) == 0 {
		return nil, p.invalid(v, "give a comma list of names, or none")
	}
	return out, nil
}

func (p *parser) redactQueryParams(v string) (err error) {
	p.c.RedactAllQueryParams = false
	p.c.RedactQueryParams, err = p.list(v, DefaultRedactQueryParams, "*", &p.c.RedactAllQueryParams, func(name string) error {
		if !reParamName.MatchString(name) || utf8.RuneCountInString(name) > 128 {
			return p.invalid(v, "parameter names cannot contain spaces or = & ? #")
		}
		return nil
	})
	return err
}

// member checks that name is one of names, suggesting the nearest.
func (p *parser) member(v, name string, names []string, what string) error {
	if slices.Contains(names, name) {
		return nil
	}
	best, bestD := "", math.MaxInt
	for _, n := range names {
		if d := levenshtein(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	hint := ""
	if bestD <= max(2, len(name)/3) {
		hint = " (did you mean " + strconv.Quote(best) + "?)"
	}
	return p.invalid(v, strconv.Quote(name)+" is not "+what+hint+": use "+orList(names))
}

func (p *parser) redactFields(v string) (err error) {
	p.c.RedactFields, err = p.list(v, nil, "", nil, func(name string) error {
		return p.member(v, name, SchemaFields, "a field of the normalized schema")
	})
	return err
}

func (p *parser) redactDetectors(v string) error {
	names, err := p.list(v, DefaultRedactDetectors, "", nil, func(name string) error {
		return p.member(v, name, Detectors, "a detector")
	})
	p.c.RedactDetectors = nil
	for _, n := range names {
		p.c.RedactDetectors = append(p.c.RedactDetectors, redact.Detector(slices.Index(Detectors, n)))
	}
	return err
}

func (p *parser) redactJSONKeys(v string) (err error) {
	p.c.RedactJSONKeys, err = p.list(v, DefaultRedactJSONKeys, "", nil, func(name string) error {
		if _, err := redact.NewNames([]string{name}); err != nil || name == "*" {
			return p.invalid(v, "use key names of at most 64 bytes without & = ? # or spaces, or *part* for names containing part")
		}
		return nil
	})
	return err
}

func (p *parser) redactMode(v string) (err error) {
	p.c.RedactMode, err = enumOf(p, v, redact.ModeMask, redact.ModeHash)
	return err
}

func (p *parser) redactHashKey(v string) error {
	if len(v) < MinHashKeyLen {
		return p.invalid(v, "use at least 16 bytes of random text (for example openssl rand -hex 32)")
	}
	p.c.RedactHashKey = []byte(v)
	return nil
}

func (p *parser) ipAnonymize(v string) error {
	s, err := p.enum(v, []string{"off", "truncate"})
	p.c.IPAnonymize = IPAnonymize(s)
	return err
}

func (p *parser) statsInterval(v string) error {
	if strings.EqualFold(v, "off") {
		p.c.StatsInterval = 0
		return nil
	}
	d, ok := ParseDuration(v)
	if !ok || (d != 0 && d < time.Second) || d > MaxStatsInterval {
		return p.invalid(v, "use a duration from 1s to 24h, such as 60s or 5m, or 0 to turn the summary off")
	}
	p.c.StatsInterval = d
	return nil
}

func (p *parser) cloudWatchPrice(v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 100 {
		return p.invalid(v, "use a price in USD per GB such as 0.76, or 0 for the region's list price")
	}
	p.c.CloudWatchPricePerGB = f
	return nil
}

func (p *parser) metrics(v string) error {
	s, err := p.enum(v, []string{"off", "emf"})
	p.c.Metrics = s == "emf"
	return err
}

func (p *parser) metricsLogGroupName(v string) (err error) {
	p.c.MetricsLogGroup, err = p.groupName(v)
	p.c.MetricsLogGroupName = v
	return err
}

var reNamespace = regexp.MustCompile(`^[A-Za-z0-9.\-_/#: ]+$`)

func (p *parser) metricsNamespace(v string) error {
	if len(v) > 255 || !reNamespace.MatchString(v) || strings.HasPrefix(v, "AWS/") {
		return p.invalid(v, "use 1 to 255 letters, digits, spaces and . - _ / # :, not starting with AWS/")
	}
	p.c.MetricsNamespace = v
	return nil
}

func (p *parser) metricsDimensions(v string) error {
	names, err := p.list(v, nil, "", nil, func(name string) error {
		return p.member(v, name, emf.DimNames[:], "a metrics dimension")
	})
	p.c.MetricsDimensions = nil
	for _, n := range names {
		p.c.MetricsDimensions = append(p.c.MetricsDimensions, emf.Dim(slices.Index(emf.DimNames[:], n)))
	}
	slices.Sort(p.c.MetricsDimensions) // the order of the events' dimensions
	return err
}

func (p *parser) metricsResolution(v string) error {
	d, ok := ParseDuration(v)
	if !ok || (d != time.Second && d != time.Minute) {
		return p.invalid(v, "use 60s (standard resolution) or 1s (high resolution)")
	}
	p.c.MetricsResolution = d
	return nil
}

func (p *parser) metricsMaxRoutes(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxMetricsRoutes {
		return p.invalid(v, "use a number of routes from 1 to 10000, such as 100")
	}
	p.c.MetricsMaxRoutes = n
	return nil
}

// conflict reports a rule that spans keys; key is the one to change.
func conflict(key, msg string) error {
	return &Error{Key: key, err: ErrConflict, msg: msg}
}

func (p *parser) crossCheck() error {
	c := p.c
	if c.Bucket == "" {
		return &Error{Key: "bucket", err: ErrMissing, msg: "bucket is required: set it to the name of the destination bucket"}
	}
	if c.Region == "" {
		for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
			if v := strings.TrimSpace(p.env(name)); v != "" {
				if !validRegion(v) {
					return &Error{Key: "region", err: ErrInvalidValue, msg: "region from " + name + " " + quote(v) + " is not valid: set region, or fix " + name}
				}
				c.Region = v
				break
			}
		}
		if c.Region == "" {
			return &Error{Key: "region", err: ErrMissing, msg: "region is not set and neither AWS_REGION nor AWS_DEFAULT_REGION is in the environment: set region, e.g. region us-east-1"}
		}
	}
	if msg := checkRegion(c.Region, c.Endpoint != ""); msg != "" {
		return &Error{Key: "region", err: ErrInvalidValue, msg: msg}
	}
	if c.ExternalID != "" && c.RoleARN == "" {
		return conflict("external_id", "external_id is set but role_arn is not: set role_arn, or remove external_id")
	}
	if c.STSEndpoint != "" && c.RoleARN == "" {
		return conflict("sts_endpoint", "sts_endpoint is set but role_arn is not: set role_arn, or remove sts_endpoint")
	}
	kms := strings.HasPrefix(c.ServerSideEncryption, "aws:kms")
	if c.SSEKMSKeyID != "" && !kms {
		return conflict("sse_kms_key_id", "sse_kms_key_id needs server_side_encryption aws:kms (it is "+sseShown(c.ServerSideEncryption)+")")
	}
	if c.BucketKeyEnabled && !kms {
		return conflict("bucket_key_enabled", "bucket_key_enabled needs server_side_encryption aws:kms (it is "+sseShown(c.ServerSideEncryption)+")")
	}
	if !c.StoreDirOff && c.StoreDirLimitSize != 0 && c.StoreDirLimitSize < c.TotalFileSize {
		return conflict("store_dir_limit_size", "store_dir_limit_size ("+strconv.FormatInt(c.StoreDirLimitSize, 10)+" bytes) is below total_file_size ("+strconv.FormatInt(c.TotalFileSize, 10)+" bytes), so a batch could never complete: raise store_dir_limit_size or lower total_file_size")
	}
	if !p.set["compression"] {
		c.Compression = compress.Gzip
		if c.Format == batch.FormatParquet {
			c.Compression = compress.Zstd
		}
	}
	if c.Format == batch.FormatParquet && c.OutputFormat == OutputRaw {
		return conflict("output_format", "output_format raw writes the original lines, which have no columns: use format json_lines with output_format raw, or output_format normalized with format parquet")
	}
	if c.S3KeyFormat == c.OtherKeyFormat {
		return conflict("other_key_format", "other_key_format is the same as s3_key_format: give other records their own prefix, e.g. envoy-other-logs/...")
	}
	if p.set["other_key_format"] && c.OtherLogs != OtherS3 {
		return conflict("other_key_format", "other_key_format is set but other_logs is "+string(c.OtherLogs)+": set other_logs s3, or remove other_key_format")
	}
	if c.OtherLogs == OtherCloudWatch {
		if c.LogGroupName == "" {
			return &Error{Key: "log_group_name", err: ErrMissing, msg: "other_logs cloudwatch needs log_group_name: set it, e.g. log_group_name /ecs/my-service/proxy"}
		}
		if c.LogStreamName != "" && c.LogStreamPrefix != "" {
			return conflict("log_stream_prefix", "log_stream_name and log_stream_prefix are both set: keep one")
		}
	} else {
		for _, k := range []string{"log_group_name", "log_stream_name", "log_stream_prefix", "auto_create_group", "log_retention_days", "log_group_class"} {
			if p.set[k] && !applies(c, k, all) {
				return conflict(k, k+" is set but other_logs is "+string(c.OtherLogs)+": set other_logs cloudwatch, or remove "+k)
			}
		}
	}
	if c.Metrics && c.MetricsLogGroupName == "" {
		return &Error{Key: "metrics_log_group_name", err: ErrMissing, msg: "metrics emf needs metrics_log_group_name: set it, e.g. metrics_log_group_name /ecs/my-service/metrics"}
	}
	if !c.Metrics {
		for _, k := range []string{"metrics_log_group_name", "metrics_namespace", "metrics_dimensions", "metrics_resolution", "metrics_max_routes"} {
			if p.set[k] && !applies(c, k, all) {
				return conflict(k, k+" is set but metrics is off: set metrics emf, or remove "+k)
			}
		}
	}
	if c.RedactMode == redact.ModeHash && c.RedactHashKey == nil {
		return &Error{Key: "redact_hash_key", err: ErrMissing, msg: "redact_mode hash needs redact_hash_key: pass a secret of at least 16 bytes with FireLens secretOptions"}
	}
	if c.RedactMode != redact.ModeHash && c.RedactHashKey != nil {
		return conflict("redact_hash_key", "redact_hash_key is set but redact_mode is "+c.RedactMode.String()+": set redact_mode hash, or remove redact_hash_key")
	}
	return nil
}

func sseShown(s string) string {
	if s == "" {
		return "not set"
	}
	return s
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
