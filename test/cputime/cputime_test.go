package cputime

import (
	"runtime"
	"testing"
	"time"
)

// Both clocks advance with work done on the calling thread (the two are sampled
// at different granularities, so the process's may lag the thread's a little). The loop runs until the clock moved, not for a set time,
// so a loaded machine only makes it slower.
func TestClocksCountWork(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	clock := Thread
	if runtime.GOOS != "linux" {
		clock = Process
	}
	t0, p0 := Thread(), Process()
	c0 := clock()
	x := 0
	for deadline := time.Now().Add(time.Minute); clock()-c0 < 20*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatalf("the clock moved %v in a minute of work", clock()-c0)
		}
		for i := range 100000 {
			x ^= i
		}
	}
	_ = x
	if th, p := Thread()-t0, Process()-p0; p < 10*time.Millisecond {
		t.Errorf("thread CPU advanced %v, process CPU %v", th, p)
	}
}
