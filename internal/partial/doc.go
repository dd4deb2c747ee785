// Package partial reassembles the records Docker splits: a log line over 16 KiB reaches
// Fluent Bit as several records carrying partial_message "true", a partial_id shared
// by the pieces, a partial_ordinal (1, 2, ...) and partial_last ("true" on the last).
// Recognition and redaction need the whole line: an access log split in two is not
// recognised, and a secret cut at the boundary matches no rule in either piece.
//
// # Rules
//
//   - A group is the pieces with one partial_id under one tag. It is complete when it
//     holds ordinals 1..n and ordinal n says partial_last. Its line is the pieces' log
//     values joined in ordinal order; its record is the first piece's record with that
//     line as the log value and the four partial_* keys removed. Complete groups are
//     written as one record, within a flush or across flushes.
//   - A piece that repeats an ordinal with the same bytes is a redelivery of a piece
//     already held (Fluent Bit resends a chunk after a crash) and is not kept twice; a
//     different piece under a held ordinal is written as it is.
//   - Nothing is dropped. A group not complete Timeout after its first piece arrived, a
//     group whose line would pass MaxLineBytes, and the oldest groups while the pieces
//     held pass MaxBytes, are written piece by piece as they came (with their partial_*
//     keys), and counted. At exit every group still waiting is written that way. A
//     piece without a partial_id or a usable ordinal is never held: the caller writes
//     it as it is.
//   - A piece written as it came may cut a secret in two, and its other half may never
//     come. Its line was cut before it unless its ordinal is 1 and after it unless it
//     says partial_last (Part.Cut); with redaction on, the caller masks what touches
//     those cuts (redact.Piece, after the other rules) and writes MapLog's record, so
//     neither half of a secret is written, whatever the reason the pieces were not
//     joined.
//   - Memory is bounded by MaxBytes (plus one line of MaxLineBytes), time by Timeout.
//
// # Durability (at-least-once)
//
// A flush that returns OK releases its chunk, so a piece held across flushes must be
// durable before that OK, or an acknowledged piece would die with the process. With a
// journal directory (store_dir), each flush is a transaction over the Reassembler:
//
//  1. Begin takes the lock; Add and Due change the groups, remembering how to undo.
//  2. Prepare appends every piece the flush leaves held to the journal and fsyncs it:
//     before the flush's lines reach the store.
//  3. The caller appends the flush's lines (joined records, pieces written as they
//     came, other records) to the store and fsyncs them.
//  4. Commit appends a DONE for every group this flush finished that had journaled
//     pieces: after the store holds what replaces them. Rollback (the store refused)
//     restores the groups and cuts the journal back to where Prepare found it, so a
//     RETRY leaves no trace and the resent chunk is taken afresh.
//
// So at every instant each acknowledged piece is in the journal, in the store, or both.
// Both happens only around a crash between steps 3 and 4 (DONE not yet durable); the
// piece then comes back from the journal and is written again: the duplicates the
// SPEC allows around a crash, never a loss. A crash before step 3 leaves journaled
// pieces of an unacknowledged flush; the resent chunk brings them again and the
// redelivery rule keeps one copy.
//
// # Journal format
//
// <dir>/*.pjl files (the store gives the directory its lock). A file is the 8-byte
// header "ES3PJL" 1 0, then entries [type u8][len u32][crc u32][payload], little-endian,
// crc being CRC-32C of type, len and payload. ADD (1) payload: uvarint-prefixed group
// key, tag, record (msgpack), log; uvarint ordinal; byte last; varint event time in
// Unix nanoseconds. DONE (2) payload: the group key. Open replays every file in name
// order up to its first torn or damaged entry, then writes the live pieces to a new
// file and removes the old ones (files adopted from an earlier process's directory
// merge this way). The file is compacted the same way when it grows past four times
// the live pieces and 1 MiB.
package partial
