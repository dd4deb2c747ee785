// Package cwlogs delivers the records that are not access logs to Amazon
// CloudWatch Logs (`other_logs cloudwatch`), where people already look for a
// proxy's operational lines. Keys and behaviour follow Fluent Bit's
// cloudwatch_logs output: log_group_name, log_stream_name or
// log_stream_prefix + tag, auto_create_group, log_retention_days (applied to
// a group this plugin creates) and log_group_class.
//
// As in package s3sink, the SDK's retries are off: a failure is returned at
// once as a classified *Error, and the durable spool above retries with its
// own backoff and jitter for as long as the data stays on disk.
//
// Sequence tokens are never sent: CloudWatch Logs has ignored them since
// January 2023. InvalidSequenceTokenException is still retried and
// DataAlreadyAcceptedException still counts as delivered, for older
// compatible servers.
package cwlogs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/envoy-s3/envoy_s3/internal/awsutil"
	"github.com/envoy-s3/envoy_s3/internal/freelist"
)

var (
	// ErrNoGroup is returned by New when Options.LogGroupName is empty.
	ErrNoGroup = errors.New(`cwlogs: "log_group_name" is not set: set it to the destination log group`)
	// ErrNoRegion is returned by New when no region is configured anywhere.
	ErrNoRegion = errors.New(`cwlogs: no region: set "region" or the AWS_REGION environment variable`)
	// ErrEndpoint is returned by New for an endpoint that is not an http(s) URL.
	ErrEndpoint = errors.New("cwlogs: bad endpoint")
	// ErrGroupClass is returned by New for a log_group_class CloudWatch does
	// not offer for ordinary log groups.
	ErrGroupClass = errors.New(`cwlogs: bad "log_group_class": use STANDARD or INFREQUENT_ACCESS`)
	// ErrRetention is returned by New for a log_retention_days CloudWatch
	// does not accept.
	ErrRetention = errors.New(`cwlogs: bad "log_retention_days": use 0 (never expire) or one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653`)
)

// RetentionDays are the values of log_retention_days CloudWatch accepts.
var RetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Options configure a Client. Field names follow the plugin's keys.
type Options struct {
	Region      string
	Endpoint    string // CloudWatch Logs endpoint URL (tests, VPC endpoints)
	RoleARN     string // assumed through STS for every call when set
	ExternalID  string
	STSEndpoint string

	LogGroupName     string // the group Put writes to
	LogStreamName    string // fixed stream; takes precedence over LogStreamPrefix
	LogStreamPrefix  string // stream = prefix + tag
	AutoCreateGroup  bool
	LogRetentionDays int    // > 0: set on groups this client creates
	LogGroupClass    string // STANDARD or INFREQUENT_ACCESS for created groups; "" is STANDARD

	// HTTPClient replaces the SDK's HTTP client (tests, proxies).
	HTTPClient *http.Client
	// Logf, when set, receives the destination at New, events CloudWatch
	// rejected, and retention failures: counts and names, never contents.
	Logf func(format string, args ...any)
	// now is the clock for clamping timestamps; time.Now when nil (tests).
	now func() time.Time
}

// Stats count what Put did since New. Every event given to Put is either
// sent or counted in Empty.
type Stats struct {
	Calls     uint64 // successful PutLogEvents calls
	Events    uint64 // events sent in them
	Bytes     uint64 // their message bytes + EventOverhead each
	Truncated uint64 // messages cut to MaxMessageBytes
	Empty     uint64 // empty messages dropped
	Clamped   uint64 // timestamps moved into the window CloudWatch accepts
	Rejected  uint64 // events CloudWatch still rejected (expired by retention)
}

// Client writes events to CloudWatch Logs. It is safe for concurrent use.
type Client struct {
	o     Options
	cw    *cloudwatchlogs.Client
	creds *aws.CredentialsCache

	mu        sync.Mutex
	ready     map[string]bool // group + "\x00" + stream known to exist
	retention map[string]bool // groups created here whose retention is not set yet

	calls, events, bytes, truncated, empty, clamped, rejected atomic.Uint64
	lastReject                                                atomic.Int64 // unix seconds of the last rejection line

	scratch freelist.List[*scratch]
}

