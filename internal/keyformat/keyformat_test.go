package keyformat

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var (
	goldenVars = Vars{
		Tag:       []byte("ecs-service-connect-7Xk2p-firelens-0123456789abcdef0123456789abcdef"),
		Cluster:   []byte("prod"),
		TaskID:    []byte("0123456789abcdef0123456789abcdef"),
		Family:    []byte("backend"),
		Container: []byte("ecs-service-connect-7Xk2p"),
	}
	goldenTime = time.Date(2025, 11, 11, 7, 40, 46, 216e6, time.UTC)
)

// TestGolden renders every template of testdata/*.input and compares the key,
// the partition (0 bytes shown as '|') or the error with *.golden.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.input")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := sc.Text()
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			fmt.Fprintf(&out, "%s\n", line)
			tm, err := Compile(line)
			if err != nil {
				fmt.Fprintf(&out, "\terror: %v\n", err)
				continue
			}
			key := tm.AppendKey(nil, &goldenVars, goldenTime, []byte("r4nd0m1d"), 42)
			part := tm.AppendPartition(nil, &goldenVars, goldenTime)
			fmt.Fprintf(&out, "\tkey:       %s\n\tpartition: %s\n", key, bytes.ReplaceAll(part, []byte{0}, []byte("|")))
		}
		golden := strings.TrimSuffix(in, ".input") + ".golden"
		if *update {
			if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%s: output differs from %s (run go test -update and review the diff)\ngot:\n%s", in, golden, out.Bytes())
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		tmpl string
		err  error
		off  int
	}{
		{"", ErrEmpty, -1},
		{"/", ErrEmpty, -1},
		{"  ", ErrEmpty, -1},
		{"a/$NOPE", ErrUnknownVariable, 2},
		{"/a/$nope", ErrUnknownVariable, 3},
		{"a$", ErrUnknownVariable, 1},
		{"a/$5", ErrUnknownVariable, 2},
		{"$TAG[", ErrBadTagPart, 0},
		{"$TAG[]", ErrBadTagPart, 0},
		{"$TAG[-1]", ErrBadTagPart, 0},
		{"$TAG[+1]", ErrBadTagPart, 0},
		{"$TAG[100]", ErrBadTagPart, 0},
		{"$TAG[a]", ErrBadTagPart, 0},
		{"x/%", ErrUnknownVerb, 2},
		{"x/%y", ErrUnknownVerb, 2},
		{"x/%é", ErrUnknownVerb, 2},
		{"x/%s", ErrUnknownVerb, 2},
		{"a\nb", ErrUnsafeChar, 1},
		{"a\\b", ErrUnsafeChar, 1},
		{"a{b}", ErrUnsafeChar, 1},
		{"a#b", ErrUnsafeChar, 1},
		{"\xff", ErrUnsafeChar, -1},
		{"a//b", ErrEmptySegment, -1},
		{"//a", ErrEmptySegment, -1},
		{"a//", ErrEmptySegment, -1},
		{"a/../b", ErrEmptySegment, -1},
		{"./b", ErrEmptySegment, -1},
		{strings.Repeat("$TAG", 8), ErrTooLong, -1},
		{strings.Repeat("a", 1000), ErrTooLong, -1},
	} {
		_, err := Compile(tc.tmpl)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, tc.err) {
			t.Errorf("Compile(%q) = %v, want %v", tc.tmpl, err, tc.err)
			continue
		}
		if se.Offset != tc.off {
			t.Errorf("Compile(%q) offset %d, want %d", tc.tmpl, se.Offset, tc.off)
		}
		if msg := err.Error(); strings.ContainsAny(msg, "\n\r") || !strings.HasPrefix(msg, "keyformat: ") {
			t.Errorf("Compile(%q) error not one prefixed line: %q", tc.tmpl, msg)
		}
	}
}

