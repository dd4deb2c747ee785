package s3sink

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

// Codes of failures that carry no S3 error code. S3's own codes (SlowDown,
// AccessDenied, KMS.DisabledException, ...) are reported as S3 sent them.
const (
	CodeCanceled      = awsutil.CodeCanceled      // the caller's context was canceled
	CodeTimeout       = awsutil.CodeTimeout       // a deadline or I/O timeout expired
	CodeConnection    = awsutil.CodeConnection    // refused, reset, closed, EOF mid-response
	CodeDNS           = awsutil.CodeDNS           // the endpoint's host name does not resolve
	CodeTLS           = awsutil.CodeTLS           // the endpoint's certificate is not trusted
	CodeNoCredentials = awsutil.CodeNoCredentials // no credential source yielded credentials
	CodeUnknown       = awsutil.CodeUnknown
)

// Error is a classified S3 or STS failure. Exactly one of Retryable and
// Permanent is true, except for CodeCanceled where both are false: the caller
// gave up, nothing is wrong with the destination.
//
//   - Retryable: transient (5xx, throttling, timeouts, resets, expired
//     credentials); retry soon with backoff.
//   - Permanent: the configuration or the bucket is wrong; Remedy says in one
//     line which key or policy to fix. Retry slowly, so that fixing the bucket
//     heals the pipeline without a restart.
type Error struct {
	Op        string // "PutObject" or "AssumeRole"
	Code      string // S3/STS error code, or one of the Code constants
	Status    int    // HTTP status, 0 when no response arrived
	Retryable bool
	Permanent bool
	Remedy    string // one line naming the key to fix; empty for transient errors
	Endpoint  string // host the request went to, named when no response arrived
	Err       error  // the SDK's error
}

