//go:build !(linux && (amd64 || arm64))

package spool

import (
	"errors"
	"os"
	"sync/atomic"
)

var noCopyFileRange atomic.Bool

func init() { noCopyFileRange.Store(true) }

func copyFileRange(*os.File, int64, *os.File, int64, int64) (int64, error) {
	return 0, errors.ErrUnsupported
}

func copyFileRangeUnsupported(error) bool { return true }
