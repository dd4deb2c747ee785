package cwlogs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/envoy-s3/envoy_s3/internal/awsutil"
)

// Error is a classified CloudWatch Logs or STS failure (see awsutil.Error); its
// text begins with "cwlogs: ", and Delivered counts the events of a PutTo
// delivered before it.
type Error = awsutil.Error

func (c *Client) classify(err error, group, stream string) *Error {
	s := service(&c.o, group, stream)
	s.Endpoint = awsutil.EndpointHost(c.o.Endpoint, "logs", c.o.Region, "")
	s.Creds = c.creds // expired: the next attempt fetches new credentials
	return awsutil.Classify(err, s)
}

// service is CloudWatch Logs' part of the classification: its codes and
// remedies, which name the keys of o and the group and stream of the call.
func service(o *Options, group, stream string) *awsutil.Service {
	return &awsutil.Service{
		Pkg:            "cwlogs",
		DefaultOp:      "PutLogEvents",
		RoleARN:        o.RoleARN,
		RetryableCodes: retryableCodes,
		NotRetryable:   notRetryable,
		Code:           func(e *Error, msg string) { classifyCode(e, msg, o, group, stream) },
		StatusRemedy:   func(e *Error) string { return statusRemedy(e, group) },
	}
}

// CloudWatch Logs' codes retried soon, beyond those awsutil retries for every
// service.
var retryableCodes = map[string]bool{
	"ThrottlingException":           true,
	"ServiceUnavailableException":   true,
	"InternalFailure":               true,
	"InternalServerError":           true,
	"OperationAbortedException":     true, // a conflicting operation on the group is in progress
	"InvalidSequenceTokenException": true, // never sent; a compatible server's leftover
	"DataAlreadyAcceptedException":  true, // PutTo treats it as delivered
}

// CloudWatch Logs throttles with ThrottlingException; its LimitExceededException
// is a resource quota (the SDK lists it as throttling), which waiting does not fix.
var notRetryable = map[string]bool{"LimitExceededException": true}

// permissions names the IAM action each operation needs.
var permissions = map[string]string{
	"CreateLogGroup":     "logs:CreateLogGroup",
	"CreateLogStream":    "logs:CreateLogStream",
	"PutLogEvents":       "logs:PutLogEvents",
	"PutRetentionPolicy": "logs:PutRetentionPolicy",
	"DescribeLogStreams": "logs:DescribeLogStreams",
}

func classifyCode(e *Error, msg string, o *Options, group, stream string) {
	q := strconv.Quote(group)
	switch e.Code {
	case "ResourceNotFoundException":
		switch {
		case e.Op == "PutLogEvents":
			// The stream or group went away after it was created: PutTo
			// creates it again; if that is not possible the create says why.
			e.Retry()
		case o.AutoCreateGroup:
			e.Retry() // just created; not visible yet
		default:
			e.Fail(fmt.Sprintf(`log group %s does not exist: create it or set "auto_create_group" true`, q))
		}
	case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation":
		if strings.Contains(strings.ToLower(msg), "kms") {
			e.Fail(fmt.Sprintf(`log group %s is encrypted with a KMS key CloudWatch Logs cannot use: fix the key policy or the group's "kms_key_id"`, q))
			return
		}
		perm := permissions[e.Op]
		if perm == "" {
			perm = "logs:" + e.Op
		}
		e.Fail(fmt.Sprintf(`access denied to log group %s: allow %s on arn:aws:logs:%s:*:log-group:%s:* for the task role (or "role_arn")`, q, perm, regionOf(o), group))
	case "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken":
		e.Fail(`CloudWatch Logs rejected the credentials: fix the task role or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and "region" / "endpoint")`)
	case "LimitExceededException":
		e.Fail(fmt.Sprintf(`CloudWatch Logs quota reached creating %s (%s): delete unused log groups or streams, or request a higher quota`, q, awsutil.OneLine(msg)))
	case "InvalidParameterException", "ValidationException":
		lm := strings.ToLower(msg)
		switch {
		case e.Op == "CreateLogGroup" && strings.Contains(lm, "class"):
			e.Fail(fmt.Sprintf(`log group class %q is not accepted: set "log_group_class" to STANDARD or INFREQUENT_ACCESS`, o.LogGroupClass))
		case e.Op == "CreateLogGroup":
			e.Fail(fmt.Sprintf(`log group name %s is not valid: fix "log_group_name"`, q))
		case e.Op == "CreateLogStream":
			e.Fail(fmt.Sprintf(`log stream name %q is not valid: fix "log_stream_name" or "log_stream_prefix"`, stream))
		case e.Op == "PutRetentionPolicy":
			e.Fail(fmt.Sprintf(`retention of %d days is not accepted: fix "log_retention_days"`, o.LogRetentionDays))
		default:
			e.Fail(fmt.Sprintf(`CloudWatch Logs refused %s on log group %s (%s): this is a bug in envoy_s3's batching, please report it`, e.Op, q, awsutil.OneLine(msg)))
		}
	default:
		e.ByStatus(fmt.Sprintf(`CloudWatch Logs refused %s on log group %s (%s: %s): check the log group, IAM and "region"`, e.Op, q, e.Code, awsutil.OneLine(msg)))
	}
}

func regionOf(o *Options) string {
	if o.Region != "" {
		return o.Region
	}
	return "*"
}

// statusRemedy is the remedy for a response that carried no error code.
func statusRemedy(e *Error, group string) string {
	if e.Status == 401 || e.Status == 403 {
		return fmt.Sprintf(`access denied to log group %q: allow logs:CreateLogStream and logs:PutLogEvents for the task role (or "role_arn") and check the credentials`, group)
	}
	return fmt.Sprintf(`the server refused %s with HTTP %d: check "endpoint" and "region"`, e.Op, e.Status)
}
