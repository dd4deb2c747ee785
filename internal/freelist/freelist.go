// Package freelist is a pool of reusable objects that, unlike sync.Pool, the garbage
// collector does not empty. envoy_s3 reuses a few large objects (a flush's worker with
// its buffers, compressors, segment buffers); with sync.Pool every collection dropped
// them, the next flush or upload built them again, and that allocation brought the next
// collection sooner: the heap churned by megabytes per cycle, and a lower GOGC cost
// a third more CPU. A List keeps at most Max idle objects; callers that run at once
// beyond that get new ones, which the collector takes when they are put back.
package freelist

import "sync"

// List is a bounded free list. The zero value holds nothing and has no New; set New
// (and Max) before use.
type List[T any] struct {
	New func() T // makes an object when none is idle
	Max int      // idle objects kept; 0 means 4

	mu   sync.Mutex
	idle []T
}

// Get returns an idle object, or a new one.
func (l *List[T]) Get() T {
	l.mu.Lock()
	if n := len(l.idle); n > 0 {
		x := l.idle[n-1]
		var zero T
		l.idle[n-1] = zero
		l.idle = l.idle[:n-1]
		l.mu.Unlock()
		return x
	}
	l.mu.Unlock()
	return l.New()
}

// Put keeps x for a later Get, unless Max objects are already idle.
func (l *List[T]) Put(x T) {
	l.mu.Lock()
	max := l.Max
	if max == 0 {
		max = 4
	}
	if len(l.idle) < max {
		l.idle = append(l.idle, x)
	}
	l.mu.Unlock()
}
