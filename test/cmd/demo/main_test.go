package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/cost"
)

// The demo's summary says what each of its two ratios compares, prices storage at steady state
// under the lifecycle rule, counts the PUTs, and names its price table.
func TestSummaryExplainsItsFigures(t *testing.T) {
	logs := "[info] exit: stats: records=5000 access=4000 other=1000 log_bytes=1000000 raw_bytes=3000000 stored_records=5000 stored_bytes=100000 objects=4 redactions=query_param=1 cloudwatch_usd=0.1 saved_usd=0.1\n"
	var out bytes.Buffer
	if err := summary(&out, logs, "us-east-1", 5000, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"the lines plus 26 bytes an event",
		"compares what each service bills",
		"compression alone",
		"at steady state, objects expiring after 30 days (docker/lifecycle.json)",
		"PUTs $",
		"objects a month (one per upload_timeout 5m per prefix, or per total_file_size 50M)",
		cost.PriceTable,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}
