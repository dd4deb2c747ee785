package delivery

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// keyed fails the keys deny says with errDenied (a 403 on one object: a bucket
// policy on a prefix, a KMS grant), and stores the others.
type keyed struct {
	mu     sync.Mutex
	deny   func(key string, try int) bool
	tries  map[string]int
	stored map[string]time.Time
}

func (k *keyed) Put(ctx context.Context, key string, body Body) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.tries == nil {
		k.tries, k.stored = map[string]int{}, map[string]time.Time{}
	}
	k.tries[key]++
	if k.deny(key, k.tries[key]) {
		return errDenied
	}
	k.stored[key] = time.Now()
	return nil
}

func (k *keyed) count() (stored, tries int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, n := range k.tries {
		tries += n
	}
	return len(k.stored), tries
}

func permanent(err error) Verdict {
	return Verdict{Permanent: true, Remedy: "access denied to bucket b: allow s3:PutObject"}
}

// A permanent error on some objects must not park the upload workers: the other
// objects are uploaded at once, and the refused ones are retried after SlowRetry.
func TestPermanentErrorDoesNotStallOthers(t *testing.T) {
	for _, tc := range []struct {
		name string
		deny func(key string, try int) bool
	}{
		{"denied prefix", func(key string, _ int) bool { return strings.HasPrefix(key, "denied/") }},
		{"sporadic 403s", func(key string, try int) bool { return strings.HasPrefix(key, "denied/") && try == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			put := &keyed{deny: tc.deny}
			var l logs
			p := New(Options{Workers: 4, Put: put, Classify: permanent, SlowRetry: 20 * time.Second, Logf: l.logf})
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
				defer cancel()
				p.Close(ctx)
			}()
			for i := range 6 {
				p.Submit(&Job{Key: fmt.Sprintf("denied/%d", i), Body: Bytes("x")})
			}
			for i := range 40 {
				p.Submit(&Job{Key: fmt.Sprintf("ok/%d", i), Body: Bytes("x")})
			}
			// Workers that sleep SlowRetry would upload nothing for 10-20 s.
			deadline := time.Now().Add(8 * time.Second)
			for {
				if n, _ := put.count(); n >= 40 {
					break
				}
				if time.Now().After(deadline) {
					n, tries := put.count()
					t.Fatalf("%d of 40 good objects uploaded after 8 s (%d attempts): refused objects park the workers", n, tries)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// When every object is refused (a missing bucket), the pool does not try every
// queued object: Workers attempts per SlowRetry, and one probe per SlowRetry/16.
func TestPermanentErrorEverywhereIsRetriedSlowly(t *testing.T) {
	put := &keyed{deny: func(string, int) bool { return true }}
	var prepared atomic.Int64
	p := New(Options{Workers: 4, Put: put, Classify: permanent, SlowRetry: 400 * time.Millisecond})
	for i := range 50 {
		p.Submit(&Job{Key: fmt.Sprintf("k/%d", i), Prepare: func() (Body, error) { prepared.Add(1); return Bytes("x"), nil }})
	}
	time.Sleep(1100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	left := p.Close(ctx)
	_, tries := put.count()
	// 4 at once, then 4 after each wait of 200-400 ms and a probe every 25 ms:
	// at most 12 + 44 in 1.1 s, where trying each object would give 50 at once.
	if tries < 4 || tries > 56 {
		t.Errorf("%d attempts in 1.1 s with SlowRetry 400 ms and 4 workers, want 4 to 56", tries)
	}
	if len(left) != 50 {
		t.Errorf("Close returned %d jobs, want all 50", len(left))
	}
	if prepared.Load() > int64(tries) {
		t.Errorf("%d bodies prepared for %d attempts", prepared.Load(), tries)
	}
}

// A job's own Target names where it goes in the timeout message (a CloudWatch Logs
// batch in an S3 instance's pool).
func TestTimeoutNamesTheJobsTarget(t *testing.T) {
	var l logs
	p := New(Options{Workers: 1, Put: nil, Timeout: 20 * time.Millisecond, MinBackoff: time.Hour, Target: "bucket b at http://x", Logf: l.logf})
	p.Submit(&Job{Key: "k", Body: Bytes("x"), Target: "CloudWatch Logs group g stream s",
		Send: func(ctx context.Context, _ Body) error { <-ctx.Done(); return ctx.Err() }})
	deadline := time.Now().Add(5 * time.Second)
	for len(l.snapshot()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	left := p.Close(ctx)
	got := strings.Join(l.snapshot(), "\n")
	if !strings.Contains(got, "no answer within the 20ms attempt timeout, CloudWatch Logs group g stream s") {
		t.Errorf("the timeout line does not name the job's target:\n%s", got)
	}
	if len(left) != 1 || left[0].Err() == nil {
		t.Errorf("Close returned %d jobs; want the job, with why it failed", len(left))
	}
}
