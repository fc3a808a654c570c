package store

// MetaKey is the key of a named server record (m/<name>): the data
// directory's layout, the API key's hash, the virtual clock, the LSNs the
// store is current to. Every other key family belongs to the package whose
// records it holds (the ledger's are in package ledger/keyspace); the store
// itself only reads and writes bytes.
func MetaKey(name string) []byte { return append([]byte("m/"), name...) }
