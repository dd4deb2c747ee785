package main

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// A pipeline of the benchmark matrix.
type pipeline struct {
	name   string
	native bool // runs only through Fluent Bit, the same for every .so
	c      func(c config) config
}

// The rows the others are compared with.
const (
	rowFloor   = "null output (floor)"
	rowS3      = "Fluent Bit s3 gzip"
	rowOtherS3 = "envoy_s3 json_lines, 1/5 other to S3"
	rowOtherCW = "envoy_s3 json_lines, 1/5 other to CloudWatch"
)

var matrix = []pipeline{
	{rowFloor, true, func(c config) config { c.output, c.mix = "null", "access"; return c }},
	{rowS3, true, func(c config) config { c.output, c.mix = "s3", "access"; return c }},
	// The settings of aws-for-fluent-bit's own S3 load tests: many small files.
	{"Fluent Bit s3 gzip, 1M files", true, func(c config) config {
		c.output, c.mix, c.s3FileSize, c.s3Timeout = "s3", "access", "1M", "1m"
		return c
	}},
	{"envoy_s3 json_lines zstd", false, func(c config) config {
		c.output, c.mix, c.format, c.codec = "envoy_s3", "access", "json_lines", "zstd"
		return c
	}},
	{"envoy_s3 parquet zstd", false, func(c config) config {
		c.output, c.mix, c.format, c.codec = "envoy_s3", "access", "parquet", "zstd"
		return c
	}},
	{rowOtherS3, false, func(c config) config {
		c.output, c.mix, c.format, c.codec, c.other = "envoy_s3", "fifth", "json_lines", "zstd", "s3"
		return c
	}},
	{rowOtherCW, false, func(c config) config {
		c.output, c.mix, c.format, c.codec, c.other = "envoy_s3", "fifth", "json_lines", "zstd", "cloudwatch"
		return c
	}},
}

// selectRows keeps the rows of the matrix whose names contain one of the
// comma-separated words of rows (all rows when it is empty); the floor and Fluent
// Bit's s3 row always run, since every ratio needs them.
func selectRows(rows string) []pipeline {
	if rows == "" {
		return matrix
	}
	var out []pipeline
	for _, p := range matrix {
		keep := p.name == rowFloor || p.name == rowS3
		for _, w := range strings.Split(rows, ",") {
			keep = keep || (w != "" && strings.Contains(p.name, w))
		}
		if keep {
			out = append(out, p)
		}
	}
	return out
}

// runBench runs the matrix rounds times, alternating the plugins in sos run by run
// (their order swapped every round), and prints CPU per 1M records of the whole
// process, what that is above the null output, its ratio to Fluent Bit's own s3
// output, and peak RSS over the null output. Through the C host (fluentBit false)
// only the envoy_s3 rows run and only absolute figures are printed.
func runBench(once func(config) (result, error), fluentBit bool, base config, sos []string, rounds int, rows string) error {
	matrix := selectRows(rows)
	if len(sos) > 2 {
		return fmt.Errorf("-bench alternates at most two -so builds, got %d", len(sos))
	}
	base.quiet, base.profile = true, ""
	label := func(string) string { return "" }
	if len(sos) == 2 {
		label = func(so string) string {
			if so == sos[0] {
				return "A"
			}
			return "B"
		}
		for i, so := range sos {
			fmt.Printf("build %c: %s\n", 'A'+i, so)
		}
	}
	host := "the C host"
	if fluentBit {
		host = "Fluent Bit"
	}
	fmt.Printf("%d rounds through %s, %d records/s for %s a run, %d records a forward message/flush\n",
		rounds, host, base.rate, base.dur, base.per)
	type key struct{ pipe, build string }
	got := map[key][]result{}
	for round := range rounds {
		order := slices.Clone(sos)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, p := range matrix {
			if p.native && !fluentBit {
				continue
			}
			builds := order
			if p.native {
				builds = order[:1]
			}
			for _, so := range builds {
				c := p.c(base)
				c.so = so
				r, err := once(c)
				if err != nil {
					return fmt.Errorf("round %d, %s: %w", round+1, p.name, err)
				}
				if r.sent == 0 {
					return fmt.Errorf("round %d, %s: no records sent", round+1, p.name)
				}
				b := label(so)
				if p.native {
					b = ""
				}
				got[key{p.name, b}] = append(got[key{p.name, b}], r)
				fmt.Printf("round %d  %-46s %-1s  %6.2f s/1M (sending %6.2f)  peak %6.1f MiB  %d records, %d objects, %d bytes, %d CloudWatch events\n",
					round+1, p.name, b, perMillion(r.cpu, r.sent), perMillion(r.sendCPU, r.sent), float64(r.peakKB)/1024, r.sent, r.objects, r.stored, r.cwEvents)
			}
		}
	}

	mean := func(rs []result, f func(result) float64) (m, lo, hi float64) {
		lo, hi = f(rs[0]), f(rs[0])
		for _, r := range rs {
			v := f(r)
			m += v / float64(len(rs))
			lo, hi = min(lo, v), max(hi, v)
		}
		return m, lo, hi
	}
	cpu := func(r result) float64 { return perMillion(r.cpu, r.sent) }
	rss := func(r result) float64 { return float64(r.peakKB) / 1024 }
	floor, floorRSS, s3Above := 0.0, 0.0, 0.0
	if rs := got[key{rowFloor, ""}]; len(rs) > 0 {
		floor, _, _ = mean(rs, cpu)
		floorRSS, _, _ = mean(rs, rss)
	}
	if rs := got[key{rowS3, ""}]; len(rs) > 0 {
		m, _, _ := mean(rs, cpu)
		s3Above = m - floor
	}
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "pipeline\tbuild\tCPU s/1M (min-max)\tabove floor\tto s3's\tpeak RSS (min-max)\tover floor")
	for _, p := range matrix {
		for _, b := range []string{"", "A", "B"} {
			rs := got[key{p.name, b}]
			if len(rs) == 0 {
				continue
			}
			m, lo, hi := mean(rs, cpu)
			rm, rlo, rhi := mean(rs, rss)
			above, ratio, over := "-", "-", "-"
			if fluentBit && p.name != rowFloor {
				above = fmt.Sprintf("%.2f", m-floor)
				over = fmt.Sprintf("%+.1f MiB", rm-floorRSS)
				if s3Above > 0 {
					ratio = fmt.Sprintf("%.3fx", (m-floor)/s3Above)
				}
			}
			fmt.Fprintf(w, "%s\t%s\t%.2f (%.2f-%.2f)\t%s\t%s\t%.1f MiB (%.1f-%.1f)\t%s\n", p.name, b, m, lo, hi, above, ratio, rm, rlo, rhi, over)
		}
	}
	w.Flush()
	// Other records to CloudWatch Logs against the same records to S3.
	for _, b := range []string{"", "A", "B"} {
		s3, cw := got[key{rowOtherS3, b}], got[key{rowOtherCW, b}]
		if len(s3) == 0 || len(cw) == 0 {
			continue
		}
		ms, _, _ := mean(s3, cpu)
		mc, _, _ := mean(cw, cpu)
		fmt.Printf("build %s: a fifth other to CloudWatch Logs costs %.2fx what it costs to S3 (%s)\n",
			cmp.Or(b, "-"), (mc-floor)/max(ms-floor, 1e-9), map[bool]string{true: "above the floor", false: "whole process"}[fluentBit])
	}
	fmt.Printf("command: go run ./test/cmd/soak %s\n", strings.Join(os.Args[1:], " "))
	return nil
}

func perMillion(d time.Duration, n int64) float64 { return d.Seconds() * 1e6 / float64(n) }
