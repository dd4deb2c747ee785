package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// indexFile keeps $INDEX counting up across restarts, as Fluent Bit's s3 output does:
// a key template with $INDEX and no $UUID would otherwise reuse keys after a restart
// and overwrite earlier objects. Each index is reserved on disk before it is used, so
// a crash leaves a gap, never a reuse.
type indexFile struct {
	mu   sync.Mutex
	path string
	next uint64
}

func openIndex(dir, identity string) (*indexFile, error) {
	f := &indexFile{path: filepath.Join(dir, identity+".index")}
	b, err := os.ReadFile(f.path)
	switch {
	case os.IsNotExist(err):
	case err != nil:
		return nil, err
	default:
		if f.next, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err != nil {
			return nil, fmt.Errorf("%s holds %q, not a number: delete the file to count $INDEX from 0 again", f.path, b)
		}
	}
	return f, nil
}

// take reserves and returns the next index.
func (f *indexFile) take() (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.next
	tmp := f.path + ".tmp"
	if err := writeSynced(tmp, []byte(strconv.FormatUint(n+1, 10)+"\n")); err != nil {
		return n, err
	}
	if err := os.Rename(tmp, f.path); err != nil {
		return n, err
	}
	f.next = n + 1
	return n, nil
}

func writeSynced(path string, b []byte) error {
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := fh.Write(b); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}
