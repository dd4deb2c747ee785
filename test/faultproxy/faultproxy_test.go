package faultproxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// echo is a target that records what it received.
type echo struct {
	mu     sync.Mutex
	hosts  []string
	paths  []string
	bodies []string
}

func (e *echo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	e.hosts = append(e.hosts, r.Host)
	e.paths = append(e.paths, r.URL.RawPath+"|"+r.URL.Path+"?"+r.URL.RawQuery)
	e.bodies = append(e.bodies, string(b))
	e.mu.Unlock()
	w.Header().Set("ETag", `"abc"`)
	w.Header().Set("X-Echo-Auth", r.Header.Get("Authorization"))
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "stored "+string(b))
}

func (e *echo) received() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.bodies)
}

func setup(t *testing.T) (*Proxy, *echo, *http.Client) {
	t.Helper()
	e := &echo{}
	target := httptest.NewServer(e)
	t.Cleanup(target.Close)
	p := New(target.URL)
	t.Cleanup(p.Close)
	// No keep-alive: a reset must not poison the next request's connection.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	return p, e, c
}

func put(t *testing.T, c *http.Client, url, body string) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestForwardsVerbatimKeepingHost(t *testing.T) {
	p, e, c := setup(t)
	resp, body, err := put(t, c, p.URL()+"/bucket/a%2Fb%20c?x-id=PutObject", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || body != "stored hello" || resp.Header.Get("ETag") != `"abc"` {
		t.Fatalf("got %d %q etag %q", resp.StatusCode, body, resp.Header.Get("ETag"))
	}
	if got := resp.Header.Get("X-Echo-Auth"); got != "AWS4-HMAC-SHA256 Credential=x" {
		t.Errorf("Authorization not forwarded: %q", got)
	}
	wantHost := strings.TrimPrefix(p.URL(), "http://")
	if e.hosts[0] != wantHost {
		t.Errorf("target saw Host %q, want the proxy's %q (the host the client signed)", e.hosts[0], wantHost)
	}
	if e.paths[0] != "/bucket/a%2Fb%20c|/bucket/a/b c?x-id=PutObject" {
		t.Errorf("path not forwarded verbatim: %q", e.paths[0])
	}
	if p.Count(None) != 1 || p.Faults() != 0 {
		t.Errorf("counts: none %d faults %d", p.Count(None), p.Faults())
	}
}

func TestStatusFaultsCarryS3Errors(t *testing.T) {
	for _, tc := range []struct {
		f      Fault
		status int
		code   string
	}{
		{Status500, 500, "<Code>InternalError</Code>"},
		{SlowDown503, 503, "<Code>SlowDown</Code>"},
		{Status403AccessDenied, 403, "<Code>AccessDenied</Code>"},
		{Status404NoSuchBucket, 404, "<Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>bkt</BucketName>"},
	} {
		t.Run(tc.f.String(), func(t *testing.T) {
			p, e, c := setup(t)
			p.SetPlan(func(int, *http.Request) Fault { return tc.f })
			resp, body, err := put(t, c, p.URL()+"/bkt/key", "data")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.code) {
				t.Fatalf("got %d %s", resp.StatusCode, body)
			}
			if resp.Header.Get("Content-Type") != "application/xml" {
				t.Errorf("content type %q", resp.Header.Get("Content-Type"))
			}
			if e.received() != 0 {
				t.Errorf("a faulted request reached the target")
			}
			if p.Count(tc.f) != 1 || p.Faults() != 1 {
				t.Errorf("count %d faults %d", p.Count(tc.f), p.Faults())
			}
		})
	}
}

func TestResetIsConnectionReset(t *testing.T) {
	p, e, c := setup(t)
	p.SetPlan(func(int, *http.Request) Fault { return Reset })
	_, _, err := put(t, c, p.URL()+"/b/k", "data")
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("want ECONNRESET, got %v", err)
	}
	if e.received() != 0 {
		t.Errorf("a reset request reached the target")
	}
}

func TestResetAfterUpstreamStoresThenResets(t *testing.T) {
	p, e, c := setup(t)
	p.SetPlan(func(int, *http.Request) Fault { return ResetAfterUpstream })
	_, _, err := put(t, c, p.URL()+"/b/k", "data")
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("want ECONNRESET, got %v", err)
	}
	if e.received() != 1 || e.bodies[0] != "data" {
		t.Fatalf("target got %v, want the body once", e.bodies)
	}
}

