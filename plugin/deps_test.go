package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps out of the .so what it must not carry: DuckDB (tests
// only) and what fluent-bit-go's output package would bring for a decoder
// envoy_s3 does not use (a msgpack codec, net/rpc, html/template): about 1.4 MB
// of .so, resident in Fluent Bit once loaded (README "Memory").
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 {
		t.Fatalf("go list gave %d packages; expected the plugin's whole graph", len(deps))
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/duckdb/", "github.com/ugorji/", "github.com/fluent/fluent-bit-go/", "net/rpc", "html/template", "encoding/gob"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("the plugin links %s", d)
			}
		}
	}
}
