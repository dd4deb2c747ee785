package cost

import (
	"math"
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
	if !near(e.CloudWatch, 0.76) || !near(e.S3Storage, 0.0025) || !near(e.S3Puts, 0.0047) {
		t.Fatalf("Tokyo estimate %+v", e)
	}
	if !near(e.S3(), 0.0072) {
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
	want := "cloudwatch_usd=2.500000 s3_usd=0.030000 (storage_month=0.020000 puts=0.010000) saved_usd=1.470000"
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
