package spool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchpkg "github.com/envoy-s3/envoy_s3/internal/batch"
)

// The committed spool of every format version (testdata/formats/): what an older envoy_s3
// left in store_dir, e.g. on an EC2 host volume, for this one to recover after an upgrade.
//
//	ENVOY_S3_WRITE_SPOOL_FIXTURE=1 go test -run TestWriteFormatFixture ./internal/spool
//
// adds the files of the version this package writes (and a file of a format version no
// envoy_s3 writes yet, the last of them with a newer version byte); the files of older
// versions are the fixture and are never written again (version 1 was written byte by
// byte as doc.go describes it, version 2 by the writer of its day).
const (
	fixtureDir = "testdata/formats"
	fixtureID  = "fixture"
)

// fixtureBatch is one batch file of the fixture and what recovering it must give.
type fixtureBatch struct {
	version int
	sealed  bool   // in sealed/ with this key; else in open/, sealed at recovery by Namer
	key     string // the SEAL's key
	meta    Meta
	segs    [][]byte // DATA segments, each complete NDJSON lines
}

func (b fixtureBatch) lines() []byte { return bytes.Join(b.segs, nil) }

// fixtureBatches are the batches in the fixture: of each version, an open one and a sealed
// one, of the streams and formats a batch can have, with every Meta field set.
func fixtureBatches() []fixtureBatch {
	first := time.Date(2026, 10, 1, 8, 30, 15, 123456789, time.UTC)
	opened := time.Date(2026, 10, 1, 8, 30, 16, 987654321, time.UTC)
	meta := func(p string, s batchpkg.Stream, f batchpkg.Format, n int) Meta {
		return Meta{
			Partition: []byte(p),
			Meta: batchpkg.Meta{Stream: s, Format: f,
				Tag:       "ecs-service-connect-AbCd-firelens-0123456789abcdef0123456789abcdef",
				Cluster:   "prod-" + p,
				TaskID:    fmt.Sprintf("0123456789abcdef0123456789abcde%d", n),
				Family:    "backend",
				Container: "ecs-service-connect-AbCd",
				FirstTime: first.Add(time.Duration(n) * time.Minute)},
			Opened: opened.Add(time.Duration(n) * time.Minute),
		}
	}
	seg := func(from, n int) []byte {
		var b []byte
		for i := from; i < from+n; i++ {
			b = fmt.Appendf(b, `{"id":%d,"method":"GET","path":"/api/v1/items/%d","status":200,"note":"caf\u00e9 \\\"q\\\""}`+"\n", i, i)
		}
		return b
	}
	return []fixtureBatch{
		{version: 1, meta: meta("v1open/dt=2026-10-01/", batchpkg.StreamAccess, batchpkg.FormatJSONLines, 1), segs: [][]byte{seg(0, 3), seg(3, 2)}},
		{version: 1, sealed: true, key: "envoy-access-logs/v1sealed/000001.json.gz", meta: meta("v1sealed/dt=2026-10-01/", batchpkg.StreamAccess, batchpkg.FormatJSONLines, 2), segs: [][]byte{seg(10, 4), seg(14, 1), seg(15, 2)}},
		{version: 2, meta: meta("v2open/dt=2026-10-01/", batchpkg.StreamAccess, batchpkg.FormatParquet, 3), segs: [][]byte{seg(20, 2), seg(22, 3)}},
		{version: 2, sealed: true, key: "envoy-other-logs/v2sealed/000002.json.zst", meta: meta("v2sealed/dt=2026-10-01/", batchpkg.StreamOther, batchpkg.FormatJSONLines, 4), segs: [][]byte{seg(30, 5)}},
		{version: 2, meta: meta("v2cloudwatch/", batchpkg.StreamCloudWatch, batchpkg.FormatJSONLines, 5), segs: [][]byte{seg(40, 2)}},
		{version: 2, sealed: true, key: "metrics/v2metrics", meta: meta("v2metrics/", batchpkg.StreamMetrics, batchpkg.FormatJSONLines, 6), segs: [][]byte{seg(50, 1), seg(51, 1)}},
		{version: 3, meta: meta("v3open/dt=2026-10-01/", batchpkg.StreamAccess, batchpkg.FormatJSONLines, 7), segs: [][]byte{seg(60, 3), seg(63, 2)}},
		{version: 3, sealed: true, key: "envoy-access-logs/v3sealed/000003.parquet", meta: meta("v3sealed/dt=2026-10-01/", batchpkg.StreamAccess, batchpkg.FormatParquet, 8), segs: [][]byte{seg(70, 2), seg(72, 1)}},
	}
}

