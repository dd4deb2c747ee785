package docker_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// releaseVersion is the VERSION file: the release this tree is, or leads to, as X.Y.Z.
func releaseVersion(t *testing.T) string {
	t.Helper()
	v := strings.TrimSpace(readFile(t, filepath.Join(repoRoot(t), "VERSION")))
	if !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(v) {
		t.Fatalf("VERSION holds %q; want X.Y.Z (semantic versioning, no v)", v)
	}
	return v
}

// cleanMakeEnv is this process's environment as a shell's: no VERSION, and no make variables
// from a `make test` that runs these tests.
func cleanMakeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "VERSION" && k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
			env = append(env, kv)
		}
	}
	return env
}

// makeVersion runs `make -s version` in dir, the version every build there is stamped with.
func makeVersion(t *testing.T, dir string, env ...string) string {
	t.Helper()
	cmd := exec.Command("make", "-s", "--no-print-directory", "version")
	cmd.Dir = dir
	cmd.Env = append(cleanMakeEnv(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make version in %s: %v", dir, err)
	}
	return strings.TrimSpace(string(out))
}

// TestVersionScheme checks how the Makefile names a build, in a scratch git repository holding
// the Makefile and the VERSION file: v<VERSION> for a clean tree at the tag v<VERSION>;
// v<VERSION>-dev+g<commit> at any other commit, with .dirty for uncommitted changes; and
// v<VERSION>-dev outside a git checkout (a source archive, the image's build context).
func TestVersionScheme(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	root := repoRoot(t)
	release := releaseVersion(t)
	dir := t.TempDir()
	for _, name := range []string{"Makefile", "VERSION", "go.mod"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(readFile(t, filepath.Join(root, name))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := makeVersion(t, dir, "GIT_CEILING_DIRECTORIES="+filepath.Dir(dir)); got != "v"+release+"-dev" {
		t.Errorf("outside git: version %q; want v%s-dev", got, release)
	}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "release")
	commit := git("rev-parse", "--short=12", "HEAD")
	if got, want := makeVersion(t, dir), "v"+release+"-dev+g"+commit; got != want {
		t.Errorf("untagged commit: version %q; want %q", got, want)
	}
	git("tag", "v"+release)
	if got := makeVersion(t, dir); got != "v"+release {
		t.Errorf("clean tree at the tag: version %q; want v%s", got, release)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := makeVersion(t, dir), "v"+release+"-dev+g"+commit+".dirty"; got != want {
		t.Errorf("changed tree at the tag: version %q; want %q", got, want)
	}
	git("commit", "-q", "-am", "after")
	if got, want := makeVersion(t, dir), "v"+release+"-dev+g"+git("rev-parse", "--short=12", "HEAD"); got != want {
		t.Errorf("commit after the tag: version %q; want %q", got, want)
	}
	if got := makeVersion(t, dir, "VERSION=v1.2.3"); got != "v1.2.3" {
		t.Errorf("VERSION=v1.2.3 in the environment: version %q; a VERSION passed in wins", got)
	}
}

// TestPreviewIsStamped builds envoy_s3-preview with the Makefile's own recipe, into a scratch
// directory with a VERSION passed in, and checks that -version prints that version: the preview
// is stamped as the .so is (TestInitSaysWhichBuild checks the .so's Init line).
func TestPreviewIsStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds envoy_s3-preview")
	}
	root := repoRoot(t)
	const stamp = "v0.0.1-dev+g0123456789ab"
	dir := t.TempDir()
	preview := filepath.Join(dir, "envoy_s3-preview")
	cmd := exec.Command("make", "-s", "--no-print-directory", "BIN="+dir, "PREVIEW="+preview, "VERSION="+stamp, preview)
	cmd.Dir = root
	cmd.Env = cleanMakeEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", preview, err, out)
	}
	out, err := exec.Command(preview, "-version").Output()
	if err != nil {
		t.Fatalf("envoy_s3-preview -version: %v", err)
	}
	if want := "envoy_s3 " + stamp + " ("; !strings.HasPrefix(string(out), want) {
		t.Errorf("the Makefile's envoy_s3-preview -version printed %q; want it to start %q", out, want)
	}
}

// TestChangelog checks that CHANGELOG.md has an entry for the VERSION file's release, newest
// first, and no commit hashes or issue numbers (it is for users).
func TestChangelog(t *testing.T) {
	text := readFile(t, filepath.Join(repoRoot(t), "CHANGELOG.md"))
	release := releaseVersion(t)
	heads := regexp.MustCompile(`(?m)^## \[([0-9]+\.[0-9]+\.[0-9]+)\]`).FindAllStringSubmatch(text, -1)
	if len(heads) == 0 || heads[0][1] != release {
		t.Errorf("CHANGELOG.md: the first release entry is %v; want ## [%s], the VERSION file's", heads, release)
	}
	if m := regexp.MustCompile(`\b[0-9a-f]{7,40}\b|#[0-9]+\b|[Ii]ssue [0-9]+`).FindString(text); m != "" {
		t.Errorf("CHANGELOG.md names %q: no commit hashes or issue numbers in a user document", m)
	}
}
