package config

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/checksum"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/emf"
	"github.com/envoy-s3/envoy_s3/internal/redact"
)

// mapGetter answers like Fluent Bit's output_get_property: case-insensitive
// keys, "" for unset.
type mapGetter map[string]string

func (m mapGetter) Get(k string) string {
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return v
		}
	}
	return ""
}

// recordingGetter remembers every key asked for.
type recordingGetter struct {
	mapGetter
	asked []string
}

func (r *recordingGetter) Get(k string) string {
	r.asked = append(r.asked, k)
	return r.mapGetter.Get(k)
}

func noEnv(string) string { return "" }

// parse runs Parse on bucket+region plus kv pairs, listing every given key
// as set.
func parse(kv ...string) (*Config, error) {
	m := mapGetter{"bucket": "acme-logs", "region": "us-east-1"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return Parse(m, keys, noEnv)
}

// fields reads the Config fields each key sets. TestEveryKeyHasCases fails
// when a key of Keys has no entry here.
var fields = map[string]func(c *Config) any{
	"bucket":                 func(c *Config) any { return c.Bucket },
	"region":                 func(c *Config) any { return c.Region },
	"endpoint":               func(c *Config) any { return c.Endpoint },
	"role_arn":               func(c *Config) any { return c.RoleARN },
	"external_id":            func(c *Config) any { return c.ExternalID },
	"sts_endpoint":           func(c *Config) any { return c.STSEndpoint },
	"s3_key_format":          func(c *Config) any { return c.S3KeyFormat + " | " + c.S3Key.String() },
	"format":                 func(c *Config) any { return c.Format },
	"compression":            func(c *Config) any { return c.Compression },
	"total_file_size":        func(c *Config) any { return c.TotalFileSize },
	"upload_timeout":         func(c *Config) any { return c.UploadTimeout },
	"store_dir":              func(c *Config) any { return c.StoreDir + " off=" + strconv.FormatBool(c.StoreDirOff) },
	"store_dir_limit_size":   func(c *Config) any { return c.StoreDirLimitSize },
	"dead_letter_prefix":     func(c *Config) any { return c.DeadLetterPrefix },
	"storage_class":          func(c *Config) any { return c.StorageClass },
	"canned_acl":             func(c *Config) any { return c.CannedACL },
	"server_side_encryption": func(c *Config) any { return c.ServerSideEncryption },
	"sse_kms_key_id":         func(c *Config) any { return c.SSEKMSKeyID },
	"bucket_key_enabled":     func(c *Config) any { return c.BucketKeyEnabled },
	"expected_bucket_owner":  func(c *Config) any { return c.ExpectedBucketOwner },
	"send_content_md5":       func(c *Config) any { return c.SendContentMD5 },
	"checksum_algorithm":     func(c *Config) any { return c.ChecksumAlgorithm },
	"s3_object_tags":         func(c *Config) any { return c.S3ObjectTags + " | " + c.ObjectTags.String() },
	"log_key":                func(c *Config) any { return c.LogKey },
	"access_log_format":      func(c *Config) any { return c.AccessLogFormat },
	"output_format":          func(c *Config) any { return c.OutputFormat },
	"other_logs":             func(c *Config) any { return c.OtherLogs },
	"other_key_format":       func(c *Config) any { return c.OtherKeyFormat + " | " + c.OtherKey.String() },
	"log_group_name":         func(c *Config) any { return c.LogGroupName },
	"log_stream_name":        func(c *Config) any { return c.LogStreamName },
	"log_stream_prefix":      func(c *Config) any { return c.LogStreamPrefix },
	"auto_create_group":      func(c *Config) any { return c.AutoCreateGroup },
	"log_retention_days":     func(c *Config) any { return c.LogRetentionDays },
	"log_group_class":        func(c *Config) any { return c.LogGroupClass },
	"redact_query_params": func(c *Config) any {
		if c.RedactAllQueryParams {
			return "*"
		}
		return strings.Join(c.RedactQueryParams, ",")
	},
	"redact_fields":           func(c *Config) any { return strings.Join(c.RedactFields, ",") },
	"redact_detectors":        func(c *Config) any { return strings.Join(stringsOf(c.RedactDetectors), ",") },
	"redact_json_keys":        func(c *Config) any { return strings.Join(c.RedactJSONKeys, ",") },
	"redact_mode":             func(c *Config) any { return c.RedactMode },
	"redact_hash_key":         func(c *Config) any { return string(c.RedactHashKey) },
	"ip_anonymize":            func(c *Config) any { return c.IPAnonymize },
	"stats_interval":          func(c *Config) any { return c.StatsInterval },
	"cloudwatch_price_per_gb": func(c *Config) any { return c.CloudWatchPricePerGB },
	"metrics":                 func(c *Config) any { return c.Metrics },
	"metrics_log_group_name":  func(c *Config) any { return c.MetricsLogGroupName },
	"metrics_namespace":       func(c *Config) any { return c.MetricsNamespace },
	"metrics_dimensions":      func(c *Config) any { return strings.Join(stringsOf(c.MetricsDimensions), ",") },
	"metrics_resolution":      func(c *Config) any { return c.MetricsResolution },
	"metrics_max_routes":      func(c *Config) any { return c.MetricsMaxRoutes },
}

const (
	hashKey = "s3cr3t-hash-key-0123456789"
	extID   = "ext-id-secret:42"
)

var (
	cw    = []string{"other_logs", "cloudwatch", "log_group_name", "/ecs/x"}
	kms   = []string{"server_side_encryption", "aws:kms"}
	role  = []string{"role_arn", "arn:aws:iam::123456789012:role/w"}
	emfOn = []string{"metrics", "emf", "metrics_log_group_name", "/ecs/x/metrics"}
)

// keyCase sets key to val (val "" = unset) along with `with`, and expects
// field(key) == want, or an error wrapping err.
type keyCase struct {
	key, val string
	with     []string
	want     any
	err      error
	blame    string // the key the error names, when not key
}

var defaultQP = strings.Join(DefaultRedactQueryParams, ",")

var keyCases = []keyCase{
	{key: "bucket", val: "acme-logs", want: "acme-logs"},
	{key: "bucket", val: "my.bucket-2", want: "my.bucket-2"},
	{key: "bucket", val: "Acme", err: ErrInvalidValue},
	{key: "bucket", val: "ab", err: ErrInvalidValue},
	{key: "bucket", val: "a..b", err: ErrInvalidValue},
	{key: "bucket", val: "192.168.1.1", err: ErrInvalidValue},
	{key: "bucket", val: "-abc", err: ErrInvalidValue},
	{key: "bucket", val: "s3://acme", err: ErrInvalidValue},

	{key: "region", val: "ap-northeast-1", want: "ap-northeast-1"},
	{key: "region", val: "us-gov-west-1", want: "us-gov-west-1"},
	{key: "region", val: "ap-northeast1", err: ErrInvalidValue},
	{key: "region", val: "tokyo", err: ErrInvalidValue},
	{key: "region", val: "us east 1", err: ErrInvalidValue},
	{key: "region", val: "local", with: []string{"endpoint", "http://127.0.0.1:9000"}, want: "local"},
	{key: "region", val: strings.Repeat("r", 64), with: []string{"endpoint", "http://127.0.0.1:9000"}, want: strings.Repeat("r", 64)},
	{key: "region", val: strings.Repeat("r", 65), with: []string{"endpoint", "http://127.0.0.1:9000"}, err: ErrInvalidValue},

	{key: "endpoint", val: "", want: ""},
	{key: "endpoint", val: "http://127.0.0.1:9000/", want: "http://127.0.0.1:9000"},
	{key: "endpoint", val: "https://s3.example.com", want: "https://s3.example.com"},
	{key: "endpoint", val: "127.0.0.1:9000", err: ErrInvalidValue},
	{key: "endpoint", val: "ftp://x", err: ErrInvalidValue},
	{key: "endpoint", val: "https://x/?a=b", err: ErrInvalidValue},
	{key: "endpoint", val: "http://user:pw@host", err: ErrInvalidValue},

	{key: "role_arn", val: "arn:aws:iam::123456789012:role/envoy-s3", want: "arn:aws:iam::123456789012:role/envoy-s3"},
	{key: "role_arn", val: "arn:aws-cn:iam::123456789012:role/path/to/r_1", want: "arn:aws-cn:iam::123456789012:role/path/to/r_1"},
	{key: "role_arn", val: "arn:aws:iam::12345:role/x", err: ErrInvalidValue},
	{key: "role_arn", val: "arn:aws:iam::123456789012:role/p/" + strings.Repeat("r", 64), want: "arn:aws:iam::123456789012:role/p/" + strings.Repeat("r", 64)},
	{key: "role_arn", val: "arn:aws:iam::123456789012:role/p/" + strings.Repeat("r", 65), err: ErrInvalidValue},
	{key: "role_arn", val: "arn:aws:iam::123456789012:user/x", err: ErrInvalidValue},
	{key: "role_arn", val: "envoy-s3", err: ErrInvalidValue},

	{key: "external_id", val: extID, with: role, want: extID},
	{key: "external_id", val: "x", with: role, err: ErrInvalidValue},
	{key: "external_id", val: "has space " + extID, with: role, err: ErrInvalidValue},
	{key: "external_id", val: extID, err: ErrConflict},

	{key: "sts_endpoint", val: "https://sts.ap-northeast-1.amazonaws.com", with: role, want: "https://sts.ap-northeast-1.amazonaws.com"},
	{key: "sts_endpoint", val: "sts.amazonaws.com", with: role, err: ErrInvalidValue},
	{key: "sts_endpoint", val: "https://sts.amazonaws.com", err: ErrConflict},

	{key: "s3_key_format", val: "", want: DefaultS3KeyFormat + " | " + DefaultS3KeyFormat},
	{key: "s3_key_format", val: "/logs/$TAG/%Y/%m/%d/$UUID", want: "/logs/$TAG/%Y/%m/%d/$UUID | /logs/$TAG/%Y/%m/%d/$UUID"},
	{key: "s3_key_format", val: "logs/$FOO", err: ErrInvalidValue},
	{key: "s3_key_format", val: "logs/%j", err: ErrInvalidValue},
	{key: "s3_key_format", val: "logs//x", err: ErrInvalidValue},
	{key: "s3_key_format", val: DefaultOtherKeyFormat, err: ErrConflict, blame: "other_key_format"},

	{key: "compression", val: "", want: compress.Gzip},
	{key: "compression", val: "zstd", want: compress.Zstd},
	{key: "compression", val: "NONE", want: compress.None},
	{key: "compression", val: "lz4", err: ErrInvalidValue},
	{key: "compression", val: "snappy", err: ErrInvalidValue},
	{key: "compression", val: "", with: []string{"format", "parquet"}, want: compress.Zstd},
	{key: "compression", val: "snappy", with: []string{"format", "parquet"}, want: compress.Snappy},
	{key: "compression", val: "GZIP", with: []string{"format", "parquet"}, want: compress.Gzip},
	{key: "compression", val: "none", with: []string{"format", "parquet"}, want: compress.None},
	{key: "compression", val: "lz4", with: []string{"format", "parquet"}, err: ErrInvalidValue},

	{key: "format", val: "", want: batch.FormatJSONLines},
	{key: "format", val: "Parquet", want: batch.FormatParquet},
	{key: "format", val: "json", err: ErrInvalidValue},
	{key: "format", val: "parquet", with: []string{"output_format", "raw"}, err: ErrConflict, blame: "output_format"},

	{key: "total_file_size", val: "", want: int64(50_000_000)},
	{key: "total_file_size", val: "1G", want: int64(1_000_000_000)},
	{key: "total_file_size", val: "512K", want: int64(512_000)},
	{key: "total_file_size", val: "1.5M", want: int64(1_500_000)},
	{key: "total_file_size", val: "64MiB", want: int64(64 << 20)},
	{key: "total_file_size", val: "100000", want: int64(100_000)},
	{key: "total_file_size", val: "5G", with: []string{"store_dir_limit_size", "0"}, want: int64(5_000_000_000)},
	{key: "total_file_size", val: "2G", err: ErrConflict, blame: "store_dir_limit_size"},
	{key: "total_file_size", val: "6G", err: ErrInvalidValue},
	{key: "total_file_size", val: "100", err: ErrInvalidValue},
	{key: "total_file_size", val: "50X", err: ErrInvalidValue},
	{key: "total_file_size", val: "-5M", err: ErrInvalidValue},

	{key: "upload_timeout", val: "", want: 5 * time.Minute},
	{key: "upload_timeout", val: "30s", want: 30 * time.Second},
	{key: "upload_timeout", val: "90", want: 90 * time.Second},
	{key: "upload_timeout", val: "1H", want: time.Hour},
	{key: "upload_timeout", val: "1m30s", want: 90 * time.Second},
	{key: "upload_timeout", val: "0", err: ErrInvalidValue},
	{key: "upload_timeout", val: "500ms", err: ErrInvalidValue},
	{key: "upload_timeout", val: "2d", err: ErrInvalidValue},
	{key: "upload_timeout", val: "soon", err: ErrInvalidValue},

	{key: "store_dir", val: "", want: "/tmp/fluent-bit/envoy_s3 off=false"},
	{key: "store_dir", val: "/var/lib/envoy_s3/", want: "/var/lib/envoy_s3 off=false"},
	{key: "store_dir", val: "OFF", want: " off=true"},
	{key: "store_dir", val: "spool", err: ErrInvalidValue},
	{key: "store_dir", val: "/", err: ErrInvalidValue},
	{key: "store_dir", val: "/etc/", err: ErrInvalidValue},
	{key: "store_dir", val: "/tmp", err: ErrInvalidValue},
	{key: "store_dir", val: "/var/lib", err: ErrInvalidValue},
	{key: "store_dir", val: "/var/lib/envoy_s3", want: "/var/lib/envoy_s3 off=false"},

	{key: "store_dir_limit_size", val: "", want: int64(1_000_000_000)},
	{key: "store_dir_limit_size", val: "0", want: int64(0)},
	{key: "store_dir_limit_size", val: "2G", want: int64(2_000_000_000)},
	{key: "store_dir_limit_size", val: "lots", err: ErrInvalidValue},
	{key: "store_dir_limit_size", val: "10M", err: ErrConflict},
	{key: "store_dir_limit_size", val: "10M", with: []string{"store_dir", "off"}, want: int64(10_000_000)},

	{key: "dead_letter_prefix", val: "", want: "envoy-dead-letter/"},
	{key: "dead_letter_prefix", val: "OFF", want: ""},
	{key: "dead_letter_prefix", val: "dlq", want: "dlq/"},
	{key: "dead_letter_prefix", val: "/team-a/dead=letters/", want: "team-a/dead=letters/"},
	{key: "dead_letter_prefix", val: "a//b", err: ErrInvalidValue},
	{key: "dead_letter_prefix", val: "a/../b", err: ErrInvalidValue},
	{key: "dead_letter_prefix", val: "dead letters", err: ErrInvalidValue},
	{key: "dead_letter_prefix", val: "/", err: ErrInvalidValue},
	// Under an Athena table's location, or above it: refused.
	{key: "dead_letter_prefix", val: "envoy-access-logs/dead/", err: ErrConflict},
	{key: "dead_letter_prefix", val: "envoy-other-logs/", err: ErrConflict},
	{key: "dead_letter_prefix", val: "envoy-access-logs", err: ErrConflict},
	{key: "dead_letter_prefix", val: "envoy-", want: "envoy-/"},
	{key: "dead_letter_prefix", val: "envoy-other-logs/", with: []string{"other_logs", "drop"}, want: "envoy-other-logs/"},
	{key: "dead_letter_prefix", val: "logs/dead/", with: []string{"s3_key_format", "logs/access/$UUID", "other_key_format", "logs/other/$UUID"}, want: "logs/dead/"},
	{key: "s3_key_format", val: "envoy-dead-letter/$UUID", err: ErrConflict, blame: "dead_letter_prefix"},
	{key: "s3_key_format", val: "envoy-dead-letter/$UUID", with: []string{"dead_letter_prefix", "off"}, want: "envoy-dead-letter/$UUID | envoy-dead-letter/$UUID"},
	{key: "s3_key_format", val: "$CLUSTER/$UUID", with: []string{"dead_letter_prefix", "dl/"}, want: "$CLUSTER/$UUID | $CLUSTER/$UUID"},

	{key: "storage_class", val: "", want: ""},
	{key: "storage_class", val: "intelligent_tiering", want: "INTELLIGENT_TIERING"},
	{key: "storage_class", val: "GLACIER_IR", want: "GLACIER_IR"},
	{key: "storage_class", val: "COLD", err: ErrInvalidValue},

	{key: "canned_acl", val: "bucket-owner-full-control", want: "bucket-owner-full-control"},
	{key: "canned_acl", val: "public", err: ErrInvalidValue},

	{key: "server_side_encryption", val: "", want: ""},
	{key: "server_side_encryption", val: "aes256", want: "AES256"},
	{key: "server_side_encryption", val: "aws:kms", want: "aws:kms"},
	{key: "server_side_encryption", val: "kms", err: ErrInvalidValue},

	{key: "sse_kms_key_id", val: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", with: kms, want: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
	{key: "sse_kms_key_id", val: "alias/logs", with: kms, want: "alias/logs"},
	{key: "sse_kms_key_id", val: "1234abcd-12ab-34cd-56ef-1234567890ab", with: kms, want: "1234abcd-12ab-34cd-56ef-1234567890ab"},
	{key: "sse_kms_key_id", val: "my key", with: kms, err: ErrInvalidValue},
	{key: "sse_kms_key_id", val: "alias/logs", err: ErrConflict},
	{key: "sse_kms_key_id", val: "alias/logs", with: []string{"server_side_encryption", "AES256"}, err: ErrConflict},

	{key: "bucket_key_enabled", val: "", want: false},
	{key: "bucket_key_enabled", val: "on", with: kms, want: true},
	{key: "bucket_key_enabled", val: "off", want: false},
	{key: "bucket_key_enabled", val: "true", err: ErrConflict},
	{key: "bucket_key_enabled", val: "sure", with: kms, err: ErrInvalidValue},

	{key: "expected_bucket_owner", val: "123456789012", want: "123456789012"},
	{key: "expected_bucket_owner", val: "1234-5678-9012", err: ErrInvalidValue},

	{key: "send_content_md5", val: "", want: false},
	{key: "send_content_md5", val: "Yes", want: true},
	{key: "send_content_md5", val: "1", want: true},
	{key: "send_content_md5", val: "2", err: ErrInvalidValue},

	{key: "checksum_algorithm", val: "", want: checksum.CRC32C},
	{key: "checksum_algorithm", val: "crc32c", want: checksum.CRC32C},
	{key: "checksum_algorithm", val: "CRC32", want: checksum.CRC32},
	{key: "checksum_algorithm", val: "crc64nvme", want: checksum.CRC64NVME},
	{key: "checksum_algorithm", val: "Sha256", want: checksum.SHA256},
	{key: "checksum_algorithm", val: "SHA1", want: checksum.SHA1},
	{key: "checksum_algorithm", val: "NONE", want: checksum.None},
	{key: "checksum_algorithm", val: "MD5", err: ErrInvalidValue},
	{key: "checksum_algorithm", val: "SHA512", err: ErrInvalidValue},
	// Content-MD5 alone keeps working as before: no second checksum by default.
	{key: "checksum_algorithm", val: "", with: []string{"send_content_md5", "true"}, want: checksum.None},
	{key: "checksum_algorithm", val: "none", with: []string{"send_content_md5", "true"}, want: checksum.None},
	{key: "checksum_algorithm", val: "SHA256", with: []string{"send_content_md5", "true"}, err: ErrConflict},
	{key: "checksum_algorithm", val: "CRC32C", with: []string{"send_content_md5", "false"}, want: checksum.CRC32C},

	{key: "s3_object_tags", val: "", want: " | "},
	{key: "s3_object_tags", val: "service=$FAMILY,stream=$STREAM,team=payments", want: "service=$FAMILY,stream=$STREAM,team=payments | service=$FAMILY,stream=$STREAM,team=payments"},
	{key: "s3_object_tags", val: "cost center=eu/1 @ x+y:z, task=$CLUSTER-$TASK_ID-$TAG[1]-$CONTAINER", want: "cost center=eu/1 @ x+y:z, task=$CLUSTER-$TASK_ID-$TAG[1]-$CONTAINER | cost center=eu/1 @ x+y:z, task=$CLUSTER-$TASK_ID-$TAG[1]-$CONTAINER"},
	{key: "s3_object_tags", val: "a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11", err: ErrInvalidValue},
	{key: "s3_object_tags", val: "a=1,a=2", err: ErrInvalidValue},
	{key: "s3_object_tags", val: "aws:createdBy=me", err: ErrInvalidValue},
	{key: "s3_object_tags", val: "team", err: ErrInvalidValue},
	{key: "s3_object_tags", val: "team=a&b", err: ErrInvalidValue},
	{key: "s3_object_tags", val: "t=$SERVICE", err: ErrInvalidValue},
	{key: "s3_object_tags", val: strings.Repeat("k", 129) + "=v", err: ErrInvalidValue},
	{key: "s3_object_tags", val: "k=" + strings.Repeat("v", 257), err: ErrInvalidValue},

	{key: "log_key", val: "", want: "log"},
	{key: "log_key", val: "message", want: "message"},
	{key: "log_key", val: "bad\x01key", err: ErrInvalidValue},

	{key: "access_log_format", val: "", want: accesslog.FormatAuto},
	{key: "access_log_format", val: "JSON", want: accesslog.FormatJSON},
	{key: "access_log_format", val: "text", want: accesslog.FormatText},
	{key: "access_log_format", val: "envoy", err: ErrInvalidValue},

	{key: "output_format", val: "", want: OutputNormalized},
	{key: "output_format", val: "raw", want: OutputRaw},
	{key: "output_format", val: "normalised", err: ErrInvalidValue},

	{key: "other_logs", val: "", want: OtherS3},
	{key: "other_logs", val: "drop", want: OtherDrop},
	{key: "other_logs", val: "cloudwatch", with: []string{"log_group_name", "/ecs/x"}, want: OtherCloudWatch},
	{key: "other_logs", val: "cloudwatch", err: ErrMissing, blame: "log_group_name"},
	{key: "other_logs", val: "stdout", err: ErrInvalidValue},

	{key: "other_key_format", val: "", want: DefaultOtherKeyFormat + " | " + DefaultOtherKeyFormat},
	{key: "other_key_format", val: "other/$TAG/$UUID", want: "other/$TAG/$UUID | other/$TAG/$UUID"},
	{key: "other_key_format", val: "other/$NOPE", err: ErrInvalidValue},
	{key: "other_key_format", val: DefaultS3KeyFormat, err: ErrConflict},
	{key: "other_key_format", val: "other/$UUID", with: []string{"other_logs", "drop"}, err: ErrConflict},

	{key: "log_group_name", val: "/ecs/backend/proxy", with: []string{"other_logs", "cloudwatch"}, want: "/ecs/backend/proxy"},
	{key: "log_group_name", val: "bad group", with: []string{"other_logs", "cloudwatch"}, err: ErrInvalidValue},
	{key: "log_group_name", val: "/" + strings.Repeat("g", 511), with: []string{"other_logs", "cloudwatch"}, want: "/" + strings.Repeat("g", 511)},
	{key: "log_group_name", val: "/" + strings.Repeat("g", 512), with: []string{"other_logs", "cloudwatch"}, err: ErrInvalidValue},
	{key: "log_group_name", val: "/ecs/x", err: ErrConflict},

	{key: "log_stream_name", val: "proxy", with: cw, want: "proxy"},
	{key: "log_stream_name", val: "a:b", with: cw, err: ErrInvalidValue},
	{key: "log_stream_name", val: "proxy", err: ErrConflict},

	{key: "log_stream_prefix", val: "", with: cw, want: ""},
	{key: "log_stream_prefix", val: "proxy-", with: cw, want: "proxy-"},
	{key: "log_stream_prefix", val: "a*", with: cw, err: ErrInvalidValue},
	{key: "log_stream_prefix", val: "p-", with: append([]string{"log_stream_name", "s"}, cw...), err: ErrConflict},

	{key: "auto_create_group", val: "", with: cw, want: false},
	{key: "auto_create_group", val: "true", with: cw, want: true},
	{key: "auto_create_group", val: "maybe", with: cw, err: ErrInvalidValue},
	{key: "auto_create_group", val: "true", err: ErrConflict},

	{key: "log_retention_days", val: "", with: cw, want: 0},
	{key: "log_retention_days", val: "14", with: cw, want: 14},
	{key: "log_retention_days", val: "0", with: cw, want: 0},
	{key: "log_retention_days", val: "10", with: cw, err: ErrInvalidValue},
	{key: "log_retention_days", val: "7d", with: cw, err: ErrInvalidValue},

	{key: "log_group_class", val: "", want: "STANDARD"},
	{key: "log_group_class", val: "infrequent_access", with: cw, want: "INFREQUENT_ACCESS"},
	{key: "log_group_class", val: "COLD", with: cw, err: ErrInvalidValue},
	{key: "log_group_class", val: "STANDARD", err: ErrConflict},

	{key: "redact_query_params", val: "", want: defaultQP},
	{key: "redact_query_params", val: "Token, session ,token", want: "token,session"},
	{key: "redact_query_params", val: "*", want: "*"},
	{key: "redact_query_params", val: "none", want: ""},
	{key: "redact_query_params", val: "default,X-Trace", want: defaultQP + ",x-trace"},
	{key: "redact_query_params", val: "*,token", err: ErrInvalidValue},
	{key: "redact_query_params", val: "a=b", err: ErrInvalidValue},
	{key: "redact_query_params", val: strings.Repeat("é", 128), want: strings.Repeat("é", 128)},
	{key: "redact_query_params", val: strings.Repeat("é", 129), err: ErrInvalidValue},
	{key: "redact_query_params", val: "*mytoken*,X_Trace", want: "*mytoken*,x_trace"},
	{key: "redact_query_params", val: ",", err: ErrInvalidValue},

	{key: "redact_fields", val: "", want: ""},
	{key: "redact_fields", val: "forwarded_for, user_agent", want: "forwarded_for,user_agent"},
	{key: "redact_fields", val: "none", want: ""},
	{key: "redact_fields", val: "user-agent", err: ErrInvalidValue},

	{key: "redact_detectors", val: "", want: "jwt,aws_access_key,bearer,credit_card,github,gitlab,slack,stripe,google_api_key,private_key,url_password,authorization,aws_secret_key"},
	{key: "redact_detectors", val: "email,ipv4", want: "email,ipv4"},
	{key: "redact_detectors", val: "default,ipv6", want: "jwt,aws_access_key,bearer,credit_card,github,gitlab,slack,stripe,google_api_key,private_key,url_password,authorization,aws_secret_key,ipv6"},
	{key: "redact_detectors", val: "github, slack", want: "github,slack"},
	{key: "redact_detectors", val: "none", want: ""},
	{key: "redact_detectors", val: "ssn", err: ErrInvalidValue},
	{key: "redact_detectors", val: "none,jwt", err: ErrInvalidValue},
	{key: "redact_json_keys", val: "", want: strings.Join(DefaultRedactJSONKeys, ",")},
	{key: "redact_json_keys", val: "PIN, otp,pin", want: "pin,otp"},
	{key: "redact_json_keys", val: "default,x-pin-code", want: strings.Join(DefaultRedactJSONKeys, ",") + ",x-pin-code"},
	{key: "redact_json_keys", val: "*card*", want: "*card*"},
	{key: "redact_json_keys", val: "*", err: ErrInvalidValue},
	{key: "redact_json_keys", val: "none", want: ""},
	{key: "redact_json_keys", val: "none,pin", err: ErrInvalidValue},
	{key: "redact_json_keys", val: "--", err: ErrInvalidValue},

	{key: "redact_mode", val: "", want: redact.ModeMask},
	{key: "redact_mode", val: "hash", with: []string{"redact_hash_key", hashKey}, want: redact.ModeHash},
	{key: "redact_mode", val: "hash", err: ErrMissing, blame: "redact_hash_key"},
	{key: "redact_mode", val: "encrypt", err: ErrInvalidValue},

	{key: "redact_hash_key", val: hashKey, with: []string{"redact_mode", "hash"}, want: hashKey},
	{key: "redact_hash_key", val: "short", with: []string{"redact_mode", "hash"}, err: ErrInvalidValue},
	{key: "redact_hash_key", val: hashKey, err: ErrConflict},

	{key: "ip_anonymize", val: "", want: IPAnonymizeOff},
	{key: "ip_anonymize", val: "truncate", want: IPAnonymizeTruncate},
	{key: "ip_anonymize", val: "hash", err: ErrInvalidValue},

	{key: "stats_interval", val: "", want: 60 * time.Second},
	{key: "stats_interval", val: "0", want: time.Duration(0)},
	{key: "stats_interval", val: "off", want: time.Duration(0)},
	{key: "stats_interval", val: "5m", want: 5 * time.Minute},
	{key: "stats_interval", val: "10ms", err: ErrInvalidValue},
	{key: "stats_interval", val: "often", err: ErrInvalidValue},

	{key: "cloudwatch_price_per_gb", val: "", want: 0.0},
	{key: "cloudwatch_price_per_gb", val: "0.76", want: 0.76},
	{key: "cloudwatch_price_per_gb", val: "-1", err: ErrInvalidValue},
	{key: "cloudwatch_price_per_gb", val: "NaN", err: ErrInvalidValue},
	{key: "cloudwatch_price_per_gb", val: "cheap", err: ErrInvalidValue},

	{key: "metrics", val: "", want: false},
	{key: "metrics", val: "EMF", with: []string{"metrics_log_group_name", "/m"}, want: true},
	{key: "metrics", val: "emf", err: ErrMissing, blame: "metrics_log_group_name"},
	{key: "metrics", val: "prometheus", err: ErrInvalidValue},

	{key: "metrics_log_group_name", val: "/ecs/$CLUSTER/$FAMILY/metrics", with: []string{"metrics", "emf"}, want: "/ecs/$CLUSTER/$FAMILY/metrics"},
	{key: "metrics_log_group_name", val: "bad group", with: []string{"metrics", "emf"}, err: ErrInvalidValue},
	{key: "metrics_log_group_name", val: "/m", err: ErrConflict},

	{key: "metrics_namespace", val: "", want: DefaultMetricsNamespace},
	{key: "metrics_namespace", val: "Acme/Proxy", with: emfOn, want: "Acme/Proxy"},
	{key: "metrics_namespace", val: strings.Repeat("n", 255), with: emfOn, want: strings.Repeat("n", 255)},
	{key: "metrics_namespace", val: strings.Repeat("n", 256), with: emfOn, err: ErrInvalidValue},
	{key: "metrics_namespace", val: "AWS/ECS", with: emfOn, err: ErrInvalidValue},
	{key: "metrics_namespace", val: "a\"b", with: emfOn, err: ErrInvalidValue},
	{key: "metrics_namespace", val: "Acme", err: ErrConflict},

	{key: "metrics_dimensions", val: "", want: "cluster,family,authority"},
	{key: "metrics_dimensions", val: "Route, status_class,route", with: emfOn, want: "route,status_class"},
	{key: "metrics_dimensions", val: "path", with: emfOn, err: ErrInvalidValue},
	{key: "metrics_dimensions", val: "route", err: ErrConflict},

	{key: "metrics_resolution", val: "", want: time.Minute},
	{key: "metrics_resolution", val: "1s", with: emfOn, want: time.Second},
	{key: "metrics_resolution", val: "1m", with: emfOn, want: time.Minute},
	{key: "metrics_resolution", val: "5s", with: emfOn, err: ErrInvalidValue},
	{key: "metrics_resolution", val: "1s", err: ErrConflict},

	{key: "metrics_max_routes", val: "", want: 100},
	{key: "metrics_max_routes", val: "20", with: emfOn, want: 20},
	{key: "metrics_max_routes", val: "0", with: emfOn, err: ErrInvalidValue},
	{key: "metrics_max_routes", val: "100000", with: emfOn, err: ErrInvalidValue},
	{key: "metrics_max_routes", val: "20", err: ErrConflict},

	// Group creation settings serve the metrics group too.
	{key: "auto_create_group", val: "true", with: emfOn, want: true},
	{key: "log_retention_days", val: "14", with: emfOn, want: 14},
	{key: "log_group_class", val: "INFREQUENT_ACCESS", with: emfOn, want: "INFREQUENT_ACCESS"},
}

func TestKeys(t *testing.T) {
	for _, tc := range keyCases {
		kv := append([]string{}, tc.with...)
		if tc.val != "" {
			kv = append(kv, tc.key, tc.val)
		}
		c, err := parse(kv...)
		name := tc.key + "=" + strconv.Quote(tc.val) + " with " + strings.Join(tc.with, " ")
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: err %v, want %v", name, err, tc.err)
				continue
			}
			blame := tc.key
			if tc.blame != "" {
				blame = tc.blame
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Key != blame {
				t.Errorf("%s: error %q blames key %q", name, err, ce.Key)
			}
			checkErrorLine(t, name, err)
			if tc.err == ErrInvalidValue {
				// Names the key, shows the value (unless secret), says what is allowed.
				msg := err.Error()
				if !strings.Contains(msg, tc.key) || !strings.Contains(msg, "is not valid: ") {
					t.Errorf("%s: %q does not name the key and what is allowed", name, msg)
				}
				shown := strconv.Quote(tc.val)
				if len(tc.val) > 80 {
					shown = shown[:60] // a long value is shown cut, its start quoted
				}
				if !Keys[keyIndex(tc.key)].secret && !strings.Contains(tc.val, "@") && !strings.Contains(msg, shown) {
					t.Errorf("%s: %q does not show the value", name, msg)
				}
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := fields[tc.key](c); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", name, got, tc.want)
		}
	}
}

// checkErrorLine checks every configuration error in err: one prefixed line each, no secret.
func checkErrorLine(t *testing.T, name string, err error) {
	t.Helper()
	all := All(err)
	if len(all) == 0 {
		t.Errorf("%s: %v is no configuration error", name, err)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != len(all) {
		t.Errorf("%s: %d lines for %d errors: %q", name, n, len(all), err)
	}
	for _, e := range all {
		msg := e.Error()
		if !strings.HasPrefix(msg, "envoy_s3: ") || strings.ContainsAny(msg, "\n\r") || len(msg) > 600 {
			t.Errorf("%s: error is not one prefixed line: %q", name, msg)
		}
		for _, secret := range []string{hashKey, extID, "s3cr3t", "pw@"} {
			if strings.Contains(msg, secret) {
				t.Errorf("%s: error %q shows a secret", name, msg)
			}
		}
	}
}

// TestEveryKeyHasCases ties the table to the parser and the tests: Parse asks
// for exactly the keys of Keys, each once; every key has a field accessor, a
// good value that changes the Config from its default, and a bad value.
func TestEveryKeyHasCases(t *testing.T) {
	g := &recordingGetter{mapGetter: mapGetter{"bucket": "b-1", "region": "us-east-1"}}
	def, err := Parse(g, nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range Keys {
		names = append(names, k.Name)
		if k.parse == nil || k.Help == "" || k.Default == "" || k.Name != strings.ToLower(k.Name) {
			t.Errorf("key %q: incomplete row", k.Name)
		}
	}
	if !slices.Equal(g.asked, names) {
		t.Errorf("Parse asked for %v, want the keys of Keys in order: %v", g.asked, names)
	}
	for name := range fields {
		if keyIndex(name) < 0 {
			t.Errorf("test accessor for %q, which is not in Keys", name)
		}
	}
	for _, k := range Keys {
		field, ok := fields[k.Name]
		if !ok {
			t.Errorf("key %q has no test accessor", k.Name)
			continue
		}
		changes, bad := false, false
		for _, tc := range keyCases {
			if tc.key != k.Name {
				continue
			}
			if tc.err == ErrInvalidValue {
				bad = true
			}
			if tc.err == nil && tc.val != "" && !reflect.DeepEqual(tc.want, field(def)) {
				changes = true
			}
		}
		if !changes || !bad {
			t.Errorf("key %q: needs a case with a non-default good value (%v) and a bad value (%v)", k.Name, changes, bad)
		}
	}
}

func TestDefaultsParse(t *testing.T) {
	c, err := Parse(mapGetter{"bucket": "acme-logs"}, []string{"bucket"}, func(k string) string {
		return map[string]string{"AWS_REGION": "ap-northeast-1"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Bucket: "acme-logs", Region: "ap-northeast-1",
		S3KeyFormat: DefaultS3KeyFormat, S3Key: c.S3Key, Format: batch.FormatJSONLines, Compression: compress.Gzip,
		TotalFileSize: 50_000_000, UploadTimeout: 5 * time.Minute,
		StoreDir: "/tmp/fluent-bit/envoy_s3", StoreDirLimitSize: 1_000_000_000, DeadLetterPrefix: DefaultDeadLetterPrefix,
		ChecksumAlgorithm: checksum.CRC32C,
		LogKey:            "log", AccessLogFormat: accesslog.FormatAuto, OutputFormat: OutputNormalized,
		OtherLogs: OtherS3, OtherKeyFormat: DefaultOtherKeyFormat, OtherKey: c.OtherKey,
		LogGroupClass: "STANDARD", RedactQueryParams: DefaultRedactQueryParams, RedactJSONKeys: DefaultRedactJSONKeys,
		RedactDetectors: redact.DefaultDetectors(), RedactMode: redact.ModeMask,
		IPAnonymize: IPAnonymizeOff, StatsInterval: time.Minute,
		MetricsNamespace: DefaultMetricsNamespace, MetricsDimensions: []emf.Dim{emf.DimCluster, emf.DimFamily, emf.DimAuthority},
		MetricsResolution: time.Minute, MetricsMaxRoutes: 100,
	}
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", *c, want)
	}
	if c.S3Key == nil || c.S3Key.String() != DefaultS3KeyFormat || c.OtherKey == nil || c.OtherKey.String() != DefaultOtherKeyFormat {
		t.Error("default key templates not compiled")
	}
	// The parsed lists must not alias the exported defaults.
	c.RedactQueryParams[0] = "changed"
	if DefaultRedactQueryParams[0] == "changed" {
		t.Error("Config shares its list with DefaultRedactQueryParams")
	}
}

func TestRegionFromEnvironment(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		key  string
		env  map[string]string
		want string
		err  error
	}{
		{"", map[string]string{"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"}, "eu-west-1", nil},
		{"", map[string]string{"AWS_DEFAULT_REGION": "us-west-2"}, "us-west-2", nil},
		{"ap-south-1", map[string]string{"AWS_REGION": "eu-west-1"}, "ap-south-1", nil},
		{"", map[string]string{}, "", ErrMissing},
		{"", map[string]string{"AWS_REGION": "  "}, "", ErrMissing},
		{"", map[string]string{"AWS_REGION": "Tokyo!"}, "", ErrInvalidValue},
		{"", map[string]string{"AWS_REGION": "tokyo"}, "", ErrInvalidValue},
	} {
		m := mapGetter{"bucket": "acme-logs", "region": tc.key}
		c, err := Parse(m, nil, env(tc.env))
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("region %q env %v: err %v, want %v", tc.key, tc.env, err, tc.err)
			} else {
				checkErrorLine(t, "region", err)
			}
			continue
		}
		if err != nil || c.Region != tc.want {
			t.Errorf("region %q env %v: %v, %v; want %q", tc.key, tc.env, c, err, tc.want)
		}
	}
	// nil env reads the process environment.
	t.Setenv("AWS_REGION", "sa-east-1")
	if c, err := Parse(mapGetter{"bucket": "acme-logs"}, nil, nil); err != nil || c.Region != "sa-east-1" {
		t.Errorf("os environment: %v %v", c, err)
	}
}

func TestBucketRequired(t *testing.T) {
	_, err := Parse(mapGetter{"region": "us-east-1"}, nil, noEnv)
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "bucket is required") {
		t.Errorf("got %v", err)
	}
}

func TestUnknownKeys(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want string // "" = accepted
	}{
		{"bukcet", `envoy_s3: unknown key "bukcet" (did you mean "bucket"?); see the README's configuration table`},
		{"Compresion", `unknown key "Compresion" (did you mean "compression"?)`},
		{"store_dir_limit", `(did you mean "store_dir_limit_size"?)`},
		{"log_stream", `(did you mean "log_stream_name"?)`},
		{"redact_hashkey", `(did you mean "redact_hash_key"?)`},
		{"zzzzzzzzzzzz", `envoy_s3: unknown key "zzzzzzzzzzzz"; see the README's configuration table`},
		{"use_put_object", `unknown key "use_put_object": envoy_s3 always uploads with PutObject`},
		{"BUCKET", ""},
		{" Region ", ""},
		{"Name", ""},
		{"Match", ""},
		{"match_regex", ""},
		{"Retry_Limit", ""},
		{"workers", ""},
		{"storage.total_limit_size", ""},
		{"net.keepalive", ""},
		{"tls.verify", ""},
		{"log_level", ""},
		{"alias", ""},
		{"", ""},
	} {
		_, err := Parse(mapGetter{"bucket": "acme-logs", "region": "us-east-1"}, []string{"bucket", tc.key}, noEnv)
		if tc.want == "" {
			if err != nil {
				t.Errorf("key %q: %v", tc.key, err)
			}
			continue
		}
		if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("key %q: got %v, want %q", tc.key, err, tc.want)
			continue
		}
		checkErrorLine(t, tc.key, err)
	}
}

