package cwlogs

import (
	"bytes"
	"slices"
	"time"
	"unicode/utf8"
)

// PutLogEvents limits. Sizes count the UTF-8 bytes of a message plus
// EventOverhead per event, as the service does.
const (
	MaxBatchEvents = 10000
	MaxBatchBytes  = 1048576
	EventOverhead  = 26
	// MaxMessageBytes is the largest message sent: an event (message +
	// overhead) may not exceed 256 KiB. CloudWatch has since raised its own
	// limit in some regions; 256 KiB is accepted everywhere.
	MaxMessageBytes = 262144 - EventOverhead
	MaxSpan         = 24 * time.Hour
	// MaxAge and MaxAhead bound the timestamps CloudWatch accepts.
	MaxAge   = 14 * 24 * time.Hour
	MaxAhead = 2 * time.Hour
)

// TruncatedMarker ends every message cut to MaxMessageBytes.
const TruncatedMarker = " [truncated by envoy_s3]"

// Event is one log event: its time (sent in milliseconds) and its message.
type Event struct {
	Time    time.Time
	Message []byte
}

// batches calls fn with consecutive batches of events that PutLogEvents
// accepts, in time order, and stops at fn's first error.
//
// It works in place, so pass a slice you own: it stable-sorts events by
// millisecond time (records of one millisecond keep their order), drops empty
// messages (CloudWatch rejects them and they carry nothing; see
// Stats.Empty), replaces invalid UTF-8 with U+FFFD (so that the bytes counted
// are the bytes the service counts), and truncates messages longer than
// MaxMessageBytes at a rune boundary, ending them with TruncatedMarker, the
// way Fluent Bit's cloudwatch_logs truncates rather than splitting one line
// into several events. Rewritten messages get new backing arrays: the
// caller's buffers are never written to.
//
// Each batch has at most MaxBatchEvents events and MaxBatchBytes bytes
// (message + EventOverhead each), and its last event is less than MaxSpan
// after its first. A batch is a subslice of events, valid only during fn.
// It does not look at the clock: timestamps outside what the service
// accepts are the caller's concern (Client.Put clamps them).
// It reports how many messages it truncated and how many empty ones it dropped.
func batches(events []Event, fn func(batch []Event) error) (truncated, empty int, err error) {
	// Compact: drop empty messages, fix invalid UTF-8, truncate.
	n := 0
	for i := range events {
		m := events[i].Message
		if len(m) == 0 {
			empty++
			continue
		}
		if !utf8.Valid(m) {
			m = bytes.ToValidUTF8(m, []byte("\uFFFD"))
		}
		if len(m) > MaxMessageBytes {
			m = truncate(m)
			truncated++
		}
		events[n] = Event{Time: events[i].Time, Message: m}
		n++
	}
	clear(events[n:]) // drop references to the caller's buffers
	events = events[:n]
	if !slices.IsSortedFunc(events, cmpTime) {
		slices.SortStableFunc(events, cmpTime)
	}

	for start := 0; start < len(events); {
		first := events[start].Time.UnixMilli()
		size := 0
		end := start
		for end < len(events) && end-start < MaxBatchEvents {
			sz := len(events[end].Message) + EventOverhead
			if size+sz > MaxBatchBytes {
				break
			}
			if time.Duration(events[end].Time.UnixMilli()-first)*time.Millisecond >= MaxSpan {
				break
			}
			size += sz
			end++
		}
		if err := fn(events[start:end:end]); err != nil {
			return truncated, empty, err
		}
		start = end
	}
	return truncated, empty, nil
}

func cmpTime(a, b Event) int {
	x, y := a.Time.UnixMilli(), b.Time.UnixMilli()
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// truncate returns m cut to MaxMessageBytes, marker included, in a new array.
func truncate(m []byte) []byte {
	cut := MaxMessageBytes - len(TruncatedMarker)
	for cut > 0 && !utf8.RuneStart(m[cut]) {
		cut--
	}
	out := make([]byte, 0, cut+len(TruncatedMarker))
	out = append(out, m[:cut]...)
	return append(out, TruncatedMarker...)
}

// clampTimes moves timestamps that CloudWatch would reject into its window:
// older than MaxAge to an hour inside it, more than MaxAhead ahead to now.
// The margin covers the time between here and the service's clock check.
func clampTimes(events []Event, now time.Time) (clamped int) {
	oldest := now.Add(-MaxAge + time.Hour)
	newest := now.Add(MaxAhead - 5*time.Minute)
	for i := range events {
		t := events[i].Time
		switch {
		case t.Before(oldest):
			events[i].Time = oldest
			clamped++
		case t.After(newest):
			events[i].Time = now
			clamped++
		}
	}
	return clamped
}
