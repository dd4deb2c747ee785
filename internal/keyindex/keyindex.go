// Package keyindex hands out $INDEX values.
//
// $INDEX must never repeat under one bucket: a key format with $INDEX and no $UUID
// would otherwise overwrite earlier objects. So there is one counter per endpoint
// and bucket, shared by every instance and process that uses the same store_dir,
// kept in store_dir across restarts (as Fluent Bit's s3 output keeps its index),
// and each value is reserved on disk before it is used: a crash leaves a gap,
// never a reuse.
//
// A reservation takes flock(LOCK_EX) on <file>.lock, reads the file, writes the
// next value to a temporary file, fsyncs it and renames it over the file, then
// unlocks: instances (each with its own open file, so flock orders them too) and
// processes take turns, and none can read a value another has handed out.
package keyindex

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/envoy-s3/envoy_s3/internal/fsutil"
)

// Name names the counter of an endpoint and bucket.
func Name(endpoint, bucket string) string {
	h := fnv.New64a()
	h.Write([]byte(endpoint))
	h.Write([]byte{0})
	h.Write([]byte(bucket))
	return fmt.Sprintf("envoy_s3-index-%016x", h.Sum64())
}

// File is one instance's handle on a shared counter in store_dir.
type File struct {
	mu   sync.Mutex // one reservation at a time in this instance
	path string
	lock *os.File
	last uint64 // the last value handed out, for a reservation that fails
}

// OpenFile opens the counter name in dir, and checks it.
func OpenFile(dir, name string) (*File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f := &File{path: filepath.Join(dir, name)}
	lock, err := fsutil.OpenRegular(f.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, planted(err)
	}
	f.lock = lock
	// Check the file now, so a damaged one fails Init with what to do.
	if _, err := f.locked(func(next uint64) uint64 { return next }); err != nil {
		lock.Close()
		return nil, err
	}
	return f, nil
}

// Take reserves and returns the next index. On an error it still returns a value
// (the next after the last this instance had) so the batch gets a key; the caller
// says that keys may then repeat.
func (f *File) Take() (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var err error
	for try := 0; try < 3; try++ {
		var n uint64
		if n, err = f.locked(func(next uint64) uint64 { return next + 1 }); err == nil {
			f.last = n
			return n, nil
		}
	}
	f.last++
	return f.last, err
}

// locked reads the counter under the lock, writes update(value) when it
// changes it, and returns the value read.
func (f *File) locked(update func(uint64) uint64) (uint64, error) {
	if err := fsutil.Flock(f.lock, syscall.LOCK_EX); err != nil {
		return 0, fmt.Errorf("lock %s.lock: %w", f.path, err)
	}
	defer fsutil.Flock(f.lock, syscall.LOCK_UN)
	n, err := f.read()
	if err != nil {
		return 0, err
	}
	if next := update(n); next != n {
		if err := f.write(next); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// read returns the stored value; a counter not written yet starts after the
// largest per-instance counter of earlier versions (<identity>.index), if any.
func (f *File) read() (uint64, error) {
	b, err := fsutil.ReadRegular(f.path, 64)
	if errors.Is(err, os.ErrNotExist) {
		return legacyIndex(filepath.Dir(f.path))
	}
	if err != nil {
		return 0, planted(err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s holds %q, not a number: stop every instance using this store_dir and delete the file to count $INDEX from 0 again (keys may then repeat)", f.path, b)
	}
	return n, nil
}

// planted adds the remedy to the error of a file that is no regular file.
func planted(err error) error {
	var nr *fsutil.NotRegularError
	if errors.As(err, &nr) {
		return fmt.Errorf("%w: stop every instance using this store_dir and remove it ($INDEX then counts from 0 again, so keys may repeat)", err)
	}
	return err
}

func (f *File) write(n uint64) error {
	return fsutil.WriteFileAtomic(f.path, []byte(strconv.FormatUint(n, 10)+"\n"))
}

// Close releases the file; a nil File may be closed.
func (f *File) Close() {
	if f != nil && f.lock != nil {
		f.lock.Close()
	}
}

// legacyIndex is the largest value of the per-configuration index files that
// versions before the shared counter kept, so upgrading never reuses their keys.
func legacyIndex(dir string) (uint64, error) {
	names, err := filepath.Glob(filepath.Join(dir, "envoy_s3-*.index"))
	if err != nil {
		return 0, err
	}
	var max uint64
	for _, name := range names {
		b, err := fsutil.ReadRegular(name, 64)
		if err != nil {
			continue // holds no value: nothing to count after
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n > max {
			max = n
		}
	}
	return max, nil
}

// memIndexes are the counters of store_dir off, one per endpoint and bucket in
// the process, so that instances writing to one bucket never share an index.
// They restart at 0 with the process (Init warns).
var memIndexes sync.Map // Name -> *atomic.Uint64

// Memory returns the in-process counter name.
func Memory(name string) *atomic.Uint64 {
	c, _ := memIndexes.LoadOrStore(name, new(atomic.Uint64))
	return c.(*atomic.Uint64)
}

// Counter is the $INDEX of one instance's endpoint and bucket: a File in
// store_dir, or an in-process counter when store_dir is off.
type Counter struct {
	file *File
	mem  *atomic.Uint64
}

// Open returns the counter of endpoint and bucket kept in storeDir, or in
// memory when storeDir is "".
func Open(storeDir, endpoint, bucket string) (*Counter, error) {
	name := Name(endpoint, bucket)
	if storeDir == "" {
		return &Counter{mem: Memory(name)}, nil
	}
	f, err := OpenFile(storeDir, name)
	if err != nil {
		return nil, err
	}
	return &Counter{file: f}, nil
}

// Next reserves the next value. On an error it still returns a value, which a
// restart or another instance may hand out again: the caller says so.
func (c *Counter) Next() (uint64, error) {
	if c.file != nil {
		return c.file.Take()
	}
	return c.mem.Add(1) - 1, nil
}

// Close releases the counter's file; a nil Counter may be closed.
func (c *Counter) Close() {
	if c != nil {
		c.file.Close()
	}
}
