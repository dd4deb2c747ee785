package docker_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadmeListsFuzzTargets checks test/README.md's "Fuzz targets" table against the
// Fuzz functions of internal/, and that each target's committed seeds exist:
// for testdata/fuzz/, a non-empty directory named after the target.
func TestReadmeListsFuzzTargets(t *testing.T) {
	root := repoRoot(t)
	readme := readFile(t, filepath.Join(root, "test", "README.md"))
	i := strings.Index(readme, "## Fuzz targets\n")
	if i < 0 {
		t.Fatal(`test/README.md has no "## Fuzz targets" section`)
	}
	section := readme[i:]
	if j := strings.Index(section[4:], "\n#"); j >= 0 {
		section = section[:j+4]
	}
	row := regexp.MustCompile("(?m)^\\| `(internal/[a-z0-9]+)` \\| ([^|]+) \\| ([^|]+) \\|$")
	quoted := regexp.MustCompile("`([^`]+)`")
	listed := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		pkg := filepath.Join(root, m[1])
		for _, tm := range quoted.FindAllStringSubmatch(m[2], -1) {
			target := m[1] + "." + tm[1]
			if listed[target] {
				t.Errorf("test/README.md lists %s twice", target)
			}
			listed[target] = true
			for _, sm := range quoted.FindAllStringSubmatch(m[3], -1) {
				pattern := filepath.Join(pkg, sm[1])
				if sm[1] == "testdata/fuzz/" {
					pattern = filepath.Join(pkg, "testdata", "fuzz", tm[1], "*")
				}
				if files, _ := filepath.Glob(pattern); len(files) == 0 {
					t.Errorf("%s: test/README.md says its seeds are in %s; nothing there (%s)", target, sm[1], pattern)
				}
			}
		}
	}
	fuzzFunc := regexp.MustCompile(`(?m)^func (Fuzz[A-Za-z0-9_]*)\(f \*testing\.F\)`)
	tests, _ := filepath.Glob(filepath.Join(root, "internal", "*", "*_test.go"))
	var found []string
	for _, path := range tests {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pkg, _ := filepath.Rel(root, filepath.Dir(path))
		for _, m := range fuzzFunc.FindAllStringSubmatch(string(b), -1) {
			target := filepath.ToSlash(pkg) + "." + m[1]
			found = append(found, target)
			if !listed[target] {
				t.Errorf("test/README.md's fuzz table lacks %s", target)
			}
		}
	}
	for target := range listed {
		if !slices.Contains(found, target) {
			t.Errorf("test/README.md's fuzz table lists %s, which is not a fuzz target", target)
		}
	}
	if len(found) == 0 {
		t.Fatal("found no fuzz targets under internal/")
	}
}
