// Package stats counts what an instance did, with atomic counters cheap enough to
// bump per record, and renders them as the one-line summary the plugin logs.
package stats

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// Counters of one instance. The zero value is ready. Record counts are of
// accepted chunks only, once each: a chunk answered RETRY is counted when it is
// finally accepted, not at every attempt.
type Counters struct {
	RecordsIn     atomic.Int64 // records decoded from accepted chunks
	Access        atomic.Int64 // recognised access logs
	Other         atomic.Int64 // other records kept (other_logs s3/cloudwatch)
	Dropped       atomic.Int64 // other records dropped by other_logs drop
	Bad           atomic.Int64 // events lost to broken msgpack (estimated where bytes were skipped)
	BadTime       atomic.Int64 // records kept whose event time was unusable (given their time of arrival)
	StoredRecords atomic.Int64 // records in objects uploaded to S3
	LogBytes      atomic.Int64 // bytes of the original log lines (what CloudWatch would ingest)
	RawBytes      atomic.Int64 // NDJSON bytes produced, before compression
	StoredBytes   atomic.Int64 // object bytes uploaded
	Objects       atomic.Int64 // objects uploaded
	CWBatches     atomic.Int64 // PutLogEvents batches delivered (other_logs cloudwatch)
	Retries       atomic.Int64 // failed upload attempts
	Backpressure  atomic.Int64 // flushes answered RETRY because the buffer was full
	Refused       atomic.Int64 // upload attempts refused with an error the user must fix (access denied, no bucket, ...)
	Replayed      atomic.Int64 // chunks sent again that were already stored: answered OK, stored nothing
}

// Snapshot is a plain copy of Counters.
type Snapshot struct {
	RecordsIn, Access, Other, Dropped, Bad, BadTime, LogBytes, RawBytes, StoredRecords, StoredBytes, Objects, CWBatches, Retries, Backpressure, Refused, Replayed int64
}

// Snapshot reads every counter.
func (c *Counters) Snapshot() Snapshot {
	return Snapshot{
		RecordsIn: c.RecordsIn.Load(), Access: c.Access.Load(), Other: c.Other.Load(),
		Dropped: c.Dropped.Load(), Bad: c.Bad.Load(), BadTime: c.BadTime.Load(), StoredRecords: c.StoredRecords.Load(), LogBytes: c.LogBytes.Load(), RawBytes: c.RawBytes.Load(),
		StoredBytes: c.StoredBytes.Load(), Objects: c.Objects.Load(), CWBatches: c.CWBatches.Load(), Retries: c.Retries.Load(),
		Backpressure: c.Backpressure.Load(), Refused: c.Refused.Load(), Replayed: c.Replayed.Load(),
	}
}

// Line renders s as one log line; extra pairs (already formatted) are appended.
func (s Snapshot) Line(extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "records=%d access=%d other=%d dropped=%d bad=%d bad_time=%d log_bytes=%d raw_bytes=%d stored_records=%d stored_bytes=%d objects=%d cloudwatch_batches=%d retries=%d backpressure=%d refused_uploads=%d",
		s.RecordsIn, s.Access, s.Other, s.Dropped, s.Bad, s.BadTime, s.LogBytes, s.RawBytes, s.StoredRecords, s.StoredBytes, s.Objects, s.CWBatches, s.Retries, s.Backpressure, s.Refused)
	for _, e := range extra {
		b.WriteByte(' ')
		b.WriteString(e)
	}
	return b.String()
}
