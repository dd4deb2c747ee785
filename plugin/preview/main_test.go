package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestCommand(t *testing.T) {
	lines := filepath.Join("..", "..", "internal", "preview", "testdata", "lines.input")
	cases := []struct {
		name   string
		args   []string
		stdin  string
		rc     int
		stdout []string
		stderr string
	}{
		{"file", []string{"-daily-gb", "5", lines}, "", 0, []string{"access     s3://", "== envoy_s3 preview: 8 records", "saved"}, ""},
		{"stdin summary only", []string{"-q", "-o", "compression=zstd"}, "[2026-11-24 07:17:32.026][14][info][main] x\n", 0, []string{"records    access 0, other 1"}, ""},
		{"json", []string{"-json", "-q=false", lines}, "", 0, []string{`{"line":1,"dest":"access"`}, ""},
		{"misspelt key", []string{"-o", "compresion=zstd", lines}, "", 1, nil, `envoy_s3: unknown key "compresion" (did you mean "compression"?)`},
		{"not key=value", []string{"-o", "zstd", lines}, "", 1, nil, "key=value"},
		{"missing file", []string{filepath.Join(t.TempDir(), "nope.log")}, "", 1, nil, "no such file"},
		{"two files", []string{lines, lines}, "", 2, nil, "usage:"},
		{"fleet", []string{"-q", "-fleet-tasks", "10000", "-fleet-rps", "10", lines}, "", 0, []string{"fleet      10000 tasks in 1000 services at 10 requests/s each (upload_timeout 5m0s", "objects a day", "objects per Athena query"}, ""},
		{"fleet without access records", []string{"-q", "-fleet-tasks", "10"}, "[2026-11-24 07:17:32.026][14][info][main] x\n", 1, nil, "-fleet-tasks needs a sample with access records"},
		{"fleet of more services than tasks", []string{"-q", "-fleet-tasks", "10", "-fleet-services", "20", lines}, "", 1, nil, "-fleet-services <= tasks"},
		{"unknown flag", []string{"-bogus"}, "", 2, nil, "usage:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			rc := run(c.args, strings.NewReader(c.stdin), &out, &errb)
			if rc != c.rc {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", rc, c.rc, out.String(), errb.String())
			}
			for _, want := range c.stdout {
				if !strings.Contains(out.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, out.String())
				}
			}
			if c.stderr != "" && !strings.Contains(errb.String(), c.stderr) {
				t.Errorf("stderr lacks %q:\n%s", c.stderr, errb.String())
			}
			if c.rc == 1 && strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
				t.Errorf("an error takes more than one line:\n%s", errb.String())
			}
		})
	}
	if _, err := os.Stat(lines); err != nil {
		t.Fatal(err)
	}
}

// TestVersionFlag builds the command stamped as the Makefile stamps it and checks that
// -version prints that version, the Go toolchain and the platform, and nothing else.
func TestVersionFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	const stamp = "v9.8.7-dev+g0123456789ab"
	bin := filepath.Join(t.TempDir(), "envoy_s3-preview")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X github.com/envoy-s3/envoy_s3/internal/buildinfo.Version="+stamp, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-version").Output()
	if err != nil {
		t.Fatalf("-version: %v", err)
	}
	want := "envoy_s3 " + stamp + " (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if string(out) != want {
		t.Errorf("-version printed %q; want %q", out, want)
	}

	// Unstamped (go run, go test): "dev".
	var stdout, stderr bytes.Buffer
	if rc := run([]string{"-version"}, strings.NewReader(""), &stdout, &stderr); rc != 0 || !strings.HasPrefix(stdout.String(), "envoy_s3 dev (") || stderr.Len() != 0 {
		t.Errorf("run -version: exit %d, stdout %q, stderr %q", rc, stdout.String(), stderr.String())
	}
}
