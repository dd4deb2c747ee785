package main

import (
	"os"
	"runtime/debug"
	"testing"
)

// The .so sets its runtime limits when loaded, unless the environment does.
func TestRuntimeLimits(t *testing.T) {
	if _, set := os.LookupEnv("GOGC"); !set {
		if got := debug.SetGCPercent(gcPercent); got != gcPercent {
			t.Errorf("GOGC is %d, want %d", got, gcPercent)
		}
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		if got := debug.SetMemoryLimit(-1); got != memoryLimit {
			t.Errorf("memory limit is %d, want %d", got, memoryLimit)
		}
	}
}
