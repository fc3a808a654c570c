// Package webhook delivers ledgersim's events to the HTTP endpoints an
// organization registers, and keeps those endpoints.
//
// # What it owns
//
// Endpoint records (keys "wh/<whk_id>"), the per-endpoint delivery queue
// ("wq/<whk_id>/<evt_id>", one record per event still to deliver to that
// endpoint, ordered by event ID) and the per-endpoint delivery log
// ("wd/<whk_id>/<whd_id>", one record per attempt, newest last). The
// package also reads, but never writes, the ledger's events ("e/<evt_id>",
// "xet/<type>/<evt_id>") and consumes its outbox markers ("o/<evt_id>").
//
// # How an event travels
//
// The ledger writes each event and an outbox marker in the same batch as the
// change that caused it, and calls Service.Notify once that batch is synced.
// Notify only sets a flag and wakes the dispatcher (it never blocks, so
// delivery cannot slow a decision). The dispatcher scans the outbox in event
// order and, for each event, writes one queue record per matching enabled
// endpoint and deletes the marker, all in one synced batch: a crash before
// the batch leaves the marker (the event is fanned out after restart), a
// crash after it leaves the queue records (they are delivered after
// restart), and never both, so nothing is lost and nothing is enqueued twice.
// The dispatcher also scans the outbox when it starts.
//
// Each endpoint has at most one attempt in flight. An attempt POSTs the
// event envelope, signed (see package signature), and then, in one batch,
// appends a delivery-log record and removes the queue record (2xx), or
// moves it to its next attempt time (anything else), or removes it after
// the last attempt, or disables the endpoint (410 Gone). A crash during an
// attempt leaves the queue record as it was, so the attempt is made again
// after restart: delivery is at least once, with the same event ID on every
// attempt, and receivers should deduplicate on X-Ledger-Event-Id.
//
// # Ordering
//
// Each endpoint's queue is in event-ID order (IDs sort by creation time).
// When an endpoint is free, the dispatcher sends its oldest delivery that is
// due. After a delivery's first failure the endpoint pauses until that
// delivery's retry time, so nothing newer overtakes it and it goes first
// when the time comes; after a later failure the endpoint pauses for the
// first step of the schedule only, and the failing delivery keeps its own
// schedule while the others go ahead. The pause is kept in the endpoint
// record, so a restart honours it. Events arrive in order while the
// receiver is healthy and across short failures; after a long outage a
// delivery whose retry time is still ahead arrives after newer ones.
//
// # Time
//
// Every time decision (attempt times, the signature timestamp, rotation
// expiry, record timestamps) reads the injected clock.Clock. The dispatcher
// computes due work from Clock.Now on every pass; with the real clock it
// sleeps on a timer until the next due time (at most Config.PollInterval).
// With a virtual clock, Kick (or Settle, which also waits for the work to
// finish) makes it look again after the clock was advanced. Latency is
// measured with the process's monotonic clock because it is a measurement,
// not a decision.
//
// # Memory
//
// The backlog lives in Pebble. The dispatcher holds at most
// Config.MaxBufferedPerEndpoint queue records per endpoint and
// Config.MaxBuffered in total, reloading from the store as they drain, and
// at most Config.MaxInFlight attempts at once, so a slow or dead receiver
// with any backlog costs bounded memory.
//
// # Concurrency
//
// A Service is safe for concurrent use. Its methods may be called from many
// goroutines (the API's handlers) while the dispatcher runs. Close stops the
// dispatcher, abandons attempts in flight (they are retried after restart)
// and must be called before the store is closed.
//
// # Usage
//
//	wh, err := webhook.New(webhook.Config{Store: db, Clock: clk, Logger: log})
//	...
//	l, err := ledger.Open(ledger.Config{..., OnEvents: wh.Notify})
//	...
//	defer db.Close()
//	defer wh.Close() // runs first
package webhook
