package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/fsutil"
	"github.com/envoy-s3/envoy_s3/internal/spool"
)

// Shipper queues the quarantined ranges of one store_dir as dead letters.
type Shipper struct {
	Dir    string // <store_dir>/quarantine
	Sink   *Sink
	Submit func(*delivery.Job) error
	Logf   func(string, ...any) // what was shipped
	Errorf func(string, ...any) // a range that cannot be read

	mu      sync.Mutex
	claimed map[string]*claim // by path of the .bad file
	failing map[string]bool   // ranges that could not be claimed, logged once
	closed  bool
	lastErr error // why a range released at Close was not shipped
}

type claim struct {
	f    *os.File // holds the flock until the range is shipped or the shipper closes
	size int64
	job  *delivery.Job
}

// QuarantineDir is where the spool of store_dir keeps the ranges it cut.
func QuarantineDir(storeDir string) string { return filepath.Join(storeDir, spool.QuarantineDir) }

// maxClaims bounds the ranges queued at once (each holds a descriptor); the next
// Scan queues more.
const maxClaims = 64

// Scan queues every quarantined range not yet queued that no one else holds, and
// returns how many it queued.
func (s *Shipper) Scan() int {
	names, _ := filepath.Glob(filepath.Join(s.Dir, "*"+spool.QuarantineExt))
	sort.Strings(names)
	n := 0
	for _, path := range names {
		s.mu.Lock()
		skip := s.closed || s.claimed[path] != nil || len(s.claimed) >= maxClaims
		s.mu.Unlock()
		if skip {
			continue
		}
		c, err := s.claim(path)
		if err != nil {
			s.mu.Lock()
			logged := s.failing[path]
			if s.failing == nil {
				s.failing = map[string]bool{}
			}
			s.failing[path] = true
			s.mu.Unlock()
			if s.Errorf != nil && !logged {
				s.Errorf("cannot ship the quarantined range %s as a dead letter (%v); it stays there and is retried: give the router's user read access to it, or move it out of store_dir", path, err)
			}
			continue
		}
		if c == nil {
			continue
		}
		if s.queue(path, c) {
			n++
		}
	}
	return n
}

// claim opens and locks path; nil, nil when another holder has it or it is gone.
func (s *Shipper) claim(path string) (*claim, error) {
	f, err := fsutil.OpenRegular(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := fsutil.Flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, err
	}
	// The holder before us may have shipped and removed it after we opened it.
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if li, err := os.Lstat(path); err != nil || !os.SameFile(fi, li) {
		f.Close()
		return nil, nil
	}
	return &claim{f: f, size: fi.Size()}, nil
}

func (s *Shipper) queue(path string, c *claim) bool {
	info, known := ReadInfo(path)
	m := &Manifest{
		Reason: info.Reason, Content: ContentSpoolBytes, Records: int64(info.Records), RecordsExact: info.Exact,
		SpoolFile: info.SpoolFile, ByteRange: [2]int64{info.Start, info.End},
		Cluster: info.Cluster, TaskID: info.TaskID, Tag: info.Tag,
	}
	if !info.FirstTime.IsZero() {
		t := info.FirstTime
		m.BatchFirstTime = &t
	}
	if !info.Found.IsZero() {
		t := info.Found
		m.Quarantined = &t
	}
	switch {
	case !known:
		m.Records, m.Reason = -1, "quarantined"
		m.Detail = "bytes recovery cut from a spool batch file; their description was missing, so the record count is unknown (-1)"
	case info.Reason == "torn":
		m.Detail = "the tail of a write a crash cut short: never acknowledged, so Fluent Bit sent its chunk again; kept for inspection"
	case info.Reason == "after_seal":
		m.Detail = "bytes found after the end of a sealed batch: no record of the batch"
	default:
		m.Detail = "a range of a spool batch file that failed its checksum: acknowledged records the spool could not deliver; the lines in it may be whole"
	}
	obj, man := s.Sink.Keys(info.Cluster, info.TaskID)
	body := fileBody{c.f, c.size}
	j := &delivery.Job{
		Key: obj, Size: c.size, Records: max(0, int(m.Records)),
		Target:  targetPrefix + s.Sink.Where(),
		Prepare: func() (delivery.Body, error) { return body, nil },
		Send: func(ctx context.Context, b delivery.Body) error {
			return s.Sink.Store(ctx, obj, man, b, m)
		},
		Done: func() { s.shipped(path, obj, m) },
	}
	c.job = j
	s.mu.Lock()
	if s.claimed == nil {
		s.claimed = map[string]*claim{}
	}
	s.claimed[path] = c
	s.mu.Unlock()
	if err := s.Submit(j); err != nil {
		s.release(path)
		return false
	}
	return true
}

