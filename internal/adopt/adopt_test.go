package adopt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/spool"
)

type putter struct {
	err  error
	keys []string
}

func (p *putter) Put(_ context.Context, key string, _ delivery.Body) error {
	p.keys = append(p.keys, key)
	return p.err
}

type instance struct {
	cfg *config.Config
	put *putter
}

func (i *instance) Config() *config.Config  { return i.cfg }
func (i *instance) Putter() delivery.Putter { return i.put }

type getter map[string]string

func (g getter) Get(k string) string { return g[k] }

func cfgOf(t *testing.T, bucket string) *config.Config {
	c, err := config.Parse(getter{"bucket": bucket, "region": "eu-west-1", "store_dir": t.TempDir()}, nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var errRefused = errors.New("refused")

func classify(err error) delivery.Verdict {
	return delivery.Verdict{Permanent: errors.Is(err, errRefused)}
}

// Instances are up SettleAfter after the last start, or at the first flush.
func TestRegistryUp(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	r := &Registry{}
	if r.Up(t0) || r.Sole(t0) != nil {
		t.Fatal("up before any instance")
	}
	a := &instance{cfg: cfgOf(t, "a-bucket")}
	r.Join(a, t0)
	if r.Up(t0.Add(SettleAfter-time.Millisecond)) || !r.Up(t0.Add(SettleAfter)) {
		t.Fatal("not up exactly SettleAfter after the last start")
	}
	if r.Sole(t0.Add(SettleAfter)) != a {
		t.Fatal("one instance is not the sole one")
	}
	r.Join(&instance{cfg: cfgOf(t, "b-bucket")}, t0.Add(time.Second))
	if r.Up(t0.Add(SettleAfter)) || r.Count() != 2 {
		t.Fatal("a later start does not postpone being up")
	}
	r.Flushed()
	if !r.Up(t0) || r.Sole(t0) != nil {
		t.Fatal("a flush means up; two instances have no sole one")
	}
}

// A refused recorded bucket sends the batch to the sole instance's bucket, and says
// so once; with two instances, the batch stays and one line says how to move it.
func TestRedirect(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	for _, n := range []int{1, 2} {
		r := &Registry{}
		cur := &instance{cfg: cfgOf(t, "current"), put: &putter{}}
		r.Join(cur, t0)
		if n == 2 {
			r.Join(&instance{cfg: cfgOf(t, "other"), put: &putter{}}, t0)
		}
		r.Flushed()
		var lines []string
		rec := &putter{err: errRefused}
		red := &Redirect{From: cfgOf(t, "recorded"), Recorded: rec, Registry: r, Now: func() time.Time { return t0 },
			Errorf: func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }, Dir: "/spool/old", Classify: classify}
		var errs []error
		for i := range 2 {
			errs = append(errs, red.Put(context.Background(), fmt.Sprint("k", i), delivery.Bytes("x")))
		}
		switch {
		case len(rec.keys) != 2 || len(lines) != 1:
			t.Errorf("%d instances: %d tries on the recorded bucket, lines %q", n, len(rec.keys), lines)
		case n == 1 && (errs[0] != nil || len(cur.put.keys) != 2 || !strings.Contains(lines[0], "go to its bucket current")):
			t.Errorf("one instance: %v, %v, %q", errs, cur.put.keys, lines)
		case n == 2 && (!errors.Is(errs[1], errRefused) || len(cur.put.keys) != 0 || !strings.Contains(lines[0], "move /spool/old/sealed/*.spl")):
			t.Errorf("two instances: %v, %v, %q", errs, cur.put.keys, lines)
		}
	}
	// A transient error is only returned, for the upload to retry.
	transient := errors.New("503")
	red := &Redirect{From: cfgOf(t, "recorded"), Recorded: &putter{err: transient}, Registry: &Registry{}, Now: time.Now, Classify: classify}
	if err := red.Put(context.Background(), "k", delivery.Bytes("x")); err != transient {
		t.Errorf("transient: %v", err)
	}
}

// A delivered directory is removed; one that still holds a batch is kept.
func TestRemoveEmptyDir(t *testing.T) {
	root := t.TempDir()
	for _, keep := range []bool{false, true} {
		dir := filepath.Join(root, fmt.Sprint(keep))
		for _, d := range []string{"open", "sealed", spool.HeldDir, "upload"} {
			os.MkdirAll(filepath.Join(dir, d), 0o700)
		}
		os.WriteFile(filepath.Join(dir, spool.RecordFile), []byte("{}"), 0o600)
		os.WriteFile(filepath.Join(dir, "upload", "x.body"), []byte("derived"), 0o600)
		if keep {
			os.WriteFile(filepath.Join(dir, "sealed", "1.spl"), []byte("batch"), 0o600)
		}
		gone := RemoveEmptyDir(dir)
		_, err := os.Stat(dir)
		if gone == keep || gone != os.IsNotExist(err) {
			t.Errorf("holding a batch %v: removed %v (stat %v)", keep, gone, err)
		}
	}
}

// A record holds only destination keys and reads back to the same destination.
func TestRecordRoundTrip(t *testing.T) {
	c := cfgOf(t, "logs-bucket")
	back, err := ParseRecord(Record(c), "/var/lib/x")
	if err != nil || back.Bucket != c.Bucket || back.Region != c.Region || back.S3KeyFormat != c.S3KeyFormat || back.StoreDir != "/var/lib/x" || back.StatsInterval != 0 {
		t.Fatalf("%+v, %v", back, err)
	}
	if _, err := ParseRecord([]byte("{"), "/x"); err == nil || !strings.Contains(err.Error(), spool.RecordFile) {
		t.Fatalf("bad JSON: %v", err)
	}
}
