// Command outage measures an S3 outage through the real envoy_s3.so (test/outage):
// records at -rate, S3 unreachable for -duration, then back, and prints the table
// docker/README.md shows.
//
//	go run ./test/cmd/outage -duration 10m -rate 5000
//
// The router is the C host (test/host) unless FLUENT_BIT names a Fluent Bit binary.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/envoy-s3/envoy_s3/test/outage"
)

func main() {
	var o outage.Options
	flag.IntVar(&o.Rate, "rate", 5000, "records per second")
	flag.DurationVar(&o.Outage, "duration", 10*time.Minute, "how long S3 is unreachable")
	flag.DurationVar(&o.Before, "before", 30*time.Second, "S3 up before the outage")
	flag.DurationVar(&o.After, "after", 10*time.Minute, "longest wait for the drain once S3 is back")
	flag.DurationVar(&o.Every, "every", 30*time.Second, "a row of the table this often")
	flag.IntVar(&o.PerChunk, "chunk", 500, "records per chunk (one flush)")
	logPath := flag.String("log", "", "write the router's own log to this file")
	set := flag.String("set", "", "envoy_s3 options, key=value,key=value (e.g. store_dir_limit_size=200M)")
	flag.Parse()
	o.FluentBit = os.Getenv("FLUENT_BIT")
	o.Log = os.Stderr
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "outage:", err)
			os.Exit(1)
		}
		defer f.Close()
		o.RouterLog = f
	}
	if *set != "" {
		o.Settings = map[string]string{}
		for _, kv := range strings.Split(*set, ",") {
			k, v, _ := strings.Cut(kv, "=")
			o.Settings[k] = v
		}
	}
	r, err := outage.Run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "outage:", err)
		os.Exit(1)
	}
	fmt.Print(Report(&o, r))
	if r.Lost > 0 || !r.Drained {
		os.Exit(1)
	}
}

// Report is the run's table and totals in Markdown.
func Report(o *outage.Options, r *outage.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Router: %s. %d records/s, S3 unreachable from %s for %s (every request reset).\n\n", r.Router, o.Rate, o.Before, o.Outage)
	b.WriteString(outage.Header + "\n")
	for _, row := range r.Rows {
		b.WriteString(outage.FormatRow(row) + "\n")
	}
	drain := "did not finish within " + o.After.String()
	if r.Drained {
		drain = r.Drain.Round(time.Second).String()
	}
	fmt.Fprintf(&b, "\n| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| records sent / accepted | %d / %d |\n", r.Sent, r.Accepted)
	fmt.Fprintf(&b, "| records in S3 (distinct) | %d in %d objects |\n", r.InS3, r.Objects)
	fmt.Fprintf(&b, "| records lost / duplicated | %d / %d |\n", r.Lost, r.Duplicated)
	fmt.Fprintf(&b, "| still refused at the end | %d records |\n", r.Unsent)
	fmt.Fprintf(&b, "| flushes answered RETRY | %d |\n", r.Retry)
	fmt.Fprintf(&b, "| peak store_dir | %.1f MB |\n", float64(r.PeakSpool)/1e6)
	fmt.Fprintf(&b, "| most chunks waiting at the sender | %d (%d records) |\n", r.MaxHeld, int64(r.MaxHeld)*int64(o.PerChunk))
	fmt.Fprintf(&b, "| peak RSS of the router (VmHWM) | %.1f MiB |\n", float64(r.PeakRSSKiB)/1024)
	fmt.Fprintf(&b, "| S3 requests (reset during the outage) | %d (%d) |\n", r.S3Requests, r.Resets)
	fmt.Fprintf(&b, "| drain: S3 back until nothing waits | %s |\n", drain)
	return b.String()
}
