package docker_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// maxGlibc is the newest glibc symbol version a .so may need: 2.17, aarch64's first version
// (every aws-for-fluent-bit image has more: 2.x on Amazon Linux 2 has 2.26, 3.x on Amazon
// Linux 2023 has 2.34). A newer need makes Fluent Bit's dlopen fail at start.
const maxGlibc = "2.17"

// oldLibraries are the glibc libraries a .so may name in DT_NEEDED: each exists in glibc 2.17
// on both architectures.
var oldLibraries = []string{"libc.so.6", "libpthread.so.0", "libdl.so.2", "libm.so.6", "librt.so.1"}

// soPath returns the host's .so under test: $ENVOY_S3_SO (set by `make test`), else one built
// now by the Makefile's own rule, so that it has the Makefile's flags.
func soPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ENVOY_S3_SO"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		t.Logf("ENVOY_S3_SO=%s does not exist; building the .so", p)
	}
	if testing.Short() {
		t.Skip("-short: set ENVOY_S3_SO (make build) to check the .so without building it")
	}
	out := filepath.Join(t.TempDir(), "envoy_s3.so")
	cmd := exec.Command("make", "-s", "SO="+out, out)
	cmd.Dir = repoRoot(t)
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", out, err, b)
	}
	t.Logf("built %s in %v", out, time.Since(start).Round(time.Millisecond))
	return out
}

// distSOs returns make dist's .so files ($ENVOY_S3_DIST, set by `make test`) by architecture.
func distSOs(t *testing.T) map[string]string {
	t.Helper()
	dir := os.Getenv("ENVOY_S3_DIST")
	if dir == "" {
		t.Skip("ENVOY_S3_DIST unset: run `make dist` and set it, or run `make test`")
	}
	out := map[string]string{}
	for _, arch := range distArches {
		out[arch] = filepath.Join(dir, "envoy_s3-linux-"+arch+".so")
	}
	return out
}

// glibcVersion parses "GLIBC_2.34" into comparable numbers; ok is false for other names
// (GLIBC_PRIVATE, GCC_3.0, ...).
func glibcVersion(name string) (v [2]int, ok bool) {
	rest, found := strings.CutPrefix(name, "GLIBC_")
	if !found {
		return v, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) < 2 {
		return v, false
	}
	for i := range 2 {
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func less(a, b [2]int) bool { return a[0] < b[0] || (a[0] == b[0] && a[1] < b[1]) }

func mustVersion(t *testing.T, s string) [2]int {
	v, ok := glibcVersion("GLIBC_" + s)
	if !ok {
		t.Fatalf("bad version %q", s)
	}
	return v
}

// glibcNeeds is what the dynamic loader checks before it runs a line of the .so.
type glibcNeeds struct {
	max       string              // the newest GLIBC_x.y in the version needs (SHT_GNU_verneed)
	needs     []string            // library:version for every GLIBC_ need
	symbols   map[string][]string // GLIBC_x.y -> imported symbols bound to it
	libraries []string            // DT_NEEDED
}

func readGlibcNeeds(t *testing.T, path string) glibcNeeds {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n glibcNeeds
	vn, err := f.DynamicVersionNeeds()
	if err != nil {
		t.Fatalf("%s: reading version needs: %v", path, err)
	}
	var best [2]int
	for _, lib := range vn {
		for _, d := range lib.Needs {
			v, ok := glibcVersion(d.Dep)
			if !ok {
				continue
			}
			n.needs = append(n.needs, lib.Name+":"+d.Dep)
			if less(best, v) {
				best, n.max = v, d.Dep
			}
		}
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatalf("%s: reading dynamic symbols: %v", path, err)
	}
	n.symbols = map[string][]string{}
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF && strings.HasPrefix(s.Version, "GLIBC_") {
			n.symbols[s.Version] = append(n.symbols[s.Version], s.Name)
		}
	}
	if n.libraries, err = f.ImportedLibraries(); err != nil {
		t.Fatalf("%s: reading DT_NEEDED: %v", path, err)
	}
	return n
}

var reObjdumpGlibc = regexp.MustCompile(`\(?(GLIBC_[0-9]+\.[0-9]+(?:\.[0-9]+)?)\)?\s+\S+$`)

// objdumpMaxGlibc runs objdump -T, as a user checking the .so by hand would.
func objdumpMaxGlibc(t *testing.T, path string) string {
	out, err := exec.Command("objdump", "-T", path).Output()
	if err != nil {
		t.Fatalf("objdump -T %s: %v", path, err)
	}
	var best [2]int
	var maxName string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := reObjdumpGlibc.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		if v, ok := glibcVersion(m[1]); ok && less(best, v) {
			best, maxName = v, m[1]
		}
	}
	return maxName
}

