package cputime

import (
	"runtime"
	"testing"
	"time"
)

// Both clocks advance with work done on the calling thread.
func TestClocksCountWork(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, p0 := Thread(), Process()
	x := 0
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
		for i := range 1000 {
			x ^= i
		}
	}
	_ = x
	if p := Process() - p0; p < 10*time.Millisecond {
		t.Errorf("process CPU advanced %v over 50 ms of work", p)
	}
	if runtime.GOOS == "linux" {
		if th := Thread() - t0; th < 10*time.Millisecond {
			t.Errorf("thread CPU advanced %v over 50 ms of work", th)
		}
	}
}
