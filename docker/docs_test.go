package docker_test

import (
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/config"
)

// userDocs are the documents a user reads: the manual, deployment, tests and measurements.
var userDocs = []string{"README.md", "docker/README.md", "test/README.md", "CHANGELOG.md"}

func readDocs(t *testing.T, root string) map[string]string {
	t.Helper()
	docs := map[string]string{}
	for _, d := range userDocs {
		docs[d] = readFile(t, filepath.Join(root, filepath.FromSlash(d)))
	}
	return docs
}

// maxReadmeLines bounds README.md: a user's manual, with the depth in the other two files.
const maxReadmeLines = 450

// TestReadmeShape checks README.md's size, that it links the other two documents, and that
// no user document carries history: commit hashes, issue numbers, or files outside the
// repository.
func TestReadmeShape(t *testing.T) {
	root := repoRoot(t)
	docs := readDocs(t, root)
	readme := docs["README.md"]
	if n := strings.Count(readme, "\n"); n > maxReadmeLines {
		t.Errorf("README.md has %d lines; at most %d (move depth to docker/README.md or test/README.md)", n, maxReadmeLines)
	}
	for _, link := range []string{"](docker/README.md)", "](test/README.md)", "](LICENSE)"} {
		if !strings.Contains(readme, link) {
			t.Errorf("README.md does not link %s", strings.Trim(link, "]()"))
		}
	}
	// The first screen: its first shell block is the two commands for a fresh machine.
	at := strings.Index(readme, "```sh\n")
	if at < 0 {
		t.Fatal("README.md has no shell block")
	}
	if line := strings.Count(readme[:at], "\n") + 1; line > 50 {
		t.Errorf("README.md's first commands start on line %d; they belong on the first screen", line)
	}
	block := readme[at+len("```sh\n"):]
	block = block[:strings.Index(block, "```")]
	var cmds []string
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		cmd, _, _ := strings.Cut(line, "#")
		cmds = append(cmds, strings.TrimSpace(cmd))
	}
	if !slices.Equal(cmds, []string{"make demo", "make test"}) {
		t.Errorf("README.md's first commands are %q; want make demo and make test", cmds)
	}
	history := []*regexp.Regexp{
		regexp.MustCompile(`(?i)\b(main|commit|branch)\s+[0-9a-f]{7,40}\b`),
		regexp.MustCompile(`(?i)\bissues?\s+#?\d+`),
		regexp.MustCompile(`(^|\s)#\d{1,5}\b`),
		regexp.MustCompile(`\b(SPEC|REFERENCE)\.md\b`),
	}
	for name, text := range docs {
		for _, re := range history {
			if m := re.FindString(text); m != "" {
				t.Errorf("%s: %q: user docs state current facts, without commit hashes, issue numbers or files outside the repository", name, m)
			}
		}
	}
}

// goSources lists the non-test Go files under plugin/ and internal/: where the plugin's own
// messages are written, whatever package holds them.
func goSources(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"plugin", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) == 0 {
		t.Fatal("no Go sources under plugin/ and internal/")
	}
	return files
}

