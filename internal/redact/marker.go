package redact

import "bytes"

// MarkerLen returns the length of the replacement this package writes (the mask, or
// a hash pseudonym) that b starts with, or 0.
func MarkerLen(b []byte) int {
	switch {
	case bytes.HasPrefix(b, []byte(Mask)):
		return len(Mask)
	case len(b) >= hashLen && isMarker(b[:hashLen]):
		return hashLen
	}
	return 0
}

// ReplaceMarkers appends s to dst with every replacement this package writes
// replaced by with: a way to show where a rule matched without showing what it
// matched, as the preview command's examples do.
func ReplaceMarkers(dst, s []byte, with string) []byte {
	for {
		i := bytes.IndexByte(s, '[')
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		if n := MarkerLen(s[i:]); n > 0 {
			dst, s = append(dst, with...), s[i+n:]
			continue
		}
		dst, s = append(dst, '['), s[i+1:]
	}
}
