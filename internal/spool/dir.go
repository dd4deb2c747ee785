package spool

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/fsutil"
)

// Open takes the first free directory <root>/<identity>-<n>, adopts the files of
// unlocked siblings, and recovers every batch left on disk: open batches are cut to
// their valid prefix and sealed, sealed ones are validated.
func Open(root, identity string, opt Options) (*Spool, error) {
	return open(root, identity, opt, nil)
}

func open(root, identity string, opt Options, fault func(string) error) (*Spool, error) {
	if opt.Namer == nil {
		return nil, errors.New("spool: Options.Namer is required")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	if opt.Errorf == nil {
		opt.Errorf = opt.Logf
	}
	id := sanitize(identity)
	if err := prepareRoot(root); err != nil {
		return nil, err
	}
	var (
		dir     string
		lock    *os.File
		mine    int
		refused = map[string]bool{} // reported once, never adopted
	)
	for n := 0; n < 1<<12; n++ {
		d := filepath.Join(root, id+"-"+strconv.Itoa(n))
		lf, err := lockDir(d, true)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			continue
		}
		var unsafe *UnsafeError
		if errors.As(err, &unsafe) {
			opt.Errorf("%v", err) // never used; the next index is taken
			refused[d] = true
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := subdirs(d); err != nil {
			lf.Close()
			if errors.As(err, &unsafe) {
				opt.Errorf("%v", err)
				refused[d] = true
				continue
			}
			return nil, err
		}
		dir, lock, mine = d, lf, n
		break
	}
	if lock == nil {
		return nil, fmt.Errorf("spool: every directory %s-N under %s is locked or unsafe", id, root)
	}
	s := &Spool{
		root:      root,
		dir:       dir,
		openDir:   filepath.Join(dir, "open"),
		sealedDir: filepath.Join(dir, "sealed"),
		lock:      lock,
		opt:       opt,
		maxOpen:   opt.MaxOpen,
		open:      make(map[string]*batch),
		failed:    make(map[string]bool),
		fault:     fault,
	}
	if s.maxOpen <= 0 {
		s.maxOpen = defaultMaxOpen()
	}
	s.recordDue = opt.Record != nil
	s.writeRecord()
	rand.Read(s.idBase[:8])
	s.loadReplayed()
	s.adoptSiblings(root, id, mine, refused)
	s.commits = s.scanCommits()
	s.recover()
	return s, nil
}

// maxRecord bounds what is read back of a destination record.
const maxRecord = 64 << 10

// writeRecord makes <dir>/destination hold Options.Record, unless it already does.
// Only another process adopting this directory needs it, so a failure (a full disk,
// EIO, a read-only file system) never fails Open and never stops uploads: it is
// logged once and retried by Recheck. A full disk at start must not stop the
// instance whose uploads would free it.
func (s *Spool) writeRecord() {
	if !s.recordDue {
		return
	}
	path := filepath.Join(s.dir, RecordFile)
	if cur, err := fsutil.ReadRegular(path, maxRecord); err == nil && bytes.Equal(cur, s.opt.Record) {
		s.recordDue = false
		return
	}
	var err error
	if s.fault != nil {
		err = s.fault("record")
	}
	if err == nil {
		err = fsutil.WriteFileAtomic(path, s.opt.Record)
	}
	switch {
	case err == nil:
		s.recordDue = false
		if s.recordFailed {
			s.opt.Logf("spool: %s written: the directory's destination is recorded again", path)
		}
	case !s.recordFailed:
		s.recordFailed = true
		s.opt.Errorf("spool: cannot record where the batches of %s go (%v); this instance still uploads them and keeps retrying the record, but if it stops first another envoy_s3 cannot adopt them: free space in store_dir, or fix the disk", s.dir, err)
	}
}

// subdirs makes sure open/ and sealed/ of dir are safe directories.
func subdirs(dir string) error {
	for _, sub := range []string{"open", "sealed"} {
		if err := secureDir(filepath.Join(dir, sub), true); err != nil {
			return err
		}
	}
	return nil
}

// RecordFile is the name of Options.Record inside a spool directory.
const RecordFile = "destination"

// defaultMaxOpen is a quarter of the soft RLIMIT_NOFILE: Fluent Bit needs descriptors
// for its inputs, sockets and its own storage too.
func defaultMaxOpen() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return 256
	}
	return int(max(8, min(rl.Cur/4, 4096)))
}

