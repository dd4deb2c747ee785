package deadletter

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/delivery"
	"github.com/envoy-s3/envoy_s3/internal/spool"
	"github.com/envoy-s3/envoy_s3/test/specialfile"
)

// Keys are <prefix><cluster>/<task>/<time>-<id>.bin and .json, key-safe, and new
// each time.
func TestKeys(t *testing.T) {
	s := &Sink{Prefix: "dl/", Now: func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) }}
	obj, man := s.Keys("prod cluster", "")
	re := regexp.MustCompile(`^dl/prod_cluster/unknown/20260304T050607Z-[0-9a-z]{16}\.bin$`)
	if !re.MatchString(obj) || man != obj[:len(obj)-len(ObjectExt)]+ManifestExt {
		t.Fatalf("keys %q %q", obj, man)
	}
	if again, _ := s.Keys("prod cluster", ""); again == obj {
		t.Fatal("two dead letters got one key")
	}
	if obj, _ := s.Keys("..", "a/b"); !regexp.MustCompile(`^dl/unknown/a_b/`).MatchString(obj) {
		t.Fatalf("unsafe segments not made safe: %q", obj)
	}
}

// shipper queues into jobs instead of a pool.
func shipper(dir string, jobs *[]*delivery.Job) *Shipper {
	return &Shipper{Dir: dir, Sink: &Sink{Prefix: "dl/", Bucket: "b"}, Submit: func(j *delivery.Job) error { *jobs = append(*jobs, j); return nil }}
}

// Two shippers on one store_dir (two instances, or two processes) never queue the
// same range; once shipped it is gone, with its description, and nobody queues it
// again. A range without a description (an older version's) is shipped with an
// unknown count, its file and range read from its name.
func TestClaimShipsOnce(t *testing.T) {
	dir := t.TempDir()
	described := filepath.Join(dir, "envoy_s3-1-0_0000000000000001-000001_8-120"+spool.QuarantineExt)
	bare := filepath.Join(dir, "envoy_s3-1-0_0000000000000002-000001_8-64"+spool.QuarantineExt)
	for _, p := range []string{described, bare} {
		if err := os.WriteFile(p, []byte("damaged bytes\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(described+spool.InfoExt, []byte(`{"spool_file":"/s/x.spl","start":8,"end":120,"records":3,"records_exact":true,"reason":"damaged","cluster":"prod"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var a, b []*delivery.Job
	sa, sb := shipper(dir, &a), shipper(dir, &b)
	if n := sa.Scan() + sb.Scan() + sa.Scan(); n != 2 || len(a)+len(b) != 2 {
		t.Fatalf("queued %d (%d + %d jobs), want each range once", n, len(a), len(b))
	}
	if got := Remaining(dir); got.Ranges != 2 || got.Records != 3 || got.Unknown != 1 {
		t.Fatalf("remaining %+v", got)
	}
	for _, j := range append(a, b...) {
		j.Done()
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("%d files left after shipping", len(left))
	}
	var c []*delivery.Job
	if n := shipper(dir, &c).Scan(); n != 0 {
		t.Fatalf("a shipped range was queued again")
	}
	info, known := ReadInfo(bare)
	if known || info.Start != 8 || info.End != 64 || info.Records != -1 {
		t.Fatalf("bare range read as %+v (known %v)", info, known)
	}
}

// A claim is released at Close: the range stays for the next start, and another
// shipper can take it.
func TestCloseReleasesClaims(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x_y_1-2"+spool.QuarantineExt), []byte("z"), 0o600); err != nil {
		t.Fatal(err)
	}
	var a, b []*delivery.Job
	sa := shipper(dir, &a)
	if sa.Scan() != 1 {
		t.Fatal("not queued")
	}
	if shipper(dir, &b).Scan() != 0 {
		t.Fatal("queued twice while claimed")
	}
	sa.Close()
	if shipper(dir, &b).Scan() != 1 {
		t.Fatal("not released at Close")
	}
}

// A range that cannot be claimed (a FIFO planted where a range belongs) is named once
// with the remedy, not at every scan, and never blocks the scan.
func TestUnclaimableNamedOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x_y_1-2"+spool.QuarantineExt)
	specialfile.Plant(t, "fifo", path)
	var lines []string
	var jobs []*delivery.Job
	s := shipper(dir, &jobs)
	s.Errorf = func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }
	specialfile.Within(t, "two scans", func() { s.Scan(); s.Scan() })
	if len(lines) != 1 || !strings.Contains(lines[0], path) || len(jobs) != 0 {
		t.Fatalf("lines %q, %d jobs; want one line naming %s and no job", lines, len(jobs), path)
	}
}
