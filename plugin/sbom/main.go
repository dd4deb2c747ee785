// Command sbom completes the CycloneDX SBOM that cyclonedx-gomod wrote for a .so (read from
// standard input) with the C libraries the .so needs at run time, and writes it to standard
// output. `make dist` runs it for each .so; see internal/sbom.
//
//	cyclonedx-gomod bin -json ... envoy_s3.so | go run ./plugin/sbom envoy_s3.so > envoy_s3.cdx.json
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/envoy-s3/envoy_s3/internal/sbom"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sbom:", err)
		os.Exit(1)
	}
}

func run(args []string, in io.Reader, out io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: sbom path/to/the.so < cyclonedx-gomod.json > complete.json")
	}
	libs, err := sbom.RuntimeLibraries(args[0])
	if err != nil {
		return err
	}
	bom, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	b, err := sbom.Complete(bom, libs)
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	_, err = out.Write(b)
	return err
}
