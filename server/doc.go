// Package server assembles a running ledgersim from its Config: it opens the
// store and the vault, rebuilds the ledger, establishes the organization's
// API key, and serves the HTTP API (and the ISO 8583 listener) until it is
// shut down. Start returns once every listener is bound, so tests can start
// a real server on loopback port 0 and read its addresses.
package server
