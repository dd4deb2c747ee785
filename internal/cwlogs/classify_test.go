package cwlogs

import (
	"context"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/envoy-s3/envoy_s3/internal/awsutil"
)

func opErr(op string, err error) error {
	return &smithy.OperationError{ServiceID: "CloudWatch Logs", OperationName: op, Err: err}
}

func api(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

func TestClassify(t *testing.T) {
	o := &Options{LogGroupName: "/g", Region: "us-east-1", LogGroupClass: "STANDARD", LogRetentionDays: 7}
	auto := *o
	auto.AutoCreateGroup = true
	cases := []struct {
		err       error
		o         *Options
		code      string
		retryable bool
		remedy    string
	}{
		{opErr("PutLogEvents", api("ThrottlingException", "Rate exceeded")), o, "ThrottlingException", true, ""},
		{opErr("PutLogEvents", api("ServiceUnavailableException", "")), o, "ServiceUnavailableException", true, ""},
		{opErr("PutLogEvents", api("InvalidSequenceTokenException", "")), o, "InvalidSequenceTokenException", true, ""},
		{opErr("PutLogEvents", api("ExpiredTokenException", "")), o, "ExpiredTokenException", true, ""},
		{opErr("CreateLogStream", api("ResourceNotFoundException", "")), o, "ResourceNotFoundException", false, `log group "/g" does not exist: create it or set "auto_create_group" true`},
		{opErr("CreateLogStream", api("ResourceNotFoundException", "")), &auto, "ResourceNotFoundException", true, ""},
		{opErr("PutLogEvents", api("AccessDeniedException", "not authorized")), o, "AccessDeniedException", false, "allow logs:PutLogEvents on arn:aws:logs:us-east-1:*:log-group:/g:*"},
		{opErr("PutLogEvents", api("AccessDeniedException", "The specified KMS key does not exist")), o, "AccessDeniedException", false, "KMS key"},
		{opErr("CreateLogGroup", api("InvalidParameterException", "Value at 'logGroupClass'")), o, "InvalidParameterException", false, `"log_group_class"`},
		{opErr("PutRetentionPolicy", api("InvalidParameterException", "")), o, "InvalidParameterException", false, `"log_retention_days"`},
		{opErr("CreateLogGroup", api("LimitExceededException", "too many")), o, "LimitExceededException", false, "quota"},
		{opErr("PutLogEvents", api("UnrecognizedClientException", "")), o, "UnrecognizedClientException", false, "credentials"},
		{opErr("PutLogEvents", opErr("AssumeRole", api("AccessDenied", ""))), &Options{RoleARN: "arn:aws:iam::1:role/x"}, "AccessDenied", false, `cannot assume "role_arn"`},
		{opErr("PutLogEvents", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), o, awsutil.CodeConnection, true, ""},
		{opErr("PutLogEvents", &net.DNSError{Name: "logs.invalid", IsNotFound: true}), o, awsutil.CodeDNS, false, `"endpoint"`},
		{opErr("PutLogEvents", context.DeadlineExceeded), o, awsutil.CodeTimeout, true, ""},
	}
	for _, tc := range cases {
		e := Classify(tc.err, tc.o)
		if e.Code != tc.code || e.Retryable != tc.retryable || e.Permanent == tc.retryable || !strings.Contains(e.Remedy, tc.remedy) {
			t.Errorf("%v: got %+v", tc.err, e)
		}
		if s := e.Error(); strings.ContainsRune(s, '\n') {
			t.Errorf("multi-line error %q", s)
		}
	}
	if e := Classify(opErr("PutLogEvents", context.Canceled), o); e.Code != awsutil.CodeCanceled || e.Retryable || e.Permanent {
		t.Errorf("canceled: %+v", e)
	}
	if Classify(nil, o) != nil {
		t.Error("nil error classified")
	}
	e := Classify(fmt.Errorf("wrapped: %w", &Error{Code: "X", Permanent: true}), o)
	if e.Code != "X" {
		t.Errorf("re-classified: %+v", e)
	}
}

// Classify (the tests' entry to the client's rules) returns err as a classified *Error; o supplies names for remedies
// and may be nil. An *Error is returned as it is.
func Classify(err error, o *Options) *Error {
	if o == nil {
		o = &Options{}
	}
	return awsutil.Classify(err, service(o, o.LogGroupName, ""))
}
