package emf

import (
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/test/emfcheck"
)

// A health event validates as EMF, with the dimensions cluster and family, every
// metric declared once with its unit, and the values given.
func TestAppendHealth(t *testing.T) {
	h := Health{RecordsIn: 1, RecordsStored: 2, Retries: 3, Backpressure: 4, RefusedUploads: 5, Redactions: 6,
		SpoolBytes: 7, OldestBatchAge: 8500 * time.Millisecond}
	at := time.Unix(1700000000, 0)
	for _, highRes := range []bool{false, true} {
		ev, err := emfcheck.Parse(AppendHealth(nil, "Acme/\"Proxy\"", highRes, "prod", "back\"end", at, &h))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Namespace != `Acme/"Proxy"` || ev.Timestamp != at.UnixMilli() || len(ev.Dimensions) != 2 ||
			ev.Dims["cluster"] != "prod" || ev.Dims["family"] != `back"end` {
			t.Fatalf("event %+v", ev)
		}
		want := map[string]float64{"RecordsIn": 1, "RecordsStored": 2, "UploadRetries": 3, "Backpressure": 4,
			"RefusedUploads": 5, "Redactions": 6, "SpoolBytes": 7, "OldestBatchAge": 8}
		res := 60
		if highRes {
			res = 1
		}
		if len(ev.Metrics) != len(want) {
			t.Fatalf("%d metrics, want %d", len(ev.Metrics), len(want))
		}
		for name, v := range want {
			if m := ev.Metrics[name]; m.Value != v || m.Resolution != res {
				t.Errorf("%s = %+v, want %v at resolution %d", name, m, v, res)
			}
		}
	}
}

// Rendering a health event allocates nothing but the event's own buffer.
func TestAppendHealthAllocs(t *testing.T) {
	h := Health{RecordsIn: 1}
	buf := make([]byte, 0, 4096)
	at := time.Unix(1700000000, 0)
	if n := testing.AllocsPerRun(100, func() { buf = AppendHealth(buf[:0], "ns", false, "c", "f", at, &h) }); n > 0 {
		t.Fatalf("%v allocations", n)
	}
}
