package chunk

import (
	"fmt"
	"strconv"
)

// Describe renders a value for a log line about an unusable event time: numbers as
// they are, other values by type only (never their content, which may be a secret).
func (v Value) Describe() string {
	switch v.Kind() {
	case KindInt, KindUint:
		if i, ok := v.Int(); ok {
			return strconv.FormatInt(i, 10) + " (integer seconds)"
		}
		return "an integer beyond int64"
	case KindFloat:
		f, _ := v.Float()
		return strconv.FormatFloat(f, 'g', -1, 64) + " (float seconds)"
	case KindExt:
		typ, d, _ := v.Ext()
		return fmt.Sprintf("an extension of type %d and %d bytes", typ, len(d))
	}
	return "a value of type " + v.Kind().String()
}
