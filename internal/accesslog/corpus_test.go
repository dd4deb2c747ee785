package accesslog_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/test/gen"
)

var update = flag.Bool("update", false, "rewrite testdata/corpus from test/gen, and the outputs in testdata/cases.golden from the parser")

const corpusDir = "testdata/corpus"

// corpusSize is the number of lines per kind in the committed corpus.
func corpusSize(k gen.Kind) int {
	switch k {
	case gen.Huge:
		return 4
	case gen.Blank:
		return 40
	}
	return 250
}

// goldenLine is the golden form of a labelled line: "other", or "access",
// the shape and the normalised JSON.
func goldenLine(l gen.Labeled) string {
	if !l.IsAccess {
		return "other"
	}
	return "access " + l.Want.Shape + " " + string(l.Want.AppendJSON(nil))
}

func writeCorpus(t *testing.T) {
	if err := os.MkdirAll(corpusDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, k := range gen.Kinds() {
		g := gen.New(1000 + uint64(k))
		var in, golden bytes.Buffer
		for range corpusSize(k) {
			l := g.Labeled(k)
			in.Write(l.Line)
			in.WriteByte('\n')
			golden.WriteString(goldenLine(l))
			golden.WriteByte('\n')
		}
		base := filepath.Join(corpusDir, k.String())
		if err := os.WriteFile(base+".input", in.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(base+".golden", golden.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readLines splits a file into its newline-terminated lines.
func readLines(t *testing.T, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

// confusion counts classification outcomes; access logs are the positives.
type confusion struct{ tp, fp, fn, tn int }

func (c *confusion) add(want, got bool) {
	switch {
	case want && got:
		c.tp++
	case want:
		c.fn++
	case got:
		c.fp++
	default:
		c.tn++
	}
}

func (c *confusion) check(t *testing.T, what string) {
	t.Helper()
	precision := float64(c.tp) / float64(max(1, c.tp+c.fp))
	recall := float64(c.tp) / float64(max(1, c.tp+c.fn))
	t.Logf("%s: %d lines, %d access, %d other: precision %.4f recall %.4f (fp=%d fn=%d)",
		what, c.tp+c.fp+c.fn+c.tn, c.tp+c.fn, c.tn+c.fp, precision, recall, c.fp, c.fn)
	if c.fp != 0 || c.fn != 0 {
		t.Errorf("%s: precision and recall must be 100%%", what)
	}
	if c.tp == 0 || c.tn == 0 {
		t.Errorf("%s: the corpus needs both access and other lines", what)
	}
}

// checker parses lines and compares them with their golden form.
type checker struct {
	auto, text, json accesslog.Parser
	e                accesslog.Entry
	buf              []byte
	c                confusion
}

func newChecker() *checker {
	return &checker{text: accesslog.Parser{Format: accesslog.FormatText}, json: accesslog.Parser{Format: accesslog.FormatJSON}}
}

// check reports a mismatch between line and its golden form.
func (k *checker) check(line []byte, golden string) error {
	wantAccess := strings.HasPrefix(golden, "access ")
	if !wantAccess && golden != "other" {
		return fmt.Errorf("malformed golden line %q", golden)
	}
	got := k.auto.Parse(line, &k.e)
	k.c.add(wantAccess, got)
	if got != wantAccess {
		return fmt.Errorf("classified access=%v, want %v", got, wantAccess)
	}
	if !got {
		if k.text.Parse(line, &k.e) || k.json.Parse(line, &k.e) {
			return fmt.Errorf("a format-restricted parser accepts a non-access line")
		}
		return nil
	}
	shape, want, _ := strings.Cut(strings.TrimPrefix(golden, "access "), " ")
	if k.e.Shape.String() != shape {
		return fmt.Errorf("shape %v, want %s", k.e.Shape, shape)
	}
	k.buf = k.e.AppendJSON(k.buf[:0])
	if string(k.buf) != want {
		return fmt.Errorf("output differs:\n got %s\nwant %s", k.buf, want)
	}
	// The family's own parser agrees; the other family's refuses.
	isJSON := strings.HasPrefix(shape, "json")
	own, other := &k.text, &k.json
	if isJSON {
		own, other = other, own
	}
	if other.Parse(line, &k.e) {
		return fmt.Errorf("accepted by the parser of the other format")
	}
	if !own.Parse(line, &k.e) || string(k.e.AppendJSON(nil)) != want {
		return fmt.Errorf("the %s-only parser disagrees", shape)
	}
	return nil
}

func shorten(b []byte) string {
	if len(b) > 300 {
		return strconv.Quote(string(b[:300])) + "..."
	}
	return strconv.Quote(string(b))
}

// TestCorpus checks every line of the generated corpus in testdata/corpus:
// label, shape and normalised output, with 100% precision and recall.
func TestCorpus(t *testing.T) {
	if *update {
		writeCorpus(t)
	}
	inputs, err := filepath.Glob(filepath.Join(corpusDir, "*.input"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) != int(gen.NumKinds) {
		t.Fatalf("found %d corpus files, want one per kind (%d); regenerate with -update", len(inputs), gen.NumKinds)
	}
	k := newChecker()
	for _, in := range inputs {
		lines := readLines(t, in)
		golden := readLines(t, strings.TrimSuffix(in, ".input")+".golden")
		if len(lines) != len(golden) || len(lines) == 0 {
			t.Fatalf("%s: %d lines but %d golden lines", in, len(lines), len(golden))
		}
		for i, line := range lines {
			if err := k.check(line, string(golden[i])); err != nil {
				t.Errorf("%s:%d: %v\nline: %s", in, i+1, err, shorten(line))
			}
		}
	}
	k.c.check(t, "corpus")
	if k.c.tp+k.c.tn < 3000 {
		t.Errorf("corpus has only %d lines", k.c.tp+k.c.tn)
	}
}

// TestGeneratedStreams runs fresh mixed streams from other seeds against the
// generator's expected values, so the rules hold beyond the committed corpus.
func TestGeneratedStreams(t *testing.T) {
	k := newChecker()
	for seed := uint64(1); seed <= 5; seed++ {
		g := gen.New(seed)
		for i, l := range g.Mixed(3000) {
			if err := k.check(l.Line, goldenLine(l)); err != nil {
				t.Fatalf("seed %d line %d (%v): %v\nline: %s", seed, i, l.Kind, err, shorten(l.Line))
			}
		}
		if err := k.check(g.Line(gen.Huge), "other"); err != nil {
			t.Fatalf("seed %d huge line: %v", seed, err)
		}
	}
	k.c.check(t, "generated streams")
}

// TestCases checks the hand-written tricky cases in testdata/cases.input. Each
// case is a label ("access" or "other") and a Go-quoted line; comments start
// with '#'. The label is the hand-written truth; cases.golden holds the
// expected output of each case and is rewritten with -update (review the diff).
func TestCases(t *testing.T) {
	f, err := os.Open("testdata/cases.input")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type tc struct {
		lineNo int
		access bool
		line   []byte
	}
	var cases []tc
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		label, quoted, _ := strings.Cut(text, " ")
		line, err := strconv.Unquote(quoted)
		if err != nil || (label != "access" && label != "other") {
			t.Fatalf("cases.input:%d: want `access|other \"quoted line\"`: %v", n, err)
		}
		cases = append(cases, tc{n, label == "access", []byte(line)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	const goldenFile = "testdata/cases.golden"
	if *update {
		var out bytes.Buffer
		var p accesslog.Parser
		var e accesslog.Entry
		for _, c := range cases {
			if c.access && p.Parse(c.line, &e) {
				fmt.Fprintf(&out, "access %v %s\n", e.Shape, e.AppendJSON(nil))
			} else {
				out.WriteString("other\n")
			}
		}
		if err := os.WriteFile(goldenFile, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden := readLines(t, goldenFile)
	if len(golden) != len(cases) {
		t.Fatalf("%d cases but %d golden lines; run with -update and review", len(cases), len(golden))
	}
	k := newChecker()
	for i, c := range cases {
		g := string(golden[i])
		if strings.HasPrefix(g, "access") != c.access {
			t.Errorf("cases.input:%d: golden label %q contradicts the hand label", c.lineNo, g)
			continue
		}
		if err := k.check(c.line, g); err != nil {
			t.Errorf("cases.input:%d: %v\nline: %s", c.lineNo, err, shorten(c.line))
		}
	}
	k.c.check(t, "hand-written cases")
}
