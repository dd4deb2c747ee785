package redact

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenKey is the redact_hash_key of the golden files: their hash lines
// prove the pseudonyms are stable across processes and releases.
var goldenKey = []byte("golden-test-key-0123456789abcdef")

// TestGolden runs testdata/*.input and compares with *.golden.
//
// Input format, a line per case: "<mode> <func> <value>" where mode is mask
// or hash, func is string, path, whole or ip, and value is the rest of the
// line (Go-quoted when it starts with '"' and ends with '"' after unquoting
// succeeds). Lines "@ params=<list> detectors=<list> ip=<off|truncate>" set
// the configuration of the lines below them; '#' lines and blank lines are
// comments. Golden lines repeat the mode and func before the output.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.input")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no testdata/*.input: %v", err)
	}
	for _, in := range inputs {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".input"), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := runGolden(t, src)
			golden := strings.TrimSuffix(in, ".input") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
				for i := 0; i < max(len(gl), len(wl)); i++ {
					var g, w string
					if i < len(gl) {
						g = gl[i]
					}
					if i < len(wl) {
						w = wl[i]
					}
					if g != w {
						t.Errorf("%s:%d:\n got: %s\nwant: %s", golden, i+1, g, w)
					}
				}
			}
		})
	}
}

func runGolden(t *testing.T, src []byte) []byte {
	var out bytes.Buffer
	cfg := Config{}
	var sc Scratch
	for n, line := range strings.Split(strings.TrimSuffix(string(src), "\n"), "\n") {
		if line == "" || line[0] == '#' {
			out.WriteString(line + "\n")
			continue
		}
		if strings.HasPrefix(line, "@ ") {
			cfg = goldenConfig(t, line)
			out.WriteString(line + "\n")
			continue
		}
		f := strings.SplitN(line, " ", 3)
		if len(f) < 2 {
			t.Fatalf("line %d: want <mode> <func> <value>: %q", n+1, line)
		}
		value := ""
		if len(f) == 3 {
			value = f[2]
		}
		quoted := false
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			if u, err := strconv.Unquote(value); err == nil {
				value, quoted = u, true
			}
		}
		c := cfg
		switch f[0] {
		case "mask":
			c.Mode = ModeMask
		case "hash":
			c.Mode, c.HashKey = ModeHash, goldenKey
		default:
			t.Fatalf("line %d: unknown mode %q", n+1, f[0])
		}
		r, err := New(c)
		if err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		apply := map[string]func(*Scratch, []byte, []byte) []byte{
			"string": r.String, "path": r.Path, "whole": r.Whole, "ip": r.IP,
		}[f[1]]
		if apply == nil {
			t.Fatalf("line %d: unknown func %q", n+1, f[1])
		}
		prefix := []byte("keep:")
		got := apply(&sc, prefix, []byte(value))
		if !bytes.HasPrefix(got, prefix) {
			t.Errorf("line %d: dst prefix not kept", n+1)
		}
		got = got[len(prefix):]
		// Every rule is idempotent: applying it to its own output changes nothing.
		if again := apply(&sc, nil, got); !bytes.Equal(again, got) {
			t.Errorf("line %d: not idempotent:\n once: %s\ntwice: %s", n+1, got, again)
		}
		res := string(got)
		if quoted {
			res = strconv.Quote(res)
		}
		fmt.Fprintf(&out, "%s %s %s\n", f[0], f[1], res)
	}
	return out.Bytes()
}

func goldenConfig(t *testing.T, line string) Config {
	var c Config
	for _, kv := range strings.Fields(line[2:]) {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "params":
			if v == "default" {
				c.QueryParams = DefaultQueryParams()
			} else {
				for _, n := range strings.Split(v, ",") {
					c.AllQueryParams = c.AllQueryParams || n == "*"
					if n != "*" && n != "none" {
						c.QueryParams = append(c.QueryParams, n)
					}
				}
			}
		case "detectors":
			if v == "default" {
				c.Detectors = DefaultDetectors()
			} else {
				c.Detectors = []Detector{}
				for _, n := range strings.Split(v, ",") {
					i := slices.Index(DetectorNames(), n)
					if i < 0 && n != "none" {
						err = fmt.Errorf("no detector %q", n)
					} else if i >= 0 {
						c.Detectors = append(c.Detectors, Detector(i))
					}
				}
			}
		case "ip":
			c.IPTruncate = v == "truncate"
		default:
			t.Fatalf("unknown directive %q", kv)
		}
		if err != nil {
			t.Fatalf("%s: %v", kv, err)
		}
	}
	return c
}
