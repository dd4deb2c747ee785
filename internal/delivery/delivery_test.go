package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var errTransient = errors.New("503 SlowDown")
var errDenied = errors.New("AccessDenied")

// flaky fails each key's first n attempts with err, then stores it.
type flaky struct {
	mu     sync.Mutex
	n      int
	err    func() error
	tries  map[string]int
	stored map[string]int
}

func (f *flaky) Put(ctx context.Context, key string, body []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tries == nil {
		f.tries, f.stored = map[string]int{}, map[string]int{}
	}
	f.tries[key]++
	if f.tries[key] <= f.n {
		return f.err()
	}
	f.stored[key]++
	return nil
}

type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func fast(o Options) Options {
	o.MinBackoff, o.MaxBackoff, o.SlowRetry = time.Millisecond, 5*time.Millisecond, 10*time.Millisecond
	return o
}

func TestRetriesUntilStored(t *testing.T) {
	f := &flaky{n: 3, err: func() error { return errTransient }}
	var done atomic.Int32
	p := New(fast(Options{Workers: 3, Put: f}))
	for i := 0; i < 20; i++ {
		if err := p.Submit(&Job{Key: fmt.Sprint(i), Body: []byte("x"), Done: func() { done.Add(1) }}); err != nil {
			t.Fatal(err)
		}
	}
	left := p.Close(context.Background())
	if len(left) != 0 || done.Load() != 20 {
		t.Fatalf("left %d, done %d", len(left), done.Load())
	}
	for i := 0; i < 20; i++ {
		k := fmt.Sprint(i)
		if f.stored[k] != 1 || f.tries[k] != 4 {
			t.Fatalf("key %s stored %d times after %d tries", k, f.stored[k], f.tries[k])
		}
	}
	if n, b := p.Pending(); n != 0 || b != 0 {
		t.Fatalf("pending %d/%d after close", n, b)
	}
	if err := p.Submit(&Job{Key: "late"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
}

func TestPermanentLoggedOnceThenHeals(t *testing.T) {
	f := &flaky{n: 6, err: func() error { return errDenied }}
	var l logs
	classify := func(err error) Verdict {
		return Verdict{Permanent: errors.Is(err, errDenied), Remedy: `access to bucket "b" is denied: allow s3:PutObject`}
	}
	p := New(fast(Options{Workers: 2, Put: f, Classify: classify, Logf: l.logf}))
	p.Submit(&Job{Key: "a", Body: []byte("1")})
	p.Submit(&Job{Key: "b", Body: []byte("2")})
	if left := p.Close(context.Background()); len(left) != 0 {
		t.Fatalf("left %d", len(left))
	}
	denied := 0
	for _, line := range l.lines {
		if strings.Contains(line, "denied") {
			denied++
		}
	}
	if denied != 1 {
		t.Fatalf("want the permanent error logged once, got %d:\n%s", denied, strings.Join(l.lines, "\n"))
	}
	if !strings.Contains(l.lines[len(l.lines)-1], "succeed again") {
		t.Fatalf("recovery not logged: %q", l.lines)
	}
}

func TestCloseDeadlineReturnsUndelivered(t *testing.T) {
	f := &flaky{n: 1 << 30, err: func() error { return errTransient }}
	p := New(fast(Options{Workers: 2, Put: f}))
	for i := 0; i < 5; i++ {
		p.Submit(&Job{Key: fmt.Sprint(i), Body: []byte("abc")})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	left := p.Close(ctx)
	if time.Since(start) > 2*time.Second {
		t.Fatalf("Close ignored its deadline")
	}
	if len(left) != 5 {
		t.Fatalf("want all 5 jobs back, got %d", len(left))
	}
}

func TestBackoffBounds(t *testing.T) {
	for attempt := 0; attempt < 40; attempt++ {
		ceil := 100 * time.Millisecond << uint(min(attempt, 20))
		if ceil > 10*time.Second || attempt >= 20 {
			ceil = 10 * time.Second
		}
		for i := 0; i < 50; i++ {
			d := Backoff(attempt, 100*time.Millisecond, 10*time.Second)
			if d < 0 || d > ceil {
				t.Fatalf("attempt %d: %s outside [0, %s]", attempt, d, ceil)
			}
		}
	}
}

func TestSleepHonoursCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	start := time.Now()
	if Sleep(ctx, time.Minute) {
		t.Fatal("Sleep reported a full wait")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("Sleep ignored cancellation")
	}
}

func TestPrepareBuildsBodyInWorker(t *testing.T) {
	f := &flaky{n: 1, err: func() error { return errTransient }}
	prepared := 0
	p := New(fast(Options{Workers: 1, Put: f}))
	p.Submit(&Job{Key: "k", Size: 10, Prepare: func() ([]byte, error) { prepared++; return []byte("body"), nil }})
	if n, b := p.Pending(); n != 1 || b != 10 {
		t.Fatalf("pending %d/%d, want 1/10 from Size", n, b)
	}
	p.Close(context.Background())
	if f.stored["k"] != 1 || prepared != 1 {
		t.Fatalf("stored %d, prepared %d times (want the body kept across retries)", f.stored["k"], prepared)
	}
}
