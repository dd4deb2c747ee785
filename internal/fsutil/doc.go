// Package fsutil holds the few file-system steps that make envoy_s3's on-disk state
// crash-safe, written once so every package that keeps files (the spool, the journal
// of split records, the $INDEX counter) does them the same way:
//
//   - SyncDir fsyncs a directory, which makes the creation, rename or removal of an
//     entry in it durable (fsyncing the file makes only its contents durable).
//   - WriteFileAtomic replaces a small file whole: a reader, or the next start after a
//     crash, sees the old contents or the new ones, never a mix.
//   - OpenRegular and ReadRegular open a file of the program's own that must be a
//     regular file (a lock, a counter, a record, a batch) without blocking and check
//     its type, so a FIFO or socket planted in its place fails at once, never hangs.
//   - Flock takes or releases a flock(2) lock, retrying when a signal interrupts it
//     (the Go runtime's signals make EINTR common in a Fluent Bit process).
//
// Errors are returned as the os and syscall packages give them (an *os.PathError
// names the file); callers add their own prefix. Linux and other Unix systems only.
package fsutil
