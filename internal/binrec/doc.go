// Package binrec reads the compact binary records the ledger stores for
// transactions and events: bytes, varints and length-prefixed strings laid
// end to end. Both record formats are read from a store iterator on every
// page of a listing and fuzzed against corrupt input, so the reader never
// panics, never reads past its slice, and reports the first malformed read
// once instead of at every call site.
package binrec
