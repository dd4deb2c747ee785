package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"regexp/syntax"
	"strconv"
	"strings"
	"testing"
)

// TestDependencies keeps out of the .so what it must not carry: DuckDB (tests
// only) and what fluent-bit-go's output package would bring for a decoder
// envoy_s3 does not use (a msgpack codec, net/rpc, html/template): about 1.4 MB
// of .so, resident in Fluent Bit once loaded (test/README.md, "Memory").
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

// TestPatternsStaySmall keeps this module's regular expressions from holding
// large compiled programs for the life of Fluent Bit: a bounded repetition such
// as [a-z]{1,512} compiles to a copy of its class per position (65 KB for one
// log group pattern; five such patterns held 340 KB). Lengths are checked in
// code instead.
func TestPatternsStaySmall(t *testing.T) {
	const maxInst = 150
	files, err := filepath.Glob("../internal/*/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sources: %v", err)
	}
	seen := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "MustCompile" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			pat, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			re, err := syntax.Parse(pat, syntax.Perl)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			prog, err := syntax.Compile(re.Simplify())
			if err != nil {
				t.Fatal(err)
			}
			seen++
			if len(prog.Inst) > maxInst {
				t.Errorf("%s: %s compiles to %d instructions (at most %d): check its length in code", path, pat, len(prog.Inst), maxInst)
			}
			return true
		})
	}
	if seen < 10 {
		t.Fatalf("found %d patterns; expected this module's (is the glob right?)", seen)
	}
}
