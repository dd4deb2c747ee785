package accesslog

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plain8 reports whether the eight bytes of w are plain text for the scanners: ASCII,
// not control characters, neither '"' nor '\\'. With every byte below 0x80, a
// subtraction sets a high bit only where a byte is below the subtrahend or a
// lower byte already was (bit tricks from "Bit Twiddling Hacks"), so false
// answers may be spurious but true ones are exact.
func plain8(w uint64) bool {
	ctl := w - lsb*0x20
	quote := (w ^ lsb*'"') - lsb
	bslash := (w ^ lsb*'\\') - lsb
	return (w|ctl|quote|bslash)&msb == 0
}
