package chunk

import (
	"bytes"
	"encoding/binary"
	"math"
	"time"
)

// Event is one log record of a chunk. Meta, Record and Raw alias the chunk.
type Event struct {
	Time   time.Time // UTC; zero when TimeInvalid
	Meta   Map       // the v2 metadata map; empty for the legacy form
	Record Map       // the record body
	Raw    []byte    // the whole encoded event
	Legacy bool      // true for the legacy form [ts, {record}]
	// TimeInvalid reports a timestamp that is no time between 1970 and 9999
	// (negative, NaN, milliseconds sent as seconds, a string, ...). The event is
	// still returned: one bad field must not lose a record. TimeValue is the
	// timestamp as it was sent.
	TimeInvalid bool
	TimeValue   Value
}

// MaxUnix is the last second of year 9999, the latest event time accepted: later
// times cannot be written as RFC 3339 or as a four-digit %Y.
const MaxUnix = 253402300799

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
// [ts, map], record not a map, nesting deeper than MaxDepth) is counted in Bad
// and skipped; decoding goes on after it. An event whose only fault is its
// timestamp (of an unknown type, negative, NaN, or beyond year 9999) is
// returned with TimeInvalid set and counted in BadTime: the caller decides
// what time to give it.
//
// When the bytes themselves are broken (a flipped length, a truncated value,
// the unused type byte 0xc1) the end of the event cannot be known. The
// decoder then resynchronises: it skips to the next offset where a whole,
// well-formed event starts and is followed by another one or by the end of
// the data, and goes on from there, so the good events after a damaged one
// are not lost. What it skipped is reported by Skipped (bytes, regions, the
// first offset) and Err (the first cause); Lost estimates the events in it.
// Unlike Fluent Bit, a negative integer timestamp -1/-2 is read as a group
// marker rather than an error.
type Decoder struct {
	data    []byte
	off     int
	bad     int
	badTime int
	groups  int
	err     error

	// lastGood is the end of the last good event (or group marker); badSince
	// counts the bad-shape events after it, which may be misaligned bytes of
	// a broken event and are then skipped again as part of it.
	lastGood, badSince int
	skipped, regions   int
	firstSkip          int
	lostInSkipped      int // event heads seen in the skipped bytes (at least one per region)
}

// Reset starts decoding data and clears the counters.
func (d *Decoder) Reset(data []byte) {
	*d = Decoder{data: data, firstSkip: -1}
}

// Bad returns how many malformed but whole events were skipped, plus one per
// region of broken bytes skipped (see Lost for an estimate of the events in
// them).
func (d *Decoder) Bad() int { return d.bad }

// Skipped reports the broken bytes skipped to resynchronise: how many, in how
// many regions, and the offset of the first (-1 when none).
func (d *Decoder) Skipped() (bytes, regions, first int) {
	return d.skipped, d.regions, d.firstSkip
}

// Lost estimates how many events were lost: the malformed whole events, plus
// the events that began in the skipped bytes, counted by their heads (a
// 2-element array starting with a timestamp), at least one per region.
func (d *Decoder) Lost() int {
	return d.bad - d.regions + d.lostInSkipped
}

// BadTime returns how many events were returned with TimeInvalid.
func (d *Decoder) BadTime() int { return d.badTime }

// Groups returns how many group markers were skipped.
func (d *Decoder) Groups() int { return d.groups }

// Err returns why decoding stopped before the end of the data (ErrTruncated
// or ErrInvalid), or nil.
func (d *Decoder) Err() error { return d.err }

// Offset returns how many bytes of the data have been consumed.
func (d *Decoder) Offset() int { return d.off }

