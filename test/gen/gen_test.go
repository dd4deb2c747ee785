package gen

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestDeterministic(t *testing.T) {
	a, b := New(42).Mixed(500), New(42).Mixed(500)
	for i := range a {
		if !bytes.Equal(a[i].Line, b[i].Line) || a[i].Kind != b[i].Kind {
			t.Fatalf("line %d differs between two generators with one seed", i)
		}
	}
	c := New(43).Mixed(500)
	same := 0
	for i := range a {
		if bytes.Equal(a[i].Line, c[i].Line) {
			same++
		}
	}
	if same > 50 {
		t.Fatalf("seeds 42 and 43 give %d identical lines of 500", same)
	}
}

func TestEveryKind(t *testing.T) {
	g := New(7)
	for _, k := range Kinds() {
		for range 200 {
			if k == Huge {
				continue
			}
			l := g.Labeled(k)
			if l.Kind != k || l.IsAccess != k.IsAccess() {
				t.Fatalf("%v: label %v/%v", k, l.Kind, l.IsAccess)
			}
			if bytes.IndexByte(l.Line, '\n') >= 0 {
				t.Fatalf("%v: line contains a newline: %q", k, l.Line)
			}
			if l.IsAccess != (l.Want != nil) {
				t.Fatalf("%v: Want set=%v for IsAccess=%v", k, l.Want != nil, l.IsAccess)
			}
			if !l.IsAccess {
				continue
			}
			if !utf8.Valid(l.Line) {
				t.Fatalf("%v: access line is not UTF-8: %q", k, l.Line)
			}
			if k.IsJSON() && !json.Valid(l.Line) {
				t.Fatalf("%v: invalid JSON: %s", k, l.Line)
			}
			want := l.Want.AppendJSON(nil)
			if !json.Valid(want) {
				t.Fatalf("%v: expected output is not JSON: %s", k, want)
			}
			if l.Want.Shape == "" || l.Want.Get("timestamp") == nil || l.Want.Get("kind") == nil {
				t.Fatalf("%v: expected values lack shape, timestamp or kind", k)
			}
		}
	}
	for range 4 {
		if l := g.Labeled(Huge); len(l.Line) < 100<<10 {
			t.Fatalf("huge line is %d bytes", len(l.Line))
		}
	}
}

func TestMixedProportions(t *testing.T) {
	ls := New(1).Mixed(10000)
	access := 0
	seen := map[Kind]bool{}
	for _, l := range ls {
		seen[l.Kind] = true
		if l.IsAccess {
			access++
		}
	}
	if access < 6000 || access > 8500 {
		t.Fatalf("%d of 10000 lines are access logs", access)
	}
	for _, k := range Kinds() {
		if k != Huge && !seen[k] {
			t.Errorf("Mixed never produced %v", k)
		}
	}
}
