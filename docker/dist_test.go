package docker_test

import (
	"bufio"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// distArches are the architectures make dist builds, and the image's --platform list.
var distArches = []string{"amd64", "arm64"}

var elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// TestDist checks what `make dist` wrote: exactly one .so and one SBOM per architecture, each .so
// an ELF object of that architecture, and SHA256SUMS with the version in its header and each
// file's checksum.
func TestDist(t *testing.T) {
	sos := distSOs(t)
	dir := os.Getenv("ENVOY_S3_DIST")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names, want []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, arch := range distArches {
		want = append(want, filepath.Base(sos[arch]), filepath.Base(sbomPath(sos[arch])))
	}
	want = append(want, "SHA256SUMS")
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("%s holds %q; want exactly %q", dir, names, want)
	}

	f, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	var header string
	for sc.Scan() {
		line := sc.Text()
		if h, ok := strings.CutPrefix(line, "# "); ok {
			header = h
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q is not `sha256sum` output", line)
		}
		sums[name] = sum
	}
	version := os.Getenv("ENVOY_S3_VERSION")
	if version == "" {
		version = "dev"
	}
	if header != "envoy_s3 "+version {
		t.Errorf("SHA256SUMS header %q; want %q (the version stamped into both .so)", header, "envoy_s3 "+version)
	}
	for _, name := range want {
		if name == "SHA256SUMS" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); sums[name] != got {
			t.Errorf("SHA256SUMS says %s is %q; it is %s", name, sums[name], got)
		}
	}
	if len(sums) != len(want)-1 {
		t.Errorf("SHA256SUMS has %d files; want %d (every file of dist/ but itself)", len(sums), len(want)-1)
	}
	for _, arch := range distArches {
		path := sos[arch]
		name := filepath.Base(path)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		e, err := elf.Open(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if e.Machine != elfMachine[arch] || e.Type != elf.ET_DYN {
			t.Errorf("%s is %v %v; want a %v shared object", name, e.Machine, e.Type, elfMachine[arch])
		}
		if !hasFluentBitExports(t, e) {
			t.Errorf("%s does not export FLBPluginRegister/Init/FlushCtx/ExitCtx", name)
		}
		e.Close()
		t.Logf("%s: %.1f MB", name, float64(len(b))/1e6)
	}
}

func hasFluentBitExports(t *testing.T, f *elf.File) bool {
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	need := map[string]bool{"FLBPluginRegister": false, "FLBPluginInit": false, "FLBPluginFlushCtx": false, "FLBPluginExitCtx": false}
	for _, s := range syms {
		if _, ok := need[s.Name]; ok && s.Section != elf.SHN_UNDEF {
			need[s.Name] = true
		}
	}
	for _, ok := range need {
		if !ok {
			return false
		}
	}
	return true
}