// stringLiterals returns the values of every string literal in the Go files: text that
// only a comment holds is not a message the plugin can print.
func stringLiterals(t *testing.T, files []string) []string {
	t.Helper()
	var out []string
	fset := token.NewFileSet()
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var s scanner.Scanner
		s.Init(fset.AddFile(path, -1, len(src)), src, nil, 0)
		for {
			_, tok, lit := s.Scan()
			if tok == token.EOF {
				break
			}
			if tok == token.STRING {
				if v, err := strconv.Unquote(lit); err == nil {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// loaderMessages are the troubleshooting rows whose message is the dynamic loader's
// (dlerror, printed by Fluent Bit when the .so cannot be loaded), not the plugin's: the
// plugin has not run, so no Go source can hold them. They are the only rows exempt.
var loaderMessages = []string{"not found (required by", "cannot open shared object file"}

// firstCodeSpan is the first inline code span of a Markdown table cell, also one fenced
// by two backticks to hold a backtick.
func firstCodeSpan(cell string) string {
	cell = strings.TrimSpace(cell)
	n := len(cell) - len(strings.TrimLeft(cell, "`"))
	if n == 0 {
		return ""
	}
	fence := cell[:n]
	end := strings.Index(cell[n:], fence)
	if end < 0 {
		return ""
	}
	return strings.TrimSpace(cell[n : n+end])
}

// TestTroubleshootingMessagesAreInTheCode reads README.md's troubleshooting table and finds
// each row's message, split where it shows "…", in the string literals of the plugin's Go
// sources, so the table cannot name a message the plugin no longer prints.
func TestTroubleshootingMessagesAreInTheCode(t *testing.T) {
	root := repoRoot(t)
	readme := readFile(t, filepath.Join(root, "README.md"))
	i := strings.Index(readme, "\n## Troubleshooting\n")
	if i < 0 {
		t.Fatal(`README.md has no "## Troubleshooting" section`)
	}
	section := readme[i+1:]
	if j := strings.Index(section, "\n## "); j >= 0 {
		section = section[:j]
	}
	literals := stringLiterals(t, goSources(t, root))
	rows, exempt := 0, 0
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, " | ")
		if len(cells) != 3 {
			t.Errorf("troubleshooting row has %d cells, want 3 (you see | cause | fix): %s", len(cells), line)
			continue
		}
		msg := firstCodeSpan(strings.TrimPrefix(cells[0], "|"))
		if msg == "" {
			t.Errorf("troubleshooting row does not start with a message in backticks: %s", line)
			continue
		}
		if strings.TrimSpace(cells[1]) == "" || strings.TrimSpace(strings.TrimSuffix(cells[2], "|")) == "" {
			t.Errorf("troubleshooting row for %q lacks a cause or a fix", msg)
		}
		rows++
		if slices.ContainsFunc(loaderMessages, func(s string) bool { return strings.Contains(msg, s) }) {
			exempt++
			continue
		}
		length := 0
		for _, frag := range strings.Split(msg, "…") {
			frag = strings.TrimSpace(frag)
			if frag == "" {
				continue
			}
			length += len(frag)
			if !slices.ContainsFunc(literals, func(l string) bool { return strings.Contains(l, frag) }) {
				t.Errorf("troubleshooting: %q (of %q) is in no string literal of plugin/ or internal/", frag, msg)
			}
		}
		if length < 15 {
			t.Errorf("troubleshooting: %q is too short to identify a message", msg)
		}
	}
	if rows < 12 {
		t.Errorf("the troubleshooting table has %d rows; want at least 12", rows)
	}
	if exempt > len(loaderMessages) {
		t.Errorf("%d troubleshooting rows quote the loader's messages; at most %d may", exempt, len(loaderMessages))
	}
}

// TestDocsNameWhatExists checks the names the three user documents give: every repository
// path in backticks or links, every `make` target, every `go run` / `go test` package, every
// ENVOY_S3_ variable, every Test and Benchmark function, and every `-o key=value` option.
func TestDocsNameWhatExists(t *testing.T) {
	root := repoRoot(t)
	docs := readDocs(t, root)
	makefile := readFile(t, filepath.Join(root, "Makefile"))
	var code, tests strings.Builder // every Go file of the repository; its _test.go files
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
			b, _ := os.ReadFile(path)
			code.Write(b)
			if strings.HasSuffix(path, "_test.go") {
				tests.Write(b)
			}
		}
		return nil
	})
	keys := map[string]bool{}
	for _, k := range config.Keys {
		keys[k.Name] = true
	}

	pathRE := regexp.MustCompile("`((?:internal|plugin|test|docker|dist|bin)/[A-Za-z0-9_./*-]*)`")
	linkRE := regexp.MustCompile(`\]\(([^)#:]+)\)`)
	makeRE := regexp.MustCompile(`(?m)(?:^|[\x60\s])make ([a-z][a-z-]*)`)
	goRE := regexp.MustCompile(`go (?:run|test)(?: -[^ ]+(?: '[^']*'| [^-. ][^ ]*)?)* (\./[A-Za-z0-9_/.-]+)`)
	envRE := regexp.MustCompile(`\bENVOY_S3_[A-Z_]+\b`)
	funcRE := regexp.MustCompile(`\b((?:Test|Benchmark)[A-Z][A-Za-z0-9_]*)\b`)
	optRE := regexp.MustCompile(`-o ([a-z_]+)=([^ "\x60]*)`)
	for name, text := range docs {
		base := filepath.Dir(filepath.Join(root, filepath.FromSlash(name)))
		for _, m := range pathRE.FindAllStringSubmatch(text, -1) {
			p := m[1]
			if strings.HasPrefix(p, "dist/") || strings.HasPrefix(p, "bin/") {
				continue // build outputs, not committed; TestDist checks dist/
			}
			if files, _ := filepath.Glob(filepath.Join(root, filepath.FromSlash(strings.TrimSuffix(p, "/")))); len(files) == 0 {
				t.Errorf("%s names `%s`, which does not exist", name, p)
			}
		}
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			if _, err := os.Stat(filepath.Join(base, filepath.FromSlash(m[1]))); err != nil {
				t.Errorf("%s links %s, which does not exist", name, m[1])
			}
		}
		for _, m := range makeRE.FindAllStringSubmatch(text, -1) {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(m[1]) + `:`).MatchString(makefile) {
				t.Errorf("%s runs `make %s`; the Makefile has no such target", name, m[1])
			}
		}
		for _, m := range goRE.FindAllStringSubmatch(text, -1) {
			p := strings.TrimSuffix(m[1], "/...")
			if st, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); err != nil || !st.IsDir() {
				t.Errorf("%s runs go on %s, which is not a package directory", name, m[1])
			}
		}
		for _, v := range envRE.FindAllString(text, -1) {
			if !strings.Contains(code.String(), `"`+v+`"`) {
				t.Errorf("%s names %s; no Go file of the repository names it", name, v)
			}
		}
		for _, m := range funcRE.FindAllStringSubmatch(text, -1) {
			if !strings.Contains(tests.String(), "func "+m[1]+"(") {
				t.Errorf("%s names %s; no _test.go file defines it", name, m[1])
			}
		}
		for _, m := range optRE.FindAllStringSubmatch(text, -1) {
			if m[1] == "key" && m[2] == "value" {
				continue // the syntax, not an option
			}
			if !keys[m[1]] {
				t.Errorf("%s passes -o %s=...; it is not a configuration key", name, m[1])
			}
		}
	}
}

