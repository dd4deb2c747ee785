package s3sink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/envoy-s3/envoy_s3/internal/awsutil"
)

var testOpts = &Options{
	Bucket:              "acme-logs",
	Region:              "ap-northeast-1",
	RoleARN:             "arn:aws:iam::123456789012:role/log-writer",
	StorageClass:        "STANDARD_IAX",
	CannedACL:           "bucket-owner-full-control",
	SSE:                 "aws:kms",
	SSEKMSKeyID:         "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd",
	ExpectedBucketOwner: "123456789012",
	Tagged:              true,
}

// s3Err builds the error chain the SDK returns for an S3 error response.
func s3Err(status int, code, msg string) error {
	return opErr("S3", "PutObject", respErr(status, &smithy.GenericAPIError{Code: code, Message: msg}))
}

func respErr(status int, inner error) error {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      inner,
		},
		RequestID: "REQ123",
	}
}

func opErr(svc, op string, err error) error {
	return &smithy.OperationError{ServiceID: svc, OperationName: op, Err: err}
}

// credErr wraps err the way the S3 client reports a credential failure.
func credErr(err error) error {
	return opErr("S3", "PutObject", &v4.SigningError{
		Err: fmt.Errorf("failed to retrieve credentials: %w", fmt.Errorf("failed to refresh cached credentials, %w", err)),
	})
}

func TestClassifyAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		status    int
		code, msg string
		retryable bool
		remedy    string // substring the remedy must contain; "" for retryable
	}{
		{503, "SlowDown", "Please reduce your request rate.", true, ""},
		{500, "InternalError", "We encountered an internal error.", true, ""},
		{503, "ServiceUnavailable", "", true, ""},
		{400, "RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period.", true, ""},
		{400, "Throttling", "", true, ""},
		{400, "ThrottlingException", "", true, ""},
		{400, "ExpiredToken", "The provided token has expired.", true, ""},
		{400, "ExpiredTokenException", "", true, ""},
		{403, "RequestExpired", "", true, ""},
		{403, "RequestTimeTooSkewed", "", true, ""},
		{409, "OperationAborted", "", true, ""},
		{503, "XMinioServerNotInitialized", "", true, ""},
		{507, "XMinioStorageFull", "", true, ""},
		{400, "KMS.ThrottlingException", "", true, ""},
		{404, "NoSuchBucket", "The specified bucket does not exist", false, `bucket "acme-logs" does not exist: create it or fix "bucket"`},
		{403, "AccessDenied", "Access Denied", false, `s3:PutObject on arn:aws:s3:::acme-logs/*`},
		{403, "AccessDenied", "Access Denied", false, `and s3:PutObjectTagging (for "s3_object_tags")`},
		{403, "AccessDenied", "User: arn:aws:sts::1:assumed-role/x is not authorized to perform: kms:GenerateDataKey on resource", false, `"sse_kms_key_id"`},
		{403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", false, "AWS_ACCESS_KEY_ID"},
		{403, "SignatureDoesNotMatch", "", false, "AWS_SECRET_ACCESS_KEY"},
		{400, "AuthorizationHeaderMalformed", "the region 'us-east-1' is wrong; expecting 'eu-west-1'", false, `set "region"`},
		{301, "PermanentRedirect", "", false, `set "region"`},
		{400, "KMS.DisabledException", "", false, `is disabled: enable it or change "sse_kms_key_id"`},
		{400, "KMS.NotFoundException", "Invalid keyId", false, `not found: fix "sse_kms_key_id"`},
		{400, "KMS.KMSInvalidStateException", "", false, "pending deletion"},
		{400, "KMS.SomethingNew", "", false, `"sse_kms_key_id"`},
		{400, "InvalidStorageClass", "The storage class you specified is not valid", false, `fix "storage_class"`},
		{400, "InvalidArgument", "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms", false, `"server_side_encryption"`},
		{400, "InvalidEncryptionAlgorithmError", "", false, `"server_side_encryption"`},
		{400, "AccessControlListNotSupported", "The bucket does not allow ACLs", false, `remove "canned_acl"`},
		{400, "InvalidRequest", "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters", false, `"send_content_md5" true`},
		{400, "InvalidBucketName", "", false, `fix "bucket"`},
		{501, "NotImplemented", "A header you provided implies functionality that is not implemented", false, `"storage_class"`},
		{400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", false, "EntityTooLarge"},
		{403, "Forbidden", "Forbidden", false, "acme-logs"},
	} {
		e := Classify(s3Err(tc.status, tc.code, tc.msg), testOpts)
		name := fmt.Sprintf("%d %s", tc.status, tc.code)
		if e.Code != tc.code || e.Status != tc.status || e.Op != "PutObject" {
			t.Errorf("%s: got Op %q Code %q Status %d", name, e.Op, e.Code, e.Status)
		}
		checkClass(t, name, e, tc.retryable, tc.remedy)
	}
}

func checkClass(t *testing.T, name string, e *Error, retryable bool, remedy string) {
	t.Helper()
	if e.Retryable != retryable || e.Permanent == retryable {
		t.Errorf("%s: Retryable=%v Permanent=%v, want Retryable=%v", name, e.Retryable, e.Permanent, retryable)
	}
	if retryable && e.Remedy != "" {
		t.Errorf("%s: transient error has a remedy %q", name, e.Remedy)
	}
	if !retryable && !strings.Contains(e.Remedy, remedy) {
		t.Errorf("%s: remedy %q does not contain %q", name, e.Remedy, remedy)
	}
	msg := e.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("%s: message is not one line: %q", name, msg)
	}
	if !strings.HasPrefix(msg, "s3sink: "+e.Op+": "+e.Code) {
		t.Errorf("%s: message %q does not start with op and code", name, msg)
	}
}

