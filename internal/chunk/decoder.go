package chunk

import (
	"encoding/binary"
	"math"
	"time"
)

// Event is one log record of a chunk. Meta, Record and Raw alias the chunk.
type Event struct {
	Time   time.Time // UTC
	Meta   Map       // the v2 metadata map; empty for the legacy form
	Record Map       // the record body
	Raw    []byte    // the whole encoded event
	Legacy bool      // true for the legacy form [ts, {record}]
}

// Decoder walks the events of a chunk. The zero Decoder is empty; Reset
// gives it data. It allocates nothing and is reusable, not concurrent-safe.
//
// Fluent Bit concatenates events, each either the v2 form
// [[ts, {metadata}], {record}] or the legacy form [ts, {record}]. The
// timestamp ts is an EventTime (ext type 0, 8 bytes), an integer, or a float.
// Group markers (ts seconds -1 for start, -2 for end; in an EventTime the
// seconds 0xffffffff / 0xfffffffe with zero nanoseconds, as Fluent Bit 5.x
// reads them) are skipped and counted in Groups, in either form.
//
// An event of the wrong shape (root not a 2-element array, header not
// [ts, map], record not a map, unknown or invalid timestamp, nesting deeper
// than MaxDepth) is counted in Bad and skipped; decoding goes on after it.
// When the bytes themselves are broken (truncated, or the unused type byte
// 0xc1) the end of the event cannot be known: that is counted in Bad too, and
// decoding stops with Err reporting why. Unlike Fluent Bit, a negative integer
// timestamp -1/-2 is read as a group marker rather than an error.
type Decoder struct {
	data   []byte
	off    int
	bad    int
	groups int
	err    error
}

// Reset starts decoding data and clears the counters.
func (d *Decoder) Reset(data []byte) {
	*d = Decoder{data: data}
}

// Bad returns how many malformed events were skipped.
func (d *Decoder) Bad() int { return d.bad }

// Groups returns how many group markers were skipped.
func (d *Decoder) Groups() int { return d.groups }

// Err returns why decoding stopped before the end of the data (ErrTruncated
// or ErrInvalid), or nil.
func (d *Decoder) Err() error { return d.err }

// Offset returns how many bytes of the data have been consumed.
func (d *Decoder) Offset() int { return d.off }

// Next decodes the next good event into ev and reports whether there was one.
// It returns false at the end of the data or when the data is broken.
func (d *Decoder) Next(ev *Event) bool {
	for d.off < len(d.data) {
		start := d.off
		end, err := scan(d.data, start, MaxDepth)
		if err == ErrTooDeep {
			d.off = end
			d.bad++
			continue
		}
		if err != nil {
			d.off = len(d.data)
			d.err = err
			d.bad++
			return false
		}
		d.off = end
		switch parseEvent(d.data[start:end:end], ev) {
		case eventOK:
			return true
		case eventGroup:
			d.groups++
		default:
			d.bad++
		}
	}
	return false
}

type eventClass uint8

const (
	eventBad eventClass = iota
	eventOK
	eventGroup
)

// parseEvent checks the shape of one whole, scanned event and fills ev.
func parseEvent(raw []byte, ev *Event) eventClass {
	off, kids, err := head(raw, 0)
	if err != nil || kids != 2 || kindOf[raw[0]] != KindArray {
		return eventBad
	}
	var ts, meta Value
	legacy := true
	first := skip(raw, off)
	if first < 0 {
		return eventBad
	}
	if kindOf[raw[off]] == KindArray {
		legacy = false
		hoff, hkids, err := head(raw, off)
		if err != nil || hkids != 2 {
			return eventBad
		}
		tsEnd := skip(raw, hoff)
		if tsEnd < 0 || tsEnd > first {
			return eventBad
		}
		ts = Value{b: raw[hoff:tsEnd:tsEnd]}
		meta = Value{b: raw[tsEnd:first:first]}
		if meta.Kind() != KindMap {
			return eventBad
		}
	} else {
		ts = Value{b: raw[off:first:first]}
	}
	// scan found the event ends at len(raw), and the root holds two
	// values: the record is all that follows the first one.
	if first >= len(raw) {
		return eventBad
	}
	rec, ok := Value{b: raw[first:]}.Map()
	if !ok {
		return eventBad
	}
	sec, nsec, class := timestamp(ts)
	if class != eventOK {
		return class
	}
	ev.Time = time.Unix(sec, nsec).UTC()
	ev.Meta, _ = meta.Map() // zero Map for legacy
	ev.Record = rec
	ev.Raw = raw
	ev.Legacy = legacy
	return eventOK
}

// Group marker seconds, as Fluent Bit writes them (FLB_LOG_EVENT_GROUP_*).
const (
	groupStart = -1
	groupEnd   = -2
)

// timestamp decodes an event timestamp. Negative seconds other than the two
// group markers are invalid, as in Fluent Bit.
func timestamp(v Value) (sec, nsec int64, class eventClass) {
	switch v.Kind() {
	case KindExt:
		typ, d, _ := v.Ext()
		if typ != 0 || len(d) != 8 {
			return 0, 0, eventBad
		}
		s := binary.BigEndian.Uint32(d)
		ns := binary.BigEndian.Uint32(d[4:])
		if s >= math.MaxUint32-1 { // int32 -1 / -2
			if ns != 0 { // as Fluent Bit 5: a marker has no nanoseconds
				return 0, 0, eventBad
			}
			return 0, 0, eventGroup
		}
		if ns >= 1e9 { // Fluent Bit 5 rejects this EventTime too
			return 0, 0, eventBad
		}
		return int64(s), int64(ns), eventOK
	case KindInt, KindUint:
		i, ok := v.Int()
		switch {
		case !ok: // a uint64 beyond int64: negative as time_t
			return 0, 0, eventBad
		case i == groupStart || i == groupEnd:
			return 0, 0, eventGroup
		case i < 0:
			return 0, 0, eventBad
		}
		return i, 0, eventOK
	case KindFloat:
		f, _ := v.Float()
		switch {
		case f == groupStart || f == groupEnd:
			return 0, 0, eventGroup
		case !(f >= 0 && f < 1<<62): // also NaN
			return 0, 0, eventBad
		}
		s := int64(f)
		ns := int64((f - float64(s)) * 1e9)
		ns = min(max(ns, 0), 1e9-1)
		return s, ns, eventOK
	}
	return 0, 0, eventBad
}
