//go:build linux && (amd64 || arm64)

package spool

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// noCopyFileRange is set once copy_file_range proved missing (kernels before 4.5,
// some emulators and filesystems): staged lines are then copied through a buffer.
var noCopyFileRange atomic.Bool

// copyFileRange is copy_file_range(2) at explicit offsets, which leave both files'
// offsets alone (the spool writes at offsets only).
func copyFileRange(dst *os.File, dstOff int64, src *os.File, srcOff, n int64) (int64, error) {
	sc, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	dc, err := dst.SyscallConn()
	if err != nil {
		return 0, err
	}
	var k uintptr
	var errno syscall.Errno
	cerr := sc.Control(func(sfd uintptr) {
		err := dc.Control(func(dfd uintptr) {
			for {
				k, _, errno = syscall.Syscall6(sysCopyFileRange,
					sfd, uintptr(unsafe.Pointer(&srcOff)), dfd, uintptr(unsafe.Pointer(&dstOff)), uintptr(n), 0)
				if errno != syscall.EINTR {
					return
				}
			}
		})
		if err != nil {
			errno = syscall.EBADF
		}
	})
	if cerr != nil {
		return 0, cerr
	}
	if errno != 0 {
		return 0, errno
	}
	return int64(k), nil
}

// copyFileRangeUnsupported tells the errors after which a plain copy does the job.
func copyFileRangeUnsupported(err error) bool {
	return errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EXDEV) ||
		errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EOPNOTSUPP) ||
		errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EBADF)
}