// TestSecretsNeverShown puts secrets into every kind of failure and checks
// that no error shows them.
func TestSecretsNeverShown(t *testing.T) {
	secretValues := []string{hashKey, extID, "short", "bad value with spaces " + hashKey}
	for _, sv := range secretValues {
		for _, extra := range [][]string{
			{"redact_hash_key", sv},
			{"redact_hash_key", sv, "redact_mode", "hash"},
			{"redact_hash_key", sv, "redact_mode", "hash", "compression", "lz4"},
			{"external_id", sv},
			{"external_id", sv, "role_arn", "arn:aws:iam::123456789012:role/w"},
			{"external_id", sv, "role_arn", "bad"},
			{"endpoint", "http://user:" + sv + "@host"},
		} {
			_, err := parse(extra...)
			if err == nil {
				continue
			}
			if strings.Contains(err.Error(), sv) {
				t.Errorf("%v: error %q shows the secret", extra, err)
			}
			checkErrorLine(t, strings.Join(extra, " "), err)
		}
	}
}

func TestErrorLinesAreShort(t *testing.T) {
	long := strings.Repeat("x\n", 500)
	_, err := parse("compression", long)
	if err == nil {
		t.Fatal("no error")
	}
	checkErrorLine(t, "long value", err)
	if !strings.Contains(err.Error(), `...`) {
		t.Errorf("long value not cut: %q", err)
	}
}