// Next decodes the next good event into ev and reports whether there was one.
// It returns false at the end of the data.
func (d *Decoder) Next(ev *Event) bool {
	for d.off < len(d.data) {
		start := d.off
		end, err := scan(d.data, start, MaxDepth)
		if err == ErrTooDeep {
			d.off = end
			d.bad++
			d.badSince++
			continue
		}
		if err != nil {
			d.resync(err)
			continue
		}
		d.off = end
		switch c := parseEvent(d.data[start:end:end], ev); c {
		case eventOK, eventBadTime:
			if d.swallowed(start, end) {
				d.resync(ErrGarbled)
				continue
			}
			if c == eventBadTime {
				d.badTime++
			}
			d.lastGood, d.badSince = end, 0
			return true
		case eventGroup:
			d.groups++
			d.lastGood, d.badSince = end, 0
		default:
			// A whole event of the wrong shape is skipped alone when a good
			// event follows it and it holds none. Otherwise its bytes may be a
			// damaged event read out of step (a flipped length or type byte),
			// and every "event" after it would be too: resynchronise instead.
			if end < len(d.data) {
				if _, ok := d.eventAt(end); !ok {
					d.resync(ErrGarbled)
					continue
				}
			}
			if d.swallowed(start, end) {
				d.resync(ErrGarbled)
				continue
			}
			d.bad++
			d.badSince++
		}
	}
	return false
}

// eventTimeHead starts an event, or the header of a v2 event, with an
// EventTime timestamp: a 2-element array, then fixext8 of type 0.
var eventTimeHead = []byte{0x92, 0xd7, 0x00}

// swallowed reports whether the good-looking event at [start, end) holds whole
// events of its own: a damaged type or length byte (a number turned into an
// array of 13, a string length grown) makes one event take in the events
// after it. An event head inside a binary value does not count; elsewhere it
// must start a good event followed by another one or by the end of the data.
// The search costs one bytes.Index per event on good data.
func (d *Decoder) swallowed(start, end int) bool {
	raw := d.data[start:end]
	for from := 3; from < len(raw); {
		// 0xd7 (fixext8) is rarer in records than 0x92, so search for it.
		i := bytes.Index(raw[from:], eventTimeHead[1:])
		if i < 0 {
			return false
		}
		at := from + i - 1
		from = at + 2
		if raw[at] != 0x92 {
			continue
		}
		if !outsideBinary(raw, at) {
			continue
		}
		for _, head := range [...]int{at - 1, at} { // v2 event, or legacy
			if head < 1 || (head == at-1 && raw[head] != 0x92) {
				continue
			}
			e, ok := d.eventAt(start + head)
			if !ok {
				continue
			}
			if e == len(d.data) {
				return true
			}
			if _, ok := d.eventAt(e); ok {
				return true
			}
		}
	}
	return false
}

// outsideBinary reports whether offset at of the (well-formed) raw is where a
// value starts or inside a string, rather than inside a binary or extension
// payload (or a header). A string holding an event head is no valid UTF-8
// (0x92 0xd7 0x00 cannot occur in it), so it is a damaged length, not text.
func outsideBinary(raw []byte, at int) bool {
	for off := 0; off < len(raw); {
		if off == at {
			return true
		}
		end, _, err := head(raw, off)
		if err != nil {
			return false
		}
		if at < end {
			return kindOf[raw[off]] == KindStr
		}
		off = end
	}
	return false
}

// eventAt reports whether a whole, good event (or group marker) starts at at,
// and where it ends.
func (d *Decoder) eventAt(at int) (int, bool) {
	end, err := scan(d.data, at, MaxDepth)
	if err != nil {
		return 0, false
	}
	var ev Event
	c := parseEvent(d.data[at:end:end], &ev)
	return end, c == eventOK || c == eventBadTime || c == eventGroup
}

// resync handles broken bytes found at d.off: the bad-shape events since the
// last good one may be pieces of the same damage, so the search for the next
// good event starts right after that one, and everything before it is skipped.
func (d *Decoder) resync(cause error) {
	if d.err == nil {
		d.err = cause
	}
	from := d.lastGood
	d.bad -= d.badSince // now part of the skipped region
	d.badSince = 0
	next := d.findEvent(from + 1)
	if d.firstSkip < 0 {
		d.firstSkip = from
	}
	d.skipped += next - from
	d.regions++
	d.lostInSkipped += max(eventHeads(d.data[from:next]), 1)
	d.bad++
	d.off, d.lastGood = next, next
}

