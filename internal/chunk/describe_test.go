package chunk

import (
	"strings"
	"testing"
)

// Describe shows numbers and the shape of other values, never a string's content.
func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		raw  []byte
		want string
	}{
		{[]byte{0x05}, "5 (integer seconds)"},
		{[]byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "an integer beyond int64"},
		{[]byte{0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}, "1.5 (float seconds)"},
		{[]byte{0xd6, 0x07, 1, 2, 3, 4}, "an extension of type 7 and 4 bytes"},
		{append([]byte{0xa6}, "secret"...), "a value of type "},
	} {
		v, _, err := ReadValue(tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Describe(); !strings.HasPrefix(got, tc.want) || strings.Contains(got, "secret") {
			t.Errorf("% x: %q, want %q", tc.raw, got, tc.want)
		}
	}
}
