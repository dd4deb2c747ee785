package main

import (
	"os"
	"runtime/debug"
)

// memoryLimit is the Go runtime's soft memory limit inside Fluent Bit's process
// (README "Memory"). GOGC stays at 100, so in steady state the heap may grow to
// twice what is live; the limit makes the collector run earlier when uploads and
// Parquet files briefly hold more, instead of letting the heap (and Fluent Bit's
// RSS) follow the peak. It is above the live heap measured at full speed, so the
// collector does not run continuously. GOMEMLIMIT, when set, wins.
const memoryLimit = 64 << 20

func init() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
	}
}
