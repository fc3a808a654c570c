// Package eventlog holds the stored form of the event log's records: how
// the ledger writes an event into the batch of its state change, and how
// the events API, webhook delivery and verify read it back as JSON.
//
// Every authorization records an event, so its form is on the decision
// path. Transaction events, nearly all of them, are written in a compact
// binary form: a format byte, the creation time, a one-byte type code and
// the payload's fields in a fixed order, about 40% of the bytes of their
// JSON and without encoding/json's reflection. Other events keep their data
// as JSON. Records written as JSON by earlier versions still decode.
//
// The event's ID is its key and is not repeated in the record.
package eventlog