func TestStallHoldsThenDrops(t *testing.T) {
	p, _, c := setup(t)
	p.SetStall(300 * time.Millisecond)
	p.SetPlan(func(int, *http.Request) Fault { return Stall })
	start := time.Now()
	_, _, err := put(t, c, p.URL()+"/b/k", "data")
	if err == nil {
		t.Fatal("a stalled request got a response")
	}
	if took := time.Since(start); took < 300*time.Millisecond || took > 5*time.Second {
		t.Fatalf("stall took %v, want about 300ms", took)
	}
}

func TestStallEndsWhenClientGivesUp(t *testing.T) {
	p, _, c := setup(t)
	p.SetStall(time.Minute)
	p.SetPlan(func(int, *http.Request) Fault { return Stall })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, p.URL()+"/b/k", strings.NewReader("x"))
	start := time.Now()
	if _, err := c.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client's deadline, got %v", err)
	}
	// Close must not wait for the minute-long stall.
	p.Close()
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("close after a given-up stall took %v", took)
	}
}

func TestPlanSeesRequestNumbersAndLogRecordsThem(t *testing.T) {
	p, e, c := setup(t)
	var seen []int
	p.SetPlan(func(n int, r *http.Request) Fault {
		seen = append(seen, n)
		if r.Method == http.MethodPut && n%2 == 0 {
			return Status500
		}
		return None
	})
	for i := 0; i < 6; i++ {
		put(t, c, p.URL()+"/b/k", "x")
	}
	if len(seen) != 6 || seen[0] != 0 || seen[5] != 5 {
		t.Fatalf("plan saw %v", seen)
	}
	reqs := p.Requests()
	if len(reqs) != 6 {
		t.Fatalf("%d requests logged", len(reqs))
	}
	for i, r := range reqs {
		want := None
		if i%2 == 0 {
			want = Status500
		}
		if r.N != i || r.Fault != want || r.Method != "PUT" || r.Path != "/b/k" || r.At.IsZero() {
			t.Errorf("request %d logged as %+v", i, r)
		}
		if i > 0 && r.At.Before(reqs[i-1].At) {
			t.Errorf("timestamps out of order")
		}
	}
	if p.Count(Status500) != 3 || p.Count(None) != 3 || e.received() != 3 {
		t.Errorf("500s %d, forwarded %d, target got %d", p.Count(Status500), p.Count(None), e.received())
	}
	p.SetPlan(nil)
	if resp, _, err := put(t, c, p.URL()+"/b/k", "x"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("nil plan should forward: %v", err)
	}
}

func TestBadTarget(t *testing.T) {
	for _, target := range []string{"", "127.0.0.1:9000", "ftp://x", "http://"} {
		if _, err := Start(target); !errors.Is(err, ErrTarget) {
			t.Errorf("Start(%q) = %v, want ErrTarget", target, err)
		}
	}
	if Fault(99).String() != "Fault(99)" || SlowDown503.String() != "SlowDown503" {
		t.Error("Fault.String")
	}
}

// FlipByte forwards the body with its middle byte changed and nothing else, over
// HTTPS too, and logs the server's status.
func TestFlipByteDamagesOneByte(t *testing.T) {
	e := &echo{}
	target := httptest.NewServer(e)
	t.Cleanup(target.Close)
	p, err := StartTLS(target.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if !strings.HasPrefix(p.URL(), "https://") {
		t.Fatalf("URL %s", p.URL())
	}
	p.SetPlan(func(n int, _ *http.Request) Fault { return [...]Fault{FlipByte, None}[n%2] })
	for range 2 {
		if _, _, err := put(t, p.Client(), p.URL()+"/b/k", "abcdefg"); err != nil {
			t.Fatal(err)
		}
	}
	if e.bodies[0] != "abc\x9befg" || e.bodies[1] != "abcdefg" {
		t.Errorf("target received %q", e.bodies)
	}
	if r := p.Requests(); r[0].Fault != FlipByte || r[0].Status != 200 || r[1].Status != 200 || p.Count(FlipByte) != 1 {
		t.Errorf("log %+v", r)
	}
	if ca, err := p.CAFile(t.TempDir()); err != nil || !strings.HasSuffix(ca, ".pem") {
		t.Errorf("CAFile: %s %v", ca, err)
	}
	plain := New(target.URL)
	defer plain.Close()
	if _, err := plain.CAFile(t.TempDir()); err == nil {
		t.Error("CAFile of a plain HTTP proxy")
	}
}
