package cwlogs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/envoy-s3/envoy_s3/internal/awsutil"
)

// Codes of failures that carry no service error code; CloudWatch's and
// STS's own codes are reported as sent.
const (
	CodeCanceled      = awsutil.CodeCanceled      // the caller's context was canceled
	CodeTimeout       = awsutil.CodeTimeout       // a deadline or I/O timeout expired
	CodeConnection    = awsutil.CodeConnection    // refused, reset, closed, EOF mid-response
	CodeDNS           = awsutil.CodeDNS           // the endpoint's host name does not resolve
	CodeTLS           = awsutil.CodeTLS           // the endpoint's certificate is not trusted
	CodeNoCredentials = awsutil.CodeNoCredentials // no credential source yielded credentials
	CodeUnknown       = awsutil.CodeUnknown
)

// Error is a classified CloudWatch Logs or STS failure, with the meaning of
// s3sink.Error: exactly one of Retryable and Permanent is true, except for
// CodeCanceled where both are false.
//
//   - Retryable: transient (throttling, 5xx, timeouts, resets, expired
//     credentials); retry soon with backoff.
//   - Permanent: the configuration, IAM or the log group is wrong; Remedy
//     says in one line what to fix. Retry slowly, so that a fix heals
//     delivery without a restart.
type Error struct {
	Op        string // CreateLogGroup, CreateLogStream, PutRetentionPolicy, PutLogEvents, AssumeRole
	Code      string // service error code, or one of the Code constants
	Status    int    // HTTP status, 0 when no response arrived
	Retryable bool
	Permanent bool
	Remedy    string // one line naming the key or permission to fix
	Delivered int    // events of this Put delivered before the failure
	Endpoint  string // host the request went to, named when no response arrived
	Err       error  // the SDK's error
}

