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

// reLabel is one key="value" pair of a LABEL instruction.
var reLabel = regexp.MustCompile(`([a-z0-9.-]+)="((?:[^"\\]|\\.)*)"`)

var reJSONString = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)

// The aws-for-fluent-bit releases the image is built on; the docs, the Makefile and the
// examples must name the same ones (TestImageDocsAgree).
const (
	runtime3 = "public.ecr.aws/aws-observability/aws-for-fluent-bit:3.5.10"
	runtime2 = "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.34.3.20260623"
)

// dockerfile is docker/Dockerfile's instructions, sorted by kind.
type dockerfile struct {
	args                       map[string]string
	froms, runs, copies, stage []string // stage: the ARG names declared after the last FROM
	cmd                        string
	labels                     map[string]string // the LABELs of the last stage
}

func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	d := dockerfile{args: map[string]string{}, labels: map[string]string{}}
	for _, in := range instructions(readFile(t, filepath.Join(repoRoot(t), "docker", "Dockerfile"))) {
		op, rest, _ := strings.Cut(in, " ")
		switch strings.ToUpper(op) {
		case "ARG":
			// A bare `ARG NAME` in a stage takes the global default: keep it.
			k, v, hasDefault := strings.Cut(rest, "=")
			if _, seen := d.args[k]; hasDefault || !seen {
				d.args[k] = v
			}
			d.stage = append(d.stage, k)
		case "LABEL":
			for _, m := range reLabel.FindAllStringSubmatch(rest, -1) {
				d.labels[m[1]] = m[2]
			}
		case "FROM":
			d.froms = append(d.froms, rest)
			d.stage = nil
			d.labels = map[string]string{}
		case "RUN":
			d.runs = append(d.runs, rest)
		case "COPY":
			d.copies = append(d.copies, rest)
		case "CMD":
			d.cmd = rest
		}
	}
	return d
}