func TestAppendKey(t *testing.T) {
	v := Vars{Tag: []byte("app-firelens-abc"), Cluster: []byte("c"), TaskID: []byte("t"), Family: []byte("f"), Container: []byte("app")}
	ts := time.Date(2024, 2, 29, 23, 59, 58, 999, time.FixedZone("JST", 9*3600)) // 14:59:58 UTC
	for _, tc := range []struct {
		tmpl, want string
	}{
		{"%Y/%m/%d/%H/%M/%S/$UUID", "2024/02/29/14/59/58/u"},
		{"/x/$INDEX", "x/7"},
		{"x/$TAG", "x/app-firelens-abc-u"},
		{"x/$TAG[0].$TAG[1].$TAG[2].$TAG[3]-$INDEX", "x/app.firelens.abc.unknown-7"},
		{"$CLUSTER/$TASK_ID/$FAMILY/$CONTAINER/$UUID$INDEX", "c/t/f/app/u7"},
		{"%%Y/$UUID", "%Y/u"},
		{"k=$CLUSTER/$TAG_x/$UUID", "k=c/app-firelens-abc_x/u"},
		{"é/$UUID", "é/u"},
	} {
		tm, err := Compile(tc.tmpl)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tc.tmpl, err)
		}
		if got := string(tm.AppendKey([]byte("pre:"), &v, ts, []byte("u"), 7)); got != "pre:"+tc.want {
			t.Errorf("%q: key %q, want %q", tc.tmpl, got, "pre:"+tc.want)
		}
	}
}

func TestHasIndexUUID(t *testing.T) {
	for _, tc := range []struct {
		tmpl        string
		index, uuid bool
	}{
		{"a/$INDEX", true, false},
		{"a/$UUID", false, true},
		{"a/b", false, true}, // -$UUID appended
		{"a/", false, true},  // $UUID appended
		{"$INDEX/$UUID", true, true},
	} {
		tm, err := Compile(tc.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if tm.HasIndex() != tc.index || tm.HasUUID() != tc.uuid || tm.String() != tc.tmpl {
			t.Errorf("%q: HasIndex %v HasUUID %v String %q", tc.tmpl, tm.HasIndex(), tm.HasUUID(), tm.String())
		}
	}
}

func TestValueSanitising(t *testing.T) {
	tm, err := Compile("$TAG/$INDEX")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"a/b c", "a_b_c"},
		{"", Missing},
		{".", "_"},
		{"..", "__"},
		{"a..", "a.."},
		{"x=1&y=%2F", "x_1_y__2F"},
		{"日本", "______"},
		{"A-Z_a.z09", "A-Z_a.z09"},
		{"\x00\n\xff", "___"},
		{strings.Repeat("a", MaxValueLen+10), strings.Repeat("a", MaxValueLen)},
	} {
		got := string(tm.AppendKey(nil, &Vars{Tag: []byte(tc.in)}, time.Time{}, nil, 1))
		if want := tc.want + "/1"; got != want {
			t.Errorf("tag %q: key %q, want %q", tc.in, got, want)
		}
	}
	// The caller's $UUID is made safe and capped too.
	tu, _ := Compile("$UUID")
	if got := string(tu.AppendKey(nil, &Vars{}, time.Time{}, []byte(strings.Repeat("/", 100)), 0)); got != strings.Repeat("_", MaxUUIDLen) {
		t.Errorf("uuid rendered as %q", got)
	}
}

func TestTagPart(t *testing.T) {
	for _, tc := range []struct {
		tag  string
		n    int
		want string
	}{
		{"a.b-c", 0, "a"},
		{"a.b-c", 1, "b"},
		{"a.b-c", 2, "c"},
		{"a.b-c", 3, ""},
		{"..a--b..", 0, "a"},
		{"..a--b..", 1, "b"},
		{"..a--b..", 2, ""},
		{"", 0, ""},
		{"---", 0, ""},
	} {
		if got := string(tagPart([]byte(tc.tag), tc.n)); got != tc.want {
			t.Errorf("tagPart(%q, %d) = %q, want %q", tc.tag, tc.n, got, tc.want)
		}
	}
}

