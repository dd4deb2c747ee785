package docker_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The runtime image is aws-for-fluent-bit 3.x on Amazon Linux 2023 (glibc 2.34). The .so must
// not need a newer glibc symbol version, or Fluent Bit fails to dlopen it at start.
const (
	maxGlibc   = "2.34" // Amazon Linux 2023: aws-for-fluent-bit 3.x
	glibcAL2   = "2.26" // Amazon Linux 2: aws-for-fluent-bit 2.x
	buildFlags = `-buildmode=c-shared -trimpath -ldflags "-s -w"`
)

// soPath returns the .so under test: $ENVOY_S3_SO (set by `make test`), else one built now with
// the Makefile's flags.
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
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go on PATH to build the .so: %v (or set ENVOY_S3_SO)", err)
	}
	out := filepath.Join(t.TempDir(), "envoy_s3.so")
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-trimpath", "-ldflags", "-s -w", "-o", out, "./plugin")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s ./plugin: %v\n%s", buildFlags, err, b)
	}
	t.Logf("built %s in %v", out, time.Since(start).Round(time.Millisecond))
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

// elfMaxGlibc reads the version needs (SHT_GNU_verneed) the dynamic loader checks.
func elfMaxGlibc(t *testing.T, path string) (maxName string, names []string) {
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	needs, err := f.DynamicVersionNeeds()
	if err != nil {
		t.Fatalf("%s: reading version needs: %v", path, err)
	}
	var best [2]int
	for _, n := range needs {
		for _, d := range n.Needs {
			v, ok := glibcVersion(d.Dep)
			if !ok {
				continue
			}
			names = append(names, n.Name+":"+d.Dep)
			if less(best, v) {
				best, maxName = v, d.Dep
			}
		}
	}
	return maxName, names
}

var reObjdumpGlibc = regexp.MustCompile(`\(?(GLIBC_[0-9]+\.[0-9]+(?:\.[0-9]+)?)\)?\s+\S+$`)

// objdumpMaxGlibc runs objdump -T, as a user checking the .so by hand would.
func objdumpMaxGlibc(t *testing.T, path string) (maxName string, symbols map[string][]string) {
	out, err := exec.Command("objdump", "-T", path).Output()
	if err != nil {
		t.Fatalf("objdump -T %s: %v", path, err)
	}
	symbols = map[string][]string{}
	var best [2]int
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := reObjdumpGlibc.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		v, ok := glibcVersion(m[1])
		if !ok {
			continue
		}
		fields := strings.Fields(sc.Text())
		symbols[m[1]] = append(symbols[m[1]], fields[len(fields)-1])
		if less(best, v) {
			best, maxName = v, m[1]
		}
	}
	return maxName, symbols
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

// TestSharedObjectGlibc fails when the .so needs a glibc newer than the runtime image's, so a
// toolchain or code change cannot silently produce an image whose Fluent Bit cannot load it.
func TestSharedObjectGlibc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the .so is a Linux ELF object")
	}
	so := soPath(t)
	elfMax, needs := elfMaxGlibc(t, so)
	if elfMax == "" {
		t.Fatalf("%s needs no GLIBC_x.y version at all (%v): not a glibc-linked cgo object?", so, needs)
	}
	got, _ := glibcVersion(elfMax)
	if less(mustVersion(t, maxGlibc), got) {
		t.Errorf("%s needs %s, newer than glibc %s of Amazon Linux 2023 (aws-for-fluent-bit 3.x): build it with an older glibc (docker/Dockerfile's builder)", so, elfMax, maxGlibc)
	}
	if _, err := exec.LookPath("objdump"); err == nil {
		odMax, symbols := objdumpMaxGlibc(t, so)
		if odMax != elfMax {
			t.Errorf("objdump -T says the highest version is %q, the ELF version needs say %q", odMax, elfMax)
		}
		t.Logf("objdump -T: highest %s, symbols %v", odMax, symbols[odMax])
	} else {
		t.Log("objdump not on PATH; checked the ELF version needs only")
	}
	onAL2 := !less(mustVersion(t, glibcAL2), got)
	t.Logf("%s: highest glibc version needed %s (limit %s, Amazon Linux 2023); loads on Amazon Linux 2 (glibc %s, aws-for-fluent-bit 2.x): %v", filepath.Base(so), elfMax, maxGlibc, glibcAL2, onAL2)
}
