// Package ledger holds ledgersim's state in memory and every operation that
// changes it: users and KYC, deposits, agents and their tokens, cards and
// card-detail access (and, as they arrive, holds, transactions and intents).
//
// State is sharded by user ID: a user, their agents, cards and holds live in
// one shard behind one mutex, so an operation takes exactly one shard lock
// and no two operations on different users contend. A read-mostly directory
// maps agent, card, token, e-mail and PAN-hash keys to their user's shard.
//
// Every change is one decision record (record.go): the change's writes, in
// order, with its kind and time. Under the shard lock a change is decided,
// its record appended to the decision log (package decisionlog) and its
// effect installed in memory; the caller is answered once the log has
// synced the record. A failed write changes nothing; a failed sync stops
// the process (fail-stop), so nothing applied and not durable is ever
// acknowledged. Every operation releases its shard before it waits for the
// sync: the next operation on the user may decide on the applied change at
// once, and since its record follows in the log, its reply cannot be
// durable before the change it saw. A card-network decision can leave even
// that wait to its caller (Deferred).
//
// The store (Pebble) is a projection of the log (commit.go): it takes the
// records once they are durable, one batch per sync, and records the last
// LSN it took; it never holds a change the log could lose. Until then, the
// decision path reads the records still queued before the store. Open
// replays into the store what the log holds beyond that LSN, then builds
// memory: what it derives from transactions and events (open holds,
// originals, lists, events by type, the repeat window) from the newest
// memory checkpoint and the log after it (memcheckpoint.go), or from the
// store when there is none to use; the rest from the store. Sweep trims
// the log behind the store, and never past the oldest memory checkpoint
// nor past a record the attached event reader (webhook delivery, which
// tails the log from a cursor of its own) still needs (logevents.go).
//
// Concurrency: a Ledger is safe for concurrent use. Records it returns are
// copies the caller may keep.
package ledger
