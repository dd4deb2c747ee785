package pipeline

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/checksum"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/s3sink"
	"github.com/envoy-s3/envoy_s3/test/gen"
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
