// Package faultproxy is a loopback HTTP reverse proxy that sits between the plugin
// and an S3 server (MinIO) and injects faults by a programmable schedule, so tests
// can prove that 5xx, SlowDown, resets and stalls never lose or duplicate data and
// that retries stay bounded in rate.
//
// Requests that get no fault are forwarded verbatim, Host header included: SigV4
// signs the Host the client dialled (the proxy's 127.0.0.1:port) and the server
// verifies against the Host it receives, so the signature stays valid.
//
// FlipByte forwards a request with one byte of its body changed, as damage in
// flight would. Over plain HTTP the SDK signs the body's SHA-256, so the server
// refuses the damage by the signature (XAmzContentSHA256Mismatch); StartTLS
// serves HTTPS instead, where the SDK sends UNSIGNED-PAYLOAD and only the body's
// x-amz-checksum-* header (checksum_algorithm) lets the server notice it.
package faultproxy

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrTarget is returned by Start for a target that is not an http(s) URL.
var ErrTarget = errors.New("faultproxy: target must be an http:// or https:// URL")

// Fault is what the proxy does to one request.
type Fault int

// Faults. Every fault but None reads the request body first, as a server that
// received the request would.
const (
	None                  Fault = iota // forward to the target
	Status500                          // 500 InternalError (S3 XML body)
	SlowDown503                        // 503 SlowDown (S3 XML body)
	Reset                              // close the connection with RST, no response
	ResetAfterUpstream                 // forward (the object is stored), then RST instead of the response
	Stall                              // hold the request for StallFor (or until the client gives up), then close without a response
	Status403AccessDenied              // 403 AccessDenied (S3 XML body)
	Status404NoSuchBucket              // 404 NoSuchBucket (S3 XML body)
	FlipByte                           // forward with the middle byte of the body inverted; the server's answer is returned
	numFaults
)

var faultNames = [...]string{"None", "Status500", "SlowDown503", "Reset", "ResetAfterUpstream", "Stall", "Status403AccessDenied", "Status404NoSuchBucket", "FlipByte"}

func (f Fault) String() string {
	if f >= 0 && f < numFaults {
		return faultNames[f]
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// Plan chooses the fault for request n (0-based, in arrival order over every
// method). It is called from the proxy's handler goroutines, one at a time.
type Plan func(n int, r *http.Request) Fault

// Request is one request the proxy saw.
type Request struct {
	N      int
	Method string
	Path   string // escaped path, e.g. /bucket/key
	Fault  Fault
	At     time.Time // arrival
	Status int       // the server's status for a forwarded request (None, FlipByte)
}

// Proxy is a running fault-injecting proxy. Its methods are safe for concurrent use.
type Proxy struct {
	srv    *httptest.Server
	rp     *httputil.ReverseProxy
	target *url.URL

	mu       sync.Mutex
	plan     Plan
	stallFor time.Duration
	log      []Request
	counts   [numFaults]int
	closing  chan struct{}
}

// New starts a proxy to target (e.g. MinIO's endpoint URL) on 127.0.0.1:0. It
// panics on a target that is not an http(s) URL (a programming error in a test);
// Start returns the error instead.
func New(target string) *Proxy {
	p, err := Start(target)
	if err != nil {
		panic(err)
	}
	return p
}

// Start is New returning an error.
func Start(target string) (*Proxy, error) { return start(target, false) }

// StartTLS is Start serving HTTPS with a self-signed certificate (CAFile writes it
// out for AWS_CA_BUNDLE; Client trusts it).
func StartTLS(target string) (*Proxy, error) { return start(target, true) }

func start(target string, tls bool) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q", ErrTarget, target)
	}
	p := &Proxy{target: u, stallFor: 30 * time.Second, closing: make(chan struct{})}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = u.Scheme
			pr.Out.URL.Host = u.Host
			pr.Out.Host = pr.In.Host // the Host the client signed
		},
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	if tls {
		p.srv.StartTLS()
	} else {
		p.srv.Start()
	}
	return p, nil
}

