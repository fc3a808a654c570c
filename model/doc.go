// Package model holds ledgersim's records: users, agents, cards, agent
// tokens, access events, transactions and events, with their enums and the
// ID scheme.
//
// A record here is what the store persists and what the in-memory index
// holds. It carries internal fields (an encrypted PAN, a token hash) that
// must never be rendered as they are: the api package builds the public
// views. Amounts are int64 cents and times are epoch milliseconds
// throughout, so a record can be compared, summed and persisted without
// conversion.
//
// Records are plain values; nothing in this package locks. The ledger
// package owns the concurrency contract.
package model
