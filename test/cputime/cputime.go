// Package cputime reads the CPU time benchmarks report per record, which holds on a
// loaded machine where wall time overstates what the work costs: Thread for the
// calling OS thread (one core's share of a loop that stays on it), Process for the
// whole process (garbage collection and background goroutines included).
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time of the whole process so far; 0 if it cannot be read.
func Process() time.Duration { return usage(syscall.RUSAGE_SELF) }

func usage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
