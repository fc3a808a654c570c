// Package ledger holds ledgersim's state in memory and every operation that
// changes it: users and KYC, deposits, agents and their tokens, cards and
// card-detail access (and, as they arrive, holds, transactions and intents).
//
// State is sharded by user ID: a user, their agents, cards and holds live in
// one shard behind one mutex, so an operation takes exactly one shard lock
// and no two operations on different users contend. A read-mostly directory
// maps agent, card, token, e-mail and PAN-hash keys to their user's shard.
//
// Memory is a cache of the store. Open rebuilds it from Pebble; every change
// is applied to the store under the shard lock (fixing its place in the WAL),
// installed in memory only once the store accepted it, and acknowledged to
// the caller only after its WAL sync (see package store). A failed write
// changes nothing. Every operation releases its shard before it waits for
// the sync: the next operation on the user may decide on the applied change
// at once, and since its own batch follows in the WAL, its reply cannot be
// durable before the change it saw. A card-network decision can leave even
// that wait to its caller (Deferred).
//
// Concurrency: a Ledger is safe for concurrent use. Records it returns are
// copies the caller may keep.
package ledger
