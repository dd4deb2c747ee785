package preview

import (
	"fmt"
	"io"
	"strings"

	"github.com/envoy-s3/envoy_s3/internal/cost"
	"github.com/envoy-s3/envoy_s3/internal/redact"
)

// Write prints the summary as a person reads it.
func (s *Summary) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n== envoy_s3 preview: %d records (%s input)", s.Records+s.Bad, s.Input)
	if len(s.StandIns) > 0 {
		fmt.Fprintf(&b, "; stand-in for %s", strings.Join(s.StandIns, ", "))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "records    access %d, other %d", s.Access, s.Other+s.CloudWatch+s.Dropped)
	switch {
	case s.CloudWatch > 0:
		fmt.Fprintf(&b, " (to CloudWatch Logs %d)", s.CloudWatch)
	case s.Dropped > 0:
		fmt.Fprintf(&b, " (dropped %d)", s.Dropped)
	case s.Other > 0:
		fmt.Fprintf(&b, " (to S3 under other_key_format %d)", s.Other)
	}
	if s.Bad > 0 {
		fmt.Fprintf(&b, ", undecodable %d", s.Bad)
	}
	b.WriteString("\n")
	if len(s.Kinds) > 0 {
		b.WriteString("access by  ")
		for i, k := range s.sortedKinds() {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", k, s.Kinds[k])
		}
		b.WriteString("\n")
	}
	if s.Redactions.Total() == 0 {
		b.WriteString("redactions none\n")
	} else {
		fmt.Fprintf(&b, "redactions %s\n", strings.ReplaceAll(string(s.Redactions.AppendText(nil)), " ", ", "))
		for i, ex := range s.Examples {
			if ex == nil {
				continue
			}
			fmt.Fprintf(&b, "  %s (%s)\n", redact.Rule(i), ruleSource(redact.Rule(i)))
			if ex.Before != "" {
				fmt.Fprintf(&b, "    before %s\n", ex.Before)
			}
			fmt.Fprintf(&b, "    after  %s\n", ex.After)
		}
	}
	ingest := s.LogBytes + (s.Records+s.Bad)*cost.CloudWatchEventOverhead
	fmt.Fprintf(&b, "bytes      log lines %s (CloudWatch would ingest %s); NDJSON written %s\n",
		size(s.LogBytes), size(ingest), size(s.WrittenRaw))
	b.WriteString("  each codec: its objects, and how much smaller they are than the NDJSON written (compression alone)\n")
	for _, f := range s.Formats {
		mark := " "
		if f.Configured {
			mark = "*"
		}
		ratio := 0.0
		if f.Bytes > 0 {
			ratio = float64(s.WrittenRaw) / float64(f.Bytes)
		}
		fmt.Fprintf(&b, "  %s %-18s %10s in %d object(s), %.1fx\n", mark, f.Name, size(f.Bytes), f.Objects, ratio)
	}
	if f := s.configured(); f.Bytes > 0 && ingest > 0 {
		fmt.Fprintf(&b, "  * stored: %.1fx less than CloudWatch would ingest (normalising, redacting and compressing, against the lines plus %d bytes an event)\n",
			float64(ingest)/float64(f.Bytes), cost.CloudWatchEventOverhead)
	}
	if x := s.Metrics; x != nil {
		fmt.Fprintf(&b, "metrics    route metrics (metrics emf): %d custom metrics in %d EMF event(s) of %s per %s interval\n",
			x.Metrics, x.Events, size(x.EventBytes), x.Interval)
	}
	if m := s.Monthly; m != nil {
		fmt.Fprintf(&b, "monthly    at %g GB/day in %s, steady state (a 730-hour month; %s):\n", s.DailyGB, s.Region, cost.PriceTable)
		fmt.Fprintf(&b, "  CloudWatch Logs today      $%10.2f  (ingestion only)\n", m.CloudWatch)
		fmt.Fprintf(&b, "  with envoy_s3              $%10.2f  (S3 storage $%.2f for %g days of objects, PUTs $%.2f for %.0f objects", m.EnvoyS3(), m.S3Storage, m.RetentionDays, m.S3Puts, m.Objects)
		if m.OtherCloudWatch > 0 {
			fmt.Fprintf(&b, ", other records to CloudWatch $%.2f", m.OtherCloudWatch)
		}
		if m.Extra > 0 {
			fmt.Fprintf(&b, ", route metrics $%.2f for %d custom metrics", m.Extra, s.Metrics.Metrics)
		}
		b.WriteString(")\n")
		if m.Saved() >= 0 {
			fmt.Fprintf(&b, "  saved                      $%10.2f  (%.1f%%)\n", m.Saved(), m.SavedPercent())
		} else {
			fmt.Fprintf(&b, "  envoy_s3 costs more by     $%10.2f  (%.1f%%): too little traffic for the PUTs; raise upload_timeout\n", -m.Saved(), -m.SavedPercent())
		}
		fmt.Fprintf(&b, "  storage assumes a lifecycle rule that expires objects after %g days (docker/lifecycle.json; -retention-days N);\n"+
			"  without one, storage grows by $%.2f every month. Objects: one per upload_timeout (%s) per prefix, or per total_file_size.\n",
			m.RetentionDays, m.S3Storage*cost.DaysPerMonth/m.RetentionDays, s.Config.UploadTimeout)
	} else {
		b.WriteString("monthly    pass -daily-gb N (what the task sends to CloudWatch Logs a day) for a monthly estimate\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// size renders n bytes with a binary unit.
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
