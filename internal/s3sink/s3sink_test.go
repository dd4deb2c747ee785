package s3sink

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/envoy-s3/envoy_s3/internal/awsutil"
	"github.com/envoy-s3/envoy_s3/internal/checksum"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
)

const (
	staticKeyID   = "AKIDSTATICEXAMPLE01"
	staticSecret  = "staticSecret/K7MDENG/bPxRfiCYEXAMPLEKEY"
	assumedKeyID  = "ASIAASSUMEDEXAMPLE01"
	assumedSecret = "assumedSecret/wJalrXUtnFEMI/K7MDENGbPxRfi"
	assumedToken  = "assumedSessionToken//////////EXAMPLE=="
	testRegion    = "eu-west-3"
)

// fakeAWS is a loopback S3 (path-style REST) and STS (query protocol) that
// records requests and answers according to the bucket name.
type fakeAWS struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	puts     []recorded
	assumes  []recorded
	denySTS  bool
	stsCalls int
}

type recorded struct {
	method, host  string
	path, rawPath string // decoded and as sent
	query         string
	header        http.Header
	body          []byte
	form          url.Values
	contentLength int64
}

func newFakeAWS(t *testing.T) *fakeAWS {
	f := &fakeAWS{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAWS) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := recorded{method: r.Method, path: r.URL.Path, rawPath: r.URL.EscapedPath(), query: r.URL.RawQuery, host: r.Host, header: r.Header.Clone(), body: body, contentLength: r.ContentLength}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		rec.form, _ = url.ParseQuery(string(body))
		f.mu.Lock()
		f.assumes = append(f.assumes, rec)
		f.stsCalls++
		deny := f.denySTS
		f.mu.Unlock()
		f.serveSTS(w, rec, deny)
		return
	}
	f.mu.Lock()
	f.puts = append(f.puts, rec)
	f.mu.Unlock()
	if r.Method != http.MethodPut {
		s3Error(w, 405, "MethodNotAllowed", "only PUT")
		return
	}
	bucket, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch bucket {
	case "ok-bucket":
		w.Header().Set("ETag", `"`+hex.EncodeToString(md5Sum(body))+`"`)
		w.WriteHeader(200)
	case "slow":
		s3Error(w, 503, "SlowDown", "Please reduce your request rate.")
	case "denied":
		s3Error(w, 403, "AccessDenied", "Access Denied")
	case "missing":
		s3Error(w, 404, "NoSuchBucket", "The specified bucket does not exist")
	case "kms-off":
		s3Error(w, 400, "KMS.DisabledException", "arn:aws:kms:eu-west-3:123456789012:key/k is disabled.")
	case "expired":
		s3Error(w, 400, "ExpiredToken", "The provided token has expired.")
	case "bad-key":
		// Real S3 echoes the key id in its own element; it must not reach our message.
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(403)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message><AWSAccessKeyId>%s</AWSAccessKeyId><RequestId>R</RequestId><HostId>H</HostId></Error>`, r.Header.Get("Authorization"))
	case "proxy":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
	case "reset":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.SetLinger(0) // close with RST
			}
			conn.Close()
		}
	case "stall":
		<-r.Context().Done()
	default:
		s3Error(w, 404, "NoSuchBucket", "The specified bucket does not exist")
	}
}

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>%s</Code><Message>%s</Message><RequestId>4442587FB7D0A2F9</RequestId><HostId>host-id</HostId></Error>`, code, msg)
}

func (f *fakeAWS) serveSTS(w http.ResponseWriter, rec recorded, deny bool) {
	w.Header().Set("Content-Type", "text/xml")
	if rec.form.Get("Action") != "AssumeRole" {
		w.WriteHeader(400)
		io.WriteString(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>unexpected action</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
		return
	}
	if deny {
		w.WriteHeader(403)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/x is not authorized to perform: sts:AssumeRole on resource: %s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, rec.form.Get("RoleArn"))
		return
	}
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/log-writer/%s</Arn>
      <AssumedRoleId>AROAEXAMPLE:%s</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, assumedKeyID, assumedSecret, assumedToken, exp, rec.form.Get("RoleSessionName"), rec.form.Get("RoleSessionName"))
}