type scratch struct {
	in    []types.InputLogEvent
	msgs  []string
	times []int64
}

// New builds a Client from the default AWS configuration chain (environment,
// shared files, ECS task role, instance role) and o. It makes no network call.
func New(ctx context.Context, o Options) (*Client, error) {
	if o.LogGroupName == "" {
		return nil, ErrNoGroup
	}
	switch o.LogGroupClass {
	case "", string(types.LogGroupClassStandard), string(types.LogGroupClassInfrequentAccess):
	default:
		return nil, fmt.Errorf("%w (not %q)", ErrGroupClass, o.LogGroupClass)
	}
	if o.LogRetentionDays != 0 && !ValidRetention(o.LogRetentionDays) {
		return nil, fmt.Errorf("%w (not %d)", ErrRetention, o.LogRetentionDays)
	}
	cfg, err := awsutil.LoadConfig(ctx, awsutil.Settings{
		Region:      o.Region,
		Endpoint:    o.Endpoint,
		RoleARN:     o.RoleARN,
		ExternalID:  o.ExternalID,
		STSEndpoint: o.STSEndpoint,
		HTTPClient:  o.HTTPClient,
		Pkg:         "cwlogs",
		ErrNoRegion: ErrNoRegion,
		ErrEndpoint: ErrEndpoint,
	})
	if err != nil {
		return nil, err
	}

	c := &Client{o: o, ready: map[string]bool{}, retention: map[string]bool{}}
	c.scratch.New = func() *scratch { return &scratch{} }
	c.creds, _ = cfg.Credentials.(*aws.CredentialsCache)
	c.cw = cloudwatchlogs.NewFromConfig(cfg, func(co *cloudwatchlogs.Options) {
		if o.Endpoint != "" {
			co.BaseEndpoint = aws.String(o.Endpoint)
		}
		co.Retryer = aws.NopRetryer{}
		co.RetryMaxAttempts = 0
	})
	if o.Logf != nil {
		where := "AWS"
		if o.Endpoint != "" {
			where = o.Endpoint
		}
		role := ""
		if o.RoleARN != "" {
			role = ", assuming " + o.RoleARN
		}
		o.Logf("cwlogs: log group %q in %s via %s%s", o.LogGroupName, cfg.Region, where, role)
	}
	return c, nil
}

// ValidRetention reports whether CloudWatch accepts days as a retention.
func ValidRetention(days int) bool {
	for _, d := range RetentionDays {
		if d == days {
			return true
		}
	}
	return false
}

// groupNameRE is the log group alphabet; the length is checked apart (a
// bounded repetition would compile to a copy of the class per position).
var groupNameRE = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)

// CheckGroupName returns a one-line error when CloudWatch would refuse name
// as a log group name, so that configuration can fail at start.
func CheckGroupName(name string) error {
	if len(name) > 512 || !groupNameRE.MatchString(name) {
		return fmt.Errorf(`cwlogs: log group name %q is not valid: fix "log_group_name" (1-512 of A-Z a-z 0-9 . - _ / #)`, name)
	}
	return nil
}

// StreamName is the log stream for records with tag, as cloudwatch_logs
// names it: log_stream_name when set, else log_stream_prefix + tag. The
// characters CloudWatch forbids in stream names (':' and '*') become '_',
// and names are cut to at most 512 bytes, on a character boundary.
func StreamName(o *Options, tag string) string {
	name := o.LogStreamName
	if name == "" {
		name = o.LogStreamPrefix + tag
	}
	if strings.ContainsAny(name, ":*") {
		name = strings.NewReplacer(":", "_", "*", "_").Replace(name)
	}
	if len(name) > 512 {
		n := 512
		for n > 0 && !utf8.RuneStart(name[n]) {
			n-- // never cut a character in two: the API refuses invalid UTF-8
		}
		name = name[:n]
	}
	if name == "" {
		name = "_"
	}
	return name
}

