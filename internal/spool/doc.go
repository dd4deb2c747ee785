// Package spool is envoy_s3's durable on-disk queue (store_dir). A Fluent Bit flush may
// return OK only once its records survive a crash, so each flush appends its lines to
// per-partition batch files and fsyncs them before returning; a batch is later sealed
// with the object key it will be uploaded under, so a crash between upload and removal
// only re-uploads the same key (an overwrite, never a duplicate object).
//
// Each Append is all-or-nothing. One that fails is rolled back across every file it
// touched; one cut short by a crash is kept whole or cut whole by recovery (COMMIT,
// below). AppendChunk names the Fluent Bit chunk an Append stored, and Seen answers
// whether a chunk was stored, for the last ReplayWindow chunks, across sealing, upload
// and restarts: a chunk Fluent Bit sends again because it never handled the flush's OK
// is answered without being stored twice.
//
// # Directory layout
//
//	<root>/                         store_dir: owned by this user, not writable by others
//	<root>/<identity>-<n>/lock      flock(LOCK_EX) held by the owning Spool until Close
//	<root>/<identity>-<n>/destination  Options.Record: where the batches go (JSON, opaque here)
//	<root>/<identity>-<n>/open/     batches still receiving segments
//	<root>/<identity>-<n>/sealed/   batches closed with a SEAL record, waiting for upload
//	<root>/<identity>-<n>/held/     the caller's files (HeldDir), moved along on adoption
//	<root>/quarantine/              bytes recovery could not use: <name>.bad, described by
//	                                <name>.bad.json (QuarantineInfo); the caller ships them
//	                                (internal/deadletter) or leaves them for inspection
//
// n is the first index whose lock can be taken, so instances and processes never share a
// directory. Unlocked siblings of the same identity are adopted at Open; directories of
// other identities are listed by Orphans for the caller to deliver with their recorded
// destination. A directory without its lock file (copied, restored) is still one when
// it has open/ or sealed/: the lock is created when it is taken.
//
// # Rules on the directories (store_dir hardening)
//
//   - store_dir and each directory above it are owned by root or this user; one that
//     others can write to must have the sticky bit (like /tmp), and store_dir itself must
//     not be writable by group or others. Otherwise Open fails with one line saying why.
//   - Every directory the spool creates is 0700. A spool directory (or its open/,
//     sealed/) that is a symlink, is owned by another user or is writable by others is
//     refused with one log line and never used; Open takes the next index.
//   - Files are opened with O_NOFOLLOW and created with O_EXCL: a symlink planted inside
//     the spool is never followed.
//
// # File format (version 3; versions 1 and 2 are still read)
//
// A batch file is an 8-byte header, "ES3SPL", a version byte and a check byte (from
// version 2 the low byte of the CRC-32C of the first seven, so a damaged version byte is
// told apart from a newer format, which must keep this rule; zero in version 1),
// followed by segments, all little-endian:
//
//	[type u8][len u32][records u32][crc u32][payload: len bytes]
//
// crc is CRC-32C (Castagnoli) over the first 9 header bytes (type, len, records) and
// then the payload, so a flipped length or count is caught as well as a flipped byte
// of data. Version 2 begins with two identical META segments (type 1): the batch's Meta
// as JSON, so one damaged copy loses nothing (version 1 has one). DATA segments (type 2)
// hold complete NDJSON lines and their record count: an Append writes one for each
// part, after one for each of the part's staged pieces (below). The last segment of a
// sealed batch is SEAL (type 3): JSON {"key","records","raw","meta"}, the object key,
// the totals of the DATA segments before it and (from version 2) a third copy of the
// Meta.
//
// # COMMIT (version 3)
//
// An Append writes every DATA segment of every file first, then a COMMIT (type 4) in
// each file it wrote, then fsyncs them. A COMMIT's payload is the Append's ChunkID (16
// bytes) and, in the first file written only, the names of the other files, one per
// line. For the DATA at the end of an open batch that no COMMIT follows, recovery knows:
//
//   - a COMMIT of the same Append elsewhere names this file: every DATA was written
//     before it, so the Append is whole and kept (its flush had not returned, so
//     Fluent Bit sends the chunk again, and Seen answers it);
//   - no COMMIT names it: the Append never reached its COMMITs, was never
//     acknowledged, and its DATA is cut (logged at warning level, not a loss).
//
// DATA followed by damage (a COMMIT that fails its CRC) is kept: cutting could lose an
// acknowledged Append, keeping costs at most a duplicate. When a file in open/ cannot
// be read at Open, nothing is cut for want of a COMMIT, for the same reason. A sealed
// batch was sealed after its Appends returned, so all its DATA counts.
//
// ChunkID is XXH3-128 of the chunk's bytes seeded by its tag (an Append of no chunk gets
// a per-process unique ID). When a batch is removed after upload, the chunk IDs of its
// Appends are added to <dir>/replayed (records of the ID and its CRC-32C, fsynced;
// rewritten with the last ReplayWindow IDs when it holds twice that) and read back at
// Open with those of every batch file, so the window survives upload and restarts.
// Only a flush in flight when the process stopped can be sent again after it was
// stored, and Fluent Bit holds at most 16,384 tasks: ReplayWindow is that many.

