package cost

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestComputeUsesRegionPrices(t *testing.T) {
	tokyo, own := For("ap-northeast-1")
	if !own {
		t.Fatal("Tokyo prices missing")
	}
	// 1 GiB of log lines in 0 events, stored as 0.1 GiB in 1000 objects.
	e := Compute(tokyo, 0, 0, 1<<30, (1<<30)/10, 1000)
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
	e := Compute(p, 1.0, 1_000_000, 0, 0, 0)
	if !near(e.CloudWatch, 26e6/(1<<30)) {
		t.Fatalf("overhead not counted at the override price: %v", e.CloudWatch)
	}
}

func TestText(t *testing.T) {
	got := Estimate{CloudWatch: 1.5, S3Storage: 0.02, S3Puts: 0.01}.Text()
	want := "cloudwatch_usd=1.500000 s3_usd=0.030000 (storage_month=0.020000 puts=0.010000) saved_usd=1.470000"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
