package awsutil

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
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func opErr(op string, err error) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: op, Err: err}
}

func TestTransport(t *testing.T) {
	credFail := &v4.SigningError{Err: fmt.Errorf("failed to retrieve credentials: %w", errors.New("no EC2 IMDS role found"))}
	tests := []struct {
		name      string
		err       error
		role      string
		code      string
		retryable bool
		remedy    string // substring; "" means the remedy must be empty
	}{
		{"deadline", opErr("PutObject", context.DeadlineExceeded), "", CodeTimeout, true, ""},
		{"net timeout", opErr("PutObject", &net.OpError{Op: "dial", Err: &net.DNSError{IsTimeout: true}}), "", CodeTimeout, true, ""},
		{"dns", opErr("PutObject", &net.DNSError{Name: "minio.invalid", IsNotFound: true}), "", CodeDNS, false, `host "minio.invalid" does not resolve: fix "endpoint" (or "sts_endpoint")`},
		{"dns temporary", opErr("PutObject", &net.DNSError{Name: "minio", IsTemporary: true}), "", CodeConnection, true, ""},
		{"tls", opErr("PutObject", x509.UnknownAuthorityError{}), "", CodeTLS, false, `TLS certificate is not trusted: fix "endpoint"`},
		{"refused", opErr("PutObject", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), "", CodeConnection, true, ""},
		{"eof", opErr("PutObject", io.ErrUnexpectedEOF), "", CodeConnection, true, ""},
		{"no credentials", opErr("PutObject", credFail), "", CodeNoCredentials, false, "no AWS credentials found: provide the task role, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile"},
		{"no credentials for role", opErr("PutObject", credFail), "arn:aws:iam::1:role/r", CodeNoCredentials, false, `(needed to assume "role_arn")`},
		{"unknown", errors.New("something odd"), "", CodeUnknown, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, retryable, remedy := Transport(tt.err, tt.role)
			if code != tt.code || retryable != tt.retryable {
				t.Fatalf("Transport = %q, %v; want %q, %v", code, retryable, tt.code, tt.retryable)
			}
			if tt.remedy == "" && remedy != "" || !strings.Contains(remedy, tt.remedy) {
				t.Fatalf("remedy %q; want it to contain %q", remedy, tt.remedy)
			}
			if tt.role == "" && strings.Contains(remedy, "role_arn") {
				t.Fatalf("remedy %q names role_arn, which is not set", remedy)
			}
		})
	}
}

func TestIsCredentialFailure(t *testing.T) {
	for _, err := range []error{
		&v4.SigningError{Err: errors.New("x")},
		errors.New("operation error S3: PutObject, failed to refresh cached credentials, no provider"),
	} {
		if !IsCredentialFailure(err) {
			t.Errorf("IsCredentialFailure(%v) = false", err)
		}
	}
	if IsCredentialFailure(io.EOF) {
		t.Error("IsCredentialFailure(io.EOF) = true")
	}
}

func TestOpName(t *testing.T) {
	assume := opErr("PutObject", &v4.SigningError{Err: opErr("AssumeRole", errors.New("denied"))})
	for _, tt := range []struct {
		err  error
		def  string
		want string
	}{
		{errors.New("plain"), "PutLogEvents", "PutLogEvents"},
		{opErr("CreateLogStream", io.EOF), "PutLogEvents", "CreateLogStream"},
		{assume, "PutObject", "AssumeRole"},
		{opErr("", nil), "PutObject", "PutObject"},
	} {
		if got := OpName(tt.err, tt.def); got != tt.want {
			t.Errorf("OpName(%v, %q) = %q; want %q", tt.err, tt.def, got, tt.want)
		}
	}
}

func TestHTTPStatus(t *testing.T) {
	withResp := opErr("PutObject", &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 503}},
		Err:      &smithy.GenericAPIError{Code: "SlowDown"},
	}})
	if got := HTTPStatus(withResp); got != 503 {
		t.Errorf("HTTPStatus = %d; want 503", got)
	}
	// A response error without a response must not panic.
	noResp := &smithyhttp.ResponseError{Err: io.EOF}
	if got := HTTPStatus(noResp); got != 0 {
		t.Errorf("HTTPStatus(no response) = %d; want 0", got)
	}
	if got := HTTPStatus(io.EOF); got != 0 {
		t.Errorf("HTTPStatus(io.EOF) = %d; want 0", got)
	}
}