// shipped removes a range and its description once both objects are stored.
func (s *Shipper) shipped(path, obj string, m *Manifest) {
	err := os.Remove(path)
	if err == nil || errors.Is(err, os.ErrNotExist) {
		os.Remove(path + spool.InfoExt)
		fsutil.SyncDir(s.Dir)
		if s.Logf != nil {
			s.Logf("quarantined range %s (%d bytes, %s) uploaded as dead letter s3://%s/%s with its manifest, and removed from store_dir", filepath.Base(path), m.Bytes, recordsText(m.Records, m.RecordsExact), s.Sink.Bucket, obj)
		}
	} else if s.Errorf != nil {
		s.Errorf("quarantined range %s was uploaded as dead letter s3://%s/%s but cannot be removed (%v); it would be uploaded again", path, s.Sink.Bucket, obj, err)
	}
	s.release(path)
}

func (s *Shipper) release(path string) {
	s.mu.Lock()
	c := s.claimed[path]
	delete(s.claimed, path)
	s.mu.Unlock()
	if c != nil {
		c.f.Close()
	}
}

// Err is why the last attempt of a queued range failed, or nil.
func (s *Shipper) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.claimed {
		if err := c.job.Err(); err != nil {
			return err
		}
	}
	return s.lastErr
}

// Close releases the claims of ranges not shipped (after the pool has stopped):
// they stay in quarantine for the next start.
func (s *Shipper) Close() {
	s.mu.Lock()
	s.closed = true
	paths := make([]string, 0, len(s.claimed))
	for p, c := range s.claimed {
		paths = append(paths, p)
		if err := c.job.Err(); err != nil && s.lastErr == nil {
			s.lastErr = err
		}
	}
	s.mu.Unlock()
	for _, p := range paths {
		s.release(p)
	}
}

func recordsText(n int64, exact bool) string {
	switch {
	case n < 0:
		return "records unknown"
	case exact:
		return strconv.FormatInt(n, 10) + " records"
	}
	return "about " + strconv.FormatInt(n, 10) + " records"
}

// ReadInfo reads the description beside a quarantined range; known is false when
// it is missing or unreadable (a range quarantined by an older version): the
// file and range then come from the range's name.
func ReadInfo(path string) (info spool.QuarantineInfo, known bool) {
	if b, err := fsutil.ReadRegular(path+spool.InfoExt, 64<<10); err == nil && json.Unmarshal(b, &info) == nil && info.Reason != "" {
		return info, true
	}
	// <spool dir>_<batch>_<start>-<end>.bad
	name := strings.TrimSuffix(filepath.Base(path), spool.QuarantineExt)
	if i := strings.LastIndexByte(name, '_'); i > 0 {
		if a, b, ok := strings.Cut(name[i+1:], "-"); ok {
			info.Start, _ = strconv.ParseInt(a, 10, 64)
			info.End, _ = strconv.ParseInt(b, 10, 64)
		}
		info.SpoolFile = name[:i]
	}
	info.Records = -1
	return info, false
}

// Left is what remains in a quarantine directory.
type Left struct {
	Ranges  int
	Bytes   int64
	Records int64 // the known ones
	Unknown int   // ranges whose record count is unknown
}

// Remaining lists what is left in dir.
func Remaining(dir string) Left {
	var l Left
	names, _ := filepath.Glob(filepath.Join(dir, "*"+spool.QuarantineExt))
	for _, path := range names {
		fi, err := os.Lstat(path)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		l.Ranges++
		l.Bytes += fi.Size()
		if info, ok := ReadInfo(path); ok {
			l.Records += int64(info.Records)
		} else {
			l.Unknown++
		}
	}
	return l
}

// targetPrefix starts the Target of every dead-letter job.
const targetPrefix = "dead letters in "

// IsJob reports whether j ships a dead letter (its Send is not a CloudWatch batch's).
func IsJob(j *delivery.Job) bool { return strings.HasPrefix(j.Target, targetPrefix) }

// fileBody is a claimed range read in place; Close leaves the file to the claim.
type fileBody struct {
	f    *os.File
	size int64
}

func (b fileBody) ReadAt(p []byte, off int64) (int, error) {
	if off >= b.size {
		return 0, io.EOF
	}
	if int64(len(p)) > b.size-off {
		n, err := b.f.ReadAt(p[:b.size-off], off)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return b.f.ReadAt(p, off)
}

func (b fileBody) Size() int64  { return b.size }
func (b fileBody) Close() error { return nil }

// String describes l for a log line.
func (l Left) String() string {
	recs := fmt.Sprintf("about %d records", l.Records)
	if l.Unknown > 0 {
		recs += fmt.Sprintf(" and %d range(s) of unknown count", l.Unknown)
	}
	return fmt.Sprintf("%d quarantined range(s) of %d bytes (%s)", l.Ranges, l.Bytes, recs)
}
