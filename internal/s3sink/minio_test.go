package s3sink

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/envoy-s3/envoy_s3/internal/checksum"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
	"github.com/envoy-s3/envoy_s3/test/faultproxy"
	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

// minioClient is a Client of m's bucket, through endpoint (m's own when "").
func minioClient(t *testing.T, m *miniotest.Server, bucket, endpoint string, mod func(*Options)) *Client {
	t.Helper()
	isolateEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
	if endpoint == "" {
		endpoint = m.Endpoint
	}
	o := Options{Bucket: bucket, Region: m.Region, Endpoint: endpoint}
	if mod != nil {
		mod(&o)
	}
	c, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randomBody(n int) []byte {
	r := rand.New(rand.NewPCG(7, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// stored is the checksum MinIO keeps for an object, by algorithm.
func stored(t *testing.T, m *miniotest.Server, bucket, key string) map[checksum.Algorithm]string {
	t.Helper()
	h, err := m.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatalf("HeadObject %s: %v", key, err)
	}
	out := map[checksum.Algorithm]string{}
	for a, v := range map[checksum.Algorithm]*string{checksum.CRC32C: h.ChecksumCRC32C, checksum.CRC32: h.ChecksumCRC32,
		checksum.CRC64NVME: h.ChecksumCRC64NVME, checksum.SHA256: h.ChecksumSHA256, checksum.SHA1: h.ChecksumSHA1} {
		if v != nil {
			out[a] = *v
		}
	}
	return out
}

// MinIO verifies and keeps the checksum of every algorithm, whether the body
// came with its checksum (computed as it was encoded) or Put computed it; with
// none, no checksum is stored. A body whose checksum does not match is refused,
// as retryable, and nothing is stored under its key.
func TestChecksumsStoredByMinIO(t *testing.T) {
	m := miniotest.Start(t)
	m.CreateBucket("sums")
	ctx := context.Background()
	body := randomBody(300_001)
	for _, alg := range checksum.Algorithms {
		t.Run(alg.String(), func(t *testing.T) {
			c := minioClient(t, m, "sums", "", func(o *Options) { o.Checksum = alg })
			want, _ := checksum.Of(alg, bytes.NewReader(body))
			for name, b := range map[string]delivery.Body{
				"summed": &Object{Body: delivery.Bytes(body), Sum: want},
				"plain":  delivery.Bytes(body),
			} {
				key := alg.String() + "/" + name
				if err := c.Put(ctx, key, b); err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				got := stored(t, m, "sums", key)
				if alg == checksum.None {
					if len(got) != 0 {
						t.Errorf("%s: checksum_algorithm none, but MinIO keeps %v", key, got)
					}
				} else if len(got) != 1 || got[alg] != want.Value {
					t.Errorf("%s: MinIO keeps %v, want %s %s", key, got, alg, want.Value)
				}
				if !bytes.Equal(m.Get("sums", key), body) {
					t.Errorf("%s: body changed", key)
				}
			}
			if alg == checksum.None {
				return
			}
			wrong, _ := checksum.Of(alg, bytes.NewReader(body[1:]))
			err := c.Put(ctx, alg.String()+"/wrong", &Object{Body: delivery.Bytes(body), Sum: wrong})
			var e *Error
			if !errors.As(err, &e) || !e.Retryable || (e.Code != "XAmzContentChecksumMismatch" && e.Code != "BadDigest") {
				t.Fatalf("a body that does not match its checksum: %v (%+v)", err, e)
			}
			if objs := m.List("sums", alg.String()+"/wrong"); len(objs) != 0 {
				t.Errorf("refused body stored: %v", objs)
			}
		})
	}
}

// A byte changed in flight over HTTPS (UNSIGNED-PAYLOAD: no signature covers the
// body) is refused by MinIO for its checksum, as retryable, and the next attempt
// stores the body intact. Without a checksum the same damage is stored.
func TestFlippedByteInFlight(t *testing.T) {
	m := miniotest.Start(t)
	m.CreateBucket("flip")
	p, err := faultproxy.StartTLS(m.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	body := randomBody(100_000)
	for _, alg := range []checksum.Algorithm{checksum.CRC32C, checksum.CRC64NVME, checksum.None} {
		c := minioClient(t, m, "flip", p.URL(), func(o *Options) { o.Checksum = alg; o.HTTPClient = p.Client() })
		first := len(p.Requests())
		p.SetPlan(func(n int, _ *http.Request) faultproxy.Fault {
			if n == first {
				return faultproxy.FlipByte
			}
			return faultproxy.None
		})
		key := "k-" + alg.String()
		err := c.Put(ctx, key, delivery.Bytes(body))
		if alg == checksum.None {
			if err != nil {
				t.Fatalf("none: %v", err)
			}
			if bytes.Equal(m.Get("flip", key), body) {
				t.Fatal("none: the damaged body was not stored; the test shows nothing")
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || !e.Retryable || e.Code != "XAmzContentChecksumMismatch" {
			t.Fatalf("%s: damaged body: %v", alg, err)
		}
		if r := p.Requests()[first]; r.Fault != faultproxy.FlipByte || r.Status != 400 {
			t.Fatalf("%s: request %+v", alg, r)
		}
		if err := c.Put(ctx, key, delivery.Bytes(body)); err != nil {
			t.Fatalf("%s: retry: %v", alg, err)
		}
		if !bytes.Equal(m.Get("flip", key), body) {
			t.Fatalf("%s: stored body differs", alg)
		}
	}
}

// Tags are sent with the object: MinIO returns them as configured.
func TestTagsStoredByMinIO(t *testing.T) {
	m := miniotest.Start(t)
	m.CreateBucket("tags")
	c := minioClient(t, m, "tags", "", nil)
	tags, err := keyformat.CompileTags("service=$FAMILY, cost center=eu/1 @ x+y, stream=$STREAM")
	if err != nil {
		t.Fatal(err)
	}
	tagging := tags.Render(&keyformat.Vars{Family: []byte("web")}, keyformat.StreamOther)
	if err := c.Put(context.Background(), "k", &Object{Body: delivery.Bytes("x"), Tagging: tagging}); err != nil {
		t.Fatal(err)
	}
	out, err := m.Client().GetObjectTagging(context.Background(), &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range out.TagSet {
		got[*tg.Key] = *tg.Value
	}
	if len(got) != 3 || got["service"] != "web" || got["cost center"] != "eu/1 @ x+y" || got["stream"] != "other" {
		t.Errorf("tags %v", got)
	}
}
