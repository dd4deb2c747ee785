// Command chunkfile writes Fluent Bit chunk files (msgpack events, as Fluent Bit
// hands them to an output's flush) for the C host, test/host:
//
//	go run ./test/cmd/chunkfile -out DIR [-n 5000 | -in FILE] [-per 500] [-legacy] [-time event|int|float]
//
// Each line becomes a FireLens record of the default task (log, source, container
// and ECS metadata). With -in, lines come from FILE ("-" for standard input);
// otherwise -n lines of the generator's Service Connect mix. The file names are
// printed in order, ready for the host's --flush.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
	"github.com/envoy-s3/envoy_s3/test/chunkgen"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

func main() {
	out := flag.String("out", "", "directory to write chunk-NNNNN.msgpack files into (required)")
	n := flag.Int("n", 5000, "generated lines, when -in is not given")
	in := flag.String("in", "", "file of log lines, one per line (- for standard input)")
	per := flag.Int("per", 500, "records per chunk")
	legacy := flag.Bool("legacy", false, "legacy event form [ts, {record}] (Fluent Bit 1.9) instead of [[ts, {meta}], {record}]")
	ts := flag.String("time", "event", "timestamp encoding: event (EventTime), int or float")
	seed := flag.Uint64("seed", 1, "generator seed")
	flag.Parse()
	if err := run(*out, *n, *in, *per, *legacy, *ts, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "chunkfile:", err)
		os.Exit(1)
	}
}

func run(out string, n int, in string, per int, legacy bool, ts string, seed uint64) error {
	if out == "" || per < 1 {
		return fmt.Errorf("-out DIR is required and -per must be at least 1")
	}
	enc := chunk.Encoder{}
	if legacy {
		enc.Form = chunk.FormLegacy
	}
	switch ts {
	case "event":
	case "int":
		enc.Time = chunk.TimeInt
	case "float":
		enc.Time = chunk.TimeFloat
	default:
		return fmt.Errorf("-time %q: want event, int or float", ts)
	}
	var lines []gen.Labeled
	if in != "" {
		f := os.Stdin
		if in != "-" {
			var err error
			if f, err = os.Open(in); err != nil {
				return err
			}
			defer f.Close()
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			lines = append(lines, gen.Labeled{Line: append([]byte(nil), sc.Bytes()...), IsAccess: true})
		}
		if err := sc.Err(); err != nil {
			return err
		}
	} else {
		lines = gen.New(seed).Starting(time.Now().Add(-time.Minute)).Mixed(n)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	files, err := chunkgen.WriteFiles(out, enc, chunkgen.DefaultTask(), lines, per, time.Now().UTC())
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Println(f)
	}
	fmt.Fprintf(os.Stderr, "%d records in %d chunk files; tag %s\n", len(lines), len(files), chunkgen.DefaultTask().Tag())
	return nil
}