func TestGlibcVersion(t *testing.T) {
	for in, want := range map[string][2]int{"GLIBC_2.34": {2, 34}, "GLIBC_2.2.5": {2, 2}, "GLIBC_2.3.2": {2, 3}} {
		if got, ok := glibcVersion(in); !ok || got != want {
			t.Errorf("glibcVersion(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"GLIBC_PRIVATE", "GCC_3.0", "GLIBC_2", "GLIBC_x.y"} {
		if _, ok := glibcVersion(in); ok {
			t.Errorf("glibcVersion(%q) accepted", in)
		}
	}
	if !less(mustVersion(t, "2.9"), mustVersion(t, "2.34")) {
		t.Error("2.9 must sort before 2.34")
	}
}

// checkGlibcFloor fails when the .so at path needs a glibc symbol version above maxGlibc, or a
// library glibc 2.17 does not have, naming every offending symbol.
func checkGlibcFloor(t *testing.T, path string) {
	t.Helper()
	n := readGlibcNeeds(t, path)
	if n.max == "" {
		t.Fatalf("%s needs no GLIBC_x.y version at all (%v): not a glibc-linked cgo object?", path, n.needs)
	}
	floor := mustVersion(t, maxGlibc)
	var above []string
	for ver, syms := range n.symbols {
		if v, _ := glibcVersion(ver); less(floor, v) {
			sort.Strings(syms)
			above = append(above, fmt.Sprintf("%s for %s", ver, strings.Join(syms, ", ")))
		}
	}
	sort.Strings(above)
	if got, _ := glibcVersion(n.max); less(floor, got) || len(above) > 0 {
		t.Errorf("%s needs %s (above the glibc %s floor): %s; bind the symbol to its oldest version in plugin/glibc_floor.h, or stop using it",
			filepath.Base(path), n.max, maxGlibc, strings.Join(above, "; "))
	}
	for _, lib := range n.libraries {
		if !slices.Contains(oldLibraries, lib) {
			t.Errorf("%s needs %s, which glibc 2.17 may not have (allowed: %v)", filepath.Base(path), lib, oldLibraries)
		}
	}
	// Before glibc 2.34 the pthread functions live in libpthread.so.0, not libc.so.6.
	var pthread []string
	for _, syms := range n.symbols {
		for _, s := range syms {
			if strings.HasPrefix(s, "pthread_") {
				pthread = append(pthread, s)
			}
		}
	}
	if len(pthread) > 0 && !slices.Contains(n.libraries, "libpthread.so.0") {
		t.Errorf("%s imports %d pthread functions but does not need libpthread.so.0, where glibc < 2.34 has them", filepath.Base(path), len(pthread))
	}
	if _, err := exec.LookPath("objdump"); err == nil {
		if od := objdumpMaxGlibc(t, path); od != n.max {
			t.Errorf("objdump -T says the highest version is %q, the ELF version needs say %q", od, n.max)
		}
	}
	t.Logf("%s: highest glibc version needed %s (floor %s), libraries %v", filepath.Base(path), n.max, maxGlibc, n.libraries)
}

// TestSharedObjectGlibc fails when the host's .so or any .so of make dist needs a glibc newer
// than 2.17, so a toolchain or code change cannot silently produce a file that aws-for-fluent-bit
// 2.x (glibc 2.26) or an old distribution cannot load.
func TestSharedObjectGlibc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the .so is a Linux ELF object")
	}
	t.Run("host", func(t *testing.T) { checkGlibcFloor(t, soPath(t)) })
	for _, arch := range distArches {
		t.Run("dist-"+arch, func(t *testing.T) { checkGlibcFloor(t, distSOs(t)[arch]) })
	}
}
