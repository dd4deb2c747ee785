package awsutil

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
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
// message when there is one, the transport cause (Cause) when no response
// arrived, else the error text.
func Detail(err error) string {
	if err == nil {
		return "no error"
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorMessage() != "" {
		return OneLine(api.ErrorMessage())
	}
	if c := Cause(err, ""); c != "" {
		return c
	}
	return OneLine(err.Error())
}

// Cause names, in a few words, why a request got no HTTP response and which
// endpoint host it was sent to, e.g. "connection refused (endpoint
// 127.0.0.1:9000)", or "" when err is not such a failure. The SDK's own text
// quotes the whole request URL, object key included, before the cause, so a
// long key used to push the cause out of a log line; the URL's path is never
// part of this text. endpoint is the host named when err itself names none (a
// deadline that expired before a connection was made).
func Cause(err error, endpoint string) string {
	var (
		ue       *url.Error
		op       *net.OpError
		dns      *net.DNSError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		rec      tls.RecordHeaderError
		timeout  interface{ Timeout() bool }
	)
	host := endpoint
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
	}
	if errors.As(err, &op) && op.Addr != nil && ue == nil {
		host = op.Addr.String()
	}
	var what string
	switch {
	case errors.As(err, &dns):
		what = fmt.Sprintf("DNS lookup of %q failed (%s)", dns.Name, dns.Err)
	case errors.As(err, &unknown), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verify):
		what = "TLS certificate not trusted: " + tlsDetail(err)
	case errors.As(err, &rec):
		what = "TLS handshake failed: the endpoint does not speak TLS (use http:// for it?)"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &timeout) && timeout.Timeout():
		what = "timed out waiting for the endpoint"
	case errors.Is(err, syscall.ECONNREFUSED):
		what = "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		what = "connection reset by the endpoint"
	case errors.Is(err, syscall.EPIPE):
		what = "connection broken (EPIPE) while sending"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		what = "connection closed by the endpoint before a response"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		what = "network unreachable"
	case ue != nil:
		what = ue.Err.Error()
	case op != nil:
		what = op.Err.Error()
	default:
		return ""
	}
	if host != "" {
		what += " (endpoint " + host + ")"
	}
	return OneLine(what)
}

// tlsDetail is the certificate error's own text, without the URL around it.
func tlsDetail(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch e.(type) {
		case x509.UnknownAuthorityError, x509.HostnameError, x509.CertificateInvalidError:
			return e.Error()
		}
	}
	var verify *tls.CertificateVerificationError
	if errors.As(err, &verify) && verify.Err != nil {
		return verify.Err.Error()
	}
	return "certificate verification failed"
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
// with the server's message (Detail) instead when there is no remedy. When no
// response arrived, the transport cause comes first, remedy or not, so the line
// always names what happened and where.
func ErrorText(pkg, op, code string, status int, remedy, endpoint string, err error) string {
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
	cause := ""
	if status == 0 {
		cause = Cause(err, endpoint)
	}
	switch {
	case cause != "" && remedy != "":
		b.WriteString(cause)
		b.WriteString("; ")
		b.WriteString(remedy)
	case remedy != "":
		b.WriteString(remedy)
	case cause != "" && !errors.As(err, new(smithy.APIError)):
		b.WriteString(cause)
	default:
		b.WriteString(Detail(err))
	}
	return b.String()
}

// EndpointHost is the host a client sends its requests to, named in transport
// errors: the host of endpoint when one is configured, else AWS's regional host
// for service (with bucket in front for S3's virtual-hosted addressing).
func EndpointHost(endpoint, service, region, bucket string) string {
	if endpoint != "" {
		if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
			return u.Host
		}
		return endpoint
	}
	host := service + "." + region + ".amazonaws.com"
	if bucket != "" {
		host = bucket + "." + host
	}
	return host
}
