package docker_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// sbomPath is the CycloneDX SBOM make dist writes beside a .so.
func sbomPath(so string) string { return strings.TrimSuffix(so, ".so") + ".cdx.json" }

type cdxHash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

type cdxLicense struct {
	License struct {
		ID string `json:"id"`
	} `json:"license"`
}

type cdxComponent struct {
	BOMRef       string       `json:"bom-ref"`
	Type         string       `json:"type"`
	Name         string       `json:"name"`
	Version      string       `json:"version"`
	PURL         string       `json:"purl"`
	Hashes       []cdxHash    `json:"hashes"`
	Licenses     []cdxLicense `json:"licenses"`
	IsExternal   bool         `json:"isExternal"`
	VersionRange string       `json:"versionRange"`
	Evidence     struct {
		Licenses []cdxLicense `json:"licenses"`
	} `json:"evidence"`
}

type cdxBOM struct {
	BOMFormat    string `json:"bomFormat"`
	SpecVersion  string `json:"specVersion"`
	SerialNumber string `json:"serialNumber"`
	Metadata     struct {
		Timestamp string       `json:"timestamp"`
		Component cdxComponent `json:"component"`
	} `json:"metadata"`
	Components   []cdxComponent `json:"components"`
	Dependencies []struct {
		Ref       string   `json:"ref"`
		DependsOn []string `json:"dependsOn"`
	} `json:"dependencies"`
}

// goVersionM is what `go version -m` reports for a binary: its Go version and, per module
// linked in, version and go.sum hash.
func goVersionM(t *testing.T, path string) (goVersion string, deps map[string][2]string) {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", path).Output()
	if err != nil {
		t.Fatalf("go version -m %s: %v", path, err)
	}
	deps = map[string][2]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && strings.HasSuffix(f[0], ":"):
			goVersion = f[1]
		case len(f) >= 3 && f[0] == "dep":
			var sum string
			if len(f) >= 4 {
				sum = f[3]
			}
			deps[f[1]] = [2]string{f[2], sum}
		case len(f) >= 2 && f[0] == "=>":
			t.Fatalf("%s: replaced module %v: the SBOM test does not handle replacements", path, f)
		}
	}
	if goVersion == "" || len(deps) == 0 {
		t.Fatalf("go version -m %s printed no Go version or no dep lines:\n%s", path, out)
	}
	return goVersion, deps
}

