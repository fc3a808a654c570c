// Package webhook delivers ledgersim's events to the HTTP endpoints an
// organization registers, and keeps those endpoints.
//
// # What it owns
//
// Endpoint records (keys "wh/<whk_id>"), the per-endpoint delivery queue
// ("wq/<whk_id>/<evt_id>", one record per event still to deliver to that
// endpoint, ordered by event ID, in a compact binary form that carries the
// exact body to send) and the per-endpoint delivery log
// ("wd/<whk_id>/<whd_id>", one JSON record per attempt, newest last), and
// its cursor in the ledger's decision log ("m/whlsn", the LSN of the last
// record fanned out). The package also reads, but never writes, the
// ledger's events: from the decision log for delivery (Config.Log, the
// ledger), and from the store ("e/<evt_id>") for the events API; events
// of one type are found through the ledger's index by type, kept in its
// memory (EventIndex).
//
// # How an event travels
//
// The ledger writes each event into the decision record of the change
// that caused it, and once the record is durable calls Service.Notify with
// its LSN (the Service is the ledger's EventReader; it is told only of
// records with an event some enabled endpoint subscribes to, Wants).
// Notify only wakes the fan-out goroutine (it never blocks, so delivery
// cannot slow a decision). Fan-out reads the durable records after its
// cursor, in LSN order, picks their events and, for up to
// Config.FanOutBatch events at a time (a record's events are never split
// across batches), writes one queue record per matching enabled endpoint
// and the LSN of the last record read as the new cursor, all in one synced
// batch: a crash before the batch reads those records again after restart,
// a crash after it finds the queue records, and never both, so nothing is
// lost and nothing is enqueued twice. The new deliveries are handed to
// the dispatcher only once that batch is synced, so no event is sent
// before it is durable. The log's order is the order records became
// durable, whatever the events' IDs, so an event numbered before one
// already fanned out is still read (there is no rescan). The ledger keeps
// the events fan-out wants in memory until it has read them, so fan-out
// keeping up never reads the log's files; one that fell behind, or a
// restart, reads them from the log.
//
// The log is kept for fan-out: the ledger's retention never drops a record
// after the durable cursor (NeededLSN). With no enabled endpoint, fan-out
// moves its cursor to the durable LSN without reading anything and holds
// nothing back; an endpoint enabled when none was starts with the records
// made durable after it. If the log no longer holds the records after the
// cursor (a data directory whose log was lost), fan-out says so in its log
// and goes on from the oldest record there is. A store written before
// delivery tailed the log keeps its undelivered events as outbox markers
// ("o/<evt_id>"): New delivers and deletes them, and without a cursor
// starts at the log's durable LSN (every event before it that an endpoint
// wanted has a marker). Fan-out also wakes every Config.PollInterval, so
// that the cursor moves on when no event anyone wants comes.
//
// The dispatcher starts attempts, which run on at most Config.MaxInFlight
// worker goroutines. An attempt POSTs the event envelope, signed (see
// package signature), with a fasthttp client that honours HTTP_PROXY,
// HTTPS_PROXY and NO_PROXY (through CONNECT tunnels; see newClient and
// dialer for how it differs from net/http's). Its outcome goes to the
// recorder, which writes the outcomes of all the attempts that ended
// meanwhile in one batch (group commit): for each, a delivery-log record,
// and the queue record removed (2xx), or moved to its next attempt time
// (anything else), or removed after the last attempt, or the endpoint
// disabled (410 Gone). The recorder updates the dispatcher's state when the
// batch is applied and starts the endpoint's next attempts at once; the sync
// is waited for behind it (at most 64 batches wait). A crash before an
// outcome is synced leaves the queue record as it was, so the attempt is
// made again after restart: delivery is at least once, with the same event
// ID and body on every attempt, and receivers should deduplicate on
// X-Ledger-Event-Id.
//
// # Ordering
//
// Each endpoint's queue is in event-ID order (IDs sort by creation time),
// and the dispatcher always starts the oldest delivery that is due and not
// in flight. While an endpoint keeps up, meaning its whole queue fits in
// its in-memory window (Config.MaxBufferedPerEndpoint), it has one attempt
// in flight at a time, so its events arrive strictly in order. When more is
// queued than the window holds, the endpoint has fallen behind and one at
// a time cannot catch up: it then has up to Config.MaxInFlightPerEndpoint
// attempts in flight, started in event order on separate connections, so
// they may reach the receiver (and be answered) in a different order. Once
// the backlog fits in the window again, it is back to one at a time.
//
// After any failed attempt the endpoint goes back to one at a time until
// an attempt succeeds. After a delivery's first failure the endpoint pauses
// until that delivery's retry time, so nothing newer is started before it
// and it goes first when the time comes; after a later failure the
// endpoint pauses for the first step of the schedule only, and the failing
// delivery keeps its own schedule while the others go ahead. Attempts that
// were already in flight when one failed still complete, so with several
// in flight a newer delivery can overtake a failed one. The pause is kept
// in the endpoint record, so a restart honours it. Events arrive in order
// while the receiver is healthy and keeps up, and across short failures;
// after a long outage a delivery whose retry time is still ahead arrives
// after newer ones, and while an endpoint is catching up with a backlog,
// events that were in flight together may arrive in any order.
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
// not a decision, and so is the interval at which fan-out moves its
// cursor on when no event comes, which is housekeeping rather than a
// decision.
//
// # Memory
//
// The backlog lives in Pebble. The dispatcher holds at most
// Config.MaxBufferedPerEndpoint queue records per endpoint and
// Config.MaxBuffered in total, reading more from the store (from where it
// stopped) as they drain, and at most Config.MaxInFlight attempts at once
// (Config.MaxInFlightPerEndpoint per endpoint), so a slow or dead receiver
// with any backlog costs bounded memory.
//
// # Concurrency
//
// A Service is safe for concurrent use. Its methods may be called from many
// goroutines (the API's handlers) while the dispatcher, fan-out and the
// recorder run. Close stops them, abandons attempts in flight (it closes
// the default client's connections rather than wait for them) and outcomes
// not yet recorded (they are retried after restart) and must be called
// before the store is closed.
//
// # Usage
//
//	l, err := ledger.Open(ledger.Config{Store: db, ...})
//	...
//	wh, err := webhook.New(webhook.Config{Store: db, Log: l, Clock: clk, Logger: log})
//	...
//	l.AttachEventReader(wh)
//	defer db.Close()
//	defer l.Close()
//	defer wh.Close() // runs first
package webhook