func TestClassifyAssumeRole(t *testing.T) {
	sts := func(status int, code string) error {
		return credErr(opErr("STS", "AssumeRole", respErr(status, &smithy.GenericAPIError{Code: code, Message: "m"})))
	}
	for _, tc := range []struct {
		status    int
		code      string
		retryable bool
		remedy    string
	}{
		{403, "AccessDenied", false, `cannot assume "role_arn" "arn:aws:iam::123456789012:role/log-writer"`},
		{403, "InvalidClientTokenId", false, "base credentials"},
		{403, "RegionDisabledException", false, `"sts_endpoint"`},
		{400, "ExpiredToken", true, ""},
		{400, "Throttling", true, ""},
		{500, "InternalFailure", true, ""},
		{400, "MalformedPolicyDocument", false, `"role_arn"`},
	} {
		e := Classify(sts(tc.status, tc.code), testOpts)
		if e.Op != "AssumeRole" || e.Code != tc.code || e.Status != tc.status {
			t.Errorf("STS %s: got Op %q Code %q Status %d", tc.code, e.Op, e.Code, e.Status)
		}
		checkClass(t, "STS "+tc.code, e, tc.retryable, tc.remedy)
	}
}

func TestClassifyTransport(t *testing.T) {
	urlErr := func(err error) error {
		return opErr("S3", "PutObject", &smithyhttp.RequestSendError{Err: &url.Error{Op: "Put", URL: "https://s3.example/acme-logs/k", Err: err}})
	}
	for _, tc := range []struct {
		name      string
		err       error
		code      string
		retryable bool
		remedy    string
	}{
		{"refused", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: "x"}}), awsutil.CodeConnection, true, ""},
		{"refused errno", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), awsutil.CodeConnection, true, ""},
		{"reset", urlErr(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), awsutil.CodeConnection, true, ""},
		{"broken pipe", urlErr(&net.OpError{Op: "write", Net: "tcp", Err: syscall.EPIPE}), awsutil.CodeConnection, true, ""},
		{"eof", urlErr(io.EOF), awsutil.CodeConnection, true, ""},
		{"unexpected eof", urlErr(io.ErrUnexpectedEOF), awsutil.CodeConnection, true, ""},
		{"deadline", urlErr(context.DeadlineExceeded), awsutil.CodeTimeout, true, ""},
		{"io timeout", urlErr(&net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}), awsutil.CodeTimeout, true, ""},
		{"dns temporary", urlErr(&net.DNSError{Name: "s3.example", IsTemporary: true}), awsutil.CodeConnection, true, ""},
		{"dns not found", urlErr(&net.DNSError{Name: "minio.invalid", IsNotFound: true}), awsutil.CodeDNS, false, `host "minio.invalid" does not resolve: fix "endpoint"`},
		{"unknown CA", urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), awsutil.CodeTLS, false, "TLS certificate"},
		{"hostname", urlErr(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "h"}), awsutil.CodeTLS, false, "TLS certificate"},
		{"no credentials", credErr(errors.New("no EC2 IMDS role found, access disabled to EC2 IMDS")), awsutil.CodeNoCredentials, false, "no AWS credentials found"},
		{"credentials endpoint down", credErr(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), awsutil.CodeConnection, true, ""},
		{"unknown", errors.New("something odd"), awsutil.CodeUnknown, true, ""},
	} {
		e := Classify(tc.err, testOpts)
		if e.Code != tc.code || e.Status != 0 {
			t.Errorf("%s: Code %q Status %d, want %q", tc.name, e.Code, e.Status, tc.code)
		}
		checkClass(t, tc.name, e, tc.retryable, tc.remedy)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassifyCanceled(t *testing.T) {
	for _, err := range []error{
		context.Canceled,
		opErr("S3", "PutObject", &aws.RequestCanceledError{Err: context.Canceled}),
	} {
		e := Classify(err, nil)
		if e.Code != awsutil.CodeCanceled || e.Retryable || e.Permanent || e.Remedy != "" {
			t.Errorf("Classify(%v) = %+v, want Canceled, neither retryable nor permanent", err, e)
		}
	}
}

func TestClassifyEdges(t *testing.T) {
	if Classify(nil, nil) != nil {
		t.Error("Classify(nil) is not nil")
	}
	first := Classify(s3Err(404, "NoSuchBucket", ""), testOpts)
	wrapped := fmt.Errorf("upload: %w", first)
	if again := Classify(wrapped, nil); again != first {
		t.Error("an already classified error was classified again")
	}
	var target *Error
	if !errors.As(wrapped, &target) || target.Code != "NoSuchBucket" {
		t.Error("errors.As does not find *Error")
	}
	var api smithy.APIError
	if !errors.As(first, &api) {
		t.Error("Unwrap does not expose the SDK error")
	}
	// A ResponseError without a response must not panic.
	e := Classify(opErr("S3", "PutObject", &smithyhttp.ResponseError{Err: errors.New("x")}), nil)
	if e.Status != 0 || !e.Retryable {
		t.Errorf("nil response: %+v", e)
	}
	// Status without an S3 error code (a proxy's HTML page).
	for status, retry := range map[int]bool{502: true, 429: true, 408: true, 403: false, 404: false, 307: false} {
		e := Classify(opErr("S3", "PutObject", respErr(status, errors.New("error while deserializing xml error response"))), testOpts)
		if e.Retryable != retry || e.Permanent == retry || e.Status != status {
			t.Errorf("bare HTTP %d: %+v", status, e)
		}
	}
	// Remedies work without options.
	if e := Classify(s3Err(400, "KMS.DisabledException", ""), nil); !strings.Contains(e.Remedy, "bucket's default encryption") {
		t.Errorf("KMS remedy without a key id: %q", e.Remedy)
	}
	// The message of a transient error is the server's, on one line.
	if e := Classify(s3Err(503, "SlowDown", "Please reduce\nyour request rate."), nil); !strings.HasSuffix(e.Error(), ": Please reduce your request rate.") {
		t.Errorf("SlowDown message: %q", e.Error())
	}
	long := strings.Repeat("x", 1000)
	if e := Classify(s3Err(500, "InternalError", long), nil); len(e.Error()) > 400 {
		t.Errorf("long server message not shortened: %d bytes", len(e.Error()))
	}
}

// Classify (the tests' entry to the client's rules) returns err as a classified *Error. o supplies the names used in
// remedies and may be nil. Errors already classified are returned as they are.
func Classify(err error, o *Options) *Error {
	if o == nil {
		o = &Options{}
	}
	return awsutil.Classify(err, service(o))
}
