package docker_test

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instructions joins continuation lines and drops comments: one string per Dockerfile
// instruction.
func instructions(text string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasPrefix(trimmed, "#") { // a comment inside a continued instruction
			continue
		}
		if s, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(s)
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(trimmed)
		out = append(out, strings.Join(strings.Fields(cur.String()), " "))
		cur.Reset()
	}
	return out
}

var reJSONString = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)

// TestDockerfileBuildsWithMake checks that the image is built by the same Makefile target, with
// the same flags, as the .so the other tests check; that the runtime is a pinned
// aws-for-fluent-bit 3.x; and that the CMD loads AWS's Go plugins and ours.
func TestDockerfileBuildsWithMake(t *testing.T) {
	root := repoRoot(t)
	makefile := readFile(t, filepath.Join(root, "Makefile"))
	var gobuild string
	for _, line := range strings.Split(makefile, "\n") {
		if strings.HasPrefix(line, "GOBUILD_SO") {
			gobuild = line
		}
	}
	if !strings.Contains(gobuild, "build "+buildFlags) {
		t.Errorf("Makefile GOBUILD_SO = %q; want it to contain %q (the flags this test builds with)", gobuild, "build "+buildFlags)
	}
	if !regexp.MustCompile(`(?m)^\$\(SO\):.*\n\t\$\(GOBUILD_SO\) -o \$\(SO\) \./plugin$`).MatchString(makefile) {
		t.Error("Makefile: the $(SO) target no longer runs `$(GOBUILD_SO) -o $(SO) ./plugin`")
	}
	if !regexp.MustCompile(`(?m)^SO\s*:=\s*envoy_s3\.so$`).MatchString(makefile) {
		t.Error("Makefile: SO is no longer envoy_s3.so")
	}

	ins := instructions(readFile(t, filepath.Join(root, "docker", "Dockerfile")))
	args := map[string]string{}
	var froms, runs, copies []string
	var cmd string
	for _, in := range ins {
		op, rest, _ := strings.Cut(in, " ")
		switch strings.ToUpper(op) {
		case "ARG":
			k, v, _ := strings.Cut(rest, "=")
			args[k] = v
		case "FROM":
			froms = append(froms, rest)
		case "RUN":
			runs = append(runs, rest)
		case "COPY":
			copies = append(copies, rest)
		case "CMD":
			cmd = rest
		}
	}
	if len(froms) < 3 {
		t.Fatalf("want a toolchain, a builder and a runtime stage; FROM lines: %q", froms)
	}
	for _, name := range []string{"GO_IMAGE", "BUILDER_IMAGE", "RUNTIME_IMAGE"} {
		img := args[name]
		_, tag, ok := strings.Cut(img[strings.LastIndex(img, "/")+1:], ":")
		if !ok || tag == "" || tag == "latest" || tag == "stable" {
			t.Errorf("ARG %s=%q: pin the image by a version tag", name, img)
		}
	}
	if rt := args["RUNTIME_IMAGE"]; !strings.HasPrefix(rt, "public.ecr.aws/aws-observability/aws-for-fluent-bit:3.") {
		t.Errorf("RUNTIME_IMAGE=%q; want aws-for-fluent-bit 3.x", rt)
	}
	if b := args["BUILDER_IMAGE"]; !strings.Contains(b, "amazonlinux:2023") {
		t.Errorf("BUILDER_IMAGE=%q; the glibc limit (%s) assumes an Amazon Linux 2023 builder", b, maxGlibc)
	}
	if froms[len(froms)-1] != "${RUNTIME_IMAGE}" {
		t.Errorf("last stage is FROM %q; want ${RUNTIME_IMAGE}", froms[len(froms)-1])
	}

	if !slices.Contains(runs, "make envoy_s3.so") {
		t.Errorf("no `RUN make envoy_s3.so` in the Dockerfile (RUN lines: %q): build the image's .so with the Makefile", runs)
	}
	for _, r := range runs {
		if strings.Contains(r, "go build") {
			t.Errorf("RUN %q: build through `make envoy_s3.so`, not a go build of its own, so the image gets the tested flags", r)
		}
	}
	if !slices.Contains(copies, "--from=builder /src/envoy_s3.so /fluent-bit/envoy_s3.so") {
		t.Errorf("the runtime stage does not copy the built .so to /fluent-bit/envoy_s3.so (COPY lines: %q)", copies)
	}

	var argv []string
	for _, m := range reJSONString.FindAllStringSubmatch(cmd, -1) {
		argv = append(argv, m[1])
	}
	if !strings.HasPrefix(strings.TrimSpace(cmd), "[") || len(argv) == 0 || argv[0] != "/fluent-bit/bin/fluent-bit" {
		t.Fatalf("CMD %q: want exec form starting with /fluent-bit/bin/fluent-bit", cmd)
	}
	var plugins []string
	for i := 1; i < len(argv)-1; i++ {
		if argv[i] == "-e" {
			plugins = append(plugins, argv[i+1])
		}
	}
	want := []string{"/fluent-bit/firehose.so", "/fluent-bit/cloudwatch.so", "/fluent-bit/kinesis.so", "/fluent-bit/envoy_s3.so"}
	if !slices.Equal(plugins, want) {
		t.Errorf("CMD loads %q; want %q (AWS's Go plugins kept, ours added)", plugins, want)
	}
	if i := slices.Index(argv, "-c"); i < 0 || i+1 >= len(argv) || argv[i+1] != "/fluent-bit/etc/fluent-bit.conf" {
		t.Errorf("CMD %q: want -c /fluent-bit/etc/fluent-bit.conf, the file FireLens generates", argv)
	}
	for _, p := range plugins {
		if strings.HasPrefix(filepath.Base(p), "flb-") {
			t.Errorf("%s: Fluent Bit treats flb-* files as C plugins", p)
		}
	}
}
