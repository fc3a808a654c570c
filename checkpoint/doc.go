// Package checkpoint keeps snapshots of the ledger's state, each labelled
// with the decision-log LSN it reflects, so that a restart loads the newest
// whole snapshot and replays only the log after it.
//
// # Contract
//
//   - A checkpoint is written to a temporary file, synced, renamed into
//     place and the directory synced; until the rename is durable it does
//     not exist. A crash at any instant leaves the previous checkpoints as
//     they were.
//   - Each file carries a header (magic, format version, LSN) and a trailer
//     (length and CRC-32C of everything before it). Newest returns the
//     newest checkpoint whose trailer checks; a damaged one is skipped (and
//     reported through Config.Logger), so a restart falls back to an older
//     checkpoint and replays more of the log.
//   - Write keeps the newest Config.Keep checkpoints (default 2) and removes
//     older ones. The caller may drop log records up to the LSN of the
//     oldest checkpoint kept (Oldest), and no further: that is what lets a
//     damaged newest checkpoint fall back.
//
// # Usage
//
//	s, err := checkpoint.Open(checkpoint.Config{Dir: filepath.Join(dataDir, "checkpoints")})
//	err = s.Write(lsn, func(w io.Writer) error { return state.WriteTo(w) })
//	lsn, r, err := s.Newest() // r nil when there is none
//	if r != nil {
//		defer r.Close()
//		state.ReadFrom(r) // then replay the log from lsn+1
//	}
//
// # Concurrency
//
// A Store is safe for concurrent use; writes are serialized.
package checkpoint
