// Package store is ledgersim's durable log and its only I/O: a Pebble
// database in <data-dir>/pebble holding every record as a key and a value.
//
// Durability is two-phase so that decisions can share fsyncs (group commit)
// while keeping the WAL in decision order:
//
//	b := db.NewBatch()
//	b.PutJSON(keyspace.UserKey(id), user)
//	err := db.Apply(b) // under the shard lock: orders the write in the WAL, no fsync wait
//	... release the lock ...
//	err = b.Wait()     // outside the lock: returns once the WAL holding b is synced
//
// Pebble's commit pipeline syncs the WAL for every batch waiting at once, so
// thousands of concurrent decisions share one fsync, and a batch applied
// after another in the same shard is never durable before it.
//
// The key layout is in keys.go. A DB is safe for concurrent use; a Batch
// belongs to one goroutine.
package store
