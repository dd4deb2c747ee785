// Command envoy_s3-preview runs envoy_s3's pipeline over log lines you already have,
// with the options you intend to put in the task definition, and shows what the
// plugin would write and where, what it would redact, and what it would cost. It
// writes nothing to AWS or to disk.
//
//	envoy_s3-preview [-o key=value]... [-daily-gb N] [-fleet-tasks N [-fleet-rps R] [-fleet-services S]] [-q] [-json] [file]
//	envoy_s3-preview -version
//
// The input (a file, or standard input) may be raw Service Connect lines (TEXT or
// JSON), FireLens / Fluent Bit records as JSON lines, or the output of
// `aws logs filter-log-events` / `aws logs get-log-events`.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/envoy-s3/envoy_s3/internal/buildinfo"
	"github.com/envoy-s3/envoy_s3/internal/preview"
)

type settings []string

func (s *settings) String() string     { return strings.Join(*s, ",") }
func (s *settings) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("envoy_s3-preview", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts settings
	fs.Var(&opts, "o", "an envoy_s3 option as key=value, as in the task definition (repeatable)")
	daily := fs.Float64("daily-gb", 0, "GB a day the task sends to CloudWatch Logs today, for the monthly estimate")
	retention := fs.Float64("retention-days", 0, "days the bucket's lifecycle rule keeps objects, for the storage of the monthly estimate (default: the recommended rule's 30)")
	quiet := fs.Bool("q", false, "print the summary only")
	asJSON := fs.Bool("json", false, "print each record's result as a JSON line")
	tag := fs.String("tag", "", "Fluent Bit tag of the records (default: a Service Connect proxy's)")
	fleetTasks := fs.Int("fleet-tasks", 0, "tasks in the fleet: print objects a day, PUT and GET cost and objects an hour's Athena query opens, before and after compaction")
	fleetRPS := fs.Float64("fleet-rps", 10, "with -fleet-tasks: access records (requests) a task writes a second")
	fleetServices := fs.Int("fleet-services", 0, "with -fleet-tasks: services (cluster and family pairs) the tasks run in (default: one per 10 tasks)")
	version := fs.Bool("version", false, "print which build this is (the version of the envoy_s3.so built with it) and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: envoy_s3-preview [-o key=value]... [-daily-gb N [-retention-days N]] [-fleet-tasks N [-fleet-rps R] [-fleet-services S]] [-q] [-json] [file]\n       envoy_s3-preview -version")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *version {
		fmt.Fprintln(stdout, buildinfo.String())
		return 0
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return 2
	}
	in := stdin
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "envoy_s3-preview: %v\n", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	o := preview.Options{Settings: opts, DailyGB: *daily, RetentionDays: *retention, Tag: *tag, JSON: *asJSON, Env: os.Getenv}
	if !*quiet {
		o.Records = stdout
	}
	s, err := preview.Run(in, o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := s.Write(stdout); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *fleetTasks != 0 {
		services := *fleetServices
		if services == 0 {
			services = max(1, *fleetTasks/10)
		}
		f, err := s.Fleet(*fleetTasks, services, *fleetRPS)
		if err == nil {
			err = f.Write(stdout)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	return 0
}
