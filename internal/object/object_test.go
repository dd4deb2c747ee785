package object

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/batch"
	"github.com/envoy-s3/envoy_s3/internal/compress"
)

// feed hands src to yield in pieces of n bytes, cut anywhere but at the end of a line.
func feed(src []byte, n int) Lines {
	return func(yield func([]byte) error) error {
		for len(src) > 0 {
			k := min(n, len(src))
			if i := bytes.LastIndexByte(src[:k], '\n'); i >= 0 {
				k = i + 1
			} else if i := bytes.IndexByte(src, '\n'); i >= 0 {
				k = i + 1
			}
			if err := yield(src[:k]); err != nil {
				return err
			}
			src = src[k:]
		}
		return nil
	}
}

func ndjson(n, long int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"i":%d,"pad":%q}`+"\n", i, strings.Repeat("x", i%97))
		if i == n/2 {
			fmt.Fprintf(&b, `{"long":%q}`+"\n", strings.Repeat("y", long)) // longer than a frame
		}
	}
	return b.Bytes()
}

// The key's extension picks the encoder, and every NDJSON object decodes to the
// lines it was given, in frames of whole lines.
func TestEncodeByExtension(t *testing.T) {
	src := ndjson(20000, FrameBytes+10)
	o := NewEncoders(compress.Zstd)
	for _, c := range []compress.Codec{compress.Gzip, compress.Zstd, compress.None} {
		var out bytes.Buffer
		if err := o.Encode("k/x"+c.Ext(), &out, batch.StreamAccess, feed(src, 300<<10)); err != nil {
			t.Fatal(err)
		}
		got, err := compress.Decode(c, out.Bytes())
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("%v: %d bytes back (%v), want %d", c, len(got), err, len(src))
		}
		if c != compress.None && out.Len() >= len(src)/2 {
			t.Errorf("%v: %d bytes from %d: not compressed", c, out.Len(), len(src))
		}
	}
	var pq bytes.Buffer
	access := []byte(`{"timestamp":"2025-11-11T07:40:46.216Z","kind":"http","method":"GET","path":"/x","response_code":200}` + "\n")
	if err := o.Encode("k/x.parquet", &pq, batch.StreamAccess, feed(access, 1<<10)); err != nil {
		t.Fatal(err)
	}
	if b := pq.Bytes(); len(b) < 8 || string(b[:4]) != "PAR1" || string(b[len(b)-4:]) != "PAR1" {
		t.Fatalf("parquet key: not a Parquet file (%d bytes)", len(b))
	}
}

// A failure to read the batch ends the object with that error.
func TestEncodeReadError(t *testing.T) {
	boom := errors.New("boom")
	src := func(yield func([]byte) error) error { yield([]byte("{}\n")); return boom }
	if err := NewEncoders(compress.Zstd).Encode("k.ndjson.gz", io.Discard, batch.StreamOther, src); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

// Body files are created in the body directory and removed by Close; when the
// directory cannot be written, the object is encoded in memory instead, and both
// transitions are logged once.
func TestBodyDir(t *testing.T) {
	spool := t.TempDir()
	os.MkdirAll(filepath.Join(spool, BodyDirName), 0o700)
	os.WriteFile(filepath.Join(spool, BodyDirName, "left.body"), []byte("old"), 0o600)
	d, err := OpenBodyDir(spool)
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(spool, BodyDirName)); len(ents) != 0 {
		t.Fatalf("a crash's body files are kept: %v", ents)
	}
	var logs []string
	logf := func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }
	fill := func(w io.Writer) error { _, err := w.Write([]byte("object")); return err }
	b, err := d.Write(fill, logf)
	if err != nil || b.Size() != 6 {
		t.Fatalf("Write: %v, %v", b, err)
	}
	if _, ok := b.(*bodyFile); !ok {
		t.Fatalf("body %T is not a file", b)
	}
	buf := make([]byte, 6)
	if n, _ := b.ReadAt(buf, 0); n != 6 || string(buf) != "object" {
		t.Fatalf("read back %q", buf[:n])
	}
	b.Close()
	if ents, _ := os.ReadDir(filepath.Join(spool, BodyDirName)); len(ents) != 0 {
		t.Fatalf("Close left %v", ents)
	}
	if err := RemoveBodyDir(spool); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if b, err = d.Write(fill, logf); err != nil || b.Size() != 6 {
			t.Fatalf("in memory: %v %v", b, err)
		}
	}
	os.Mkdir(filepath.Join(spool, BodyDirName), 0o700)
	if b, err = d.Write(fill, logf); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if len(logs) != 2 || !strings.Contains(logs[0], "in memory") || !strings.Contains(logs[1], "again") {
		t.Fatalf("logs: %q", logs)
	}
}
