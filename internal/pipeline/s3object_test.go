package pipeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/checksum"
	"github.com/envoy-s3/envoy_s3/internal/compress"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/flblog"
	"github.com/envoy-s3/envoy_s3/internal/object"
	"github.com/envoy-s3/envoy_s3/internal/s3sink"
	"github.com/envoy-s3/envoy_s3/test/gen"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

// objPut records what each PUT would send besides the bytes.
type objPut struct {
	mu   sync.Mutex
	objs map[string]sent
}

type sent struct {
	body    []byte
	sum     checksum.Sum
	tagging string
}

func (o *objPut) Put(_ context.Context, key string, body delivery.Body) error {
	var s sent
	if obj, ok := body.(*s3sink.Object); ok {
		s.sum, s.tagging = obj.Sum, obj.Tagging
	}
	b, err := delivery.ReadAll(body)
	if err != nil {
		return err
	}
	s.body = append([]byte(nil), b...)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.objs == nil {
		o.objs = map[string]sent{}
	}
	o.objs[key] = s
	return nil
}

// The checksum an object carries is the checksum of the bytes it sends, computed
// as it was encoded (body files, memory, Parquet; NDJSON batches of store_dir off
// come without one and s3sink hashes them), and its tags are rendered from its
// records' metadata and stream.
func TestObjectsCarryChecksumAndTags(t *testing.T) {
	for _, tc := range []struct {
		name   string
		kv     map[string]string
		hashed bool // the body comes with its checksum
	}{
		{"spool ndjson", map[string]string{"checksum_algorithm": "sha256"}, true},
		{"spool parquet", map[string]string{"checksum_algorithm": "crc64nvme", "format": "parquet"}, true},
		{"memory parquet", map[string]string{"checksum_algorithm": "crc32", "format": "parquet", "store_dir": "off"}, true},
		{"memory ndjson", map[string]string{"checksum_algorithm": "crc32c", "store_dir": "off"}, false},
		{"none", map[string]string{"checksum_algorithm": "none"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.kv["s3_object_tags"] = "service=$FAMILY,stream=$STREAM,where=$CLUSTER/$TAG[0]"
			put := &objPut{}
			p := newPipeline(t, tc.kv, put)
			if retry, err := p.Flush(chunkOf(t, gen.New(3).Mixed(400)), "ecs.web-firelens"); err != nil || retry {
				t.Fatalf("flush: %v %v", retry, err)
			}
			p.Close(context.Background())
			if len(put.objs) != 2 {
				t.Fatalf("%d objects", len(put.objs))
			}
			alg := p.cfg.ChecksumAlgorithm
			for key, s := range put.objs {
				if tc.hashed {
					want, _ := checksum.Of(alg, bytes.NewReader(s.body))
					if s.sum != want || s.sum.Value == "" {
						t.Errorf("%s: carries %+v, its body's %s is %s", key, s.sum, alg, want.Value)
					}
				} else if s.sum != (checksum.Sum{}) {
					t.Errorf("%s: carries %+v", key, s.sum)
				}
				q, err := url.ParseQuery(s.tagging)
				if err != nil {
					t.Fatal(err)
				}
				stream := "access"
				if strings.HasPrefix(key, "envoy-other-logs/") {
					stream = "other"
				}
				if q.Get("service") != "backend" || q.Get("stream") != stream || q.Get("where") != "prod/ecs" || len(q) != 3 {
					t.Errorf("%s: tags %q", key, s.tagging)
				}
			}
		})
	}
}

// diskRot flips a byte of the body file on disk before the first PUT, as a failing
// disk would between encoding and upload, then uploads with the real S3 client.
type diskRot struct {
	dir  string
	c    *s3sink.Client
	done bool
}

func (d *diskRot) Put(ctx context.Context, key string, body delivery.Body) error {
	if !d.done {
		d.done = true
		ents, _ := os.ReadDir(d.dir)
		for _, e := range ents {
			path := filepath.Join(d.dir, e.Name())
			b, err := os.ReadFile(path)
			if err == nil && len(b) > 0 {
				b[len(b)/2] ^= 0xff
				os.WriteFile(path, b, 0o600)
			}
		}
	}
	return d.c.Put(ctx, key, body)
}

// A body file damaged on disk after it was encoded is refused by MinIO for the
// checksum taken from the encoder, and the next attempt encodes it again from the
// spool: the object lands intact.
func TestDamagedBodyFileIsEncodedAgain(t *testing.T) {
	m := miniotest.Start(t)
	m.CreateBucket("rot")
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dir := t.TempDir()
	g := mapGetter{"bucket": "rot", "region": m.Region, "endpoint": m.Endpoint, "store_dir": dir, "other_logs": "drop", "s3_key_format": "r/$UUID"}
	cfg, err := config.Parse(g, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c, err := s3sink.New(context.Background(), s3sink.OptionsOf(cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	put := &diskRot{c: c}
	var log syncBuf
	p, err := New(cfg, Options{Name: "t", Log: flblog.NewWriter(&log, "t", flblog.Info), Putter: put, AttemptTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(dir, "*", object.BodyDirName))
	if len(dirs) != 1 {
		t.Fatalf("body directories %v", dirs)
	}
	put.dir = dirs[0]
	lines := gen.New(4).Mixed(300)
	if retry, err := p.Flush(chunkOf(t, lines), "tag"); err != nil || retry {
		t.Fatalf("flush: %v %v", retry, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p.Close(ctx) // the retries of a body encoded once would fail until this ends
	if !strings.Contains(log.String(), "XAmzContentChecksumMismatch") {
		t.Fatalf("the damaged body was not refused:\n%s", log.String())
	}
	objs := m.List("rot", "r/")
	if len(objs) != 1 {
		t.Fatalf("objects %v", objs)
	}
	plain, err := compress.Decode(compress.Gzip, m.Get("rot", objs[0].Key))
	if err != nil {
		t.Fatalf("stored object is damaged: %v", err)
	}
	if n := bytes.Count(plain, []byte("\n")); int64(n) != p.Stats().Access {
		t.Fatalf("%d lines stored, %d access records", n, p.Stats().Access)
	}
}

// failAfter accepts n bytes, then fails, as a body file on a full disk does.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, errors.New("no space left on device")
	}
	f.n -= len(p)
	return len(p), nil
}

// A body file that fails midway is encoded again in memory (object.BodyDir): the
// checksum is of the body that is sent, not of the two writes together.
func TestSumStartsOverWhenEncodedAgain(t *testing.T) {
	p := newPipeline(t, map[string]string{"checksum_algorithm": "crc32c"}, &memPut{})
	defer p.Close(context.Background())
	body := bytes.Repeat([]byte("spooled line\n"), 1000)
	sum := p.newSummer()
	fill := sum.wrap(func(w io.Writer) error { _, err := w.Write(body[:5000]); w.Write(body[5000:]); return err })
	if err := fill(&failAfter{n: 3000}); err == nil {
		t.Fatal("the failing write went unnoticed")
	}
	var buf bytes.Buffer
	if err := fill(&buf); err != nil {
		t.Fatal(err)
	}
	want, _ := checksum.Of(checksum.CRC32C, bytes.NewReader(buf.Bytes()))
	if got := checksum.SumOf(sum.alg, sum.h); got != want || !bytes.Equal(buf.Bytes(), body) {
		t.Fatalf("sum %+v, the body's %+v", got, want)
	}
}
