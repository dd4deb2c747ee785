package accesslog_test

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time used so far by the calling OS thread, so
// benchmarks can report records per CPU-second on a busy machine. The caller
// must hold runtime.LockOSThread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