// TestPartitionSharesKey checks the batching contract on random records from
// small alphabets (so partitions collide often): two records with equal
// partitions render the same key when they share an object, and records whose
// keys would differ never share a partition.
func TestPartitionSharesKey(t *testing.T) {
	tmpls := []string{
		"envoy-access-logs/cluster=$CLUSTER/family=$FAMILY/dt=%Y-%m-%d/hour=%H/$TASK_ID-%Y%m%dT%H%M%SZ-$UUID",
		"$TAG-$CLUSTER/%M$TAG[1]$FAMILY-%S",
		"$TAG$CLUSTER%S$TASK_ID",
		"x/$INDEX/%H$CONTAINER",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() []byte {
		vals := []string{"", "a", "b", "a-b", "a.b", "ab", "-"}
		return []byte(vals[rng.IntN(len(vals))])
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	type rec struct {
		v  Vars
		ts time.Time
	}
	for _, s := range tmpls {
		tm, err := Compile(s)
		if err != nil {
			t.Fatal(err)
		}
		recs := make([]rec, 250)
		for i := range recs {
			recs[i] = rec{Vars{pick(), pick(), pick(), pick(), pick()}, base.Add(time.Duration(rng.IntN(7200)) * time.Second)}
		}
		shared := 0
		for i := range recs {
			for j := range recs {
				a, b := &recs[i], &recs[j]
				pa := tm.AppendPartition(nil, &a.v, a.ts)
				pb := tm.AppendPartition(nil, &b.v, b.ts)
				// b joins the object a started: it is keyed with a's time.
				ka := tm.AppendKey(nil, &a.v, a.ts, []byte("u"), 3)
				kb := tm.AppendKey(nil, &b.v, a.ts, []byte("u"), 3)
				if bytes.Equal(pa, pb) {
					shared++
					if !bytes.Equal(ka, kb) {
						t.Fatalf("%q: equal partitions %q but keys %q and %q", s, pa, ka, kb)
					}
				}
			}
		}
		if shared <= len(recs) {
			t.Errorf("%q: only %d equal partitions, the test proves nothing", s, shared)
		}
	}
}

func TestAppendRandomID(t *testing.T) {
	seen := map[string]bool{}
	var counts [256]int
	for range 2000 {
		id := AppendRandomID(nil)
		if len(id) != RandomIDLen {
			t.Fatalf("id %q has length %d", id, len(id))
		}
		for _, c := range id {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
				t.Fatalf("id %q has %q", id, c)
			}
			counts[c]++
		}
		if seen[string(id)] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[string(id)] = true
	}
	// 32000 characters over 36 symbols: each about 889; a stuck or biased
	// generator falls far outside this band.
	for _, c := range idAlphabet {
		if n := counts[c]; n < 700 || n > 1100 {
			t.Errorf("character %q drawn %d times out of 32000", c, n)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	tm, err := Compile(defaultTemplate)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 0, 1024)
	uuid := AppendRandomID(nil)
	if n := testing.AllocsPerRun(100, func() {
		dst = tm.AppendKey(dst[:0], &goldenVars, goldenTime, uuid, 1)
		dst = tm.AppendPartition(dst[:0], &goldenVars, goldenTime)
		dst = AppendRandomID(dst[:0])
	}); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

// FuzzCompile checks that no template panics Compile, and that every key a
// compiled template renders fits S3 and has no unsafe byte or empty segment.
func FuzzCompile(f *testing.F) {
	data, err := os.ReadFile("testdata/templates.input")
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f.Add(line, "a-b.c", "x/y")
	}
	f.Fuzz(func(t *testing.T, tmpl, tag, other string) {
		tm, err := Compile(tmpl)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		v := Vars{Tag: []byte(tag), Cluster: []byte(other), TaskID: []byte(tag), Family: []byte(other), Container: []byte(tag)}
		key := tm.AppendKey(nil, &v, goldenTime, []byte(other), 1<<63)
		if len(key) > MaxKeyLen-ExtensionRoom {
			t.Fatalf("key of %d bytes", len(key))
		}
		if len(key) == 0 || key[0] == '/' || bytes.Contains(key, []byte("//")) || key[len(key)-1] == '/' {
			t.Fatalf("key %q has an empty segment", key)
		}
		for _, c := range key {
			if c < 0x20 || c == 0x7f || c == '$' || c == '\\' {
				t.Fatalf("key %q has byte %q", key, c)
			}
		}
		_ = tm.AppendPartition(nil, &v, goldenTime)
	})
}

const defaultTemplate = "envoy-access-logs/cluster=$CLUSTER/family=$FAMILY/dt=%Y-%m-%d/hour=%H/$TASK_ID-%Y%m%dT%H%M%SZ-$UUID"

func BenchmarkAppendKey(b *testing.B) {
	tm, err := Compile(defaultTemplate)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 1024)
	uuid := AppendRandomID(nil)
	dst = tm.AppendKey(dst, &goldenVars, goldenTime, uuid, 1)
	b.SetBytes(int64(len(dst)))
	b.ReportAllocs()
	for b.Loop() {
		dst = tm.AppendKey(dst[:0], &goldenVars, goldenTime, uuid, 1)
	}
}

func BenchmarkAppendPartition(b *testing.B) {
	tm, err := Compile(defaultTemplate)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 1024)
	dst = tm.AppendPartition(dst, &goldenVars, goldenTime)
	b.SetBytes(int64(len(dst)))
	b.ReportAllocs()
	for b.Loop() {
		dst = tm.AppendPartition(dst[:0], &goldenVars, goldenTime)
	}
}

