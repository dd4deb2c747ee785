package preview

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/cost"
)

// The monthly estimate is a steady state: storage for the days the lifecycle rule keeps
// objects (30 by default, -retention-days otherwise), PUTs for the objects upload_timeout and
// total_file_size make, the price table named, both ratios said in words.
func TestMonthlyIsSteadyState(t *testing.T) {
	in, _ := os.ReadFile(filepath.Join("testdata", "lines.input"))
	run := func(days float64, opts ...string) (*Summary, string) {
		s, err := Run(bytes.NewReader(in), Options{Now: fixedNow, DailyGB: 10, RetentionDays: days, Settings: opts})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := s.Write(&out); err != nil {
			t.Fatal(err)
		}
		return s, out.String()
	}
	s30, out := run(0)
	s90, _ := run(90)
	if s30.Monthly.RetentionDays != cost.LifecycleDays || math.Abs(s90.Monthly.S3Storage-3*s30.Monthly.S3Storage) > 1e-9 {
		t.Errorf("storage 30 days %v, 90 days %v; want the recommended rule's days and three times as much", s30.Monthly.S3Storage, s90.Monthly.S3Storage)
	}
	// Two prefixes, one object each per upload_timeout (5m): 576 a day.
	if got, want := s30.Monthly.Objects, 576*cost.DaysPerMonth; math.Abs(got-want) > 1e-6 {
		t.Errorf("%v objects a month; want %v", got, want)
	}
	if s, _ := run(0, "upload_timeout=1h", "total_file_size=5G"); math.Abs(s.Monthly.Objects-48*cost.DaysPerMonth) > 1e-6 {
		t.Errorf("upload_timeout 1h, total_file_size 5G: %v objects a month; want 48 a day", s.Monthly.Objects)
	}
	for _, want := range []string{"steady state", cost.PriceTable, "for 30 days of objects", "expires objects after 30 days (docker/lifecycle.json",
		"without one, storage grows by", "than the NDJSON written (compression alone)", "less than CloudWatch would ingest"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
