package awsutil

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Codes of failures that carry no service error code. The services' own
// codes are reported as they were sent.
const (
	CodeCanceled      = "Canceled"        // the caller's context was canceled
	CodeTimeout       = "Timeout"         // a deadline or I/O timeout expired
	CodeConnection    = "ConnectionError" // refused, reset, closed, EOF mid-response
	CodeDNS           = "DNSError"        // the endpoint's host name does not resolve
	CodeTLS           = "TLSError"        // the endpoint's certificate is not trusted
	CodeNoCredentials = "NoCredentials"   // no credential source yielded credentials
	CodeUnknown       = "Unknown"
)

// Transport classifies a failure where no HTTP response arrived: its code,
// whether to retry soon, and for a permanent failure a one-line remedy.
// roleARN is the configured "role_arn", named in the remedy for missing
// credentials because assuming it needs base credentials.
func Transport(err error, roleARN string) (code string, retryable bool, remedy string) {
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var timeout interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &timeout) && timeout.Timeout():
		return CodeTimeout, true, ""
	case errors.As(err, &dns) && dns.IsNotFound:
		return CodeDNS, false, fmt.Sprintf(`host %q does not resolve: fix "endpoint" (or "sts_endpoint")`, dns.Name)
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verify):
		return CodeTLS, false, `the endpoint's TLS certificate is not trusted: fix "endpoint" or install its CA in the image`
	case errors.As(err, &dns),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed),
		retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary:
		return CodeConnection, true, ""
	case IsCredentialFailure(err):
		src := "the task role, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile"
		if roleARN != "" {
			src += ` (needed to assume "role_arn")`
		}
		return CodeNoCredentials, false, "no AWS credentials found: provide " + src
	default:
		return CodeUnknown, true, ""
	}
}

// IsCredentialFailure reports whether err says that no credentials could be
// obtained to sign the request.
func IsCredentialFailure(err error) bool {
	var se *v4.SigningError
	if errors.As(err, &se) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "failed to retrieve credentials") || strings.Contains(s, "failed to refresh cached credentials")
}

// OpName is the innermost operation that failed, def when err names none:
// AssumeRole when a call failed while fetching credentials from STS, else
// the service's operation.
func OpName(err error, def string) string {
	name := def
	for {
		var op *smithy.OperationError
		if !errors.As(err, &op) {
			return name
		}
		if op.OperationName != "" {
			name = op.OperationName
		}
		if op.Err == nil {
			return name
		}
		err = op.Err
	}
}

// HTTPStatus is the status of the response err came with, 0 when none
// arrived. It reads the response itself rather than through HTTPStatusCode
// methods, which dereference without nil checks.
func HTTPStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re != nil && re.Response != nil && re.Response.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

// Detail is the most specific one-line description of err: the server's
// message when there is one, else the error text.
func Detail(err error) string {
	if err == nil {
		return "no error"
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorMessage() != "" {
		return OneLine(api.ErrorMessage())
	}
	return OneLine(err.Error())
}

// OneLine folds s onto one line and cuts it to 300 bytes, so that a server's
// message fits a log line.
func OneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// ErrorText is the one-line text of a classified failure, shared so that
// both clients' errors read alike: "pkg: Op: Code (HTTP status): remedy",
// with the server's message (Detail) instead when there is no remedy.
func ErrorText(pkg, op, code string, status int, remedy string, err error) string {
	var b strings.Builder
	b.WriteString(pkg)
	b.WriteString(": ")
	b.WriteString(op)
	b.WriteString(": ")
	b.WriteString(code)
	if status != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(status))
		b.WriteString(")")
	}
	b.WriteString(": ")
	if remedy != "" {
		b.WriteString(remedy)
	} else {
		b.WriteString(Detail(err))
	}
	return b.String()
}
