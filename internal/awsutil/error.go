package awsutil

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Error is a classified failure of an AWS call (S3, CloudWatch Logs, or STS
// while fetching credentials). s3sink.Error and cwlogs.Error are this type.
// Exactly one of Retryable and Permanent is true, except for CodeCanceled
// where both are false: the caller gave up, nothing is wrong with the
// destination.
//
//   - Retryable: transient (5xx, throttling, timeouts, resets, expired
//     credentials); retry soon with backoff.
//   - Permanent: the configuration, IAM or the destination is wrong; Remedy
//     says in one line which key or policy to fix. Retry slowly, so that a fix
//     heals delivery without a restart.
type Error struct {
	Pkg       string // the client package, first in the text: "s3sink" or "cwlogs"
	Op        string // the operation that failed: PutObject, PutLogEvents, AssumeRole, ...
	Code      string // the service's error code, or one of the Code constants
	Status    int    // HTTP status, 0 when no response arrived
	Retryable bool
	Permanent bool
	Remedy    string // one line naming the key or permission to fix; empty for transient errors
	Delivered int    // cwlogs: events of this Put delivered before the failure
	Endpoint  string // host the request went to, named when no response arrived
	Err       error  // the SDK's error
}

func (e *Error) Error() string {
	return ErrorText(e.Pkg, e.Op, e.Code, e.Status, e.Remedy, e.Endpoint, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// PermanentRemedy reports whether the error needs the user to fix something, and what.
func (e *Error) PermanentRemedy() (string, bool) { return e.Remedy, e.Permanent }

// ExpiredCredentials reports whether the server said the credentials expired.
func (e *Error) ExpiredCredentials() bool { return expiredCodes[e.Code] }

// Retry marks the failure transient.
func (e *Error) Retry() { e.Retryable, e.Permanent, e.Remedy = true, false, "" }

// Fail marks the failure permanent, with the one-line remedy.
func (e *Error) Fail(remedy string) { e.Retryable, e.Permanent, e.Remedy = false, true, remedy }

// ByStatus decides by the HTTP status alone: 5xx, 429, 408 and anything below
// 300 (no status) are retried, any other status fails with remedy.
func (e *Error) ByStatus(remedy string) {
	switch {
	case e.Status >= 500, e.Status == 429, e.Status == 408, e.Status < 300:
		e.Retry()
	default:
		e.Fail(remedy)
	}
}

// Service is what one client adds to the classification shared by all: its
// names, the codes it retries, and the remedies of its own codes.
type Service struct {
	Pkg       string // named first in Error's text
	DefaultOp string // Op when the error names no operation
	RoleARN   string // the configured "role_arn", named in remedies of STS failures

	// RetryableCodes are retried soon, beyond the SDK's throttling and timeout
	// lists and the codes retried for every service (expired credentials,
	// clock skew, STS's IDPCommunicationError).
	RetryableCodes map[string]bool
	// NotRetryable are codes the SDK lists as throttling or timeouts that the
	// service uses for something waiting does not fix (a quota): Code decides them.
	NotRetryable map[string]bool
	// Code classifies an error code of the service that is not retried by the
	// rules above (and not STS's): it calls e.Retry, e.Fail or e.ByStatus.
	Code func(e *Error, msg string)
	// StatusRemedy is the remedy for a response that failed without an error
	// code (a proxy's HTML page), when its status is not retried.
	StatusRemedy func(e *Error) string

	// Endpoint is the host named in the text of a failure where no response
	// arrived; empty to leave it unnamed.
	Endpoint string
	// Creds, when set, is invalidated on a failure that says the credentials
	// expired, so the next attempt fetches new ones instead of failing alike.
	Creds *aws.CredentialsCache
}

// expiredCodes mean the credentials expired; retried at once with fresh ones.
var expiredCodes = map[string]bool{
	"ExpiredToken":          true,
	"ExpiredTokenException": true,
	"RequestExpired":        true,
	"TokenRefreshRequired":  true,
}

// retryableCodes are retried soon for every service, beyond the SDK's
// throttling and timeout lists.
var retryableCodes = map[string]bool{
	"ServiceUnavailable":    true,
	"RequestTimeTooSkewed":  true, // the SDK records the skew; the next attempt corrects it
	"IDPCommunicationError": true, // STS could not reach the identity provider
}

// Classify returns err as a classified *Error under the rules of s. An error
// already classified (an *Error in err's chain) is returned as it is.
func Classify(err error, s *Service) *Error {
	if err == nil {
		return nil
	}
	e := classify(err, s)
	if e.Endpoint == "" {
		e.Endpoint = s.Endpoint
	}
	if s.Creds != nil && e.ExpiredCredentials() {
		s.Creds.Invalidate()
	}
	return e
}

func classify(err error, s *Service) *Error {
	var done *Error
	if errors.As(err, &done) {
		return done
	}
	e := &Error{Pkg: s.Pkg, Op: OpName(err, s.DefaultOp), Err: err, Status: HTTPStatus(err)}
	if errors.Is(err, context.Canceled) {
		e.Code = CodeCanceled
		return e
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() != "" {
		e.Code = api.ErrorCode()
		msg := api.ErrorMessage()
		_, throttle := retry.DefaultThrottleErrorCodes[e.Code]
		_, timeout := retry.DefaultRetryableErrorCodes[e.Code]
		switch {
		case (throttle || timeout || retryableCodes[e.Code] || s.RetryableCodes[e.Code] || expiredCodes[e.Code]) && !s.NotRetryable[e.Code]:
			e.Retry()
		case e.Op == "AssumeRole":
			classifySTS(e, msg, s.RoleARN)
		default:
			s.Code(e, msg)
		}
		return e
	}
	if e.Status != 0 {
		e.Code = "HTTP" + strconv.Itoa(e.Status)
		e.ByStatus(s.StatusRemedy(e))
		return e
	}
	code, retryable, remedy := Transport(err, s.RoleARN)
	e.Code = code
	if retryable {
		e.Retry()
	} else {
		e.Fail(remedy)
	}
	return e
}

// classifySTS classifies a failure of AssumeRole (fetching credentials for
// "role_arn"), the same for every service.
func classifySTS(e *Error, msg, roleARN string) {
	switch e.Code {
	case "AccessDenied":
		e.Fail(fmt.Sprintf(`cannot assume "role_arn" %q: its trust policy must allow sts:AssumeRole from the task role, with the "external_id" it requires`, roleARN))
	case "RegionDisabledException":
		e.Fail(`STS is not activated in this region: activate it in IAM or set "sts_endpoint"`)
	case "InvalidClientTokenId", "SignatureDoesNotMatch", "InvalidAccessKeyId":
		e.Fail(`STS rejected the base credentials used to assume "role_arn": fix the task role or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`)
	default:
		if e.Status >= 500 {
			e.Retry()
			return
		}
		e.Fail(fmt.Sprintf(`STS refused AssumeRole of "role_arn" %q (%s): check "role_arn", "external_id" and "sts_endpoint"`, roleARN, OneLine(msg)))
	}
}
