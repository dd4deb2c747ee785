package preview

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/cost"
)

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %v; want %v", what, got, want)
	}
}

// The fleet arithmetic against numbers worked out by hand.
func TestComputeFleet(t *testing.T) {
	us, _ := cost.For("us-east-1")
	base := FleetInput{Tasks: 10000, Services: 100, RequestsPerSecond: 10, UploadTimeout: 5 * time.Minute,
		TotalFileSize: 50_000_000, OtherPerAccess: 0.1, RawBytes: 500, StoredBytes: 50, Prices: us}

	// 36,000 access records (18 MB) and 3,600 other records a task an hour: both
	// streams close by age, 12 objects an hour each. 10,000 tasks * 24 objects *
	// 24 hours = 5,760,000 a day; 5.76 M * 730/24 days * $0.005 / 1000 = $876.00;
	// an hour of the fleet's access logs is 120,000 objects, $0.048 of GETs.
	f := ComputeFleet(base)
	near(t, "access objects a task hour", f.AccessPerTaskHour, 12)
	near(t, "other objects a task hour", f.OtherPerTaskHour, 12)
	near(t, "objects a day", f.ObjectsPerDay, 5_760_000)
	near(t, "PUTs a month", f.PutPerMonth, 876)
	near(t, "objects an hour's query opens", f.HourObjects, 120_000)
	near(t, "GETs of that query", f.HourQueryGet, 0.048)
	// The MERGE GETs each access object once: 120,000 * 24 * 730/24 * $0.0004/1000.
	near(t, "compaction GETs a month", f.CompactionGet, 120_000*730*0.0004/1000)
	// An hour is 10,000 * 36,000 * 50 = 18 GB stored; the MERGE scans it twice an
	// hour, OPTIMIZE the 432 GB day once: (24*36 GB + 432 GB) * 730/24 a month.
	scan := (24*36e9 + 432e9) * 730 / 24
	near(t, "compaction scan bytes", f.CompactionScan, scan)
	near(t, "compaction Athena $", f.CompactionAthena, scan/(1<<40)*5)
	// A service's day is 4.32 GB: ceil(4.32e9 / 512 MiB) = 9 files, 100 services.
	near(t, "compacted files", f.CompactedHourFiles, 900)

	// 1,000 requests/s fill 50 MB objects by size: 1.8 GB an hour / 50 MB = 36.
	big := base
	big.RequestsPerSecond, big.OtherPerAccess = 1000, 0
	f = ComputeFleet(big)
	near(t, "access objects by size", f.AccessPerTaskHour, 36)
	near(t, "no other records, no objects", f.OtherPerTaskHour, 0)

	// One request every 1,000 s: 3.6 records an hour, each its own object.
	sparse := base
	sparse.RequestsPerSecond = 0.001
	f = ComputeFleet(sparse)
	near(t, "sparse access objects", f.AccessPerTaskHour, 3.6)

	// A task's hour is 1.8 MB: each hourly MERGE bills Athena's minimum of 10 MB;
	// the daily OPTIMIZE reads the 43.2 MB day.
	tiny := base
	tiny.Tasks, tiny.Services = 1, 1
	f = ComputeFleet(tiny)
	near(t, "minimum billed scan", f.CompactionScan, (24*(10<<20)+43.2e6)*730/24)
	near(t, "one service, one file", f.CompactedHourFiles, 1)
}

// Summary.Fleet takes the configured upload_timeout and total_file_size and the
// sample's measured bytes per record.
func TestSummaryFleet(t *testing.T) {
	in, _ := os.ReadFile(filepath.Join("testdata", "lines.input"))
	s, err := Run(bytes.NewReader(in), Options{Now: fixedNow, Settings: []string{"upload_timeout=10m", "total_file_size=1M", "compression=zstd"}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Fleet(1000, 10, 100)
	if err != nil {
		t.Fatal(err)
	}
	written := float64(s.Access + s.Other)
	if f.UploadTimeout != 10*time.Minute || f.TotalFileSize != 1_000_000 || f.RawBytes != float64(s.WrittenRaw)/written ||
		f.StoredBytes != float64(s.configured().Bytes)/written || f.OtherPerAccess != float64(s.Other)/float64(s.Access) {
		t.Fatalf("fleet input %+v from summary %+v", f.FleetInput, s)
	}
	if s.configured().Name != "json_lines zstd" || f.StoredBytes <= 0 || f.StoredBytes >= f.RawBytes {
		t.Fatalf("stored %v of raw %v bytes a record (%s)", f.StoredBytes, f.RawBytes, s.configured().Name)
	}
	var out strings.Builder
	if err := f.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fleet      1000 tasks in 10 services at 100 requests/s each (upload_timeout 10m0s, total_file_size 1 MB", "objects a day", "PUTs a month", "objects per Athena query", "compaction a month"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("fleet output lacks %q:\n%s", want, out.String())
		}
	}
	for _, bad := range [][3]float64{{0, 1, 1}, {10, 0, 1}, {10, 11, 1}, {10, 1, 0}, {10, 1, math.NaN()}} {
		if _, err := s.Fleet(int(bad[0]), int(bad[1]), bad[2]); err == nil {
			t.Errorf("Fleet%v: no error", bad)
		}
	}
	empty, err := Run(strings.NewReader("[2026-11-24 07:17:32.026][14][info][main] x\n"), Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := empty.Fleet(10, 1, 1); err != ErrFleetSample {
		t.Errorf("a sample without access records: %v", err)
	}
}