func (f *fakeAWS) lastPut(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.puts) == 0 {
		t.Fatal("no S3 request arrived")
	}
	return f.puts[len(f.puts)-1]
}

func (f *fakeAWS) counts() (puts, assumes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.puts), f.stsCalls
}

// isolateEnv gives the SDK's default chain only static keys from the
// environment: no profile files, no instance or container roles, no
// endpoint or retry overrides from the machine running the tests.
func isolateEnv(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":                      staticKeyID,
		"AWS_SECRET_ACCESS_KEY":                  staticSecret,
		"AWS_SESSION_TOKEN":                      "",
		"AWS_CONFIG_FILE":                        none,
		"AWS_SHARED_CREDENTIALS_FILE":            none,
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_REGION":                             "",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_ROLE_ARN":                           "",
		"AWS_ENDPOINT_URL":                       "",
		"AWS_ENDPOINT_URL_S3":                    "",
		"AWS_ENDPOINT_URL_STS":                   "",
		"AWS_MAX_ATTEMPTS":                       "5",
		"AWS_RETRY_MODE":                         "",
		"AWS_REQUEST_CHECKSUM_CALCULATION":       "",
		"AWS_RESPONSE_CHECKSUM_VALIDATION":       "",
		"AWS_CA_BUNDLE":                          "",
	} {
		t.Setenv(k, v)
	}
}