// fixtureFuture is the file of a newer format version (4): left in place by this version,
// never read.
const fixtureFuture = "fixture-0/sealed/00000000000000ff-000002.spl"

// TestWriteFormatFixture writes testdata/formats/ when ENVOY_S3_WRITE_SPOOL_FIXTURE=1.
func TestWriteFormatFixture(t *testing.T) {
	if os.Getenv("ENVOY_S3_WRITE_SPOOL_FIXTURE") != "1" {
		t.Skip("set ENVOY_S3_WRITE_SPOOL_FIXTURE=1 to write " + fixtureDir)
	}
	dir := filepath.Join(fixtureDir, fixtureID+"-0")
	for _, sub := range []string{"open", "sealed"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var current []byte
	for i, b := range fixtureBatches() {
		if b.version < version {
			continue // the fixture of an older version is never written again
		}
		var file []byte
		switch b.version {
		case 1: // per doc.go: "ES3SPL", 1, 0; one META; DATA...; SEAL {key,records,raw}
			mj, err := json.Marshal(b.meta)
			if err != nil {
				t.Fatal(err)
			}
			file = append([]byte(magic), 1, 0)
			file = appendSegment(file, segMeta, 0, mj)
			for _, s := range b.segs {
				file = appendSegment(file, segData, uint32(bytes.Count(s, []byte("\n"))), s)
			}
			if b.sealed {
				sj, _ := json.Marshal(map[string]any{"key": b.key, "records": bytes.Count(b.lines(), []byte("\n")), "raw": len(b.lines())})
				file = appendSegment(file, segSeal, 0, sj)
			}
		case version: // this package's writer: Append, then seal with the fixture's key
			file = writeCurrent(t, b)
			current = file
		}
		sub := "open"
		if b.sealed {
			sub = "sealed"
		}
		name := fmt.Sprintf("%016x-%06x%s", b.meta.Opened.UnixNano(), i+1, fileExt)
		if err := os.WriteFile(filepath.Join(dir, sub, name), file, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A newer version: the last file of this version with the next version byte and its
	// check byte.
	future := bytes.Clone(current)
	future[6] = version + 1
	future[7] = headerCheck(future)
	if err := os.WriteFile(filepath.Join(fixtureDir, fixtureFuture), future, 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeCurrent writes b with this package's writer and returns the batch file.
func writeCurrent(t *testing.T, b fixtureBatch) []byte {
	root := t.TempDir()
	o := testOpts()
	o.Now = func() time.Time { return b.meta.Opened }
	o.Namer = func(*Meta) string { return b.key }
	s := mustOpen(t, root, "w", o)
	defer s.Close()
	for _, seg := range b.segs {
		m := b.meta
		if err := s.Append([]Part{{Partition: m.Partition, Meta: &m, Lines: seg, Records: bytes.Count(seg, []byte("\n"))}}); err != nil {
			t.Fatal(err)
		}
	}
	path := openFile(t, s)
	if b.sealed {
		sealed := s.SealAll()
		if len(sealed) != 1 {
			t.Fatalf("sealed %d batches", len(sealed))
		}
		path = sealed[0].path
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if file[6] != byte(b.version) {
		t.Fatalf("this package writes format version %d; keep the version %d files of the fixture and add the new version's", file[6], b.version)
	}
	return file
}

// copyFixture copies the committed fixture into a new store_dir with the modes a spool has
// (git keeps neither 0700 directories nor 0600 files).
func copyFixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	err := filepath.WalkDir(fixtureDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(fixtureDir, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(root, rel), 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(root, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestRecoverEveryFormatVersion recovers the committed spool of format versions 1, 2 and 3, as
// an upgraded envoy_s3 finds it in store_dir: every batch comes back with every record, its
// totals, its whole Meta, and a sealed batch with its key; nothing is lost or quarantined.
func TestRecoverEveryFormatVersion(t *testing.T) {
	root := copyFixture(t)
	var l logs
	o := l.opts()
	o.Namer = func(m *Meta) string { return "new/" + string(m.Partition) }
	s := mustOpen(t, root, fixtureID, o)
	defer s.Close()
	got := byPartition(s.Recovered())
	want := fixtureBatches()
	if len(got) != len(want) {
		t.Errorf("recovered %d batches; want %d (versions 1 to 3, open and sealed)", len(got), len(want))
	}
	versions := map[int]bool{}
	for _, w := range want {
		name := fmt.Sprintf("version %d %s", w.version, map[bool]string{false: "open", true: "sealed"}[w.sealed])
		b := got[string(w.meta.Partition)]
		if b == nil {
			t.Errorf("%s batch %s not recovered", name, w.meta.Partition)
			continue
		}
		versions[w.version] = true
		data, _ := readAll(t, s, b)
		if !bytes.Equal(data, w.lines()) {
			t.Errorf("%s: records\n%s\nwant\n%s", name, data, w.lines())
		}
		if b.Records != bytes.Count(w.lines(), []byte("\n")) || b.RawBytes != int64(len(w.lines())) {
			t.Errorf("%s: totals %d records %d bytes; want %d, %d", name, b.Records, b.RawBytes, bytes.Count(w.lines(), []byte("\n")), len(w.lines()))
		}
		gm, _ := json.Marshal(b.Meta)
		wm, _ := json.Marshal(w.meta)
		if !bytes.Equal(gm, wm) || !b.Meta.FirstTime.Equal(w.meta.FirstTime) || !b.Meta.Opened.Equal(w.meta.Opened) {
			t.Errorf("%s: Meta\n%s\nwant\n%s", name, gm, wm)
		}
		wantKey := w.key
		if !w.sealed {
			wantKey = "new/" + string(w.meta.Partition)
		}
		if b.Key != wantKey {
			t.Errorf("%s: key %q; want %q", name, b.Key, wantKey)
		}
	}
	if !versions[1] || !versions[2] || !versions[3] {
		t.Errorf("format versions recovered: %v; want 1, 2 and 3", versions)
	}
	if lost := s.Lost(); lost.Records != 0 || lost.Bytes != 0 {
		t.Errorf("lost %+v recovering an undamaged spool", lost)
	}
	// The one error line is the fixture's newer-format file (TestNewerFormatVersionLeftInPlace).
	for _, line := range l.error {
		if !strings.Contains(line, filepath.Base(fixtureFuture)) || !strings.Contains(line, "written by a newer envoy_s3") {
			t.Errorf("error line recovering an undamaged spool: %q", line)
		}
	}
	if q, _ := os.ReadDir(filepath.Join(root, "quarantine")); len(q) != 0 {
		t.Errorf("%d files quarantined from an undamaged spool", len(q))
	}
	for _, b := range s.Recovered() {
		if err := s.Remove(b); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNewerFormatVersionLeftInPlace: a rolled-back envoy_s3 that finds a batch file of a newer
// format version (the fixture's version 3) does not read it, says so, and leaves it as it was,
// through recovery, delivery of everything else and a second start: it is never deleted.
func TestNewerFormatVersionLeftInPlace(t *testing.T) {
	root := copyFixture(t)
	path := filepath.Join(root, fixtureFuture)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if before[6] <= version {
		t.Fatalf("%s is format version %d; the fixture's newer file must be newer than %d", fixtureFuture, before[6], version)
	}
	for start := range 2 {
		var l logs
		s := mustOpen(t, root, fixtureID, l.opts())
		for _, b := range s.Recovered() {
			if strings.HasPrefix(b.path, path) {
				t.Errorf("start %d: the version %d file was recovered as a batch", start, before[6])
			}
			if err := s.Remove(b); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		var said bool
		for _, line := range l.error {
			said = said || strings.Contains(line, filepath.Base(path)) && strings.Contains(line, "written by a newer envoy_s3") && strings.Contains(line, "leaves it in place")
		}
		if !said {
			t.Errorf("start %d: no error line says %s was left in place; errors: %q", start, filepath.Base(path), l.error)
		}
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("start %d: the newer file is gone: %v", start, err)
		}
		if !bytes.Equal(after, before) {
			t.Fatalf("start %d: the newer file was changed", start)
		}
		if q, _ := os.ReadDir(filepath.Join(root, "quarantine")); len(q) != 0 {
			t.Errorf("start %d: %d files quarantined", start, len(q))
		}
	}
}
