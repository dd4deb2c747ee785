package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/test/miniotest"
	"github.com/envoy-s3/envoy_s3/test/outage"
)

// An S3 outage, time-compressed (test/cmd/outage runs the 10-minute one): 5,000
// records/s, every S3 request reset for 20 s, a store_dir_limit_size the outage
// overfills. The spool absorbs what it can, then flushes are answered RETRY and
// the sender keeps the chunks; once S3 is back everything drains, and every record
// is in S3 exactly once. Through the C host, or the Fluent Bit FLUENT_BIT names.
func TestS3OutageLosesNothing(t *testing.T) {
	if os.Getenv(miniotest.SkipEnv) == "1" {
		t.Skip(miniotest.SkipEnv + "=1: skipping a test that needs MinIO")
	}
	so, host := artifacts(t)
	var log strings.Builder
	o := outage.Options{
		Rate: 5000, Before: 5 * time.Second, Outage: 20 * time.Second, After: 120 * time.Second, Every: 5 * time.Second,
		Settings:  map[string]string{"store_dir_limit_size": "30M", "total_file_size": "5M"},
		FluentBit: os.Getenv("FLUENT_BIT"), SO: so, Host: host, RouterLog: &log,
	}
	r, err := outage.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, row := range r.Rows {
		t.Log(outage.FormatRow(row))
	}
	if !r.Drained || r.Lost != 0 || r.Duplicated != 0 || r.InS3 != r.Sent || r.Unsent != 0 {
		t.Fatalf("drained %v in %s; sent %d, in S3 %d, lost %d, duplicated %d, still refused %d\n%s",
			r.Drained, r.Drain, r.Sent, r.InS3, r.Lost, r.Duplicated, r.Unsent, log.String())
	}
	if r.Retry == 0 || r.MaxHeld == 0 || r.Resets == 0 {
		t.Fatalf("the outage never filled store_dir (%d RETRY answers, %d chunks held, %d requests reset): the test proves nothing", r.Retry, r.MaxHeld, r.Resets)
	}
	if r.PeakSpool > 40e6 {
		t.Errorf("store_dir reached %d bytes with store_dir_limit_size 30M", r.PeakSpool)
	}
}
