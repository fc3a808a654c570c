// Package decisionlog is ledgersim's decision log: an append-only sequence
// of opaque records, each numbered by its log sequence number (LSN), made
// durable in groups. It is the database; everything else (the state in
// memory, its indexes, projections for reads, checkpoints) is derived from
// it and can be rebuilt by reading it again.
//
// # Interface
//
// The interface is deliberately narrow, so that a replicated log could take
// its place:
//
//	lsn, err := log.Append(rec1, rec2) // LSN of the last record; nothing is durable yet
//	err = log.WaitDurable(lsn)        // returns once every record up to lsn is synced
//	err = log.ReadFrom(from, func(lsn LSN, rec []byte) error { ... })
//	err = log.TruncateBelow(lsn)       // retention: records below lsn may be dropped
//
// Append only copies the records into a buffer and numbers them: it does no
// I/O and may be called under the caller's own lock, which is how callers
// make log order equal their decision order. One goroutine per log (the
// syncer) writes what was appended and syncs it, waiting at least
// Config.MinSyncInterval between the starts of two syncs, so that under load
// one sync releases many records (group commit) and at low load a record
// waits for at most one interval plus one sync.
//
// # Durability contract
//
//   - A record is durable once WaitDurable(lsn) has returned nil for its LSN
//     or a later one. Nothing derived from a record may be told to anyone
//     outside the process (a reply, a webhook) before that.
//   - Records become durable in LSN order: a durable LSN covers every record
//     before it.
//   - Fail-stop. If a write or a sync fails, the log stops: Config.OnFatal is
//     called once (by default it logs and exits the process), every waiter
//     and every later Append and WaitDurable returns ErrFailed, and the
//     durable LSN never moves again. After a failed fsync the kernel may have
//     dropped the dirty pages while reporting success for a later sync, so
//     nothing written since the last good sync can be trusted; and the
//     records appended meanwhile were already applied to memory. Neither may
//     be acknowledged. A restart recovers the state from what is on disk.
//   - A torn tail (a frame cut short by a crash, or stale bytes left by a
//     reused segment) is detected by each frame's CRC and LSN, and cut on
//     Open: the log continues from the last whole record. A bad frame that is
//     not at the tail is corruption: Open reads the last segment in full and
//     checks where each earlier one begins (they were synced whole before
//     the next one got a frame, so no crash can tear them), and a read that
//     crosses a damaged or missing earlier segment fails with an error that
//     says the log is corrupt, rather than return fewer records.
//
// # Implementations
//
// Open (segment.go) keeps the log in preallocated segment files of
// CRC-framed records on a Pebble vfs.FS. OpenPebble (pebble.go) keeps each
// record under a sequential key in a Pebble database and syncs Pebble's WAL;
// it exists to be measured against (BenchmarkLogs). Segment files are the
// chosen implementation, at about half of Pebble's CPU per record: see
// BENCHMARKS.md for the figures.
//
// # Frame format (segment files)
//
// A segment is named by the LSN of its first record (%016x.log) and holds
// frames back to back:
//
//	offset 0  uint32 CRC-32C (Castagnoli) of bytes 4..16+n
//	offset 4  uint32 n, the record's length (1..MaxRecordBytes)
//	offset 8  uint64 the record's LSN
//	offset 16 n bytes, the record
//
// all little-endian. The rest of a segment is zeros (a new segment) or old
// frames (a reused one); either ends the segment when read, since a zero
// length or an LSN other than the next one is not a frame of this log.
//
// # Concurrency
//
// A Log is safe for concurrent use. ReadFrom sees only durable records.
package decisionlog
