package cwlogs

import (
	"testing"
	"time"
)

// Lines written by AppendLine read back as the same events; a damaged line is
// reported and skipped, the others kept.
func TestLinesRoundTrip(t *testing.T) {
	t0 := time.UnixMilli(1700000000123)
	msgs := []string{"plain", "quote \" and \\ and \n newline", "ünïcode", ""}
	var body []byte
	for i, m := range msgs {
		body = append(AppendLine(body, t0.Add(time.Duration(i)*time.Millisecond), []byte(m)), '\n')
		if i == 1 {
			body = append(body, "{not json\n"...)
		}
	}
	var bad []string
	events := ParseLines(body, func(line []byte, _ error) { bad = append(bad, string(line)) })
	if len(bad) != 1 || bad[0] != "{not json" || len(events) != len(msgs) {
		t.Fatalf("bad %q, %d events", bad, len(events))
	}
	for i, e := range events {
		if string(e.Message) != msgs[i] || !e.Time.Equal(t0.Add(time.Duration(i)*time.Millisecond)) {
			t.Errorf("event %d: %q at %v", i, e.Message, e.Time)
		}
	}
}
