package cwlogs

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/jsonstr"
)

// A record bound for CloudWatch Logs waits in the plugin's store as one JSON
// object per line: its event time in milliseconds and its message,
// {"t":ms,"m":"message"}. AppendLine writes such a line, ParseLines reads them.
type line struct {
	T int64  `json:"t"`
	M string `json:"m"`
}

// AppendLine appends {"t":ms,"m":"message"} (no newline).
func AppendLine(dst []byte, t time.Time, msg []byte) []byte {
	dst = append(dst, `{"t":`...)
	dst = strconv.AppendInt(dst, t.UnixMilli(), 10)
	dst = append(dst, `,"m":`...)
	dst = jsonstr.Append(dst, msg)
	return append(dst, '}')
}

// ParseLines reads the newline-separated lines of body into events; a line that is
// not one is passed to bad and skipped.
func ParseLines(body []byte, bad func(line []byte, err error)) []Event {
	events := make([]Event, 0, bytes.Count(body, []byte{'\n'}))
	for len(body) > 0 {
		ln, rest, _ := bytes.Cut(body, []byte{'\n'})
		body = rest
		var l line
		if err := json.Unmarshal(ln, &l); err != nil {
			bad(ln, err)
			continue
		}
		events = append(events, Event{Time: time.UnixMilli(l.T), Message: []byte(l.M)})
	}
	return events
}
