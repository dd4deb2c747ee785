package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMENamesTheSpoolDirectory checks the README's "Spool directories are
// `<store_dir>/...`" against the directory an instance really creates, so a user who
// looks for their spool finds it by the name the README gives.
func TestREADMENamesTheSpoolDirectory(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("Spool directories are `<store_dir>/([^`]+)`").FindSubmatch(readme)
	if m == nil {
		t.Fatal("the README no longer says what spool directories are called")
	}
	// Literal text stays; each <placeholder> stands for letters and digits.
	var pat strings.Builder
	for _, part := range regexp.MustCompile(`<[^>]*>`).Split(string(m[1]), -1) {
		if pat.Len() > 0 {
			pat.WriteString(`[0-9A-Za-z]+`)
		}
		pat.WriteString(regexp.QuoteMeta(part))
	}
	re := regexp.MustCompile("^" + pat.String() + "$")

	dir := t.TempDir()
	p := newPipeline(t, map[string]string{"store_dir": dir}, nopPut{})
	defer p.Close(context.Background())
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && re.MatchString(e.Name()) {
			return
		}
		names = append(names, e.Name())
	}
	t.Fatalf("the README says spool directories are %q; store_dir holds %q", m[1], names)
}
