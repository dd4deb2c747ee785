// Package sbom completes the CycloneDX SBOM that cyclonedx-gomod writes for a .so with what
// that tool cannot see, so that one file answers "what is inside it, and what does it need":
//
//   - the C libraries the dynamic loader must find on the host (DT_NEEDED) and the oldest glibc
//     that has every symbol version the .so asks for, as external components with a version
//     range (CycloneDX 1.6 isExternal / versionRange): they are not in the .so, the host's
//     glibc provides them;
//   - nothing that differs between two builds of the same commit: the hashes cyclonedx-gomod
//     records of its own executable (they change with the machine that built the tool, not
//     with the .so) are dropped, so the SBOM is as reproducible as the .so it describes.
//
// Everything else (the Go modules with versions and hashes from the .so's build info, the Go
// standard library, the detected licenses) is the tool's output, unchanged.
package sbom

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// RuntimeLib is one shared library the .so needs at run time.
type RuntimeLib struct {
	Soname   string   // DT_NEEDED, e.g. libc.so.6
	Versions []string // the GLIBC_x.y symbol versions the .so needs from it, oldest first
}

// MinGlibc is the newest symbol version needed from the library ("2.17" for GLIBC_2.17): the
// oldest glibc that can load the .so. Empty when no GLIBC_ version is needed.
func (l RuntimeLib) MinGlibc() string {
	if len(l.Versions) == 0 {
		return ""
	}
	return strings.TrimPrefix(l.Versions[len(l.Versions)-1], "GLIBC_")
}

// glibcLibraries are the sonames of the GNU C Library (the ones docker/glibc_test.go allows).
var glibcLibraries = []string{"libc.so.6", "libpthread.so.0", "libdl.so.2", "libm.so.6", "librt.so.1"}

// RuntimeLibraries reads the libraries an ELF shared object needs (DT_NEEDED, in its order)
// and the glibc symbol versions it needs from each.
func RuntimeLibraries(path string) ([]RuntimeLib, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	needed, err := f.ImportedLibraries()
	if err != nil {
		return nil, fmt.Errorf("%s: reading DT_NEEDED: %w", path, err)
	}
	vn, err := f.DynamicVersionNeeds()
	if err != nil {
		return nil, fmt.Errorf("%s: reading version needs: %w", path, err)
	}
	versions := map[string][]string{}
	for _, lib := range vn {
		for _, d := range lib.Needs {
			if strings.HasPrefix(d.Dep, "GLIBC_") && d.Dep != "GLIBC_PRIVATE" {
				versions[lib.Name] = append(versions[lib.Name], d.Dep)
			}
		}
	}
	libs := make([]RuntimeLib, 0, len(needed))
	for _, name := range needed {
		v := versions[name]
		slices.SortFunc(v, compareGlibc)
		libs = append(libs, RuntimeLib{Soname: name, Versions: slices.Compact(v)})
	}
	return libs, nil
}

// compareGlibc orders GLIBC_2.2.5 before GLIBC_2.17 (numerically, part by part).
func compareGlibc(a, b string) int {
	pa := strings.Split(strings.TrimPrefix(a, "GLIBC_"), ".")
	pb := strings.Split(strings.TrimPrefix(b, "GLIBC_"), ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// LibRef is the bom-ref of a runtime library's component.
func LibRef(soname string) string { return "elf-needed:" + soname }

func libComponent(l RuntimeLib) map[string]any {
	c := map[string]any{
		"bom-ref":    LibRef(l.Soname),
		"type":       "library",
		"name":       l.Soname,
		"scope":      "required",
		"isExternal": true,
		"properties": []any{map[string]any{"name": "envoy_s3:elf:needed", "value": l.Soname}},
	}
	if slices.Contains(glibcLibraries, l.Soname) {
		c["description"] = "GNU C Library (glibc), loaded from the host by the dynamic loader; not contained in the .so"
		c["licenses"] = []any{map[string]any{"license": map[string]any{"id": "LGPL-2.1-or-later"}}}
	} else {
		c["description"] = "shared library loaded from the host by the dynamic loader; not contained in the .so"
	}
	if m := l.MinGlibc(); m != "" {
		c["versionRange"] = "vers:generic/>=" + m
		c["properties"] = append(c["properties"].([]any),
			map[string]any{"name": "envoy_s3:elf:glibc-version-needs", "value": strings.Join(l.Versions, " ")})
	}
	return c
}

// Complete adds libs to bom (cyclonedx-gomod's JSON) as components the main component depends
// on, and drops the hashes of the generating tool's executable. The output is indented JSON
// with the keys in a fixed order, so equal inputs give equal bytes.
func Complete(bom []byte, libs []RuntimeLib) ([]byte, error) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(bom))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("the SBOM is not JSON: %w", err)
	}
	if doc["bomFormat"] != "CycloneDX" {
		return nil, fmt.Errorf("the SBOM is not CycloneDX (bomFormat %v)", doc["bomFormat"])
	}
	meta, _ := doc["metadata"].(map[string]any)
	main, _ := meta["component"].(map[string]any)
	mainRef, _ := main["bom-ref"].(string)
	if mainRef == "" {
		return nil, fmt.Errorf("the SBOM has no metadata.component.bom-ref to attach the runtime libraries to")
	}
	dropToolHashes(meta["tools"])

	components, _ := doc["components"].([]any)
	deps, _ := doc["dependencies"].([]any)
	var mainDep map[string]any
	for _, d := range deps {
		if m, ok := d.(map[string]any); ok && m["ref"] == mainRef {
			mainDep = m
		}
	}
	if mainDep == nil {
		mainDep = map[string]any{"ref": mainRef}
		deps = append(deps, mainDep)
	}
	dependsOn, _ := mainDep["dependsOn"].([]any)
	for _, l := range libs {
		for _, c := range components {
			if m, ok := c.(map[string]any); ok && m["bom-ref"] == LibRef(l.Soname) {
				return nil, fmt.Errorf("the SBOM already lists %s", l.Soname)
			}
		}
		components = append(components, libComponent(l))
		dependsOn = append(dependsOn, LibRef(l.Soname))
		deps = append(deps, map[string]any{"ref": LibRef(l.Soname)})
	}
	mainDep["dependsOn"] = dependsOn
	doc["components"] = components
	doc["dependencies"] = deps

	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// dropToolHashes removes the hashes from metadata.tools, in either form CycloneDX allows (a
// list of tools, or {"components": [...]}).
func dropToolHashes(tools any) {
	var list []any
	switch t := tools.(type) {
	case []any:
		list = t
	case map[string]any:
		list, _ = t["components"].([]any)
	}
	for _, tool := range list {
		if m, ok := tool.(map[string]any); ok {
			delete(m, "hashes")
		}
	}
}