func BenchmarkAppendRandomID(b *testing.B) {
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendRandomID(dst[:0])
	}
}

func TestPartitionUnit(t *testing.T) {
	for tmpl, want := range map[string]time.Duration{
		"a/$UUID":                     0,
		"a/%Y/$TASK_ID-%H%M%S-$UUID":  24 * time.Hour,
		"a/dt=%Y-%m-%d/hour=%H/$UUID": time.Hour,
		"a/%H/%M/$TAG-%S-$UUID":       time.Minute,
		"a/%S/$UUID":                  time.Second,
		DefaultTemplateForTest:        time.Hour,
	} {
		tp, err := Compile(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if got := tp.PartitionUnit(); got != want {
			t.Errorf("%s: PartitionUnit %v, want %v", tmpl, got, want)
		}
		// The promise: within one unit, partitions are equal.
		if want > 0 {
			base := time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC).Truncate(want)
			v := &Vars{Tag: []byte("t"), TaskID: []byte("x")}
			a := string(tp.AppendPartition(nil, v, base))
			b := string(tp.AppendPartition(nil, v, base.Add(want-time.Nanosecond)))
			if a != b {
				t.Errorf("%s: partitions differ within one unit: %q %q", tmpl, a, b)
			}
		}
	}
}

const DefaultTemplateForTest = "envoy-access-logs/cluster=$CLUSTER/family=$FAMILY/dt=%Y-%m-%d/hour=%H/$TASK_ID-%Y%m%dT%H%M%SZ-$UUID"

// Prefix is the literal start of every key: what a table's location can sit on.
func TestPrefix(t *testing.T) {
	for tmpl, want := range map[string]string{
		"envoy-access-logs/cluster=$CLUSTER/$UUID": "envoy-access-logs/cluster=",
		"/logs/%Y/$UUID": "logs/",
		"$TAG/x":         "",
		"%Y/$UUID":       "",
		"100%%/a/$UUID":  "100%/a/",
		"fixed/name":     "fixed/name-",
	} {
		tp, err := Compile(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if got := tp.Prefix(); got != want {
			t.Errorf("%q: Prefix %q, want %q", tmpl, got, want)
		}
	}
}
