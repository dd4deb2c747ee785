package delivery

import (
	"context"
	"testing"
	"time"
)

// gate holds every Put until it is opened.
type gate chan struct{}

func (g gate) Put(ctx context.Context, key string, body Body) error {
	select {
	case <-g:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Oldest sees the jobs being uploaded and those queued, and forgets them once
// uploaded: it is how long the oldest batch has waited for S3.
func TestOldestCountsQueuedAndInFlight(t *testing.T) {
	g := make(gate)
	p := New(Options{Workers: 1, Put: g})
	defer p.Close(context.Background())
	if !p.Oldest().IsZero() {
		t.Fatal("an empty pool has an oldest job")
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.Submit(&Job{Key: "a", Body: Bytes("x"), Since: t0})
	p.Submit(&Job{Key: "b", Body: Bytes("x"), Since: t0.Add(time.Minute)})
	p.Submit(&Job{Key: "c", Body: Bytes("x")})
	time.Sleep(50 * time.Millisecond) // a is now with the worker
	if got := p.Oldest(); !got.Equal(t0) {
		t.Fatalf("Oldest = %v, want %v, the job being uploaded", got, t0)
	}
	g <- struct{}{} // a
	deadline := time.Now().Add(5 * time.Second)
	for !p.Oldest().Equal(t0.Add(time.Minute)) {
		if time.Now().After(deadline) {
			t.Fatalf("Oldest = %v after a was uploaded, want b's", p.Oldest())
		}
		time.Sleep(10 * time.Millisecond)
	}
	g <- struct{}{} // b
	for !p.Oldest().IsZero() {
		if time.Now().After(deadline) {
			t.Fatalf("Oldest = %v after a and b were uploaded; c has no Since", p.Oldest())
		}
		time.Sleep(10 * time.Millisecond)
	}
	g <- struct{}{} // c
}
