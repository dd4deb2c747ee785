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

// makeVersion runs `make -s version` in dir, the version every build there is stamped with.
func makeVersion(t *testing.T, dir string, env ...string) string {
	t.Helper()
	cmd := exec.Command("make", "-s", "--no-print-directory", "version")
	cmd.Dir = dir
	// As from a shell: no VERSION, and no make variables from a `make test` above this.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "VERSION" && k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
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

// TestBuildsSayTheVersion checks that every build the Makefile makes is stamped with the same
// version: the .so (and so make dist and the SBOMs), and envoy_s3-preview, whose -version
// prints it. When `make` has built the preview here, it is run.
func TestBuildsSayTheVersion(t *testing.T) {
	root := repoRoot(t)
	makefile := readFile(t, filepath.Join(root, "Makefile"))
	stamp := regexp.QuoteMeta(`-ldflags "-X github.com/envoy-s3/envoy_s3/internal/buildinfo.Version=$(VERSION)"`)
	if !regexp.MustCompile(`(?m)^\$\(PREVIEW\): .*\$\(BIN\)/version\n\t@mkdir -p \$\(BIN\)\n\t\$\(GO\) build -trimpath ` + stamp + ` -o \$@ \./plugin/preview$`).MatchString(makefile) {
		t.Error("Makefile: $(PREVIEW) is not built with the version stamp (and rebuilt when the version changes)")
	}
	preview := filepath.Join(root, "bin", "envoy_s3-preview")
	built, err := os.ReadFile(filepath.Join(root, "bin", "version"))
	if _, perr := os.Stat(preview); perr != nil || err != nil {
		t.Skip("make has not built bin/envoy_s3-preview here")
	}
	out, err := exec.Command(preview, "-version").Output()
	if err != nil {
		t.Fatalf("%s -version: %v", preview, err)
	}
	if want := "envoy_s3 " + strings.TrimSpace(string(built)) + " ("; !strings.HasPrefix(string(out), want) {
		t.Errorf("%s -version printed %q; want it to start %q (bin/version, the .so's stamp)", preview, out, want)
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
