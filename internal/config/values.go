package config

// The parsers of each key's value, in the order of Keys.

import (
	"errors"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/checksum"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/emf"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
	"github.com/envoy-s3/envoy_s3/internal/redact"
)

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

func (p *parser) deadLetterPrefix(v string) error {
	if strings.EqualFold(v, "off") {
		p.c.DeadLetterPrefix = ""
		return nil
	}
	given := v
	v = strings.TrimPrefix(v, "/")
	if !strings.HasSuffix(v, "/") {
		v += "/"
	}
	const maxLen = 256
	ok := len(v) > 1 && len(v) <= maxLen
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_./=!*'()", c) >= 0
	}
	for _, seg := range strings.Split(strings.TrimSuffix(v, "/"), "/") {
		ok = ok && seg != "" && strings.Trim(seg, ".") != ""
	}
	if !ok {
		return p.invalid(given, "use up to 256 letters, digits and - _ . / = ! * ' ( ) with no empty or dot-only path segment, such as envoy-dead-letter/, or off")
	}
	p.c.DeadLetterPrefix = v
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

func (p *parser) checksumAlgorithm(v string) (err error) {
	p.c.ChecksumAlgorithm, err = enumOf(p, v, checksum.Algorithms...)
	return err
}

func (p *parser) s3ObjectTags(v string) error {
	t, err := keyformat.CompileTags(v)
	if err != nil {
		return p.invalid(v, err.Error())
	}
	p.c.S3ObjectTags, p.c.ObjectTags = v, t
	return nil
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

func (p *parser) redactFields(v string) (err error) {
	p.c.RedactFields, err = p.list(v, nil, "", nil, func(name string) error {
		return p.member(name, SchemaFields, "a field of the normalized schema")
	})
	return err
}

func (p *parser) redactDetectors(v string) error {
	names, err := p.list(v, DefaultRedactDetectors, "", nil, func(name string) error {
		return p.member(name, Detectors, "a detector")
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
		return p.member(name, emf.DimNames[:], "a metrics dimension")
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
