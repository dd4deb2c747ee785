package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// UnsafeError says why a directory must not hold the spool: another user could read
// the batches or plant files and symlinks in it.
type UnsafeError struct {
	Path   string
	Reason string
}

func (e *UnsafeError) Error() string {
	return "spool: " + e.Path + " " + e.Reason
}

// prepareRoot checks store_dir and the directories above it, then creates what is
// missing with mode 0700. The checks are those of OpenSSH's StrictModes: every
// directory on the way is owned by root or by us, one writable by others must be
// sticky (like /tmp, where others cannot rename our entries), and store_dir itself is
// writable by us alone.
func prepareRoot(root string) error {
	root = filepath.Clean(root)
	if !filepath.IsAbs(root) {
		return fmt.Errorf("spool: store_dir %s is not an absolute path", root)
	}
	if root == "/" {
		return &UnsafeError{root, "is the file system root: set store_dir to a directory of its own, such as /var/lib/fluent-bit/envoy_s3"}
	}
	euid := uint32(os.Geteuid())
	// Check the existing part of the path, following symlinks (only ones owned by root
	// or us), then create the rest.
	var missing []string
	p := root
	for {
		_, err := os.Lstat(p)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: %w", err)
		}
		missing = append(missing, p)
		p = filepath.Dir(p)
	}
	if err := checkChain(p, euid, len(missing) == 0); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("spool: cannot create %s: %w", missing[i], err)
		}
	}
	if len(missing) > 0 {
		return checkChain(root, euid, true)
	}
	return nil
}

// checkChain checks dir (and each directory above it, after resolving symlinks); last
// says dir is store_dir itself, which others must not be able to write at all.
func checkChain(dir string, euid uint32, last bool) error {
	// A symlink on the way is followed only when root or we own it.
	for p := dir; ; p = filepath.Dir(p) {
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			if uid := owner(fi); uid != 0 && uid != euid {
				return &UnsafeError{p, fmt.Sprintf("is a symlink owned by uid %d: replace it with a directory owned by this user (uid %d)", uid, euid)}
			}
		}
		if p == "/" || p == "." {
			break
		}
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	for p := real; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if !fi.IsDir() {
			return &UnsafeError{p, "is not a directory"}
		}
		uid, mode := owner(fi), fi.Mode()
		self := p == real && last
		switch {
		case uid != euid && (self || uid != 0):
			return &UnsafeError{p, fmt.Sprintf("is owned by uid %d, not by this user (uid %d): store_dir must be a directory only this user controls; chown it or choose another store_dir", uid, euid)}
		case self && mode.Perm()&0o022 != 0:
			return &UnsafeError{p, fmt.Sprintf("is writable by group or others (mode %04o): run chmod 700 on it, or choose another store_dir", mode.Perm())}
		case !self && mode.Perm()&0o002 != 0 && mode&os.ModeSticky == 0:
			return &UnsafeError{p, fmt.Sprintf("is writable by others without the sticky bit (mode %04o): store_dir must not sit below it", mode.Perm())}
		}
		if p == "/" {
			return nil
		}
	}
}

func owner(fi os.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid
	}
	return 0
}

// secureDir makes sure dir is a real directory (not a symlink) that this user owns and
// nobody else can write, creating it 0700 when create is set. Looser read permissions
// of a directory we own are tightened to 0700.
func secureDir(dir string, create bool) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) && create {
		if err = os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("spool: %w", err)
		}
		fi, err = os.Lstat(dir)
	}
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	euid := uint32(os.Geteuid())
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return &UnsafeError{dir, "is a symlink; the spool never follows one: remove it"}
	case !fi.IsDir():
		return &UnsafeError{dir, "is not a directory: remove it"}
	case owner(fi) != euid:
		return &UnsafeError{dir, fmt.Sprintf("is owned by uid %d, not by this user (uid %d): remove it or chown it", owner(fi), euid)}
	case fi.Mode().Perm()&0o022 != 0:
		return &UnsafeError{dir, fmt.Sprintf("is writable by group or others (mode %04o): run chmod 700 on it", fi.Mode().Perm())}
	case fi.Mode().Perm()&0o077 != 0:
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	return nil
}
