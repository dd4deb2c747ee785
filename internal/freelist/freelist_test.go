package freelist

import (
	"runtime"
	"testing"
)

func TestReusesAfterCollections(t *testing.T) {
	made := 0
	l := List[*[]byte]{New: func() *[]byte { made++; b := make([]byte, 1<<20); return &b }}
	x := l.Get()
	l.Put(x)
	runtime.GC()
	runtime.GC() // sync.Pool would have dropped x by now
	if y := l.Get(); y != x || made != 1 {
		t.Fatalf("got a new object after two collections (made %d)", made)
	}
}

func TestKeepsAtMostMax(t *testing.T) {
	l := List[int]{New: func() int { return 0 }, Max: 2}
	for i := range 5 {
		l.Put(i)
	}
	if got := l.Drain(); len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Fatalf("idle after 5 puts with Max 2: %v", got)
	}
	if got := l.Drain(); len(got) != 0 {
		t.Fatalf("Drain left %v", got)
	}
}

func TestDefaultMax(t *testing.T) {
	l := List[int]{New: func() int { return -1 }}
	for i := range 10 {
		l.Put(i)
	}
	if n := len(l.Drain()); n != 4 {
		t.Fatalf("kept %d idle objects, want the default 4", n)
	}
}

func BenchmarkGetPut(b *testing.B) {
	l := List[*int]{New: func() *int { return new(int) }}
	b.ReportAllocs()
	for b.Loop() {
		l.Put(l.Get())
	}
}

// Drain removes and returns every idle object, for the tests to count them.
func (l *List[T]) Drain() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	idle := l.idle
	l.idle = nil
	return idle
}
