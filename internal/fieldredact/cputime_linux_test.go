package fieldredact

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time of the calling OS thread, so benchmarks can
// report cost per core even on a loaded machine (wall time then overstates it).
func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