// TestErrorLinesAreShortForEveryKey: a huge value, whole or as one item of a
// list, is cut in the error line of every key, so a pasted blob never fills a
// log line (redact_fields and redact_detectors echoed the bad item whole).
func TestErrorLinesAreShortForEveryKey(t *testing.T) {
	huge := strings.Repeat("q", 100_000)
	for _, k := range Keys {
		for _, v := range []string{huge, huge + ",x", "none," + huge} {
			_, err := parse(k.Name, v)
			if err == nil {
				continue // a key that takes any text (a prefix, a template) may accept it
			}
			checkErrorLine(t, k.Name, err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"100", 100, true},
		{"1K", 1000, true},
		{"1k", 1000, true},
		{"1KB", 1000, true},
		{"1kb", 1000, true},
		{"50M", 50_000_000, true},
		{"1.5M", 1_500_000, true},
		{"1G", 1_000_000_000, true},
		{"2GB", 2_000_000_000, true},
		{"1KiB", 1024, true},
		{"1MiB", 1 << 20, true},
		{"1gib", 1 << 30, true},
		{"0", 0, true},
		{" 5M ", 5_000_000, true},
		{"", 0, false},
		{"M", 0, false},
		{"1B", 0, false},
		{"1T", 0, false},
		{"1MB2", 0, false},
		{"-1K", 0, false},
		{"1e3", 0, false},
		{"0x10", 0, false},
		{"Inf", 0, false},
		{"NaN", 0, false},
		{"99999999999G", 0, false},
	} {
		got, ok := ParseSize(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30", 30 * time.Second, true},
		{"30s", 30 * time.Second, true},
		{"30S", 30 * time.Second, true},
		{"5m", 5 * time.Minute, true},
		{"5M", 5 * time.Minute, true},
		{"2h", 2 * time.Hour, true},
		{"1d", 24 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"1.5h", 90 * time.Minute, true},
		{"250ms", 250 * time.Millisecond, true},
		{"0", 0, true},
		{"", 0, false},
		{"m", 0, false},
		{"-5", 0, false},
		{"-5m", 0, false},
		{"+5", 0, false},
		{"5w", 0, false},
		{"4294967295d", 0, false},
		{"five", 0, false},
	} {
		got, ok := ParseDuration(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMarkdownTable(t *testing.T) {
	tbl := MarkdownTable()
	lines := strings.Split(strings.TrimSuffix(tbl, "\n"), "\n")
	if len(lines) != len(Keys)+2 || lines[0] != "| key | default | meaning |" {
		t.Fatalf("table has %d lines, header %q", len(lines), lines[0])
	}
	for i, k := range Keys {
		row := lines[i+2]
		if !strings.HasPrefix(row, "| `"+k.Name+"` | ") || !strings.HasSuffix(row, " |") {
			t.Errorf("row %q", row)
		}
		// Four unescaped pipes: the columns are intact.
		if n := strings.Count(row, "|") - strings.Count(row, `\|`); n != 4 {
			t.Errorf("row for %s has %d column separators", k.Name, n)
		}
	}
}

func TestEnumStrings(t *testing.T) {
	for _, s := range []interface{ String() string }{OutputRaw, OtherCloudWatch, IPAnonymizeTruncate} {
		if s.String() == "" {
			t.Errorf("%#v has no name", s)
		}
	}
}

// TestPropertiesRoundTrip: every configuration the key cases accept, written
// back out with Properties, parses into the same Config (what a spool directory's
// record of its destination relies on).
func TestPropertiesRoundTrip(t *testing.T) {
	all := make([]string, len(Keys))
	for i, k := range Keys {
		all[i] = k.Name
	}
	n := 0
	for _, tc := range keyCases {
		kv := append([]string{}, tc.with...)
		if tc.val != "" {
			kv = append(kv, tc.key, tc.val)
		}
		c, err := parse(kv...)
		if err != nil {
			continue
		}
		props := c.Properties(all...)
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		back, err := Parse(mapGetter(props), keys, noEnv)
		if err != nil {
			t.Errorf("%s=%q: %v reads back as %v", tc.key, tc.val, props, err)
			continue
		}
		if !reflect.DeepEqual(back, c) {
			t.Errorf("%s=%q: %v reads back as\n%+v\nwant\n%+v", tc.key, tc.val, props, *back, *c)
		}
		n++
	}
	if n < 100 {
		t.Fatalf("only %d cases round-tripped", n)
	}
	// Only what was asked for, and only what applies.
	c, _ := parse("other_logs", "cloudwatch", "log_group_name", "/g")
	if p := c.Properties("bucket", "other_logs", "other_key_format", "log_group_name"); len(p) != 3 || p["bucket"] != "acme-logs" || p["log_group_name"] != "/g" {
		t.Errorf("Properties = %v", p)
	}
	// A key whose setting is left out is left out too: metrics is not in the record,
	// so the group settings it shares with other_logs cloudwatch would be refused.
	c, _ = parse("metrics", "emf", "metrics_log_group_name", "/m", "auto_create_group", "true")
	p := c.Properties("bucket", "region", "other_logs", "auto_create_group", "metrics_namespace")
	if _, err := Parse(mapGetter(p), slices.Collect(maps.Keys(p)), noEnv); err != nil || p["auto_create_group"] != "" || p["metrics_namespace"] != "" {
		t.Errorf("Properties = %v: %v", p, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("total_file_size", "50M")
	f.Add("upload_timeout", "1m30s")
	f.Add("s3_key_format", DefaultS3KeyFormat)
	f.Add("redact_query_params", "default,*")
	f.Add("endpoint", "http://[::1]:9000")
	f.Add("bukcet", "x")
	f.Fuzz(func(t *testing.T, key, val string) {
		_, err := Parse(mapGetter{"bucket": "acme-logs", "region": "us-east-1", key: val}, []string{key}, noEnv)
		if err != nil && len(All(err)) == 0 {
			t.Fatalf("%v is no configuration error", err)
		}
		for _, e := range All(err) {
			msg := e.Error()
			if !strings.HasPrefix(msg, "envoy_s3: ") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("bad error line %q", msg)
			}
			if (strings.EqualFold(strings.TrimSpace(key), "redact_hash_key") || strings.EqualFold(strings.TrimSpace(key), "external_id")) &&
				len(strings.TrimSpace(val)) > 3 && strings.Contains(msg, strings.TrimSpace(val)) {
				t.Fatalf("secret shown: %q", msg)
			}
		}
	})
}

func TestCloudWatchNamesTakeVariables(t *testing.T) {
	base := func(kv map[string]string) mapGetter {
		g := mapGetter{"bucket": "abc-bucket", "region": "us-east-1", "other_logs": "cloudwatch"}
		for k, v := range kv {
			g[k] = v
		}
		return g
	}
	for _, ok := range []map[string]string{
		{"log_group_name": "/ecs/$CLUSTER/$FAMILY", "log_stream_prefix": "$TASK_ID-"},
		{"log_group_name": "/ecs/x", "log_stream_name": "$TAG[0]-$CONTAINER"},
	} {
		c, err := Parse(base(ok), nil, func(string) string { return "" })
		if err != nil {
			t.Errorf("%v: %v", ok, err)
		} else if c.LogGroup == nil {
			t.Errorf("%v: log_group_name not compiled", ok)
		}
	}
	for _, bad := range []map[string]string{
		{"log_group_name": "/ecs/$UUID"},
		{"log_group_name": "/ecs/$NOPE"},
		{"log_group_name": "/ecs/bad space/$CLUSTER"},
		{"log_group_name": "/ecs/x", "log_stream_name": "a:$TAG"},
	} {
		if _, err := Parse(base(bad), nil, func(string) string { return "" }); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
