package fsutil

import (
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
