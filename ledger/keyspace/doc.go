// Package keyspace is the ledger's layout of keys in the store: one
// prefix per record kind (a transaction, an event, a user...), then IDs
// separated by '/'. The store (package store) reads and writes bytes and
// knows only its own metadata keys (m/); the families here are the
// ledger's, and the few packages that read the store beside the ledger
// (ledgersim verify, webhook delivery, the server's start-up) take them
// from here, so that one file shows the whole key space and no two
// families can share a prefix unseen.
package keyspace
