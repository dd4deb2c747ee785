package config

import (
	"os"
	"strings"
	"testing"
)

// The README's configuration table is generated from Keys; this keeps them in step.
// Regenerate with: UPDATE_README=1 go test ./internal/config -run TestReadmeTable
func TestReadmeTable(t *testing.T) {
	const begin, end = "<!-- config-table:begin -->\n", "<!-- config-table:end -->"
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q ... %q markers", strings.TrimSpace(begin), end)
	}
	want := MarkdownTable()
	if got := readme[i+len(begin) : j]; got != want {
		if os.Getenv("UPDATE_README") != "" {
			if err := os.WriteFile("../../README.md", []byte(readme[:i+len(begin)]+want+readme[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("README.md's configuration table differs from config.Keys; run UPDATE_README=1 go test ./internal/config -run TestReadmeTable")
	}
}
