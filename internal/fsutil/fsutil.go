package fsutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// SyncDir fsyncs the directory dir, so entries created, renamed or removed in it
// survive a crash. dir must be a directory, not a symlink to one: it is opened with
// O_DIRECTORY|O_NOFOLLOW.
func SyncDir(dir string) error {
	d, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// WriteFileAtomic replaces path with data (mode 0600): data goes to path+".tmp"
// (a stale one is removed first; created with O_EXCL|O_NOFOLLOW, so a planted
// symlink is never followed), which is fsynced, renamed over path, and then the
// directory is fsynced. On error the temporary file is removed and path is left as
// it was. Callers must not write the same path from two places at once (a lock they
// hold, such as Flock's, serialises them).
func WriteFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// Flock applies flock(2) operation how (syscall.LOCK_EX, LOCK_SH or LOCK_UN, with
// LOCK_NB to not wait) to f, retrying when a signal interrupts the call. With LOCK_NB
// a lock held elsewhere gives syscall.EWOULDBLOCK.
func Flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

// OpenRegular opens path, which must be a regular file, with flag (plus O_NONBLOCK,
// O_NOFOLLOW and O_CLOEXEC) and perm. The type is checked on the open file, so a
// FIFO, socket, device, directory or symlink planted where a file of the program is
// expected gives an error saying what it is at once, instead of an open or read that
// waits forever for a writer, or a path that is followed. O_NONBLOCK changes nothing
// for a regular file.
func OpenRegular(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, perm)
	if err != nil {
		// A symlink (ELOOP), socket (ENXIO) or directory (EISDIR, opened for
		// writing) fails the open itself: say what it is.
		if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.EISDIR) {
			if fi, lerr := os.Lstat(path); lerr == nil && !fi.Mode().IsRegular() {
				return nil, notRegular(path, fi.Mode())
			}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = notRegular(path, fi.Mode())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// NotRegularError is OpenRegular's error for a path that is no regular file.
type NotRegularError struct {
	Path string
	Kind string // "FIFO", "socket", "directory", "symlink", "device"
}

func (e *NotRegularError) Error() string {
	return e.Path + " is a " + e.Kind + ", not a regular file"
}

func notRegular(path string, m os.FileMode) error { return &NotRegularError{path, kind(m)} }

// ReadRegular returns the contents of the regular file path, at most limit bytes
// (more is an error), opened by OpenRegular.
func ReadRegular(path string, limit int64) ([]byte, error) {
	f, err := OpenRegular(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("holds more than the %d bytes expected", limit)}
	}
	return b, err
}

// kind names a file type the way a user would.
func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeNamedPipe != 0:
		return "FIFO"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeDevice != 0:
		return "device"
	case m&os.ModeSymlink != 0:
		return "symlink"
	}
	return "special file"
}