// lockDir creates dir (when create) and takes its lock without blocking;
// syscall.EWOULDBLOCK means another Spool owns it, *UnsafeError that it must not be used.
func lockDir(dir string, create bool) (*os.File, error) {
	if err := secureDir(dir, create); err != nil {
		return nil, err
	}
	lf, err := fsutil.OpenRegular(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	var nr *fsutil.NotRegularError
	if errors.As(err, &nr) {
		// A symlink is never followed; a FIFO or socket would hang or fail.
		return nil, &UnsafeError{nr.Path, "is a " + nr.Kind + ", not a regular file; the spool never uses one: remove it"}
	}
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := fsutil.Flock(lf, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lf.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, err
		}
		return nil, fmt.Errorf("spool: lock %s: %w", dir, err)
	}
	return lf, nil
}

// DirName is the form identity takes in directory names (and in Orphan.Identity).
func DirName(identity string) string { return sanitize(identity) }

// sanitize keeps identity usable as one path element.
func sanitize(id string) string {
	b := []byte(id)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' && i > 0
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	if len(b) == 0 {
		return "spool"
	}
	return string(b)
}

// adoptSiblings moves the batches of unlocked <id>-<m> directories into ours, so a
// restart with fewer instances strands nothing. A sibling that cannot be adopted is
// logged and left for the next start.
func (s *Spool) adoptSiblings(root, id string, mine int, refused map[string]bool) {
	ents, err := os.ReadDir(root)
	if err != nil {
		s.opt.Errorf("spool: cannot list %s to adopt earlier spool directories: %v", root, err)
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), id+"-")
		if !ok || !e.IsDir() {
			continue
		}
		m, err := strconv.Atoi(rest)
		if err != nil || m == mine || strconv.Itoa(m) != rest {
			continue
		}
		sib := filepath.Join(root, e.Name())
		if refused[sib] {
			continue
		}
		lf, err := lockDir(sib, false)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			continue // a live instance owns it
		}
		if err != nil {
			s.opt.Errorf("spool: cannot adopt %s: %v", sib, err)
			continue
		}
		moved := 0
		for _, sub := range []string{"open", "sealed"} {
			n, err := s.moveAll(filepath.Join(sib, sub), filepath.Join(s.dir, sub))
			moved += n
			if err != nil {
				s.opt.Errorf("spool: adopting %s: %v", sib, err)
				break
			}
		}
		s.mergeReplayed(sib)
		if err := moveHeld(filepath.Join(sib, HeldDir), filepath.Join(s.dir, HeldDir)); err != nil {
			s.opt.Errorf("spool: adopting %s: %v", sib, err)
		}
		lf.Close() // releases the flock
		if moved > 0 {
			s.opt.Logf("spool: adopted %d batch file(s) from %s", moved, sib)
		}
	}
}

// HeldDir is the subdirectory of a spool directory whose files belong to the caller
// (the journal of split records, internal/partial): the spool only gives them a
// locked home and moves them along when it adopts an unlocked sibling.
const HeldDir = "held"

// moveHeld moves every regular file of from into to, renaming on a clash.
func moveHeld(from, to string) error {
	if err := secureDir(from, false); errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if len(ents) == 0 {
		return nil
	}
	if err := secureDir(to, true); err != nil {
		return err
	}
	for i, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		if _, err := os.Lstat(filepath.Join(to, name)); err == nil {
			name = fmt.Sprintf("adopted-%d-%s", i, name)
		}
		if err := os.Rename(filepath.Join(from, e.Name()), filepath.Join(to, name)); err != nil {
			return fmt.Errorf("spool: adopt: %w", err)
		}
	}
	if err := syncDir(to); err != nil {
		return err
	}
	return syncDir(from)
}

func (s *Spool) moveAll(from, to string) (int, error) {
	if err := secureDir(from, false); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	n := 0
	var first error
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), fileExt) {
			continue
		}
		name := e.Name()
		if _, err := os.Lstat(filepath.Join(to, name)); err == nil {
			name = s.newName()
		}
		if err := os.Rename(filepath.Join(from, e.Name()), filepath.Join(to, name)); err != nil {
			if first == nil {
				first = fmt.Errorf("spool: adopt: %w", err)
			}
			continue
		}
		n++
	}
	if n > 0 {
		if err := syncDir(to); err != nil {
			return n, err
		}
		if err := syncDir(from); err != nil {
			return n, err
		}
	}
	return n, first
}

// newName returns a file name unique within this directory, ordered by creation.
func (s *Spool) newName() string {
	s.seq++
	return fmt.Sprintf("%016x-%06x%s", s.opt.Now().UnixNano(), s.seq, fileExt)
}

// syncDir is fsutil.SyncDir with the spool's error prefix.
func syncDir(dir string) error {
	if err := fsutil.SyncDir(dir); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}
