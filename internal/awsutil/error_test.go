package awsutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// apiErr is the chain the SDK returns for a service error response.
func apiErr(op string, status int, code string) error {
	return opErr(op, &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      &smithy.GenericAPIError{Code: code, Message: "the server's words"},
	}})
}

// testService records which of its hooks the shared rules called.
func testService(called *[]string) *Service {
	return &Service{
		Pkg:            "svc",
		DefaultOp:      "Send",
		RoleARN:        "arn:aws:iam::1:role/r",
		RetryableCodes: map[string]bool{"Busy": true},
		NotRetryable:   map[string]bool{"LimitExceededException": true},
		Code: func(e *Error, msg string) {
			*called = append(*called, "Code "+e.Code)
			if e.Code == "Known" {
				e.Fail("fix the known thing")
				return
			}
			e.ByStatus("unknown code " + e.Code + ": " + msg)
		},
		StatusRemedy: func(e *Error) string {
			*called = append(*called, fmt.Sprintf("StatusRemedy %d", e.Status))
			return fmt.Sprintf("bare HTTP %d", e.Status)
		},
	}
}

func TestClassifySharedRules(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		code      string
		retryable bool
		remedy    string // "" when retryable
		called    string // the hook called, "" for none
	}{
		{"SDK throttling code", apiErr("Send", 400, "SlowDown"), "SlowDown", true, "", ""},
		{"service's retryable code", apiErr("Send", 400, "Busy"), "Busy", true, "", ""},
		{"retried for every service", apiErr("Send", 403, "RequestTimeTooSkewed"), "RequestTimeTooSkewed", true, "", ""},
		{"expired credentials", apiErr("Send", 400, "ExpiredTokenException"), "ExpiredTokenException", true, "", ""},
		{"SDK throttling the service does not retry", apiErr("Send", 400, "LimitExceededException"), "LimitExceededException", false, "unknown code LimitExceededException: the server's words", "Code LimitExceededException"},
		{"service's own code", apiErr("Send", 400, "Known"), "Known", false, "fix the known thing", "Code Known"},
		{"unknown code, 5xx", apiErr("Send", 502, "Odd"), "Odd", true, "", "Code Odd"},
		{"unknown code, 4xx", apiErr("Send", 400, "Odd"), "Odd", false, "unknown code Odd", "Code Odd"},
		{"STS, not the service", apiErr("AssumeRole", 403, "Known"), "Known", false, `STS refused AssumeRole of "role_arn" "arn:aws:iam::1:role/r" (the server's words)`, ""},
		{"STS access denied", apiErr("AssumeRole", 403, "AccessDenied"), "AccessDenied", false, `cannot assume "role_arn" "arn:aws:iam::1:role/r"`, ""},
		{"STS base credentials", apiErr("AssumeRole", 403, "InvalidClientTokenId"), "InvalidClientTokenId", false, "base credentials", ""},
		{"STS 5xx", apiErr("AssumeRole", 500, "Whatever"), "Whatever", true, "", ""},
		{"STS identity provider", apiErr("AssumeRole", 400, "IDPCommunicationError"), "IDPCommunicationError", true, "", ""},
		{"no error code, 4xx", opErr("Send", &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 404}}, Err: errors.New("html")}), "HTTP404", false, "bare HTTP 404", "StatusRemedy 404"},
		{"no error code, 503", opErr("Send", &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 503}}, Err: errors.New("html")}), "HTTP503", true, "", "StatusRemedy 503"},
		{"no response", opErr("Send", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), CodeConnection, true, "", ""},
		{"no response, permanent", opErr("Send", &net.DNSError{Name: "h.invalid", IsNotFound: true}), CodeDNS, false, `host "h.invalid" does not resolve`, ""},
	} {
		var called []string
		e := Classify(tc.err, testService(&called))
		if e.Code != tc.code || e.Retryable != tc.retryable || e.Permanent == tc.retryable {
			t.Errorf("%s: Code %q Retryable %v Permanent %v, want %q retryable %v", tc.name, e.Code, e.Retryable, e.Permanent, tc.code, tc.retryable)
		}
		if (tc.remedy == "") != (e.Remedy == "") || !strings.Contains(e.Remedy, tc.remedy) {
			t.Errorf("%s: remedy %q, want it to contain %q", tc.name, e.Remedy, tc.remedy)
		}
		if got := strings.Join(called, ", "); got != tc.called {
			t.Errorf("%s: hooks called %q, want %q", tc.name, got, tc.called)
		}
		if msg := e.Error(); !strings.HasPrefix(msg, "svc: "+e.Op+": "+e.Code) {
			t.Errorf("%s: text %q does not begin with the package, op and code", tc.name, msg)
		}
	}
}

func TestClassifyKeepsAClassifiedError(t *testing.T) {
	var called []string
	s := testService(&called)
	if Classify(nil, s) != nil {
		t.Error("Classify(nil) is not nil")
	}
	first := &Error{Pkg: "other", Code: "X", Permanent: true, Remedy: "r"}
	if got := Classify(fmt.Errorf("wrapped: %w", first), s); got != first {
		t.Errorf("a classified error was classified again: %+v", got)
	}
	e := Classify(opErr("Send", context.Canceled), s)
	if e.Code != CodeCanceled || e.Retryable || e.Permanent || e.Op != "Send" {
		t.Errorf("canceled: %+v", e)
	}
	if e := Classify(errors.New("no operation named"), s); e.Op != "Send" || e.Code != CodeUnknown || !e.Retryable {
		t.Errorf("default op: %+v", e)
	}
}

// countingProvider counts the times the credentials cache asks it for credentials.
type countingProvider struct{ n int }

func (p *countingProvider) Retrieve(context.Context) (aws.Credentials, error) {
	p.n++
	return aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK", CanExpire: false}, nil
}

func TestClassifyEndpointAndExpiredCredentials(t *testing.T) {
	p := &countingProvider{}
	cache := aws.NewCredentialsCache(p)
	ctx := context.Background()
	retrieve := func() {
		if _, err := cache.Retrieve(ctx); err != nil {
			t.Fatal(err)
		}
	}
	retrieve()
	var called []string
	s := testService(&called)
	s.Endpoint, s.Creds = "logs.example:443", cache

	e := Classify(opErr("Send", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), s)
	if e.Endpoint != "logs.example:443" || !strings.Contains(e.Error(), "(endpoint logs.example:443)") {
		t.Errorf("endpoint not named: %+v, %q", e, e.Error())
	}
	retrieve()
	if p.n != 1 {
		t.Fatalf("credentials fetched %d times after a failure that is not about them, want 1", p.n)
	}
	if e := Classify(apiErr("Send", 400, "ExpiredToken"), s); !e.ExpiredCredentials() || !e.Retryable {
		t.Fatalf("expired token: %+v", e)
	}
	retrieve()
	if p.n != 2 {
		t.Errorf("credentials fetched %d times after ExpiredToken, want 2 (the cache is invalidated)", p.n)
	}
}
