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

func (f *flaky) Put(ctx context.Context, key string, body Body) error {
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

// snapshot copies the lines logged so far, for reading while workers still log.
func (l *logs) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
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
		if err := p.Submit(&Job{Key: fmt.Sprint(i), Body: Bytes("x"), Done: func() { done.Add(1) }}); err != nil {
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

// deniedUntilFixed is a bucket whose policy denies every upload until fixAfter
// attempts have been refused, then accepts every later one, as when a user fixes a
// bucket policy while several workers retry.
type deniedUntilFixed struct {
	mu       sync.Mutex
	fixAfter int
	refused  int
	stored   map[string]int
}

func (d *deniedUntilFixed) Put(ctx context.Context, key string, body Body) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.refused < d.fixAfter {
		d.refused++
		return errDenied
	}
	if d.stored == nil {
		d.stored = map[string]int{}
	}
	d.stored[key]++
	return nil
}

func deniedVerdict(err error) Verdict {
	return Verdict{Permanent: errors.Is(err, errDenied), Remedy: `access to bucket "b" is denied: allow s3:PutObject`}
}

func count(lines []string, sub string) int {
	n := 0
	for _, line := range lines {
		if strings.Contains(line, sub) {
			n++
		}
	}
	return n
}

// One episode of a permanent error gives one error line and one recovery line,
// however many workers hit it and in whatever order they finish.
func TestPermanentLoggedOnceThenHeals(t *testing.T) {
	d := &deniedUntilFixed{fixAfter: 12}
	var l logs
	p := New(fast(Options{Workers: 4, Put: d, Classify: deniedVerdict, Logf: l.logf}))
	for i := 0; i < 8; i++ {
		p.Submit(&Job{Key: fmt.Sprint(i), Body: Bytes("1")})
	}
	if left := p.Close(context.Background()); len(left) != 0 {
		t.Fatalf("left %d", len(left))
	}
	if n := count(l.lines, "denied"); n != 1 {
		t.Fatalf("want the permanent error logged once, got %d:\n%s", n, strings.Join(l.lines, "\n"))
	}
	if n := count(l.lines, "succeed again"); n != 1 || !strings.Contains(l.lines[len(l.lines)-1], "succeed again") {
		t.Fatalf("want one recovery line, last: %q", l.lines)
	}
}

// gatedPutter refuses key "a" once and key "b" once; b's first attempt is held until
// a has been uploaded, so b's failure is reported after the episode ended.
type gatedPutter struct {
	mu    sync.Mutex
	tries map[string]int
	gate  chan struct{}
}

func (g *gatedPutter) Put(ctx context.Context, key string, body Body) error {
	g.mu.Lock()
	g.tries[key]++
	n := g.tries[key]
	g.mu.Unlock()
	if n > 1 {
		return nil
	}
	if key == "b" {
		<-g.gate
	}
	return errDenied
}

// The race behind the old flaky test, made deterministic: a worker whose attempt was
// under way when another worker's success ended the episode must not log the episode
// again (nor open a new one) when its failure comes in late.
func TestLateFailureOfEndedEpisodeNotLoggedAgain(t *testing.T) {
	g := &gatedPutter{tries: map[string]int{}, gate: make(chan struct{})}
	var l logs
	var once sync.Once
	p := New(fast(Options{Workers: 2, Put: g, Classify: deniedVerdict, Logf: l.logf,
		Uploaded: func(j *Job, _ time.Duration) {
			if j.Key == "a" {
				once.Do(func() { close(g.gate) })
			}
		}}))
	p.Submit(&Job{Key: "b", Body: Bytes("2")})
	for {
		g.mu.Lock()
		started := g.tries["b"] > 0
		g.mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	p.Submit(&Job{Key: "a", Body: Bytes("1")})
	if left := p.Close(context.Background()); len(left) != 0 {
		t.Fatalf("left %d", len(left))
	}
	if n := count(l.lines, "denied"); n != 1 {
		t.Fatalf("want the permanent error logged once, got %d:\n%s", n, strings.Join(l.lines, "\n"))
	}
	if n := count(l.lines, "succeed again"); n != 1 {
		t.Fatalf("want one recovery line, got %d:\n%s", n, strings.Join(l.lines, "\n"))
	}
}

// A new episode after a recovery is logged again: once per episode, not once ever.
func TestEachEpisodeLoggedOnce(t *testing.T) {
	d := &deniedUntilFixed{fixAfter: 3}
	var l logs
	p := New(fast(Options{Workers: 1, Put: d, Classify: deniedVerdict, Logf: l.logf}))
	p.Submit(&Job{Key: "1", Body: Bytes("1")})
	for count(l.snapshot(), "succeed again") == 0 {
		time.Sleep(time.Millisecond)
	}
	d.mu.Lock()
	d.fixAfter += 2
	d.mu.Unlock()
	p.Submit(&Job{Key: "2", Body: Bytes("2")})
	p.Close(context.Background())
	if n, m := count(l.lines, "denied"), count(l.lines, "succeed again"); n != 2 || m != 2 {
		t.Fatalf("want 2 episodes logged (error and recovery each), got %d and %d:\n%s", n, m, strings.Join(l.lines, "\n"))
	}
}

// The first failed attempt of a transient episode is logged at once with its cause;
// the attempts after it are not, until the episode ends.
func TestFirstTransientFailureLogged(t *testing.T) {
	f := &flaky{n: 5, err: func() error { return errTransient }}
	var l logs
	p := New(fast(Options{Workers: 1, Put: f, Logf: l.logf}))
	p.Submit(&Job{Key: "k", Body: Bytes("x")})
	p.Close(context.Background())
	if len(l.lines) != 2 || !strings.Contains(l.lines[0], "upload of k failed") ||
		!strings.Contains(l.lines[0], errTransient.Error()) || !strings.Contains(l.lines[1], "after 5 failed attempt(s)") {
		t.Fatalf("want one line naming the cause at the first failure and one at recovery, got:\n%s", strings.Join(l.lines, "\n"))
	}
}

func TestCloseDeadlineReturnsUndelivered(t *testing.T) {
	f := &flaky{n: 1 << 30, err: func() error { return errTransient }}
	p := New(fast(Options{Workers: 2, Put: f}))
	for i := 0; i < 5; i++ {
		p.Submit(&Job{Key: fmt.Sprint(i), Body: Bytes("abc")})
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

// A body the server refused for its checksum is built again for the next
// attempt (the damage may be in it); other failures keep it.
func TestRefusedBodyIsBuiltAgain(t *testing.T) {
	f := &flaky{n: 2, err: func() error { return BodyRefused(errTransient) }}
	prepared := 0
	p := New(fast(Options{Workers: 1, Put: f}))
	p.Submit(&Job{Key: "k", Size: 10, Prepare: func() (Body, error) { prepared++; return Bytes("body"), nil }})
	p.Close(context.Background())
	if f.stored["k"] != 1 || prepared != 3 {
		t.Fatalf("stored %d, prepared %d times; want 1 and 3 (once, then after each refusal)", f.stored["k"], prepared)
	}
	if err := BodyRefused(errTransient); err.Error() != errTransient.Error() || !errors.Is(err, errTransient) {
		t.Errorf("BodyRefused changed the error: %v", err)
	}
}

func TestPrepareBuildsBodyInWorker(t *testing.T) {
	f := &flaky{n: 1, err: func() error { return errTransient }}
	prepared := 0
	p := New(fast(Options{Workers: 1, Put: f}))
	p.Submit(&Job{Key: "k", Size: 10, Prepare: func() (Body, error) { prepared++; return Bytes("body"), nil }})
	if n, b := p.Pending(); n != 1 || b != 10 {
		t.Fatalf("pending %d/%d, want 1/10 from Size", n, b)
	}
	p.Close(context.Background())
	if f.stored["k"] != 1 || prepared != 1 {
		t.Fatalf("stored %d, prepared %d times (want the body kept across retries)", f.stored["k"], prepared)
	}
}