func (e *Error) Error() string {
	return awsutil.ErrorText("s3sink", e.Op, e.Code, e.Status, e.Remedy, e.Endpoint, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// PermanentRemedy reports whether the error needs the user to fix something, and what.
func (e *Error) PermanentRemedy() (string, bool) { return e.Remedy, e.Permanent }

// ExpiredCredentials reports whether the server said the credentials expired.
func (e *Error) ExpiredCredentials() bool { return expiredCodes[e.Code] }

// Classify returns err as a classified *Error. o supplies the names used in
// remedies and may be nil. Errors already classified are returned as they are.
func Classify(err error, o *Options) *Error {
	if err == nil {
		return nil
	}
	var done *Error
	if errors.As(err, &done) {
		return done
	}
	if o == nil {
		o = &Options{}
	}
	e := &Error{Op: awsutil.OpName(err, "PutObject"), Err: err, Status: awsutil.HTTPStatus(err)}

	if errors.Is(err, context.Canceled) {
		e.Code = CodeCanceled
		return e
	}

	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() != "" {
		e.Code = api.ErrorCode()
		classifyCode(e, api.ErrorMessage(), o)
		return e
	}
	if e.Status != 0 {
		// A response without a parsable S3 error (a proxy's HTML page).
		e.Code = "HTTP" + strconv.Itoa(e.Status)
		classifyStatus(e, o)
		return e
	}
	classifyTransport(e, o)
	return e
}

func (e *Error) retry() { e.Retryable, e.Permanent = true, false }

func (e *Error) permanent(remedy string) {
	e.Retryable, e.Permanent = false, true
	e.Remedy = remedy
}

// Codes retried soon, beyond the SDK's own throttling and timeout lists.
var retryableCodes = map[string]bool{
	"InternalError":              true,
	"ServiceUnavailable":         true,
	"OperationAborted":           true, // a conflicting operation on the bucket is in progress
	"RequestTimeTooSkewed":       true, // the SDK records the skew; the next attempt corrects it
	"BadDigest":                  true, // body damaged in transit
	"IncompleteBody":             true,
	"XAmzContentSHA256Mismatch":  true, // MinIO's BadDigest
	"TemporaryRedirect":          true, // a new bucket's DNS is still propagating
	"IDPCommunicationError":      true, // STS
	"SlowDownWrite":              true, // MinIO
	"SlowDownRead":               true,
	"XMinioServerNotInitialized": true,
}

// expiredCodes mean the credentials expired; retried at once with fresh ones.
var expiredCodes = map[string]bool{
	"ExpiredToken":          true,
	"ExpiredTokenException": true,
	"RequestExpired":        true,
	"TokenRefreshRequired":  true,
}

func classifyCode(e *Error, msg string, o *Options) {
	code := e.Code
	_, throttle := retry.DefaultThrottleErrorCodes[code]
	_, timeout := retry.DefaultRetryableErrorCodes[code]
	switch {
	case throttle || timeout || retryableCodes[code]:
		e.retry()
		return
	case expiredCodes[code]:
		e.retry()
		return
	case strings.HasPrefix(code, "KMS."):
		classifyKMS(e, o)
		return
	}

	bucket := strconv.Quote(o.Bucket)
	if e.Op == "AssumeRole" {
		switch code {
		case "AccessDenied":
			e.permanent(fmt.Sprintf(`cannot assume "role_arn" %q: its trust policy must allow sts:AssumeRole from the task role, with the "external_id" it requires`, o.RoleARN))
		case "RegionDisabledException":
			e.permanent(`STS is not activated in this region: activate it in IAM or set "sts_endpoint"`)
		case "InvalidClientTokenId", "SignatureDoesNotMatch", "InvalidAccessKeyId":
			e.permanent(`STS rejected the base credentials used to assume "role_arn": fix the task role or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`)
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
	case "NoSuchBucket":
		e.permanent(fmt.Sprintf(`bucket %s does not exist: create it or fix "bucket"`, bucket))
	case "InvalidBucketName":
		e.permanent(fmt.Sprintf(`bucket name %s is not valid: fix "bucket"`, bucket))
	case "AccessDenied", "AllAccessDisabled", "AccountProblem":
		if strings.Contains(strings.ToLower(msg), "kms") {
			e.permanent(fmt.Sprintf(`access to the KMS key %s denied: allow kms:GenerateDataKey on it for the task role (or "role_arn"), or fix "sse_kms_key_id"`, kmsKey(o)))
			return
		}
		r := fmt.Sprintf(`access denied to bucket %s: allow s3:PutObject on arn:aws:s3:::%s/* for the task role (or "role_arn")`, bucket, o.Bucket)
		if o.CannedACL != "" {
			r += ` and s3:PutObjectAcl (for "canned_acl")`
		}
		if o.ExpectedBucketOwner != "" {
			r += `, and check "expected_bucket_owner"`
		}
		e.permanent(r)
	case "InvalidAccessKeyId", "InvalidClientTokenId":
		e.permanent(`the access key id is not known to the server: fix the task role or AWS_ACCESS_KEY_ID (and "endpoint" for S3-compatible servers)`)
	case "SignatureDoesNotMatch":
		e.permanent(`the server rejected the request signature: fix AWS_SECRET_ACCESS_KEY, or "region" for S3-compatible servers`)
	case "InvalidToken":
		e.permanent(`the session token is malformed or invalid: fix AWS_SESSION_TOKEN or the task role`)
	case "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException", "Redirect":
		e.permanent(fmt.Sprintf(`bucket %s is not in region %q: set "region" to the bucket's region`, bucket, regionOf(o)))
	case "InvalidStorageClass":
		e.permanent(fmt.Sprintf(`storage class %q is not accepted: fix "storage_class" (STANDARD, STANDARD_IA, INTELLIGENT_TIERING, ONEZONE_IA, GLACIER_IR, ...)`, o.StorageClass))
	case "InvalidEncryptionAlgorithmError":
		e.permanent(fmt.Sprintf(`server-side encryption %q is not accepted: set "server_side_encryption" to AES256 or aws:kms`, o.SSE))
	case "AccessControlListNotSupported":
		e.permanent(fmt.Sprintf(`bucket %s has ACLs disabled (bucket owner enforced): remove "canned_acl"`, bucket))
	case "NotImplemented":
		e.permanent(`the server does not implement an option that was sent: remove "storage_class", "canned_acl", "server_side_encryption" or "bucket_key_enabled" for this endpoint`)
	case "InvalidRequest":
		l := strings.ToLower(msg)
		if strings.Contains(l, "content-md5") || strings.Contains(l, "object lock") {
			e.permanent(fmt.Sprintf(`bucket %s requires Content-MD5 (Object Lock): set "send_content_md5" true`, bucket))
			return
		}
		e.permanent(fmt.Sprintf(`S3 rejected the request (%s): check "server_side_encryption", "sse_kms_key_id", "canned_acl" and "storage_class"`, awsutil.OneLine(msg)))
	case "InvalidArgument":
		e.permanent(fmt.Sprintf(`S3 rejected an argument (%s): check "server_side_encryption", "sse_kms_key_id", "canned_acl", "storage_class" and "expected_bucket_owner"`, awsutil.OneLine(msg)))
	default:
		classifyStatus(e, o)
		if e.Permanent {
			e.Remedy = fmt.Sprintf(`S3 refused the upload to bucket %s (%s: %s): check the bucket and the S3 options`, bucket, code, awsutil.OneLine(msg))
		}
	}
}

func classifyKMS(e *Error, o *Options) {
	key := kmsKey(o)
	switch e.Code {
	case "KMS.ThrottlingException", "KMS.KMSInternalException", "KMS.DependencyTimeoutException", "KMS.LimitExceededException":
		e.retry()
	case "KMS.NotFoundException":
		e.permanent(fmt.Sprintf(`KMS key %s not found: fix "sse_kms_key_id" (a key in the bucket's region)`, key))
	case "KMS.DisabledException":
		e.permanent(fmt.Sprintf(`KMS key %s is disabled: enable it or change "sse_kms_key_id"`, key))
	case "KMS.KMSInvalidStateException":
		e.permanent(fmt.Sprintf(`KMS key %s is pending deletion or unavailable: cancel the deletion or change "sse_kms_key_id"`, key))
	default:
		e.permanent(fmt.Sprintf(`KMS refused the key %s (%s): fix "sse_kms_key_id" or the key's policy`, key, e.Code))
	}
}

func kmsKey(o *Options) string {
	if o.SSEKMSKeyID != "" {
		return strconv.Quote(o.SSEKMSKeyID)
	}
	return "of the bucket's default encryption"
}

func regionOf(o *Options) string {
	if o.Region != "" {
		return o.Region
	}
	return "(from the environment)"
}

func classifyStatus(e *Error, o *Options) {
	switch {
	case e.Status >= 500, e.Status == 429, e.Status == 408:
		e.retry()
	case e.Status == 404:
		e.permanent(fmt.Sprintf(`bucket %q was not found at the endpoint: create it or fix "bucket" and "endpoint"`, o.Bucket))
	case e.Status == 401 || e.Status == 403:
		e.permanent(fmt.Sprintf(`access denied to bucket %q: allow s3:PutObject for the task role (or "role_arn") and check the credentials`, o.Bucket))
	case e.Status >= 300:
		e.permanent(fmt.Sprintf(`the server refused the upload with HTTP %d: check "endpoint", "region" and "bucket"`, e.Status))
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
