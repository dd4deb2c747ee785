package docker_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// requirement is one line of a go.mod require block.
type requirement struct {
	path, version string
	indirect      bool
}

// goModRequirements reads the require directives of the module's go.mod (block and
// single-line forms).
func goModRequirements(t *testing.T, root string) []requirement {
	t.Helper()
	var out []requirement
	inBlock := false
	for _, line := range strings.Split(readFile(t, filepath.Join(root, "go.mod")), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "require (":
			inBlock = true
			continue
		case inBlock && line == ")":
			inBlock = false
			continue
		case strings.HasPrefix(line, "require "):
			line = strings.TrimPrefix(line, "require ")
		case !inBlock:
			continue
		}
		code, comment, _ := strings.Cut(line, "//")
		f := strings.Fields(code)
		if len(f) != 2 {
			continue
		}
		out = append(out, requirement{f[0], f[1], strings.TrimSpace(comment) == "indirect"})
	}
	if len(out) == 0 {
		t.Fatal("go.mod: no requirements found")
	}
	return out
}

// moduleCacheDir is where `go mod download` puts path@version, or "" when it is not there.
// Upper-case letters are stored as '!' and the lower-case letter, as the module cache does.
func moduleCacheDir(cache, path, version string) string {
	if cache == "" {
		return ""
	}
	var b strings.Builder
	for _, r := range path + "@" + version {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	dir := filepath.Join(cache, filepath.FromSlash(b.String()))
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// licenseOf names the license a module's LICENSE file states first, as an SPDX id, or ""
// when there is no such file or its text is none of the kinds below. Only the first license
// in the file counts: modules that vendor code under other terms append those after it.
func licenseOf(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "[Ll][Ii][Cc][Ee][Nn][Ss][Ee]*"))
	if len(files) == 0 {
		files, _ = filepath.Glob(filepath.Join(dir, "COPYING*"))
	}
	if len(files) == 0 {
		return ""
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		return ""
	}
	text := strings.Join(strings.Fields(string(b)), " ")
	head := text
	if len(head) > 1500 {
		head = head[:1500]
	}
	switch {
	case strings.Contains(head, "Apache License") && strings.Contains(head, "Version 2.0"):
		return "Apache-2.0"
	case strings.Contains(head, "Permission is hereby granted, free of charge"):
		return "MIT"
	case strings.Contains(head, "Redistribution and use in source and binary forms") && strings.Contains(head, "Neither the name"):
		return "BSD-3-Clause"
	case strings.Contains(head, "Redistribution and use in source and binary forms"):
		return "BSD-2-Clause"
	}
	return ""
}

// allowedLicenses are the licenses a module the .so links may carry: permissive ones an
// Apache-2.0 binary can include.
var allowedLicenses = map[string]bool{"Apache-2.0": true, "MIT": true, "BSD-2-Clause": true, "BSD-3-Clause": true}

// TestDependencyTable checks README's dependency table against go.mod: one row per direct
// requirement, at its version, and no row for anything else; and, for every module the
// cache holds, that the license stated is what its LICENSE file says. Any requirement,
// direct or indirect, whose downloaded LICENSE is not a permissive license fails.
func TestDependencyTable(t *testing.T) {
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "LICENSE")); err != nil {
		t.Fatalf("the repository has no LICENSE: %v", err)
	}
	if got := licenseOf(root); got != "Apache-2.0" {
		t.Errorf("LICENSE is %q, want the Apache License 2.0", got)
	}
	readme := readFile(t, filepath.Join(root, "README.md"))
	if !strings.Contains(readme, "Apache License 2.0 ([LICENSE](LICENSE))") {
		t.Error("README does not state the license with a link to LICENSE")
	}
	i := strings.Index(readme, "### Dependencies\n")
	if i < 0 {
		t.Fatal(`README has no "### Dependencies" section`)
	}
	section := readme[i+4:]
	if j := strings.Index(section, "\n#"); j >= 0 {
		section = section[:j]
	}
	row := regexp.MustCompile(`(?m)^\| ([a-z0-9./-]+) \| (v[0-9][^ |]*) \| ([A-Za-z0-9.-]+) \| [^|\n]+`)
	type stated struct{ version, license string }
	table := map[string]stated{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		if _, dup := table[m[1]]; dup {
			t.Errorf("README's dependency table lists %s twice", m[1])
		}
		table[m[1]] = stated{m[2], m[3]}
	}
	if len(table) == 0 {
		t.Fatal("README's dependency table has no rows of the form | module | version | license | why |")
	}

	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	cache := strings.TrimSpace(string(out))
	direct := map[string]bool{}
	checked := 0
	for _, r := range goModRequirements(t, root) {
		dir := moduleCacheDir(cache, r.path, r.version)
		lic := ""
		if dir != "" {
			lic = licenseOf(dir)
			checked++
			if !allowedLicenses[lic] {
				t.Errorf("%s %s: its LICENSE is %q, not one of the permissive licenses allowed", r.path, r.version, lic)
			}
		}
		if r.indirect {
			continue
		}
		direct[r.path] = true
		s, ok := table[r.path]
		switch {
		case !ok:
			t.Errorf("go.mod requires %s %s; README's dependency table has no row for it", r.path, r.version)
		case s.version != r.version:
			t.Errorf("README's dependency table says %s %s; go.mod requires %s", r.path, s.version, r.version)
		case lic != "" && s.license != lic:
			t.Errorf("README's dependency table says %s is %s; its LICENSE is %s", r.path, s.license, lic)
		case !allowedLicenses[s.license]:
			t.Errorf("README's dependency table says %s is %q, not a license this check knows", r.path, s.license)
		}
	}
	for path := range table {
		if !direct[path] {
			t.Errorf("README's dependency table lists %s, which is not a direct requirement in go.mod", path)
		}
	}
	if checked == 0 {
		t.Log("no requirement is in the module cache; licenses were not read (run go mod download)")
	}
}