// Stats returns the counters since New.
func (c *Client) Stats() Stats {
	return Stats{
		Calls: c.calls.Load(), Events: c.events.Load(), Bytes: c.bytes.Load(),
		Truncated: c.truncated.Load(), Empty: c.empty.Load(),
		Clamped: c.clamped.Load(), Rejected: c.rejected.Load(),
	}
}

// Put delivers events to stream in Options.LogGroupName. See PutTo.
func (c *Client) Put(ctx context.Context, stream string, events []Event) error {
	return c.PutTo(ctx, c.o.LogGroupName, stream, events)
}

// PutTo delivers events, in any order and any number, to a stream of group
// (for groups named per tag). It creates the stream on first use, and the
// group too with AutoCreateGroup; existing ones are fine. Timestamps more
// than 14 days old or 2 hours ahead, which CloudWatch would reject, are moved
// into its window (Stats.Clamped) rather than lost. events is reordered and
// rewritten in place (see Batches).
//
// A failure is a classified *Error; its Delivered counts the events earlier
// calls of this Put already delivered, which a retry sends again.
func (c *Client) PutTo(ctx context.Context, group, stream string, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := c.ensure(ctx, group, stream); err != nil {
		return err
	}
	now := time.Now
	if c.o.now != nil {
		now = c.o.now
	}
	if n := clampTimes(events, now()); n > 0 {
		c.clamped.Add(uint64(n))
	}
	delivered := 0
	truncated, empty, err := batches(events, func(b []Event) error {
		err := c.putBatch(ctx, group, stream, b)
		var e *Error
		if errors.As(err, &e) && e.Code == "ResourceNotFoundException" {
			// Deleted since it was created here: create it again, once.
			c.forget(group, stream)
			if err = c.ensure(ctx, group, stream); err == nil {
				err = c.putBatch(ctx, group, stream, b)
			}
		}
		if err != nil {
			return err
		}
		delivered += len(b)
		return nil
	})
	c.truncated.Add(uint64(truncated))
	c.empty.Add(uint64(empty))
	if err != nil {
		e := c.classify(err, group, stream)
		e.Delivered = delivered
		return e
	}
	return nil
}

func (c *Client) putBatch(ctx context.Context, group, stream string, b []Event) error {
	sc := c.scratch.Get()
	defer c.scratch.Put(sc)
	sc.in = sc.in[:0]
	sc.msgs = sc.msgs[:0]
	sc.times = sc.times[:0]
	size := 0
	for i := range b {
		// The SDK wants *string; a zero-copy view is safe because the SDK
		// serializes the body before PutLogEvents returns and b is not
		// written meanwhile.
		m := b[i].Message
		sc.msgs = append(sc.msgs, unsafe.String(unsafe.SliceData(m), len(m)))
		sc.times = append(sc.times, b[i].Time.UnixMilli())
		size += len(m) + EventOverhead
	}
	for i := range b {
		sc.in = append(sc.in, types.InputLogEvent{Message: &sc.msgs[i], Timestamp: &sc.times[i]})
	}
	out, err := c.cw.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
		LogGroupName:  &group,
		LogStreamName: &stream,
		LogEvents:     sc.in,
	})
	clear(sc.msgs) // drop the views of the caller's buffers
	clear(sc.in)
	if err != nil {
		e := c.classify(err, group, stream)
		if e.Code == "DataAlreadyAcceptedException" {
			err = nil
		} else {
			return e
		}
	}
	c.calls.Add(1)
	c.events.Add(uint64(len(b)))
	c.bytes.Add(uint64(size))
	if out != nil && out.RejectedLogEventsInfo != nil {
		c.rejectedEvents(group, stream, len(b), out.RejectedLogEventsInfo)
	}
	return nil
}