// TestSBOM checks each SBOM of make dist against its .so: exactly the modules `go version -m`
// reports, each with its version and its go.sum hash (h1: is the SHA-256 the SBOM gives), a
// license for each, the Go toolchain as the std component, the version stamped into the .so,
// and the C libraries the .so needs (DT_NEEDED) as external components; no serial number and
// no timestamp, which would make two builds differ.
func TestSBOM(t *testing.T) {
	sos := distSOs(t)
	version := os.Getenv("ENVOY_S3_VERSION")
	for _, arch := range distArches {
		t.Run(arch, func(t *testing.T) {
			so := sos[arch]
			b, err := os.ReadFile(sbomPath(so))
			if err != nil {
				t.Fatal(err)
			}
			var bom cdxBOM
			if err := json.Unmarshal(b, &bom); err != nil {
				t.Fatalf("%s: %v", sbomPath(so), err)
			}
			if bom.BOMFormat != "CycloneDX" || bom.SpecVersion != "1.6" {
				t.Errorf("bomFormat %q specVersion %q; want CycloneDX 1.6", bom.BOMFormat, bom.SpecVersion)
			}
			if bom.SerialNumber != "" || bom.Metadata.Timestamp != "" {
				t.Errorf("serial number %q, timestamp %q: either makes the SBOM differ between two builds of one commit", bom.SerialNumber, bom.Metadata.Timestamp)
			}
			main := bom.Metadata.Component
			if main.Name != "github.com/envoy-s3/envoy_s3" || (version != "" && main.Version != version) {
				t.Errorf("main component %s %s; want github.com/envoy-s3/envoy_s3 %s", main.Name, main.Version, version)
			}

			goVersion, deps := goVersionM(t, so)
			got := map[string]cdxComponent{}
			var std *cdxComponent
			var libs []cdxComponent
			for i, c := range bom.Components {
				switch {
				case c.Name == "std":
					std = &bom.Components[i]
				case strings.HasPrefix(c.PURL, "pkg:golang/"):
					if _, dup := got[c.Name]; dup {
						t.Errorf("module %s listed twice", c.Name)
					}
					got[c.Name] = c
					if !strings.Contains(c.PURL, "goarch="+arch+"&") {
						t.Errorf("%s: purl %s; want goarch=%s", c.Name, c.PURL, arch)
					}
				case c.IsExternal:
					libs = append(libs, c)
				default:
					t.Errorf("component %q (%s) is neither a Go module nor a runtime library", c.Name, c.BOMRef)
				}
			}
			for path, vs := range deps {
				c, ok := got[path]
				if !ok {
					t.Errorf("go version -m lists %s %s; the SBOM does not", path, vs[0])
					continue
				}
				if c.Version != vs[0] {
					t.Errorf("%s: SBOM version %s; go version -m says %s", path, c.Version, vs[0])
				}
				if want := h1SHA256(t, vs[1]); !slices.Contains(c.Hashes, cdxHash{"SHA-256", want}) {
					t.Errorf("%s: SBOM hashes %v; want SHA-256 %s (go.sum's %s)", path, c.Hashes, want, vs[1])
				}
				if len(c.Licenses) == 0 && len(c.Evidence.Licenses) == 0 {
					t.Errorf("%s %s: no license in the SBOM (is the module in the module cache?)", path, c.Version)
				}
			}
			for path := range got {
				if _, ok := deps[path]; !ok {
					t.Errorf("the SBOM lists %s, which go version -m does not report", path)
				}
			}
			if std == nil || std.Version != goVersion {
				t.Errorf("std component %v; want the Go toolchain %s", std, goVersion)
			}

			e, err := elf.Open(so)
			if err != nil {
				t.Fatal(err)
			}
			needed, err := e.ImportedLibraries()
			e.Close()
			if err != nil {
				t.Fatal(err)
			}
			var libNames []string
			for _, l := range libs {
				libNames = append(libNames, l.Name)
				if len(l.Licenses) == 0 {
					t.Errorf("runtime library %s has no license", l.Name)
				}
				if l.Name == "libc.so.6" {
					v, ok := glibcVersion("GLIBC_" + strings.TrimPrefix(l.VersionRange, "vers:generic/>="))
					if !ok || less(mustVersion(t, maxGlibc), v) {
						t.Errorf("libc.so.6 versionRange %q; want vers:generic/>=2.x, at most %s", l.VersionRange, maxGlibc)
					}
				}
			}
			slices.Sort(libNames)
			slices.Sort(needed)
			if !slices.Equal(libNames, needed) || len(needed) == 0 {
				t.Errorf("SBOM runtime libraries %v; the .so needs (DT_NEEDED) %v", libNames, needed)
			}
			for _, d := range bom.Dependencies {
				if d.Ref == main.BOMRef {
					for _, l := range libs {
						if !slices.Contains(d.DependsOn, l.BOMRef) {
							t.Errorf("the main component does not depend on %s", l.Name)
						}
					}
				}
			}
			t.Logf("%s: %d modules, std %s, runtime libraries %v", sbomPath(so), len(got), std.Version, libNames)
		})
	}
}

// h1SHA256 turns a go.sum hash (h1:base64) into the hex SHA-256 CycloneDX records.
func h1SHA256(t *testing.T, h1 string) string {
	b64, ok := strings.CutPrefix(h1, "h1:")
	if !ok {
		t.Fatalf("hash %q is not h1:", h1)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("hash %q: %v", h1, err)
	}
	return hex.EncodeToString(raw)
}