func (e *Error) Error() string {
	return awsutil.ErrorText("cwlogs", e.Op, e.Code, e.Status, e.Remedy, e.Endpoint, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// PermanentRemedy reports whether the error needs the user to fix something, and what.
func (e *Error) PermanentRemedy() (string, bool) { return e.Remedy, e.Permanent }

func (e *Error) retry() { e.Retryable, e.Permanent = true, false }

func (e *Error) permanent(remedy string) {
	e.Retryable, e.Permanent = false, true
	e.Remedy = remedy
}

// Classify returns err as a classified *Error; o supplies names for remedies
// and may be nil. An *Error is returned as it is.
func Classify(err error, o *Options) *Error {
	if o == nil {
		o = &Options{}
	}
	return classify(err, o, o.LogGroupName, "")
}

func (c *Client) classify(err error, group, stream string) *Error {
	e := classify(err, &c.o, group, stream)
	if e != nil && e.Endpoint == "" {
		e.Endpoint = awsutil.EndpointHost(c.o.Endpoint, "logs", c.o.Region, "")
	}
	if e != nil && expiredCodes[e.Code] && c.creds != nil {
		c.creds.Invalidate()
	}
	return e
}

// expiredCodes mean the credentials expired; retried at once with fresh ones.
var expiredCodes = map[string]bool{
	"ExpiredToken":          true,
	"ExpiredTokenException": true,
	"RequestExpired":        true,
	"TokenRefreshRequired":  true,
}

// retryableCodes are retried soon, beyond the SDK's throttling and timeout lists.
var retryableCodes = map[string]bool{
	"ThrottlingException":           true,
	"ServiceUnavailableException":   true,
	"ServiceUnavailable":            true,
	"InternalFailure":               true,
	"InternalServerError":           true,
	"OperationAbortedException":     true, // a conflicting operation on the group is in progress
	"InvalidSequenceTokenException": true, // never sent; a compatible server's leftover
	"DataAlreadyAcceptedException":  true, // PutTo treats it as delivered
	"RequestTimeTooSkewed":          true,
	"IDPCommunicationError":         true,
}

func classify(err error, o *Options, group, stream string) *Error {
	if err == nil {
		return nil
	}
	var done *Error
	if errors.As(err, &done) {
		return done
	}
	e := &Error{Op: awsutil.OpName(err, "PutLogEvents"), Err: err, Status: awsutil.HTTPStatus(err)}
	if errors.Is(err, context.Canceled) {
		e.Code = CodeCanceled
		return e
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() != "" {
		e.Code = api.ErrorCode()
		classifyCode(e, api.ErrorMessage(), o, group, stream)
		return e
	}
	if e.Status != 0 {
		e.Code = "HTTP" + strconv.Itoa(e.Status)
		classifyStatus(e, group)
		return e
	}
	classifyTransport(e, o)
	return e
}

// permissions names the IAM action each operation needs.
var permissions = map[string]string{
	"CreateLogGroup":     "logs:CreateLogGroup",
	"CreateLogStream":    "logs:CreateLogStream",
	"PutLogEvents":       "logs:PutLogEvents",
	"PutRetentionPolicy": "logs:PutRetentionPolicy",
	"DescribeLogStreams": "logs:DescribeLogStreams",
}

func classifyCode(e *Error, msg string, o *Options, group, stream string) {
	code := e.Code
	_, throttle := retry.DefaultThrottleErrorCodes[code]
	_, timeout := retry.DefaultRetryableErrorCodes[code]
	// CloudWatch Logs throttles with ThrottlingException; its
	// LimitExceededException is a resource quota (the SDK lists it as
	// throttling), which waiting does not fix.
	if (throttle || timeout || retryableCodes[code] || expiredCodes[code]) && code != "LimitExceededException" {
		e.retry()
		return
	}
	q := strconv.Quote(group)
	if e.Op == "AssumeRole" {
		switch code {
		case "AccessDenied":
			e.permanent(fmt.Sprintf(`cannot assume "role_arn" %q: its trust policy must allow sts:AssumeRole from the task role, with the "external_id" it requires`, o.RoleARN))
		case "RegionDisabledException":
			e.permanent(`STS is not activated in this region: activate it in IAM or set "sts_endpoint"`)
		default:
			if e.Status >= 500 {
				e.retry()
				return
			}
			e.permanent(fmt.Sprintf(`STS refused AssumeRole of "role_arn" %q (%s): check "role_arn", "external_id" and "sts_endpoint"`, o.RoleARN, awsutil.OneLine(msg)))
		}
		return
	}
	switch code {
	case "ResourceNotFoundException":
		switch {
		case e.Op == "PutLogEvents":
			// The stream or group went away after it was created: PutTo
			// creates it again; if that is not possible the create says why.
			e.retry()
		case o.AutoCreateGroup:
			e.retry() // just created; not visible yet
		default:
			e.permanent(fmt.Sprintf(`log group %s does not exist: create it or set "auto_create_group" true`, q))
		}
	case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation":
		if strings.Contains(strings.ToLower(msg), "kms") {
			e.permanent(fmt.Sprintf(`log group %s is encrypted with a KMS key CloudWatch Logs cannot use: fix the key policy or the group's "kms_key_id"`, q))
			return
		}
		perm := permissions[e.Op]
		if perm == "" {
			perm = "logs:" + e.Op
		}
		e.permanent(fmt.Sprintf(`access denied to log group %s: allow %s on arn:aws:logs:%s:*:log-group:%s:* for the task role (or "role_arn")`, q, perm, regionOf(o), group))
	case "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken":
		e.permanent(`CloudWatch Logs rejected the credentials: fix the task role or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and "region" / "endpoint")`)
	case "LimitExceededException":
		e.permanent(fmt.Sprintf(`CloudWatch Logs quota reached creating %s (%s): delete unused log groups or streams, or request a higher quota`, q, awsutil.OneLine(msg)))
	case "InvalidParameterException", "ValidationException":
		lm := strings.ToLower(msg)
		switch {
		case e.Op == "CreateLogGroup" && strings.Contains(lm, "class"):
			e.permanent(fmt.Sprintf(`log group class %q is not accepted: set "log_group_class" to STANDARD or INFREQUENT_ACCESS`, o.LogGroupClass))
		case e.Op == "CreateLogGroup":
			e.permanent(fmt.Sprintf(`log group name %s is not valid: fix "log_group_name"`, q))
		case e.Op == "CreateLogStream":
			e.permanent(fmt.Sprintf(`log stream name %q is not valid: fix "log_stream_name" or "log_stream_prefix"`, stream))
		case e.Op == "PutRetentionPolicy":
			e.permanent(fmt.Sprintf(`retention of %d days is not accepted: fix "log_retention_days"`, o.LogRetentionDays))
		default:
			e.permanent(fmt.Sprintf(`CloudWatch Logs refused %s on log group %s (%s): this is a bug in envoy_s3's batching, please report it`, e.Op, q, awsutil.OneLine(msg)))
		}
	default:
		classifyStatus(e, group)
		if e.Permanent {
			e.Remedy = fmt.Sprintf(`CloudWatch Logs refused %s on log group %s (%s: %s): check the log group, IAM and "region"`, e.Op, q, code, awsutil.OneLine(msg))
		}
	}
}

func regionOf(o *Options) string {
	if o.Region != "" {
		return o.Region
	}
	return "*"
}

func classifyStatus(e *Error, group string) {
	switch {
	case e.Status >= 500, e.Status == 429, e.Status == 408:
		e.retry()
	case e.Status == 401 || e.Status == 403:
		e.permanent(fmt.Sprintf(`access denied to log group %q: allow logs:CreateLogStream and logs:PutLogEvents for the task role (or "role_arn") and check the credentials`, group))
	case e.Status >= 300:
		e.permanent(fmt.Sprintf(`the server refused %s with HTTP %d: check "endpoint" and "region"`, e.Op, e.Status))
	default:
		e.retry()
	}
}

// classifyTransport handles failures where no HTTP response arrived.
func classifyTransport(e *Error, o *Options) {
	code, retryable, remedy := awsutil.Transport(e.Err, o.RoleARN)
	e.Code = code
	if retryable {
		e.retry()
	} else {
		e.permanent(remedy)
	}
}
