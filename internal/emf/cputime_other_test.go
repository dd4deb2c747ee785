//go:build !linux

package emf

import "time"

func threadCPU() time.Duration { return 0 }
