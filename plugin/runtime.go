package main

import (
	"os"
	"runtime/debug"
)

// memoryLimit is the Go runtime's soft memory limit inside Fluent Bit's process
// (README "Memory", with the measurements). GOGC stays at 100: the hot path
// allocates nothing per record, so collections are rare and a lower GOGC did not
// lower the peak. The limit makes the collector run earlier when a transient would
// grow the heap past twice what is live, instead of letting Fluent Bit's RSS follow
// it. It sits above the live heap measured at full speed through Fluent Bit (about
// 30 MB in both formats) and the runtime's own memory, so the collector never runs
// continuously: 32 MiB saved 5-22 MiB of RSS for 30% more CPU per record.
// GOMEMLIMIT, when set, wins.
const memoryLimit = 64 << 20

func init() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
	}
}