// rejectedEvents counts the events CloudWatch accepted the call for but did
// not store, and says so at most once a minute.
func (c *Client) rejectedEvents(group, stream string, n int, r *types.RejectedLogEventsInfo) {
	old, expired, tooNew := 0, 0, 0
	if r.TooOldLogEventEndIndex != nil {
		old = int(*r.TooOldLogEventEndIndex) + 1
	}
	if r.ExpiredLogEventEndIndex != nil {
		expired = int(*r.ExpiredLogEventEndIndex) + 1
	}
	if r.TooNewLogEventStartIndex != nil {
		tooNew = n - int(*r.TooNewLogEventStartIndex)
	}
	lost := max(old, expired) + tooNew
	if lost <= 0 {
		return
	}
	c.rejected.Add(uint64(lost))
	now := time.Now().Unix()
	last := c.lastReject.Load()
	if c.o.Logf != nil && now-last >= 60 && c.lastReject.CompareAndSwap(last, now) {
		c.o.Logf("cwlogs: CloudWatch Logs rejected %d of %d events for %q/%q (%d too old, %d older than the group's retention, %d too new; %d rejected since start): check the clock and the group's retention",
			lost, n, group, stream, old, expired, tooNew, c.rejected.Load())
	}
}

func key(group, stream string) string { return group + "\x00" + stream }

func (c *Client) forget(group, stream string) {
	c.mu.Lock()
	delete(c.ready, key(group, stream))
	c.mu.Unlock()
}

// ensure makes sure the stream exists (and the group, with
// AutoCreateGroup), once per stream per Client. CreateLogStream comes first:
// when the group exists, that is the only call, and logs:CreateLogGroup is
// needed only when a group is missing.
func (c *Client) ensure(ctx context.Context, group, stream string) error {
	k := key(group, stream)
	c.mu.Lock()
	ok, pending := c.ready[k], c.retention[group]
	c.mu.Unlock()
	if ok && !pending {
		return nil
	}
	if !ok {
		if err := CheckGroupName(group); err != nil {
			return &Error{Op: "CreateLogStream", Code: "InvalidParameterException", Permanent: true,
				Remedy: strings.TrimPrefix(err.Error(), "cwlogs: "), Err: err}
		}
		err := c.createStream(ctx, group, stream)
		if err != nil && err.Code == "ResourceNotFoundException" && c.o.AutoCreateGroup {
			if err = c.createGroup(ctx, group); err == nil {
				err = c.createStream(ctx, group, stream)
			}
		}
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.ready[k] = true
		pending = c.retention[group]
		c.mu.Unlock()
	}
	if pending {
		return c.setRetention(ctx, group)
	}
	return nil
}

func (c *Client) createStream(ctx context.Context, group, stream string) *Error {
	_, err := c.cw.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
		LogGroupName: &group, LogStreamName: &stream,
	})
	if err == nil {
		return nil
	}
	e := c.classify(err, group, stream)
	if e.Code == "ResourceAlreadyExistsException" {
		return nil
	}
	return e
}

func (c *Client) createGroup(ctx context.Context, group string) *Error {
	in := &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &group}
	if c.o.LogGroupClass != "" {
		in.LogGroupClass = types.LogGroupClass(c.o.LogGroupClass)
	}
	_, err := c.cw.CreateLogGroup(ctx, in)
	if err == nil {
		if c.o.LogRetentionDays > 0 {
			c.mu.Lock()
			c.retention[group] = true
			c.mu.Unlock()
		}
		if c.o.Logf != nil {
			c.o.Logf("cwlogs: created log group %q", group)
		}
		return nil
	}
	e := c.classify(err, group, "")
	if e.Code == "ResourceAlreadyExistsException" {
		return nil // created meanwhile by someone else: not ours to set retention on
	}
	return e
}

// setRetention applies log_retention_days to a group this client created.
// A transient failure fails the Put so that it is tried again; a permanent
// one (not allowed by IAM) is logged once and delivery goes on: losing the
// retention setting must not stop the logs.
func (c *Client) setRetention(ctx context.Context, group string) error {
	days := int32(c.o.LogRetentionDays)
	_, err := c.cw.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{
		LogGroupName: &group, RetentionInDays: &days,
	})
	if err != nil {
		e := c.classify(err, group, "")
		if !e.Permanent {
			return e
		}
		if c.o.Logf != nil {
			c.o.Logf("%s", e.Error())
		}
	}
	c.mu.Lock()
	delete(c.retention, group)
	c.mu.Unlock()
	return nil
}
