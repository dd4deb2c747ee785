package sbom

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

const toolBOM = `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,
 "metadata":{"tools":[{"name":"cyclonedx-gomod","version":"v1.10.0","hashes":[{"alg":"SHA-256","content":"abcd"}]}],
  "component":{"bom-ref":"pkg:golang/example.com/m@v1?type=module#plugin","type":"application","name":"example.com/m"}},
 "components":[{"bom-ref":"pkg:golang/golang.org/x/sys@v0.38.0?type=module","type":"library","name":"golang.org/x/sys","version":"v0.38.0"}],
 "dependencies":[{"ref":"pkg:golang/example.com/m@v1?type=module#plugin","dependsOn":["pkg:golang/golang.org/x/sys@v0.38.0?type=module"]},
  {"ref":"pkg:golang/golang.org/x/sys@v0.38.0?type=module"}]}`

func TestComplete(t *testing.T) {
	libs := []RuntimeLib{
		{Soname: "libpthread.so.0"},
		{Soname: "libc.so.6", Versions: []string{"GLIBC_2.2.5", "GLIBC_2.3.2"}},
	}
	out, err := Complete([]byte(toolBOM), libs)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Complete([]byte(toolBOM), libs)
	if err != nil || !bytes.Equal(out, again) {
		t.Fatalf("two runs on the same input differ (err %v)", err)
	}
	var doc struct {
		Metadata struct {
			Tools []map[string]any `json:"tools"`
		} `json:"metadata"`
		Components []struct {
			BOMRef       string `json:"bom-ref"`
			Name         string `json:"name"`
			IsExternal   bool   `json:"isExternal"`
			VersionRange string `json:"versionRange"`
			Licenses     []any  `json:"licenses"`
		} `json:"components"`
		Dependencies []struct {
			Ref       string   `json:"ref"`
			DependsOn []string `json:"dependsOn"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, ok := doc.Metadata.Tools[0]["hashes"]; ok || doc.Metadata.Tools[0]["version"] != "v1.10.0" {
		t.Errorf("tool %v: want its name and version, without the hashes of the local executable", doc.Metadata.Tools[0])
	}
	if len(doc.Components) != 3 || doc.Components[0].Name != "golang.org/x/sys" {
		t.Fatalf("components %+v; want the module, then the two libraries", doc.Components)
	}
	libc := doc.Components[2]
	if libc.Name != "libc.so.6" || !libc.IsExternal || libc.VersionRange != "vers:generic/>=2.3.2" || len(libc.Licenses) != 1 {
		t.Errorf("libc component %+v", libc)
	}
	if p := doc.Components[1]; p.Name != "libpthread.so.0" || p.VersionRange != "" {
		t.Errorf("libpthread component %+v: no versions needed, so no range", p)
	}
	want := []string{"pkg:golang/golang.org/x/sys@v0.38.0?type=module", LibRef("libpthread.so.0"), LibRef("libc.so.6")}
	if !slices.Equal(doc.Dependencies[0].DependsOn, want) {
		t.Errorf("main dependsOn %v; want %v", doc.Dependencies[0].DependsOn, want)
	}
	if len(doc.Dependencies) != 4 {
		t.Errorf("dependencies %+v; want one entry per component and the main one", doc.Dependencies)
	}
	if strings.Contains(string(out), `\u003e`) {
		t.Error("'>' is HTML-escaped in the output")
	}
}

func TestCompleteRejects(t *testing.T) {
	for _, in := range []string{`nope`, `{"bomFormat":"SPDX"}`, `{"bomFormat":"CycloneDX","metadata":{}}`} {
		if _, err := Complete([]byte(in), nil); err == nil {
			t.Errorf("Complete(%s) accepted it", in)
		}
	}
	twice := strings.Replace(toolBOM, `"components":[`, `"components":[{"bom-ref":"elf-needed:libc.so.6","name":"libc.so.6"},`, 1)
	if _, err := Complete([]byte(twice), []RuntimeLib{{Soname: "libc.so.6"}}); err == nil {
		t.Error("a library already in the SBOM was added again")
	}
}

func TestCompareGlibc(t *testing.T) {
	v := []string{"GLIBC_2.17", "GLIBC_2.3.2", "GLIBC_2.2.5", "GLIBC_2.3"}
	slices.SortFunc(v, compareGlibc)
	if want := []string{"GLIBC_2.2.5", "GLIBC_2.3", "GLIBC_2.3.2", "GLIBC_2.17"}; !slices.Equal(v, want) {
		t.Errorf("sorted %v; want %v", v, want)
	}
}

// TestRuntimeLibraries reads the plugin's .so (make test sets ENVOY_S3_SO): it needs libc and
// libpthread, at most glibc 2.17.
func TestRuntimeLibraries(t *testing.T) {
	so := os.Getenv("ENVOY_S3_SO")
	if _, err := os.Stat(so); so == "" || err != nil {
		t.Skip("ENVOY_S3_SO unset or missing: run `make build` and set it, or run `make test`")
	}
	libs, err := RuntimeLibraries(so)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range libs {
		names = append(names, l.Soname)
		if m := l.MinGlibc(); m != "" && compareGlibc("GLIBC_"+m, "GLIBC_2.17") > 0 {
			t.Errorf("%s needs glibc %s", l.Soname, m)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"libc.so.6", "libpthread.so.0"}) {
		t.Errorf("libraries %v; want libc.so.6 and libpthread.so.0", names)
	}
	if _, err := RuntimeLibraries("sbom_test.go"); err == nil {
		t.Error("a file that is not ELF was read")
	}
}
