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
//
// Where things are: keys.go holds the table and writes a Config back out
// (Properties), values.go parses each key's value, syntax.go the shared value
// syntax, check.go the rules that span keys, region.go the region names.
package config

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/checksum"
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
	StoreDirLimitSize int64  // bytes; 0 = no limit
	DeadLetterPrefix  string // ends with '/'; "" = off: undeliverable bytes stay in <store_dir>/quarantine/

	StorageClass         string // S3 StorageClass, "" = S3 default
	CannedACL            string
	ServerSideEncryption string // "", AES256, aws:kms or aws:kms:dsse
	SSEKMSKeyID          string
	BucketKeyEnabled     bool
	ExpectedBucketOwner  string
	SendContentMD5       bool
	ChecksumAlgorithm    checksum.Algorithm // sent with every PutObject; None with send_content_md5 unless set
	S3ObjectTags         string             // as set
	ObjectTags           *keyformat.Tags    // S3ObjectTags compiled; nil: no tags

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

// parser carries one Parse call's state.
type parser struct {
	c      *Config
	env    func(string) string
	key    *Key            // the key being parsed
	set    map[string]bool // keys the user gave a value
	failed map[string]bool // keys an error blames
	errs   Errors
}

// Parse reads every key of Keys through g and validates the result.
// setKeys lists the keys the user wrote (nil when the host cannot list them);
// any of them not in Keys and not a Fluent Bit core key is an error. env reads
// the environment (nil = os.Getenv). Every error found is returned at once, as
// Errors (one line each; All lists them): unknown keys first, then bad values in
// the order of Keys, then rules across keys. A rule is not checked against a key
// whose value was refused, so one mistake is one error.
func Parse(g Getter, setKeys []string, env func(string) string) (*Config, error) {
	if env == nil {
		env = os.Getenv
	}
	p := &parser{c: &Config{}, env: env, set: map[string]bool{}, failed: map[string]bool{}}
	for _, k := range setKeys {
		if err := checkKnown(k); err != nil {
			p.fail(err)
		}
	}
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
			p.fail(err)
		}
	}
	p.crossCheck()
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return p.c, nil
}

// Errors is every configuration error of one Parse, in order; each is one line.
type Errors []*Error

// Error is the errors one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As look at each error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// All lists the configuration errors in err, one per line to log; nil when there is none.
func All(err error) []*Error {
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}

// fail records err against the key it blames.
func (p *parser) fail(err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Key: p.key.Name, err: ErrInvalidValue, msg: err.Error()}
	}
	p.errs = append(p.errs, e)
	p.failed[e.Key] = true
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
