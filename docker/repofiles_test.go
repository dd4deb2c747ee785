package docker_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// outsideRefs are references every file of the repository must do without: documents of the
// project's own workspace that a clone does not have, and issue numbers (a reader of a clone
// cannot look them up). TestReadmeShape checks the user documents for more; this covers the
// code, its comments, the configs and the test data too.
var outsideRefs = []*regexp.Regexp{
	regexp.MustCompile(`\b(SPEC|REFERENCE)\.md\b`),
	regexp.MustCompile(`\bshared/[A-Za-z]`),
	regexp.MustCompile(`(?i)\bissues?\s+#?\d+`),
}

// repoFiles lists the files of the repository as git sees them (committed or new, not
// ignored); without git, every file under the root but .git, bin and dist.
func repoFiles(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil && len(out) > 0 {
		var files []string
		for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
			if _, err := os.Stat(filepath.Join(root, f)); err == nil { // not deleted in the work tree
				files = append(files, f)
			}
		}
		return files
	}
	var files []string
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && (rel == ".git" || rel == "bin" || rel == "dist") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files
}

// TestNoReferencesOutsideTheRepository reads every text file of the repository for a
// reference to something a clone does not hold.
func TestNoReferencesOutsideTheRepository(t *testing.T) {
	root := repoRoot(t)
	files := repoFiles(t, root)
	if len(files) < 100 {
		t.Fatalf("only %d files found in the repository", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil || bytes.IndexByte(b, 0) >= 0 || f == "go.sum" {
			continue // unreadable, binary, or checksums
		}
		for _, re := range outsideRefs {
			if loc := re.FindIndex(b); loc != nil {
				line := bytes.Count(b[:loc[0]], []byte("\n")) + 1
				t.Errorf("%s:%d: %q refers to something outside the repository: say it here, or name the file of the repository that says it", f, line, b[loc[0]:loc[1]])
			}
		}
	}
}