// CAFile writes the certificate of a StartTLS proxy as PEM into dir and returns
// its path, for AWS_CA_BUNDLE.
func (p *Proxy) CAFile(dir string) (string, error) {
	c := p.srv.Certificate()
	if c == nil {
		return "", errors.New("faultproxy: not serving TLS")
	}
	path := filepath.Join(dir, "faultproxy-ca.pem")
	return path, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600)
}

// Client is an HTTP client that trusts the proxy's certificate.
func (p *Proxy) Client() *http.Client { return p.srv.Client() }

// URL is the proxy's base URL (http://127.0.0.1:port, https:// for StartTLS); use
// it as the S3 endpoint.
func (p *Proxy) URL() string { return p.srv.URL }

// SetPlan replaces the schedule; nil forwards everything.
func (p *Proxy) SetPlan(plan Plan) {
	p.mu.Lock()
	p.plan = plan
	p.mu.Unlock()
}

// SetStall sets how long a Stall holds a request (default 30s).
func (p *Proxy) SetStall(d time.Duration) {
	p.mu.Lock()
	p.stallFor = d
	p.mu.Unlock()
}

// Requests returns every request seen so far, in arrival order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log...)
}

// Count returns how many requests got fault f (None: forwarded untouched).
func (p *Proxy) Count(f Fault) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f < 0 || f >= numFaults {
		return 0
	}
	return p.counts[f]
}

// Faults returns how many requests got a fault other than None.
func (p *Proxy) Faults() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for f := None + 1; f < numFaults; f++ {
		n += p.counts[f]
	}
	return n
}

// Close releases stalled requests and stops the proxy.
func (p *Proxy) Close() {
	p.mu.Lock()
	select {
	case <-p.closing:
	default:
		close(p.closing)
	}
	p.mu.Unlock()
	p.srv.CloseClientConnections()
	p.srv.Close()
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	n := len(p.log)
	f := None
	if p.plan != nil {
		f = p.plan(n, r)
	}
	if f < 0 || f >= numFaults {
		f = None
	}
	stall := p.stallFor
	p.log = append(p.log, Request{N: n, Method: r.Method, Path: r.URL.EscapedPath(), Fault: f, At: time.Now()})
	p.counts[f]++
	p.mu.Unlock()

	if f == None || f == FlipByte {
		if f == FlipByte {
			body, _ := io.ReadAll(r.Body)
			if len(body) > 0 {
				body[len(body)/2] ^= 0xff
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		}
		sw := &statusWriter{ResponseWriter: w}
		p.rp.ServeHTTP(sw, r)
		p.mu.Lock()
		p.log[n].Status = sw.status
		p.mu.Unlock()
		return
	}
	if f != ResetAfterUpstream {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	switch f {
	case Status500:
		s3Error(w, r, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	case SlowDown503:
		s3Error(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	case Status403AccessDenied:
		s3Error(w, r, http.StatusForbidden, "AccessDenied", "Access Denied")
	case Status404NoSuchBucket:
		s3Error(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
	case Reset:
		reset(w)
	case ResetAfterUpstream:
		rec := httptest.NewRecorder()
		p.rp.ServeHTTP(rec, r)
		reset(w)
	case Stall:
		t := time.NewTimer(stall)
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-p.closing:
		}
		t.Stop()
		reset(w)
	}
}

// statusWriter remembers the status of a forwarded response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// s3Error writes an S3 error document.
func s3Error(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	bucket, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("X-Amz-Request-Id", "FAULTPROXY")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Error><Code>%s</Code><Message>%s</Message><BucketName>%s</BucketName><Resource>%s</Resource><RequestId>FAULTPROXY</RequestId></Error>`,
		code, msg, xmlEscape(bucket), xmlEscape(r.URL.Path))
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// reset hijacks the connection and closes it with SO_LINGER 0, so the client
// sees ECONNRESET rather than a clean EOF.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	}
	c, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// Unwrap lets http.ResponseController reach the connection (flushes, hijacks).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