// TestLayoutNamesEveryPackage checks that test/README.md's map of the code names every
// package under internal/ and plugin/, so a newcomer finds each one by its name there.
func TestLayoutNamesEveryPackage(t *testing.T) {
	root := repoRoot(t)
	layout := readFile(t, filepath.Join(root, "test", "README.md"))
	start := strings.Index(layout, "## Where the code is")
	if start < 0 {
		t.Fatal(`test/README.md has no "## Where the code is" section`)
	}
	layout = layout[start:]
	if end := strings.Index(layout[3:], "\n## "); end >= 0 {
		layout = layout[:end+3]
	}
	for _, top := range []string{"internal", "plugin"} {
		filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() || d.Name() == "testdata" {
				return nil
			}
			if gofiles, _ := filepath.Glob(filepath.Join(path, "*.go")); len(gofiles) == 0 {
				return nil
			}
			rel, _ := filepath.Rel(root, path)
			if rel = filepath.ToSlash(rel); !strings.Contains(layout, "`"+rel+"`") && rel != "plugin" {
				t.Errorf("test/README.md's map of the code does not name `%s`", rel)
			}
			return nil
		})
	}
	if !strings.Contains(layout, "`plugin/`") {
		t.Error("test/README.md's map of the code does not name `plugin/`")
	}
}
