package cputime

import "time"

// Thread is the CPU time of the calling OS thread so far (RUSAGE_THREAD); 0 if it
// cannot be read.
func Thread() time.Duration { return usage(1 /* RUSAGE_THREAD */) }
