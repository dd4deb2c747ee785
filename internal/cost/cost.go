// Package cost turns an instance's byte and request counts into the money the stats
// line reports: what CloudWatch Logs would have charged to ingest the same log lines,
// against what the S3 objects cost to PUT and to keep until the recommended lifecycle
// rule expires them (LifecycleDays).
//
// Prices are PriceTable's: AWS list prices (USD) for a few regions; any other region
// uses us-east-1's, and cloudwatch_price_per_gb overrides the ingestion price. They are
// estimates for a log line, not a bill: CloudWatch Logs' own storage charge is not
// counted on its side, so the saving shown is the smaller one.
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

// PriceTable names the prices of byRegion: what they are and the date they were read.
const PriceTable = "AWS list prices of 2026-11-24 (CloudWatch Logs Standard ingestion, S3 Standard storage and PUT requests)"

// LifecycleDays is how long the recommended lifecycle rule (docker/lifecycle.json) keeps an
// object. Storage is priced for that long: the steady state of a bucket whose objects expire,
// where each month's new objects replace the ones that expire. Without a rule, storage
// grows by a month's objects every month.
const LifecycleDays = 30

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
	S3Storage  float64 // S3 Standard for the objects, for the LifecycleDays they are kept
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
		S3Storage:  float64(storedBytes) / gb * p.S3StoragePerGBMonth * LifecycleDays / DaysPerMonth,
		S3Puts:     float64(puts) / 1000 * p.S3PutPer1000,
	}
	if events > 0 {
		e.Stored = ingest(storedEvents, float64(logBytes)*float64(storedEvents)/float64(events))
	}
	return e
}

// S3 is the S3 side of the estimate.
func (e Estimate) S3() float64 { return e.S3Storage + e.S3Puts }

// Saved is what the objects in S3 saved against ingesting their lines into CloudWatch,
// never below 0: objects whose lines this process did not see (a previous run's spool,
// uploaded after a restart) cost their PUTs and storage but have no CloudWatch price to
// compare with, so they save nothing rather than a negative amount.
func (e Estimate) Saved() float64 { return max(0, e.Stored-e.S3()) }

// Text renders the estimate for the stats line.
func (e Estimate) Text() string {
	return fmt.Sprintf("cloudwatch_usd=%.6f s3_usd=%.6f (storage_%dd=%.6f puts=%.6f) saved_usd=%.6f",
		e.CloudWatch, e.S3(), LifecycleDays, e.S3Storage, e.S3Puts, e.Saved())
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

// DaysPerMonth is Month in days, for estimates made from a daily volume.
const DaysPerMonth = 730.0 / 24

// Monthly is a month of one task's traffic, priced both ways, at steady state.
type Monthly struct {
	CloudWatch      float64 // everything ingested into CloudWatch Logs, as today
	S3Storage       float64 // a month of S3 Standard for the objects of the last RetentionDays
	S3Puts          float64
	Objects         float64 // objects (PUT requests) a month
	RetentionDays   float64 // how long objects are kept (the lifecycle rule)
	OtherCloudWatch float64 // records envoy_s3 still sends to CloudWatch Logs (other_logs cloudwatch)
	Extra           float64 // anything else envoy_s3 adds (for example route metrics)
}

// EnvoyS3 is what the month costs with envoy_s3.
func (m Monthly) EnvoyS3() float64 { return m.S3Storage + m.S3Puts + m.OtherCloudWatch + m.Extra }

// Saved is the difference, and SavedPercent the same as a share of CloudWatch's.
func (m Monthly) Saved() float64 { return m.CloudWatch - m.EnvoyS3() }

// SavedPercent is Saved as a percentage of the CloudWatch cost (0 when that is 0).
func (m Monthly) SavedPercent() float64 {
	if m.CloudWatch <= 0 {
		return 0
	}
	return 100 * m.Saved() / m.CloudWatch
}

// Sample is what a run observed: CloudWatch-counted bytes (log bytes plus the
// per-event overhead) of everything and of what still goes to CloudWatch, and the
// bytes envoy_s3 wrote (uncompressed) and stored.
type Sample struct {
	IngestBytes      int64 // all records, as CloudWatch Logs would count them
	OtherIngestBytes int64 // records sent to CloudWatch Logs by envoy_s3
	WrittenBytes     int64 // uncompressed object bytes (what total_file_size counts)
	StoredBytes      int64 // objects as stored in S3
}

// ScaleMonthly scales sample to dailyGB of CloudWatch ingestion a day (GB as the
// ingestion price counts them) over DaysPerMonth. Storage is the steady state of a bucket
// whose lifecycle rule expires objects after retentionDays (LifecycleDays when 0): it holds
// retentionDays of objects, each month. Objects are sealed by size (maxObjectBytes,
// total_file_size) or at least minObjectsPerDay times a day (set by upload_timeout),
// whichever makes more; each is one PUT request.
func ScaleMonthly(p Prices, pricePerGB float64, dailyGB float64, s Sample, maxObjectBytes int64, minObjectsPerDay, retentionDays float64) Monthly {
	if pricePerGB <= 0 {
		pricePerGB = p.CloudWatchIngestPerGB
	}
	if retentionDays <= 0 {
		retentionDays = LifecycleDays
	}
	month := dailyGB * DaysPerMonth
	m := Monthly{CloudWatch: month * pricePerGB, RetentionDays: retentionDays}
	if s.IngestBytes <= 0 {
		return m
	}
	scale := month * gb / float64(s.IngestBytes)
	m.S3Storage = float64(s.StoredBytes) * scale / DaysPerMonth * retentionDays / gb * p.S3StoragePerGBMonth
	m.Objects = minObjectsPerDay * DaysPerMonth
	if maxObjectBytes > 0 {
		m.Objects = max(m.Objects, float64(s.WrittenBytes)*scale/float64(maxObjectBytes))
	}
	m.S3Puts = m.Objects / 1000 * p.S3PutPer1000
	m.OtherCloudWatch = float64(s.OtherIngestBytes) * scale / gb * pricePerGB
	return m
}

// MetricsMonthly is a month of route metrics whose every interval looks like the one
// measured: metrics custom metrics at list price, plus ingesting the interval's
// events (events of eventBytes) once per interval all month.
func MetricsMonthly(p Prices, pricePerGB float64, metrics int, events, eventBytes int64, interval time.Duration) float64 {
	if pricePerGB <= 0 {
		pricePerGB = p.CloudWatchIngestPerGB
	}
	usd := float64(metrics) * CustomMetricPerMonth
	if interval > 0 {
		usd += float64(eventBytes+events*CloudWatchEventOverhead) * float64(Month/interval) / gb * pricePerGB
	}
	return usd
}
