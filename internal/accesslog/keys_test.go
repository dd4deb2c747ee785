package accesslog

import (
	"math"
	"strconv"
	"testing"
)

// Every known key is found by lookupKey and, written plainly, by knownKey;
// its prefixes, extensions and escaped spellings are not taken for it.
func TestKeyTable(t *testing.T) {
	byName := map[string]keyDef{}
	for _, d := range keyDefs {
		byName[d.name] = d
	}
	for _, d := range keyDefs {
		if id, class := lookupKey([]byte(d.name)); id != d.id || class != d.class {
			t.Errorf("lookupKey(%q) = %v, %v; want %v, %v", d.name, id, class, d.id, d.class)
		}
		line := []byte(`"` + d.name + `":1`)
		key, id, class, next, ok := knownKey(line, 0)
		if !ok || string(key) != d.name || id != d.id || class != d.class || next != len(d.name)+2 {
			t.Errorf("knownKey(%s) = %q %v %v %d %v", line, key, id, class, next, ok)
		}
		for _, other := range []string{d.name[:len(d.name)-1], d.name + "x", d.name + `\"`, `\u00` + d.name, d.name[:2] + `\u0000`} {
			if _, known := byName[other]; known {
				continue
			}
			if _, _, _, _, ok := knownKey([]byte(`"`+other+`":1`), 0); ok {
				t.Errorf("knownKey takes %q for a known key", other)
			}
			if _, class := lookupKey([]byte(other)); class != keyExtra {
				t.Errorf("lookupKey(%q) is %v, want an extra key", other, class)
			}
		}
		// Cut short at every length: no match, no panic.
		for n := range len(line) - 2 {
			if _, _, _, _, ok := knownKey(line[:n], 0); ok {
				t.Errorf("knownKey(%q) matched", line[:n])
			}
		}
	}
	for _, k := range []string{"", "a", "abc", "upstream_cluster", "tls", "METHOD"} {
		if _, class := lookupKey([]byte(k)); class != keyExtra {
			t.Errorf("lookupKey(%q) is %v, want an extra key", k, class)
		}
	}
}

// appendInt writes what strconv.AppendInt writes, at every number of digits,
// both signs and the extremes.
func TestAppendInt(t *testing.T) {
	vals := []int64{0, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	for p := int64(1); p > 0 && p <= math.MaxInt64/10; p *= 10 {
		vals = append(vals, p-1, p, p+1, 10*p-1, -p, -p+1, -p-1, p*7+3)
	}
	for _, v := range vals {
		for _, prefix := range []string{"", "x"} {
			got := appendInt([]byte(prefix), v)
			if want := strconv.AppendInt([]byte(prefix), v, 10); string(got) != string(want) {
				t.Errorf("appendInt(%q, %d) = %q, want %q", prefix, v, got, want)
			}
		}
	}
}
