package object

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/freelist"
)

// BodyDirName is the directory, inside an instance's spool directory, where the
// object of a sealed batch is encoded before its upload. The PUT streams it from
// there, so an upload holds no object in memory, whatever its size and however
// long its retries last; the page cache, not the process, holds its bytes.
const BodyDirName = "upload"

// BodyDir makes body files. A body file is derived from a batch that stays in the
// spool until its upload succeeds, so it is never fsynced, and files a crash
// leaves behind are deleted when the spool is opened again.
type BodyDir struct {
	dir     string
	bufs    freelist.List[*bufio.Writer]
	failing atomic.Bool // a body file could not be written: logged once per episode
}

// OpenBodyDir empties (or creates) the body directory of a spool directory.
func OpenBodyDir(spoolDir string) (*BodyDir, error) {
	dir := filepath.Join(spoolDir, BodyDirName)
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("cannot clear %s: %w", dir, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	// Writers are small: NDJSON frames and Parquet pages arrive as writes of tens
	// to hundreds of KiB, which bufio passes straight through; it gathers the
	// small ones (Thrift headers, indexes). Each upload worker takes one while it
	// waits for its turn to encode (Encoders.one).
	return &BodyDir{dir: dir, bufs: freelist.List[*bufio.Writer]{New: func() *bufio.Writer { return bufio.NewWriterSize(nil, 64<<10) }}}, nil
}

// RemoveBodyDir deletes the body directory of a spool directory and what it holds.
func RemoveBodyDir(spoolDir string) error {
	return os.RemoveAll(filepath.Join(spoolDir, BodyDirName))
}

// Write creates a body file (0600, never an existing path) and fills it. When the
// file cannot be written (store_dir full, say) the object is encoded in memory
// instead: uploads are what frees store_dir, so they must not wait on it.
func (d *BodyDir) Write(fill func(io.Writer) error, logf func(string, ...any)) (delivery.Body, error) {
	b, fileErr, err := d.file(fill)
	switch {
	case err != nil:
		return nil, err // reading the batch failed
	case fileErr == nil:
		if d.failing.Load() {
			d.failing.Store(false)
			logf("objects are written to %s before their upload again", d.dir)
		}
		return b, nil
	}
	if d.failing.CompareAndSwap(false, true) {
		logf("cannot write an object to %s before its upload (%v): encoding objects in memory until it works again", d.dir, fileErr)
	}
	var buf bytes.Buffer
	if err := fill(&buf); err != nil {
		return nil, err
	}
	return delivery.Bytes(buf.Bytes()), nil
}

// file encodes into a new body file. fileErr is a failure of the file itself; err
// one of fill's own.
func (d *BodyDir) file(fill func(io.Writer) error) (b *bodyFile, fileErr, err error) {
	f, fileErr := os.CreateTemp(d.dir, "*.body")
	if fileErr != nil {
		return nil, fileErr, nil
	}
	fw := &fileWriter{f: f}
	w := d.bufs.Get()
	w.Reset(fw)
	err = fill(w)
	if err == nil {
		w.Flush()
	}
	w.Reset(nil)
	d.bufs.Put(w)
	if err == nil && fw.err == nil {
		return &bodyFile{f: f, size: fw.n}, nil, nil
	}
	f.Close()
	os.Remove(f.Name())
	if fw.err != nil {
		return nil, fw.err, nil
	}
	return nil, nil, err
}

// fileWriter remembers the first write error, to tell it from a failure to read.
type fileWriter struct {
	f   *os.File
	n   int64
	err error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	w.n += int64(n)
	w.err = err
	return n, err
}

// bodyFile is a delivery.Body in a body file; Close removes it.
type bodyFile struct {
	f    *os.File
	size int64
}

func (b *bodyFile) ReadAt(p []byte, off int64) (int, error) { return b.f.ReadAt(p, off) }
func (b *bodyFile) Size() int64                             { return b.size }

func (b *bodyFile) Close() error {
	err := b.f.Close()
	if rerr := os.Remove(b.f.Name()); err == nil {
		err = rerr
	}
	return err
}
