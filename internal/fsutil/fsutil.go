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

// ReadRegular returns the contents of the regular file path, at most limit bytes
// (more is an error). It opens with O_NONBLOCK|O_NOFOLLOW and checks the type
// before reading, so a FIFO, socket, device, directory or symlink planted where a
// small metadata file is expected gives an error at once instead of hanging or
// being followed.
func ReadRegular(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &os.PathError{Op: "open", Path: path, Err: errors.New("is a symlink, not a regular file")}
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("is a %s, not a regular file", kind(fi.Mode()))}
	}
	if fi.Size() > limit {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("holds %d bytes, more than the %d expected", fi.Size(), limit)}
	}
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
