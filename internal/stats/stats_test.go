package stats

import "testing"

func TestSnapshotLine(t *testing.T) {
	var c Counters
	c.RecordsIn.Add(3)
	c.Access.Add(2)
	c.Other.Add(1)
	c.StoredBytes.Add(99)
	got := c.Snapshot().Line("spool=0")
	want := "records=3 access=2 other=1 dropped=0 bad=0 bad_time=0 log_bytes=0 raw_bytes=0 stored_records=0 stored_bytes=99 objects=0 cloudwatch_batches=0 retries=0 backpressure=0 refused_uploads=0 spool=0"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