// # Staging
//
// A flush larger than the caller wants to hold in memory writes its lines ahead to a
// Stage: a file created in the spool directory and unlinked at once, so it has no
// name, is freed by the kernel when the process dies, and is never seen by recovery.
// Each Stage.Write is a complete DATA segment (header, CRC and lines) at the end of the
// staging file; Append copies the staged segments of a part into its batch, in order,
// before the part's remaining lines, in the kernel with copy_file_range (through one
// 128 KiB buffer where that call is missing). Staged segments are therefore written
// twice (the staging file lives in the page cache for the length of a flush; Reset
// keeps its blocks for the next flush up to 8 MiB, as rewriting them costs less than
// freeing and allocating them again), and they become part of a batch only inside
// Append, with the same all-or-nothing rule: a flush the process did not survive
// leaves at most whole segments of an unacknowledged Append, never a torn one that
// would be taken for data.
//
// # Recovery
//
// At Open every batch file is scanned segment by segment. A segment that is torn, fails
// its CRC or has an unknown type does not end the scan: recovery resynchronises on the
// next offset where a whole segment checks out (type, length within the file, CRC), so a
// damaged byte costs only the segment holding it. Everything that checks out is kept;
// every byte range that does not is copied to <root>/quarantine/ (never deleted by
// the spool: the caller may ship it and remove it, with the QuarantineInfo beside it
// that says which file and range it came from, how many records it held and why) and
// reported with its size and the records it held (the segment's count when its header is
// intact, else its line count: META and SEAL payloads hold no newline, so a DATA segment
// whose type byte now reads META or SEAL still counts its records) at error level; a torn last segment of an open batch,
// which a crash during an unacknowledged write leaves, is reported at warning level.
// Bytes after a SEAL are damage too. When the batch has a SEAL, its record count
// makes the loss exact: bytes that are no part of the batch (appended after its end)
// are cut and kept, at warning level, but lose no record.
//
// A damaged file is rewritten (to a temporary name, fsynced, renamed over the original)
// holding only the segments that checked out, then sealed. It keeps its SEAL key when
// nothing was lost, and gets a new key otherwise, so a re-upload never overwrites an
// object that may hold the lost records. The Meta comes from the first valid META, else
// from the SEAL's copy; when all copies are damaged the batch is still delivered, with
// Meta.Unknown set (the caller names such batches by its fallback rule) and an error
// line. A damaged header is rewritten; a file whose header checks out with a newer
// version is left untouched for a newer envoy_s3, reported at error level at each
// Open, and not counted in Size: this version never uploads it, so it must not hold
// back flushes once store_dir_limit_size is reached.
//
// What cannot be reported: a file truncated exactly at a segment boundary looks like a
// batch that received fewer appends, and a cut through a segment's header leaves no
// record count (its complete lines are counted instead).
//
// Writes at Open that only help another process (the destination record) never fail
// Open: a full disk at start must not stop the instance whose uploads free it. A
// failure is logged once and retried by Recheck; a record already right is not
// rewritten. Open fails only when the directory cannot be owned: store_dir cannot
// be created or is unsafe, or no lock file can be opened (a read-only file system).
//
// A file that cannot be opened, read or rewritten (EACCES, EIO, an immutable file) never
// fails Open and never stops the other files: it is logged once with the remedy, left in
// place, and retried by Recheck until it works.
//
// # Open files
//
// At most Options.MaxOpen batches are open at once (by default a quarter of
// RLIMIT_NOFILE, at least 8). A new partition beyond that seals the least recently
// written batch instead of refusing data; so does an EMFILE or ENFILE from the kernel.
// Batches sealed that way are returned by the next SealWhere.
//
// # Files of this package
//
//	spool.go    the Spool type, Options, Meta, Part, Sealed; the counters and Close
//	dir.go      Open: taking and locking <identity>-<n>, adopting unlocked siblings
//	safety.go   the rules on the directories (UnsafeError)
//	segment.go  the file format: header, segment encoding, and the scanner decoding it
//	append.go   Append, its rollback, and the open-file cap (evict)
//	stage.go    Stage: lines written ahead of an Append
//	copyrange_*.go  copy_file_range, which moves staged lines into a batch in the kernel
//	seal.go     sealing batches; reading and removing sealed ones
//	recover.go  recovery at Open and Recheck, quarantine, Orphans
//	replay.go   ChunkID, the COMMIT segment, Seen and the journal of uploaded chunks
package spool
