package parquetenc

import (
	"encoding/binary"
	"testing"
)

// TestSpecial checks the eight-bytes-at-a-time test against the byte rule it
// stands for, every byte value at every position, and pairs of them.
func TestSpecial(t *testing.T) {
	isSpecial := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }
	for pos := range 8 {
		for c := range 256 {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			if got := special(binary.LittleEndian.Uint64(w)); got != isSpecial(byte(c)) {
				t.Fatalf("special(%q) = %v", w, got)
			}
			for c2 := range 256 { // a neighbour must not hide or fake it
				w[(pos+1)%8] = byte(c2)
				if got, want := special(binary.LittleEndian.Uint64(w)), isSpecial(byte(c)) || isSpecial(byte(c2)); got != want {
					t.Fatalf("special(%q) = %v, want %v", w, got, want)
				}
			}
		}
	}
}