func newTestClient(t *testing.T, f *fakeAWS, mod func(*Options)) *Client {
	t.Helper()
	o := Options{
		Bucket:     "ok-bucket",
		Region:     testRegion,
		Endpoint:   f.srv.URL,
		HTTPClient: f.srv.Client(),
	}
	if mod != nil {
		mod(&o)
	}
	c, err := New(context.Background(), o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func md5Sum(b []byte) []byte { s := md5.Sum(b); return s[:] }

func TestPutSendsEveryOption(t *testing.T) {
	isolateEnv(t)
	f := newFakeAWS(t)
	var logs []string
	c := newTestClient(t, f, func(o *Options) {
		o.StorageClass = "STANDARD_IA"
		o.CannedACL = "bucket-owner-full-control"
		o.SSE = "aws:kms"
		o.SSEKMSKeyID = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
		o.BucketKeyEnabled = true
		o.SendContentMD5 = true
		o.ExpectedBucketOwner = "123456789012"
		o.Logf = func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }
	})
	body := []byte("\x1f\x8b compressed bytes that must arrive unchanged \x00\xff")
	key := "envoy-access-logs/cluster=prod/dt=2025-03-14/hour=09/task-20250314T092653Z-1.ndjson.gz"
	if err := c.Put(context.Background(), key, delivery.Bytes(body)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	r := f.lastPut(t)
	if r.method != http.MethodPut || r.path != "/ok-bucket/"+key {
		t.Errorf("request %s %s, want path-style PUT /ok-bucket/%s", r.method, r.path, key)
	}
	if u, _ := url.Parse(f.srv.URL); r.host != u.Host {
		t.Errorf("Host %q, want the endpoint's %q (no bucket subdomain)", r.host, u.Host)
	}
	if !bytes.Equal(r.body, body) || r.contentLength != int64(len(body)) {
		t.Errorf("body of %d bytes (Content-Length %d) arrived, want the %d sent", len(r.body), r.contentLength, len(body))
	}
	want := map[string]string{
		"Content-Type":                 "application/x-ndjson",
		"Content-Md5":                  base64.StdEncoding.EncodeToString(md5Sum(body)),
		"X-Amz-Storage-Class":          "STANDARD_IA",
		"X-Amz-Acl":                    "bucket-owner-full-control",
		"X-Amz-Server-Side-Encryption": "aws:kms",
		"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id":     "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"X-Amz-Server-Side-Encryption-Bucket-Key-Enabled": "true",
		"X-Amz-Expected-Bucket-Owner":                     "123456789012",
		"X-Amz-Content-Sha256":                            hex.EncodeToString(sha256Sum(body)),
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	checkNoChecksumExtras(t, r.header)
	verifySigV4(t, r, staticKeyID, staticSecret, "", "s3")
	if len(logs) != 1 || !strings.Contains(logs[0], `"ok-bucket"`) || !strings.Contains(logs[0], testRegion) || !strings.Contains(logs[0], "path-style") {
		t.Errorf("Logf lines: %q", logs)
	}
	for _, l := range logs {
		if strings.Contains(l, staticSecret) || strings.Contains(l, staticKeyID) {
			t.Errorf("log line carries credentials: %q", l)
		}
	}
}

// checkNoChecksumExtras asserts what S3-compatible servers choke on is absent:
// Content-Encoding (aws-chunked or any), flexible checksum headers and
// trailers, streaming payload signatures.
func checkNoChecksumExtras(t *testing.T, h http.Header) {
	t.Helper()
	if v, ok := h["Content-Encoding"]; ok {
		t.Errorf("Content-Encoding %q sent; none wanted", v)
	}
	for k := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-checksum-") || lk == "x-amz-sdk-checksum-algorithm" || lk == "x-amz-trailer" || lk == "x-amz-decoded-content-length" {
			t.Errorf("header %s sent; checksums must be off unless required", k)
		}
	}
	if v := h.Get("X-Amz-Content-Sha256"); strings.HasPrefix(v, "STREAMING-") {
		t.Errorf("streaming payload %q", v)
	}
}

func TestPutMinimalOptions(t *testing.T) {
	isolateEnv(t)
	f := newFakeAWS(t)
	c := newTestClient(t, f, nil)
	if err := c.Put(context.Background(), "k.ndjson", delivery.Bytes([]byte("{}\n"))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	r := f.lastPut(t)
	for _, k := range []string{"Content-Md5", "X-Amz-Storage-Class", "X-Amz-Acl", "X-Amz-Server-Side-Encryption",
		"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "X-Amz-Server-Side-Encryption-Bucket-Key-Enabled", "X-Amz-Expected-Bucket-Owner", "X-Amz-Security-Token"} {
		if v, ok := r.header[k]; ok {
			t.Errorf("header %s = %q sent though its option is unset", k, v)
		}
	}
	if r.header.Get("Content-Type") != ContentType {
		t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
	}
	checkNoChecksumExtras(t, r.header)
	verifySigV4(t, r, staticKeyID, staticSecret, "", "s3")
}

func TestPutClassifiesThroughTheSDK(t *testing.T) {
	isolateEnv(t)
	f := newFakeAWS(t)
	for _, tc := range []struct {
		bucket    string
		code      string
		status    int
		retryable bool
		remedy    string
	}{
		{"slow", "SlowDown", 503, true, ""},
		{"denied", "AccessDenied", 403, false, `access denied to bucket "denied"`},
		{"missing", "NoSuchBucket", 404, false, `bucket "missing" does not exist: create it or fix "bucket"`},
		{"kms-off", "KMS.DisabledException", 400, false, `"sse_kms_key_id"`},
		{"expired", "ExpiredToken", 400, true, ""},
		{"bad-key", "InvalidAccessKeyId", 403, false, "AWS_ACCESS_KEY_ID"},
		{"proxy", "BadGateway", 502, true, ""}, // HTML body: the SDK derives the code from the status
	} {
		c := newTestClient(t, f, func(o *Options) { o.Bucket = tc.bucket })
		before, _ := f.counts()
		err := c.Put(context.Background(), "a/b.ndjson.zst", delivery.Bytes([]byte("x")))
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: Put returned %T %v, want *Error", tc.bucket, err, err)
		}
		if e.Code != tc.code || e.Status != tc.status || e.Op != "PutObject" {
			t.Errorf("%s: Op %q Code %q Status %d, want %q %d", tc.bucket, e.Op, e.Code, e.Status, tc.code, tc.status)
		}
		checkClass(t, tc.bucket, e, tc.retryable, tc.remedy)
		if after, _ := f.counts(); after-before != 1 {
			t.Errorf("%s: %d requests for one Put; the SDK must not retry (AWS_MAX_ATTEMPTS=5 is set)", tc.bucket, after-before)
		}
		if msg := err.Error(); strings.Contains(msg, staticKeyID) || strings.Contains(msg, staticSecret) || strings.Contains(msg, "Credential=") {
			t.Errorf("%s: error message carries credentials: %q", tc.bucket, msg)
		}
	}
}

func TestPutTransportFailures(t *testing.T) {
	isolateEnv(t)
	f := newFakeAWS(t)

	c := newTestClient(t, f, func(o *Options) { o.Bucket = "reset" })
	err := c.Put(context.Background(), "k", delivery.Bytes([]byte("x")))
	if e := Classify(err, nil); e.Code != awsutil.CodeConnection || !e.Retryable {
		t.Errorf("reset connection: %v (%+v)", err, e)
	}

	c = newTestClient(t, f, func(o *Options) { o.Bucket = "stall" })
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	err = c.Put(ctx, "k", delivery.Bytes([]byte("x")))
	if e := Classify(err, nil); e.Code != awsutil.CodeTimeout || !e.Retryable {
		t.Errorf("stalled server: %v (%+v)", err, e)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	err = c.Put(ctx, "k", delivery.Bytes([]byte("x")))
	if e := Classify(err, nil); e.Code != awsutil.CodeCanceled || e.Retryable || e.Permanent {
		t.Errorf("canceled: %v (%+v)", err, e)
	}

	// Nothing listens on a closed listener's port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c2, err := New(context.Background(), Options{Bucket: "b", Region: testRegion, Endpoint: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	err = c2.Put(context.Background(), "k", delivery.Bytes([]byte("x")))
	if e := Classify(err, nil); e.Code != awsutil.CodeConnection || !e.Retryable {
		t.Errorf("refused: %v (%+v)", err, e)
	}
}

func TestAssumeRole(t *testing.T) {
	isolateEnv(t)
	f := newFakeAWS(t)
	const role = "arn:aws:iam::123456789012:role/log-writer"
	c := newTestClient(t, f, func(o *Options) {
		o.RoleARN = role
		o.ExternalID = "ext-4f1c"
		o.STSEndpoint = f.srv.URL
	})
	for range 2 {
		if err := c.Put(context.Background(), "k.ndjson", delivery.Bytes([]byte("{}\n"))); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	puts, assumes := f.counts()
	if puts != 2 || assumes != 1 {
		t.Fatalf("%d puts and %d AssumeRole calls, want 2 and 1 (credentials cached)", puts, assumes)
	}
	a := f.assumes[0]
	if a.form.Get("RoleArn") != role || a.form.Get("ExternalId") != "ext-4f1c" || !strings.HasPrefix(a.form.Get("RoleSessionName"), "envoy_s3-") {
		t.Errorf("AssumeRole form: %v", a.form)
	}
	verifySigV4(t, a, staticKeyID, staticSecret, "", "sts")

	r := f.lastPut(t)
	if !strings.Contains(r.header.Get("Authorization"), "Credential="+assumedKeyID+"/") {
		t.Errorf("S3 request signed with %q, want the assumed key %s", r.header.Get("Authorization"), assumedKeyID)
	}
	if r.header.Get("X-Amz-Security-Token") != assumedToken {
		t.Errorf("X-Amz-Security-Token %q, want the assumed session token", r.header.Get("X-Amz-Security-Token"))
	}
	verifySigV4(t, r, assumedKeyID, assumedSecret, assumedToken, "s3")

	// ExpiredToken drops the cached credentials: the next Put assumes again.
	c.o.Bucket = "expired"
	err := c.Put(context.Background(), "k", delivery.Bytes([]byte("x")))
	var e *Error
	if !errors.As(err, &e) || !e.Retryable || !e.ExpiredCredentials() {
		t.Fatalf("expired token: %v", err)
	}
	c.o.Bucket = "ok-bucket"
	if err := c.Put(context.Background(), "k", delivery.Bytes([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	if _, assumes := f.counts(); assumes != 2 {
		t.Errorf("%d AssumeRole calls after ExpiredToken, want 2", assumes)
	}
}

func TestAssumeRoleDenied(t *testing.T) {
	isolateEnv(t)
	f := newFakeAWS(t)
	f.denySTS = true
	const role = "arn:aws:iam::123456789012:role/not-trusted"
	c := newTestClient(t, f, func(o *Options) {
		o.RoleARN = role
		o.STSEndpoint = f.srv.URL
	})
	err := c.Put(context.Background(), "k", delivery.Bytes([]byte("x")))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Put: %T %v", err, err)
	}
	if e.Op != "AssumeRole" || e.Code != "AccessDenied" || e.Status != 403 {
		t.Errorf("Op %q Code %q Status %d", e.Op, e.Code, e.Status)
	}
	checkClass(t, "AssumeRole denied", e, false, `cannot assume "role_arn" "`+role+`"`)
	if puts, _ := f.counts(); puts != 0 {
		t.Errorf("%d S3 requests without credentials", puts)
	}
	if strings.Contains(err.Error(), staticSecret) {
		t.Error("secret in error message")
	}
}

func TestNewValidates(t *testing.T) {
	isolateEnv(t)
	ctx := context.Background()
	if _, err := New(ctx, Options{Region: "x"}); !errors.Is(err, ErrNoBucket) {
		t.Errorf("no bucket: %v", err)
	}
	if _, err := New(ctx, Options{Bucket: "b"}); !errors.Is(err, ErrNoRegion) {
		t.Errorf("no region: %v", err)
	}
	for _, env := range []string{"AWS_DEFAULT_REGION", "AWS_REGION"} {
		t.Setenv(env, "sa-east-1")
		if _, err := New(ctx, Options{Bucket: "b"}); err != nil {
			t.Errorf("region from %s: %v", env, err)
		}
	}
	for _, bad := range []string{"minio:9000", "ftp://minio", "http://", "://x"} {
		_, err := New(ctx, Options{Bucket: "b", Region: "x", Endpoint: bad})
		if !errors.Is(err, ErrEndpoint) || !strings.Contains(err.Error(), `"endpoint"`) {
			t.Errorf("endpoint %q: %v", bad, err)
		}
		_, err = New(ctx, Options{Bucket: "b", Region: "x", STSEndpoint: bad})
		if !errors.Is(err, ErrEndpoint) || !strings.Contains(err.Error(), `"sts_endpoint"`) {
			t.Errorf("sts_endpoint %q: %v", bad, err)
		}
	}
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// verifySigV4 recomputes the request's signature with the SDK's signer from
// the given secret and compares it with what arrived, so a test passes only if
// the request was really signed with these credentials.
func verifySigV4(t *testing.T, r recorded, keyID, secret, token, service string) {
	t.Helper()
	auth := r.header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		t.Fatalf("Authorization %q is not SigV4", auth)
	}
	fields := map[string]string{}
	for _, kv := range strings.Split(strings.TrimPrefix(auth, algo), ", ") {
		k, v, _ := strings.Cut(kv, "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] != keyID || scope[2] != testRegion || scope[3] != service {
		t.Fatalf("credential scope %q, want %s/<date>/%s/%s/aws4_request", fields["Credential"], keyID, testRegion, service)
	}
	when, err := time.Parse("20060102T150405Z", r.header.Get("X-Amz-Date"))
	if err != nil {
		t.Fatalf("X-Amz-Date: %v", err)
	}
	target := "http://" + r.host + r.rawPath
	if r.query != "" {
		target += "?" + r.query
	}
	req, err := http.NewRequest(r.method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = r.contentLength
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		if h != "host" && h != "content-length" {
			req.Header[http.CanonicalHeaderKey(h)] = r.header.Values(h)
		}
	}
	payload := hex.EncodeToString(sha256Sum(r.body))
	switch got := r.header.Get("X-Amz-Content-Sha256"); got {
	case "", payload:
	case "UNSIGNED-PAYLOAD": // the SDK's choice over TLS
		payload = got
	default:
		t.Fatalf("X-Amz-Content-Sha256 %q does not match the body", got)
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: token}
	if err := signer.SignHTTP(context.Background(), creds, req, payload, service, testRegion, when); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Authorization"); got != auth {
		t.Errorf("signature does not verify with the expected secret:\n got  %s\n want %s", auth, got)
	}
}

// TestTLS checks that AWS_CA_BUNDLE reaches the SDK's own client (set in
// containers that talk to a private S3-compatible endpoint), that a custom
// HTTPClient works alongside it, and that an untrusted certificate is a
// permanent TLSError.
func TestTLS(t *testing.T) {
	isolateEnv(t)
	f := &fakeAWS{t: t}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	f.srv.StartTLS()
	defer f.srv.Close()
	ctx := context.Background()

	c, err := New(ctx, Options{Bucket: "ok-bucket", Region: testRegion, Endpoint: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Put(ctx, "k", delivery.Bytes([]byte("x")))
	if e := Classify(err, nil); e == nil || e.Code != awsutil.CodeTLS || !e.Permanent || !strings.Contains(e.Remedy, `"endpoint"`) {
		t.Fatalf("untrusted certificate: %v", err)
	}

	bundle := filepath.Join(t.TempDir(), "ca.pem")
	cert := f.srv.Certificate()
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	c, err = New(ctx, Options{Bucket: "ok-bucket", Region: testRegion, Endpoint: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, "k", delivery.Bytes([]byte("x"))); err != nil {
		t.Fatalf("with AWS_CA_BUNDLE: %v", err)
	}
	c, err = New(ctx, Options{Bucket: "ok-bucket", Region: testRegion, Endpoint: f.srv.URL, HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatalf("custom HTTPClient with AWS_CA_BUNDLE set: %v", err)
	}
	if err := c.Put(ctx, "k", delivery.Bytes([]byte("x"))); err != nil {
		t.Fatalf("custom HTTPClient: %v", err)
	}
	verifySigV4(t, f.lastPut(t), staticKeyID, staticSecret, "", "s3")
}

// BenchmarkPut measures the client's own cost per upload of a 1 MiB object
// (signing with a SHA-256 of the body over plain HTTP, Content-MD5, the SDK's
// middleware stack) against a loopback server that discards the body.
func BenchmarkPut(b *testing.B) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": staticKeyID, "AWS_SECRET_ACCESS_KEY": staticSecret,
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_EC2_METADATA_DISABLED": "true", "AWS_CA_BUNDLE": ""} {
		b.Setenv(k, v)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	body := bytes.Repeat([]byte(`{"timestamp":"2025-03-14T09:26:53.000Z","kind":"http"}`+"\n"), 1<<20/56)
	for _, md5 := range []bool{false, true} {
		b.Run(fmt.Sprintf("1MiB/md5=%v", md5), func(b *testing.B) {
			c, err := New(context.Background(), Options{Bucket: "b", Region: testRegion, Endpoint: srv.URL, HTTPClient: srv.Client(), SendContentMD5: md5})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Put(context.Background(), "k.ndjson.gz", delivery.Bytes(body)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestConcurrentPut(t *testing.T) {
	isolateEnv(t)
	f := newFakeAWS(t)
	c := newTestClient(t, f, func(o *Options) {
		o.RoleARN = "arn:aws:iam::123456789012:role/log-writer"
		o.STSEndpoint = f.srv.URL
		o.SendContentMD5 = true
	})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			key := fmt.Sprintf("k/%d.ndjson", i)
			if err := c.Put(context.Background(), key, delivery.Bytes([]byte(key))); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	puts, assumes := f.counts()
	if puts != 16 || assumes != 1 {
		t.Errorf("%d puts, %d AssumeRole calls; want 16 and 1 (one shared credential fetch)", puts, assumes)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.puts {
		if string(r.body) != strings.TrimPrefix(r.path, "/ok-bucket/") {
			t.Errorf("object %s got body %q", r.path, r.body)
		}
	}
}

// Every transport failure's message names its cause and the endpoint's host, in one
// short line, however long the object key (the SDK's own text quotes the whole URL
// first, and a 300-byte cut used to leave only the key).
func TestTransportErrorsNameCauseAndEndpoint(t *testing.T) {
	isolateEnv(t)
	f := newFakeAWS(t)
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()
	key := "envoy-access-logs/cluster=prod/family=backend/dt=2026-11-24/hour=20/" + strings.Repeat("k", 800) + ".ndjson.gz"
	host := func(u string) string { return strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://") }
	for _, tc := range []struct {
		name, endpoint, bucket, cause string
		timeout                       time.Duration
	}{
		{"refused", "http://" + refused, "b", "connection refused", 0},
		{"reset", f.srv.URL, "reset", "connection reset", 0},
		{"timeout", f.srv.URL, "stall", "timed out", 150 * time.Millisecond},
		{"tls", tlsSrv.URL, "ok-bucket", "TLS certificate not trusted", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(context.Background(), Options{Bucket: tc.bucket, Region: testRegion, Endpoint: tc.endpoint})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			err = c.Put(ctx, key, delivery.Bytes([]byte("x")))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.cause) || !strings.Contains(msg, "endpoint "+host(tc.endpoint)) {
				t.Errorf("message lacks %q or the endpoint %s: %s", tc.cause, host(tc.endpoint), msg)
			}
			if strings.Contains(msg, "kkkkkkkk") || strings.Contains(msg, "\n") || len(msg) > 300 {
				t.Errorf("message is not one short line without the key (%d bytes): %s", len(msg), msg)
			}
		})
	}
}

// countingBody counts the bytes read from it.
type countingBody struct {
	delivery.Bytes
	mu   sync.Mutex
	read int64
}

func (b *countingBody) ReadAt(p []byte, off int64) (int, error) {
	n, err := b.Bytes.ReadAt(p, off)
	b.mu.Lock()
	b.read += int64(n)
	b.mu.Unlock()
	return n, err
}

// A checksum goes in its header with x-amz-sdk-checksum-algorithm (what Object
// Lock accepts instead of Content-MD5), with no trailer and no aws-chunked body;
// over HTTPS a body that comes with its checksum is read once, only to be sent,
// and one without it once more.
func TestPutSendsChecksumHeader(t *testing.T) {
	isolateEnv(t)
	f := &fakeAWS{t: t}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	defer f.srv.Close()
	body := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for _, alg := range checksum.Algorithms {
		if alg == checksum.None {
			continue // sends no header; TestChecksumsStoredByMinIO covers it
		}
		c := newTestClient(t, f, func(o *Options) { o.Checksum = alg })
		sum, _ := checksum.Of(alg, bytes.NewReader(body))
		header := "X-Amz-Checksum-" + strings.ToLower(alg.String())
		for _, withSum := range []bool{true, false} {
			cb := &countingBody{Bytes: body}
			var b delivery.Body = cb
			if withSum {
				b = &Object{Body: cb, Sum: sum}
			}
			if err := c.Put(context.Background(), "k.ndjson.gz", b); err != nil {
				t.Fatal(err)
			}
			r := f.lastPut(t)
			if got := r.header.Get(header); got != sum.Value {
				t.Errorf("%s: %s = %q, want %q", alg, header, got, sum.Value)
			}
			if got := r.header.Get("X-Amz-Sdk-Checksum-Algorithm"); got != alg.String() {
				t.Errorf("%s: X-Amz-Sdk-Checksum-Algorithm %q", alg, got)
			}
			n := 0
			for k := range r.header {
				if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") {
					n++
				}
			}
			if n != 1 || r.header.Get("X-Amz-Trailer") != "" || r.header.Get("Content-Encoding") != "" || r.header.Get("X-Amz-Content-Sha256") != "UNSIGNED-PAYLOAD" || !bytes.Equal(r.body, body) {
				t.Errorf("%s: headers %v", alg, r.header)
			}
			want := int64(len(body))
			if !withSum {
				want *= 2
			}
			if cb.read != want {
				t.Errorf("%s (body with its checksum: %v): %d bytes read, want %d", alg, withSum, cb.read, want)
			}
		}
	}
}