// eventHeads counts the places in b that look like the start of an event: a
// 2-element array whose first element is a timestamp (v2: [[ts, ...), legacy:
// [ts, ...).
func eventHeads(b []byte) int {
	n := 0
	for p := 0; p+2 < len(b); p++ {
		if b[p] != 0x92 {
			continue
		}
		switch {
		case b[p+1] == 0x92 && tsByte(b[p+2]):
			n++
			p++ // its header [ts, ...] is no second event
		case tsByte(b[p+1]) && b[p+1] != 0x92:
			n++
		}
	}
	return n
}

// tsByte reports whether c can start an event timestamp: an EventTime
// (fixext8, ext8), a non-negative integer or a float.
func tsByte(c byte) bool {
	return c == 0xd7 || c == 0xc7 || c <= 0x7f || c >= 0xcc && c <= 0xd3 || c == 0xca || c == 0xcb
}

// findEvent returns the first offset at or after from where a whole event
// starts that is followed by the end of the data or by another whole event;
// len(data) when there is none. Events are 2-element arrays, so only offsets
// holding 0x92 are tried. The work is bounded, so hostile data cannot make a
// flush quadratic: past the budget the rest of the data is skipped.
func (d *Decoder) findEvent(from int) int {
	data := d.data
	budget := 16*len(data) + 1<<20
	var ev Event
	event := func(at int) (int, bool) {
		end, err := scan(data, at, MaxDepth)
		if err != nil {
			budget -= 64
			return 0, false
		}
		budget -= end - at
		c := parseEvent(data[at:end:end], &ev)
		return end, c == eventOK || c == eventBadTime || c == eventGroup
	}
	for p := from; p < len(data) && budget > 0; p++ {
		if data[p] != 0x92 {
			continue
		}
		end, ok := event(p)
		if !ok {
			continue
		}
		if end == len(data) {
			// The [ts, {meta}] header of a v2 event is itself a well-formed
			// legacy event: the header of a v2 event cut by the end of the data
			// must not be taken for one.
			if ev.Legacy && p > 0 && data[p-1] == 0x92 {
				continue
			}
			return p
		}
		if _, ok := event(end); ok {
			return p
		}
	}
	return len(data)
}

type eventClass uint8

const (
	eventBad eventClass = iota
	eventOK
	eventGroup
	eventBadTime // a good event whose timestamp is no usable time
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
	switch class {
	case eventGroup:
		return class
	case eventOK:
		ev.Time = time.Unix(sec, nsec).UTC()
	default:
		ev.Time, class = time.Time{}, eventBadTime
	}
	ev.TimeInvalid = class == eventBadTime
	ev.TimeValue = ts
	ev.Meta, _ = meta.Map() // zero Map for legacy
	ev.Record = rec
	ev.Raw = raw
	ev.Legacy = legacy
	return class
}

// Group marker seconds, as Fluent Bit writes them (FLB_LOG_EVENT_GROUP_*).
const (
	groupStart = -1
	groupEnd   = -2
)

// timestamp decodes an event timestamp. Negative seconds other than the two
// group markers are invalid, as in Fluent Bit, and so are seconds beyond
// MaxUnix (milliseconds sent as seconds).
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
		case i < 0, i > MaxUnix:
			return 0, 0, eventBad
		}
		return i, 0, eventOK
	case KindFloat:
		f, _ := v.Float()
		switch {
		case f == groupStart || f == groupEnd:
			return 0, 0, eventGroup
		case !(f >= 0 && f < MaxUnix+1): // also NaN
			return 0, 0, eventBad
		}
		s := int64(f)
		ns := int64((f - float64(s)) * 1e9)
		ns = min(max(ns, 0), 1e9-1)
		return s, ns, eventOK
	}
	return 0, 0, eventBad
}