// TestDockerfileBuildsWithMake checks that the image's .so is make dist's file for the image's
// architecture (the build the tests prove), built on the build machine's platform; that the
// runtime is aws-for-fluent-bit 3.5.10 by default and 2.34.3.x on request; and that the CMD
// loads AWS's Go plugins and ours.
func TestDockerfileBuildsWithMake(t *testing.T) {
	root := repoRoot(t)
	makefile := readFile(t, filepath.Join(root, "Makefile"))
	if !regexp.MustCompile(`(?m)^\$\(SO\):.*\n\t\$\(GOBUILD_SO\) -o \$\(SO\) \./plugin$`).MatchString(makefile) {
		t.Error("Makefile: the $(SO) target no longer runs `$(GOBUILD_SO) -o $(SO) ./plugin`")
	}
	if !regexp.MustCompile(`(?m)^\$\(DIST\)/envoy_s3-linux-\$\(CROSSARCH\)\.so:.*\n(\t@.*\n)*\tGOARCH=\$\(CROSSARCH\) CC=\S+ \$\(GOBUILD_SO\) -o \$@ \./plugin$`).MatchString(makefile) {
		t.Error("Makefile: the cross-compiled dist .so is no longer built by `$(GOBUILD_SO)` with GOARCH and CC set")
	}
	if !regexp.MustCompile(`(?m)^\$\(DIST\)/envoy_s3-linux-\$\(HOSTARCH\)\.so: \$\(SO\)\n(\t@.*\n)*\tcp \$\(SO\) \$@$`).MatchString(makefile) {
		t.Error("Makefile: the host's dist .so is no longer a copy of $(SO), the file the e2e tests load")
	}
	if !regexp.MustCompile(`(?m)^GOBUILD_SO\s*:=.*\$\(CGO_FLOOR\).*-ldflags "[^"]*-X github\.com/envoy-s3/envoy_s3/internal/buildinfo\.Version=\$\(VERSION\)"`).MatchString(makefile) {
		t.Error("Makefile: GOBUILD_SO lost the glibc floor ($(CGO_FLOOR)) or the version stamp")
	}

	d := parseDockerfile(t)
	for _, name := range []string{"BUILDER_IMAGE", "RUNTIME_IMAGE", "RUNTIME_IMAGE_2"} {
		img := d.args[name]
		_, tag, ok := strings.Cut(img[strings.LastIndex(img, "/")+1:], ":")
		if !ok || tag == "" || tag == "latest" || tag == "stable" {
			t.Errorf("ARG %s=%q: pin the image by a version tag", name, img)
		}
	}
	if d.args["RUNTIME_IMAGE"] != runtime3 {
		t.Errorf("RUNTIME_IMAGE=%q; want %s", d.args["RUNTIME_IMAGE"], runtime3)
	}
	if d.args["RUNTIME_IMAGE_2"] != runtime2 {
		t.Errorf("RUNTIME_IMAGE_2=%q; want %s", d.args["RUNTIME_IMAGE_2"], runtime2)
	}
	if d.args["AWS_FOR_FLUENT_BIT"] != "3" {
		t.Errorf("AWS_FOR_FLUENT_BIT=%q; the default image must be the 3.x one", d.args["AWS_FOR_FLUENT_BIT"])
	}
	goMod := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readFile(t, filepath.Join(root, "go.mod")))
	if goMod == nil || !strings.HasSuffix(d.args["BUILDER_IMAGE"], ":"+goMod[1]+"-bookworm") {
		t.Errorf("BUILDER_IMAGE=%q; want the Go of go.mod (%v) on Debian 12", d.args["BUILDER_IMAGE"], goMod)
	}
	wantFroms := []string{"--platform=$BUILDPLATFORM ${BUILDER_IMAGE} AS builder",
		"${RUNTIME_IMAGE} AS runtime-3", "${RUNTIME_IMAGE_2} AS runtime-2", "runtime-${AWS_FOR_FLUENT_BIT}"}
	if !slices.Equal(d.froms, wantFroms) {
		t.Errorf("FROM lines %q; want %q (a native builder, then the runtime chosen by AWS_FOR_FLUENT_BIT last)", d.froms, wantFroms)
	}
	if !slices.Contains(d.runs, "make dist VERSION=${VERSION}") {
		t.Errorf("no `RUN make dist VERSION=${VERSION}` in the Dockerfile (RUN lines: %q): build the image's .so with make dist", d.runs)
	}
	for _, r := range d.runs {
		if strings.Contains(r, "go build") {
			t.Errorf("RUN %q: build through `make dist`, not a go build of its own, so the image gets the tested flags", r)
		}
	}
	if !slices.Contains(d.stage, "TARGETARCH") {
		t.Error("the runtime stage does not declare ARG TARGETARCH, so ${TARGETARCH} would be empty")
	}
	if !slices.Contains(d.copies, "--from=builder /src/dist/envoy_s3-linux-${TARGETARCH}.so /fluent-bit/envoy_s3.so") {
		t.Errorf("the runtime stage does not copy make dist's .so of its architecture to /fluent-bit/envoy_s3.so (COPY lines: %q)", d.copies)
	}

	var argv []string
	for _, m := range reJSONString.FindAllStringSubmatch(d.cmd, -1) {
		argv = append(argv, m[1])
	}
	if !strings.HasPrefix(strings.TrimSpace(d.cmd), "[") || len(argv) == 0 || argv[0] != "/fluent-bit/bin/fluent-bit" {
		t.Fatalf("CMD %q: want exec form starting with /fluent-bit/bin/fluent-bit", d.cmd)
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

var reAWSImage = regexp.MustCompile(`aws-for-fluent-bit:([0-9][0-9.]*[0-9])`)

// TestImageDocsAgree checks that the image docs (docker/README.md), the Makefile's image
// target, the Dockerfile and the example task definitions name the same aws-for-fluent-bit
// releases and architectures, and that no user doc names another release.
func TestImageDocsAgree(t *testing.T) {
	root := repoRoot(t)
	readme := readFile(t, filepath.Join(root, "docker", "README.md"))
	dockerfileText := readFile(t, filepath.Join(root, "docker", "Dockerfile"))
	pinned := []string{runtime3[strings.LastIndex(runtime3, ":")+1:], runtime2[strings.LastIndex(runtime2, ":")+1:]}
	for name, text := range map[string]string{"README.md": readFile(t, filepath.Join(root, "README.md")), "test/README.md": readFile(t, filepath.Join(root, "test", "README.md"))} {
		for _, m := range reAWSImage.FindAllStringSubmatch(text, -1) {
			if !slices.Contains(pinned, m[1]) {
				t.Errorf("%s names aws-for-fluent-bit:%s; the image is built on %q", name, m[1], pinned)
			}
		}
	}
	for name, text := range map[string]string{"docker/README.md": readme, "docker/Dockerfile": dockerfileText} {
		for _, m := range reAWSImage.FindAllStringSubmatch(text, -1) {
			if !slices.Contains(pinned, m[1]) {
				t.Errorf("%s names aws-for-fluent-bit:%s; the image is built on %q", name, m[1], pinned)
			}
		}
		for _, tag := range pinned {
			if !strings.Contains(text, "aws-for-fluent-bit:"+tag) {
				t.Errorf("%s does not name aws-for-fluent-bit:%s", name, tag)
			}
		}
	}
	platforms := make([]string, len(distArches))
	for i, a := range distArches {
		platforms[i] = "linux/" + a
	}
	list := strings.Join(platforms, ",")
	if !regexp.MustCompile(`(?m)^PLATFORMS\s*\?=\s*` + regexp.QuoteMeta(list) + `$`).MatchString(readFile(t, filepath.Join(root, "Makefile"))) {
		t.Errorf("Makefile: PLATFORMS is not %s, the architectures make dist builds", list)
	}
	for name, text := range map[string]string{"docker/README.md": readme, "docker/Dockerfile": dockerfileText} {
		if !strings.Contains(text, "--platform "+list) {
			t.Errorf("%s does not show `--platform %s`", name, list)
		}
	}
	for _, a := range distArches {
		if !strings.Contains(readme, "envoy_s3-linux-"+a+".so") {
			t.Errorf("docker/README.md does not mention dist/envoy_s3-linux-%s.so", a)
		}
	}
	// ECS's cpuArchitecture values for the architectures the image has.
	ecsArch := map[string]string{"X86_64": "amd64", "ARM64": "arm64"}
	seen := map[string]bool{}
	for _, name := range []string{"fargate-task-definition.json", "ec2-task-definition.json"} {
		m := regexp.MustCompile(`"cpuArchitecture":\s*"([^"]+)"`).FindAllStringSubmatch(readFile(t, filepath.Join(root, "docker", "examples", name)), -1)
		for _, x := range m {
			a, ok := ecsArch[x[1]]
			if !ok || !slices.Contains(distArches, a) {
				t.Errorf("examples/%s asks for cpuArchitecture %s; the image has %v", name, x[1], distArches)
			}
			seen[a] = true
		}
	}
	if !seen["arm64"] {
		t.Error("no example runs on ARM64 (Graviton), the architecture emulation alone proves here")
	}
}

// TestDockerfileLabels checks the image's OCI labels: the final stage names its title, source,
// license and commit, and its version label is the VERSION build argument, the one the .so is
// stamped with (make dist VERSION=${VERSION}). Built without the argument, the image says the
// VERSION file's version with -dev, as the Makefile names a build outside a git checkout.
func TestDockerfileLabels(t *testing.T) {
	root := repoRoot(t)
	d := parseDockerfile(t)
	want := map[string]string{
		"org.opencontainers.image.version":  "${VERSION}",
		"org.opencontainers.image.revision": "${REVISION}",
		"org.opencontainers.image.source":   "https://github.com/envoy-s3/envoy_s3",
		"org.opencontainers.image.licenses": "Apache-2.0",
	}
	for k, v := range want {
		if d.labels[k] != v {
			t.Errorf("final stage LABEL %s=%q; want %q", k, d.labels[k], v)
		}
	}
	if d.labels["org.opencontainers.image.title"] == "" {
		t.Error("final stage has no LABEL org.opencontainers.image.title")
	}
	for _, arg := range []string{"VERSION", "REVISION"} {
		if !slices.Contains(d.stage, arg) {
			t.Errorf("the final stage does not declare ARG %s, so its label would be empty", arg)
		}
	}
	if !strings.Contains(readFile(t, filepath.Join(root, "LICENSE")), "Apache License") || !strings.Contains(readFile(t, filepath.Join(root, "LICENSE")), "Version 2.0") {
		t.Error("LICENSE is not the Apache License 2.0 the licenses label names")
	}
	mod := regexp.MustCompile(`(?m)^module (\S+)$`).FindStringSubmatch(readFile(t, filepath.Join(root, "go.mod")))
	if mod == nil || "https://"+mod[1] != want["org.opencontainers.image.source"] {
		t.Errorf("go.mod's module %v is not the source label's repository", mod)
	}
	release := releaseVersion(t)
	if got := d.args["VERSION"]; got != "v"+release+"-dev" {
		t.Errorf("Dockerfile ARG VERSION=%q; want v%s-dev (the VERSION file's, as the Makefile names a build without git)", got, release)
	}
	if !regexp.MustCompile(`(?m)^COPY Makefile VERSION \./$`).MatchString(readFile(t, filepath.Join(root, "docker", "Dockerfile"))) ||
		!strings.Contains(readFile(t, filepath.Join(root, "docker", "Dockerfile.dockerignore")), "\n!VERSION\n") {
		t.Error("the builder does not get the VERSION file (COPY Makefile VERSION ./ and !VERSION in Dockerfile.dockerignore)")
	}
	if !regexp.MustCompile(`(?m)^\s+docker buildx build .*--build-arg VERSION=\$\(VERSION\) --build-arg REVISION=`).MatchString(readFile(t, filepath.Join(root, "Makefile"))) {
		t.Error("Makefile: `make image` does not pass VERSION and REVISION to the build")
	}
}
