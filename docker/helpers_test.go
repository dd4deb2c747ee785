package docker_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the module root, one level above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found above docker/: %v", err)
	}
	return root
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mapGetter is config.Getter over FireLens options: keys compare case-insensitively, as
// Fluent Bit compares property names.
type mapGetter map[string]string

func (m mapGetter) Get(key string) string { return m[strings.ToLower(key)] }

// section is one [NAME] block of a classic-format Fluent Bit file.
type section struct {
	name  string
	props [][2]string // key, value in file order
}

// parseClassicConf reads Fluent Bit's classic format: [SECTION] headers, "key value" lines,
// '#' comments. It is strict enough for the files shipped here, not a general parser.
func parseClassicConf(t *testing.T, text string) []section {
	t.Helper()
	var out []section
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			out = append(out, section{name: strings.ToUpper(line[1 : len(line)-1])})
		default:
			if len(out) == 0 {
				t.Fatalf("line %d: property outside a section: %q", n, line)
			}
			k, v, ok := strings.Cut(line, " ")
			if !ok {
				t.Fatalf("line %d: property without a value: %q", n, line)
			}
			s := &out[len(out)-1]
			s.props = append(s.props, [2]string{k, strings.TrimSpace(v)})
		}
	}
	return out
}
