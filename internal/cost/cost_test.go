package cost

import (
	"math"
	"strings"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestComputeUsesRegionPrices(t *testing.T) {
	tokyo, own := For("ap-northeast-1")
	if !own {
		t.Fatal("Tokyo prices missing")
	}
	// 1 GiB of log lines in 0 events, stored as 0.1 GiB in 1000 objects.
	e := Compute(tokyo, 0, 0, 1<<30, 0, (1<<30)/10, 1000)
	if !near(e.CloudWatch, 0.76) || !near(e.S3Storage, 0.0025*LifecycleDays/DaysPerMonth) || !near(e.S3Puts, 0.0047) {
		t.Fatalf("Tokyo estimate %+v", e)
	}
	if !near(e.S3(), 0.0025*LifecycleDays/DaysPerMonth+0.0047) {
		t.Fatalf("S3 total %v", e.S3())
	}
}

func TestEventOverheadAndOverride(t *testing.T) {
	p, own := For("eu-west-3")
	if own {
		t.Fatal("an unknown region claims its own prices")
	}
	us, _ := For("us-east-1")
	if p != us {
		t.Fatalf("fallback %+v is not us-east-1 %+v", p, us)
	}
	// 1,000,000 events of 0 bytes still cost 26 bytes each.
	e := Compute(p, 1.0, 1_000_000, 0, 0, 0, 0)
	if !near(e.CloudWatch, 26e6/(1<<30)) {
		t.Fatalf("overhead not counted at the override price: %v", e.CloudWatch)
	}
}

func TestText(t *testing.T) {
	got := Estimate{CloudWatch: 2.5, Stored: 1.5, S3Storage: 0.02, S3Puts: 0.01}.Text()
	want := "cloudwatch_usd=2.500000 s3_usd=0.030000 (storage_30d=0.020000 puts=0.010000) saved_usd=1.470000"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// Ten routes with the default metric set at standard resolution: 90 custom metrics
// are $27 a month; the events' ingestion is extrapolated from the rate seen.
func TestComputeMetrics(t *testing.T) {
	p, _ := For("us-east-1")
	// One hour: 60 intervals × 10 events of 1,000 bytes, summarising 3.6 M lines of 180 bytes.
	e := ComputeMetrics(p, 0, 90, 600, 600_000, 3_600_000, 648_000_000, time.Hour)
	if e.MetricsUSD != 27 {
		t.Errorf("90 metrics cost %v a month, want 27", e.MetricsUSD)
	}
	wantIngest := float64(600_000+600*CloudWatchEventOverhead) * 730 / (1 << 30) * 0.50
	wantLines := float64(648_000_000+3_600_000*CloudWatchEventOverhead) * 730 / (1 << 30) * 0.50
	if math.Abs(e.IngestUSD-wantIngest) > 1e-9 || math.Abs(e.ReplacedUSD-wantLines) > 1e-9 || e.Total() != e.MetricsUSD+e.IngestUSD {
		t.Errorf("estimate %+v, want ingest %v, lines %v", e, wantIngest, wantLines)
	}
	if e.ReplacedUSD < 5*e.Total() {
		t.Errorf("metrics ($%.2f) should cost a fifth or less of the lines ($%.2f)", e.Total(), e.ReplacedUSD)
	}
	if z := ComputeMetrics(p, 0, 5, 1, 100, 1, 100, 0); z.IngestUSD != 0 || z.MetricsUSD != 1.5 {
		t.Errorf("no elapsed time: %+v", z)
	}
}

// Nothing stored, nothing saved: records waiting in store_dir (or refused) do not
// count towards saved_usd; stored ones count at the average size of the accepted.
func TestSavedCountsOnlyStored(t *testing.T) {
	p, _ := For("us-east-1")
	e := Compute(p, 1.0, 1000, 1<<30-26*1000, 0, 0, 0)
	if !near(e.CloudWatch, 1) || e.Stored != 0 || e.Saved() != 0 {
		t.Fatalf("nothing stored yet: %+v saved %v", e, e.Saved())
	}
	e = Compute(p, 1.0, 1000, 1<<30-26*1000, 250, 1<<20, 1)
	if !near(e.Stored, 0.25) || !near(e.Saved(), 0.25-e.S3()) {
		t.Fatalf("a quarter stored: %+v saved %v", e, e.Saved())
	}
}

// After a restart that only uploads what a previous run left in store_dir, this process has
// PUTs and storage but no log lines of its own to price: saved_usd is 0, never negative.
func TestSavedNeverNegative(t *testing.T) {
	p, _ := For("us-east-1")
	e := Compute(p, 0, 0, 0, 5000, 1<<20, 3)
	if e.S3() <= 0 || e.Saved() != 0 {
		t.Fatalf("leftovers only: S3 %v, saved %v; want S3 > 0 and saved 0", e.S3(), e.Saved())
	}
	if !strings.Contains(e.Text(), "saved_usd=0.000000") {
		t.Fatalf("stats text %q", e.Text())
	}
	// PUTs dearer than the lines they carry: still 0.
	if e := Compute(p, 0, 10, 100, 10, 50, 100); e.Stored >= e.S3() || e.Saved() != 0 {
		t.Fatalf("tiny objects: %+v saved %v", e, e.Saved())
	}
}

// Storage is priced at steady state under the lifecycle rule: the objects of the last
// retentionDays, each month; a longer rule costs proportionally more storage, PUTs and
// CloudWatch unchanged. Objects a month come from upload_timeout or total_file_size.
func TestScaleMonthlySteadyState(t *testing.T) {
	p, _ := For("us-east-1")
	// 1 GB a day of CloudWatch ingestion, stored at a tenth of it.
	s := Sample{IngestBytes: 1 << 30, WrittenBytes: 2 << 30, StoredBytes: 1 << 30 / 10}
	m30 := ScaleMonthly(p, 0, 1, s, 50e6, 288, 0)
	m90 := ScaleMonthly(p, 0, 1, s, 50e6, 288, 90)
	if m30.RetentionDays != LifecycleDays || !near(m30.S3Storage, 0.1*LifecycleDays*0.023) {
		t.Errorf("30 days: %+v; want 0.1 GB a day kept %d days at $0.023", m30, LifecycleDays)
	}
	if !near(m90.S3Storage, 3*m30.S3Storage) || m90.S3Puts != m30.S3Puts || m90.CloudWatch != m30.CloudWatch {
		t.Errorf("90 days %+v against 30 days %+v", m90, m30)
	}
	// 288 objects a day (upload_timeout 5m) beat 2 GB a day / 50 MB = 43 a day.
	if !near(m30.Objects, 288*DaysPerMonth) || !near(m30.S3Puts, 288*DaysPerMonth/1000*0.005) {
		t.Errorf("objects %v puts %v; want 288 a day", m30.Objects, m30.S3Puts)
	}
	if m := ScaleMonthly(p, 0, 1, s, 1e6, 288, 0); !near(m.Objects, 2*float64(1<<30)*DaysPerMonth/1e6) {
		t.Errorf("total_file_size 1 MB: %v objects a month; want one per MB written", m.Objects)
	}
	if !strings.Contains(PriceTable, "2026-") {
		t.Errorf("PriceTable %q names no date", PriceTable)
	}
}
