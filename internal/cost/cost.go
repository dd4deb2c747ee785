// Package cost turns an instance's byte and request counts into the money the stats
// line reports: what CloudWatch Logs would have charged to ingest the same log lines,
// against what the S3 objects cost to PUT and to keep for a month.
//
// Prices are list prices (USD) for a few regions, from shared/REFERENCE.md §4; any
// other region uses us-east-1's, and cloudwatch_price_per_gb overrides the ingestion
// price. They are estimates for a log line, not a bill.
package cost

import (
	"fmt"
	"time"
)

// Prices of one region.
type Prices struct {
	CloudWatchIngestPerGB   float64 // Standard log class
	CloudWatchIAIngestPerGB float64 // Infrequent Access log class
	S3StoragePerGBMonth     float64 // S3 Standard
	S3PutPer1000            float64
}

// byRegion holds the regions whose prices we know; others fall back to us-east-1.
var byRegion = map[string]Prices{
	"us-east-1":      {0.50, 0.25, 0.023, 0.005},
	"ap-northeast-1": {0.76, 0.38, 0.025, 0.0047},
}

// For returns the prices of region and whether they are the region's own.
func For(region string) (Prices, bool) {
	p, ok := byRegion[region]
	if !ok {
		return byRegion["us-east-1"], false
	}
	return p, true
}

// CloudWatchEventOverhead is what CloudWatch Logs counts per event on top of the message.
const CloudWatchEventOverhead = 26

const gb = 1 << 30

// Estimate compares the two destinations for the same data.
type Estimate struct {
	CloudWatch float64 // ingesting the accepted log lines into CloudWatch Logs (Standard)
	Stored     float64 // ingesting the part of them now stored in S3
	S3Storage  float64 // one month of S3 Standard for the objects
	S3Puts     float64 // the PUT requests
}

// Compute estimates costs for logBytes of log lines in events accepted events (as
// CloudWatch would count them), of which storedEvents are in puts objects of
// storedBytes. The log bytes of the stored events are estimated at the average of
// the accepted ones, so that the saving counts only what has reached S3, not what
// waits in store_dir. pricePerGB, when > 0, replaces the region's ingestion price.
func Compute(p Prices, pricePerGB float64, events, logBytes, storedEvents, storedBytes, puts int64) Estimate {
	if pricePerGB <= 0 {
		pricePerGB = p.CloudWatchIngestPerGB
	}
	ingest := func(events int64, logBytes float64) float64 {
		return (logBytes + float64(events*CloudWatchEventOverhead)) / gb * pricePerGB
	}
	e := Estimate{
		CloudWatch: ingest(events, float64(logBytes)),
		S3Storage:  float64(storedBytes) / gb * p.S3StoragePerGBMonth,
		S3Puts:     float64(puts) / 1000 * p.S3PutPer1000,
	}
	if events > 0 {
		e.Stored = ingest(storedEvents, float64(logBytes)*float64(storedEvents)/float64(events))
	}
	return e
}

// S3 is the S3 side of the estimate.
func (e Estimate) S3() float64 { return e.S3Storage + e.S3Puts }

// Saved is what the objects in S3 saved against ingesting their lines into CloudWatch.
func (e Estimate) Saved() float64 { return e.Stored - e.S3() }

// Text renders the estimate for the stats line.
func (e Estimate) Text() string {
	return fmt.Sprintf("cloudwatch_usd=%.6f s3_usd=%.6f (storage_month=%.6f puts=%.6f) saved_usd=%.6f",
		e.CloudWatch, e.S3(), e.S3Storage, e.S3Puts, e.Saved())
}

// CustomMetricPerMonth is CloudWatch's list price of one custom metric (a metric
// name with one set of dimension values) for a month, first 10,000 metrics.
const CustomMetricPerMonth = 0.30

// Month is the length of a month in AWS's pricing (730 hours).
const Month = 730 * time.Hour

// MetricsEstimate is a month of route metrics (metrics emf) against a month of
// ingesting the access lines they summarise into CloudWatch Logs.
type MetricsEstimate struct {
	Metrics     int     // custom metrics (series × metric names) of one interval
	MetricsUSD  float64 // Metrics at CustomMetricPerMonth
	IngestUSD   float64 // ingesting the EMF events, at the rate seen so far
	ReplacedUSD float64 // ingesting the access lines instead, at the rate seen so far
}

// Total is the metrics' monthly cost.
func (e MetricsEstimate) Total() float64 { return e.MetricsUSD + e.IngestUSD }

// ComputeMetrics extrapolates to a month what elapsed produced: metrics custom
// metrics per interval, events EMF events of eventBytes, summarising lines access
// lines of lineBytes. pricePerGB, when > 0, replaces the region's ingestion price.
func ComputeMetrics(p Prices, pricePerGB float64, metrics int, events, eventBytes, lines, lineBytes int64, elapsed time.Duration) MetricsEstimate {
	if pricePerGB <= 0 {
		pricePerGB = p.CloudWatchIngestPerGB
	}
	e := MetricsEstimate{Metrics: metrics, MetricsUSD: float64(metrics) * CustomMetricPerMonth}
	if elapsed < time.Second {
		return e
	}
	perMonth := float64(Month) / float64(elapsed)
	e.IngestUSD = float64(eventBytes+events*CloudWatchEventOverhead) * perMonth / gb * pricePerGB
	e.ReplacedUSD = float64(lineBytes+lines*CloudWatchEventOverhead) * perMonth / gb * pricePerGB
	return e
}

// Text renders the estimate for the stats line.
func (e MetricsEstimate) Text() string {
	return fmt.Sprintf("metrics_usd_month=%.2f (custom_metrics=%d at %.2f, emf_ingest=%.2f) replaces_cloudwatch_lines_usd_month=%.2f",
		e.Total(), e.Metrics, e.MetricsUSD, e.IngestUSD, e.ReplacedUSD)
}