func TestDetailOneLine(t *testing.T) {
	if got := Detail(nil); got != "no error" {
		t.Errorf("Detail(nil) = %q", got)
	}
	api := opErr("PutObject", &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access\n  Denied"})
	if got := Detail(api); got != "Access Denied" {
		t.Errorf("Detail(api) = %q; want the server's message on one line", got)
	}
	if got := Detail(errors.New("a\tb\n c")); got != "a b c" {
		t.Errorf("Detail = %q", got)
	}
	long := OneLine(strings.Repeat("x", 400))
	if len(long) != 303 || !strings.HasSuffix(long, "...") {
		t.Errorf("OneLine(400 x) has %d bytes; want 300 + ...", len(long))
	}
}

// isolate keeps the developer's AWS files and variables out of LoadConfig.
func isolate(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CA_BUNDLE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_MAX_ATTEMPTS", "7")
}

func TestLoadConfig(t *testing.T) {
	isolate(t)
	hc := &http.Client{}
	cfg, err := LoadConfig(context.Background(), Settings{
		Region:      "eu-west-1",
		RoleARN:     "arn:aws:iam::123456789012:role/writer",
		ExternalID:  "ext",
		STSEndpoint: "http://127.0.0.1:1",
		HTTPClient:  hc,
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("Region = %q", cfg.Region)
	}
	if cfg.RetryMaxAttempts != 0 {
		t.Errorf("RetryMaxAttempts = %d; AWS_MAX_ATTEMPTS must not re-enable retries", cfg.RetryMaxAttempts)
	}
	if _, ok := cfg.Retryer().(aws.NopRetryer); !ok {
		t.Errorf("Retryer = %T; want aws.NopRetryer", cfg.Retryer())
	}
	if cfg.HTTPClient != hc {
		t.Error("HTTPClient was not the caller's")
	}
	if _, ok := cfg.Credentials.(*aws.CredentialsCache); !ok {
		t.Errorf("Credentials = %T; want a cache around AssumeRole", cfg.Credentials)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	isolate(t)
	errRegion := errors.New("mine: no region")
	errEndpoint := errors.New("mine: bad endpoint")
	_, err := LoadConfig(context.Background(), Settings{ErrNoRegion: errRegion})
	if err != errRegion {
		t.Errorf("no region: %v; want the caller's sentinel", err)
	}
	if _, err := LoadConfig(context.Background(), Settings{}); err != ErrNoRegion {
		t.Errorf("no region: %v; want ErrNoRegion", err)
	}
	for _, tt := range []struct {
		s    Settings
		want string
	}{
		{Settings{Region: "r", Endpoint: "minio:9000", ErrEndpoint: errEndpoint}, `mine: bad endpoint "minio:9000" for "endpoint": use an http:// or https:// URL`},
		{Settings{Region: "r", STSEndpoint: "http://", ErrEndpoint: errEndpoint}, `mine: bad endpoint "http://" for "sts_endpoint": no host`},
		{Settings{Region: "r", Endpoint: "http://%zz"}, `awsutil: bad endpoint "http://%zz" for "endpoint": not a URL`},
	} {
		_, err := LoadConfig(context.Background(), tt.s)
		if err == nil || err.Error() != tt.want {
			t.Errorf("LoadConfig(%+v) = %v; want %s", tt.s, err, tt.want)
		}
		want := ErrEndpoint
		if tt.s.ErrEndpoint != nil {
			want = tt.s.ErrEndpoint
		}
		if !errors.Is(err, want) {
			t.Errorf("%v does not wrap %v", err, want)
		}
	}
}

func TestErrorText(t *testing.T) {
	api := &smithy.GenericAPIError{Code: "SlowDown", Message: "Please\nreduce your request rate."}
	for _, tt := range []struct {
		status int
		remedy string
		want   string
	}{
		{503, "", "s3sink: PutObject: SlowDown (HTTP 503): Please reduce your request rate."},
		{0, `fix "bucket"`, `s3sink: PutObject: SlowDown: fix "bucket"`},
	} {
		if got := ErrorText("s3sink", "PutObject", "SlowDown", tt.status, tt.remedy, "", api); got != tt.want {
			t.Errorf("ErrorText = %q; want %q", got, tt.want)
		}
	}
}

// Cause names DNS, TLS, refused and timeout failures with the endpoint host and
// never repeats the request URL, whose path may be a long object key.
func TestCause(t *testing.T) {
	long := "https://bucket.s3.us-east-1.amazonaws.com/" + strings.Repeat("k", 600)
	wrap := func(err error) error {
		return opErr("PutObject", &url.Error{Op: "Put", URL: long, Err: err})
	}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"dns", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "bucket.s3.us-east-1.amazonaws.com", IsNotFound: true}}),
			`DNS lookup of "bucket.s3.us-east-1.amazonaws.com" failed (no such host) (endpoint bucket.s3.us-east-1.amazonaws.com)`},
		{"refused", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}),
			"connection refused (endpoint bucket.s3.us-east-1.amazonaws.com)"},
		{"tls", wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}),
			"TLS certificate not trusted: x509: certificate signed by unknown authority (endpoint bucket.s3.us-east-1.amazonaws.com)"},
		{"deadline, no URL", opErr("PutObject", context.DeadlineExceeded), "timed out waiting for the endpoint (endpoint fallback:443)"},
		{"api error", opErr("PutObject", &smithy.GenericAPIError{Code: "SlowDown"}), ""},
		{"canceled", opErr("PutObject", context.Canceled), ""},
	} {
		if got := Cause(tt.err, "fallback:443"); got != tt.want {
			t.Errorf("%s: Cause = %q; want %q", tt.name, got, tt.want)
		}
	}
	if got := ErrorText("s3sink", "PutObject", CodeConnection, 0, "", "h", wrap(syscall.ECONNRESET)); got != "s3sink: PutObject: ConnectionError: connection reset by the endpoint (endpoint bucket.s3.us-east-1.amazonaws.com)" {
		t.Errorf("ErrorText = %q", got)
	}
}
