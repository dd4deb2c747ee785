package s3sink

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/envoy-s3/envoy_s3/internal/awsutil"
)

// Error is a classified S3 or STS failure (see awsutil.Error); its text
// begins with "s3sink: ".
type Error = awsutil.Error

// service is S3's part of the classification: its codes and remedies, which
// name the keys of o.
func service(o *Options) *awsutil.Service {
	return &awsutil.Service{
		Pkg:            "s3sink",
		DefaultOp:      "PutObject",
		RoleARN:        o.RoleARN,
		RetryableCodes: retryableCodes,
		Code:           func(e *Error, msg string) { classifyCode(e, msg, o) },
		StatusRemedy:   func(e *Error) string { return statusRemedy(e, o) },
	}
}

// S3's codes retried soon, beyond those awsutil retries for every service.
var retryableCodes = map[string]bool{
	"InternalError":               true,
	"OperationAborted":            true, // a conflicting operation on the bucket is in progress
	"BadDigest":                   true, // body damaged in transit
	"IncompleteBody":              true,
	"XAmzContentSHA256Mismatch":   true, // MinIO's BadDigest
	"XAmzContentChecksumMismatch": true, // MinIO: the body does not match its x-amz-checksum-*
	"TemporaryRedirect":           true, // a new bucket's DNS is still propagating
	"SlowDownWrite":               true, // MinIO
	"SlowDownRead":                true,
	"XMinioServerNotInitialized":  true,
}

func classifyCode(e *Error, msg string, o *Options) {
	if strings.HasPrefix(e.Code, "KMS.") {
		classifyKMS(e, o)
		return
	}
	bucket := strconv.Quote(o.Bucket)
	switch e.Code {
	case "NoSuchBucket":
		e.Fail(fmt.Sprintf(`bucket %s does not exist: create it or fix "bucket"`, bucket))
	case "InvalidBucketName":
		e.Fail(fmt.Sprintf(`bucket name %s is not valid: fix "bucket"`, bucket))
	case "AccessDenied", "AllAccessDisabled", "AccountProblem":
		if strings.Contains(strings.ToLower(msg), "kms") {
			e.Fail(fmt.Sprintf(`access to the KMS key %s denied: allow kms:GenerateDataKey on it for the task role (or "role_arn"), or fix "sse_kms_key_id"`, kmsKey(o)))
			return
		}
		r := fmt.Sprintf(`access denied to bucket %s: allow s3:PutObject on arn:aws:s3:::%s/* for the task role (or "role_arn")`, bucket, o.Bucket)
		if o.CannedACL != "" {
			r += ` and s3:PutObjectAcl (for "canned_acl")`
		}
		if o.Tagged {
			r += ` and s3:PutObjectTagging (for "s3_object_tags")`
		}
		if o.ExpectedBucketOwner != "" {
			r += `, and check "expected_bucket_owner"`
		}
		e.Fail(r)
	case "InvalidAccessKeyId", "InvalidClientTokenId":
		e.Fail(`the access key id is not known to the server: fix the task role or AWS_ACCESS_KEY_ID (and "endpoint" for S3-compatible servers)`)
	case "SignatureDoesNotMatch":
		e.Fail(`the server rejected the request signature: fix AWS_SECRET_ACCESS_KEY, or "region" for S3-compatible servers`)
	case "InvalidToken":
		e.Fail(`the session token is malformed or invalid: fix AWS_SESSION_TOKEN or the task role`)
	case "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException", "Redirect":
		e.Fail(fmt.Sprintf(`bucket %s is not in region %q: set "region" to the bucket's region`, bucket, regionOf(o)))
	case "InvalidStorageClass":
		e.Fail(fmt.Sprintf(`storage class %q is not accepted: fix "storage_class" (STANDARD, STANDARD_IA, INTELLIGENT_TIERING, ONEZONE_IA, GLACIER_IR, ...)`, o.StorageClass))
	case "InvalidEncryptionAlgorithmError":
		e.Fail(fmt.Sprintf(`server-side encryption %q is not accepted: set "server_side_encryption" to AES256 or aws:kms`, o.SSE))
	case "AccessControlListNotSupported":
		e.Fail(fmt.Sprintf(`bucket %s has ACLs disabled (bucket owner enforced): remove "canned_acl"`, bucket))
	case "NotImplemented":
		e.Fail(`the server does not implement an option that was sent: remove "storage_class", "canned_acl", "server_side_encryption" or "bucket_key_enabled" for this endpoint`)
	case "InvalidRequest":
		l := strings.ToLower(msg)
		if strings.Contains(l, "content-md5") || strings.Contains(l, "object lock") {
			e.Fail(fmt.Sprintf(`bucket %s requires a checksum (Object Lock): set "checksum_algorithm" (CRC32C) or "send_content_md5" true`, bucket))
			return
		}
		e.Fail(fmt.Sprintf(`S3 rejected the request (%s): check "server_side_encryption", "sse_kms_key_id", "canned_acl" and "storage_class"`, awsutil.OneLine(msg)))
	case "InvalidArgument":
		e.Fail(fmt.Sprintf(`S3 rejected an argument (%s): check "server_side_encryption", "sse_kms_key_id", "canned_acl", "storage_class" and "expected_bucket_owner"`, awsutil.OneLine(msg)))
	default:
		e.ByStatus(fmt.Sprintf(`S3 refused the upload to bucket %s (%s: %s): check the bucket and the S3 options`, bucket, e.Code, awsutil.OneLine(msg)))
	}
}

func classifyKMS(e *Error, o *Options) {
	key := kmsKey(o)
	switch e.Code {
	case "KMS.ThrottlingException", "KMS.KMSInternalException", "KMS.DependencyTimeoutException", "KMS.LimitExceededException":
		e.Retry()
	case "KMS.NotFoundException":
		e.Fail(fmt.Sprintf(`KMS key %s not found: fix "sse_kms_key_id" (a key in the bucket's region)`, key))
	case "KMS.DisabledException":
		e.Fail(fmt.Sprintf(`KMS key %s is disabled: enable it or change "sse_kms_key_id"`, key))
	case "KMS.KMSInvalidStateException":
		e.Fail(fmt.Sprintf(`KMS key %s is pending deletion or unavailable: cancel the deletion or change "sse_kms_key_id"`, key))
	default:
		e.Fail(fmt.Sprintf(`KMS refused the key %s (%s): fix "sse_kms_key_id" or the key's policy`, key, e.Code))
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

// statusRemedy is the remedy for a response that carried no S3 error code.
func statusRemedy(e *Error, o *Options) string {
	switch {
	case e.Status == 404:
		return fmt.Sprintf(`bucket %q was not found at the endpoint: create it or fix "bucket" and "endpoint"`, o.Bucket)
	case e.Status == 401 || e.Status == 403:
		return fmt.Sprintf(`access denied to bucket %q: allow s3:PutObject for the task role (or "role_arn") and check the credentials`, o.Bucket)
	default:
		return fmt.Sprintf(`the server refused the upload with HTTP %d: check "endpoint", "region" and "bucket"`, e.Status)
	}
}
