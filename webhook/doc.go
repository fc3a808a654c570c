// Package webhook delivers ledgersim's events to the HTTP endpoints an
// organization registers, and keeps those endpoints.
//
// # What it owns
//
// Endpoint records (keys "wh/<whk_id>"), the per-endpoint delivery queue
// ("wq/<whk_id>/<evt_id>", one record per event still to deliver to that
// endpoint, ordered by event ID, in a compact binary form that carries the
// exact body to send) and the per-endpoint delivery log
// ("wd/<whk_id>/<whd_id>", one JSON record per attempt, newest last). The
// package also reads, but never writes, the ledger's events ("e/<evt_id>")
// and consumes its outbox markers ("o/<evt_id>"); events of one type are
// found through the ledger's index by type, kept in its memory
// (EventIndex).
//
// # How an event travels
//
// The ledger writes each event and an outbox marker in the same batch as the
// change that caused it, and calls Service.Notify once that batch is synced.
// Notify only notes the events' IDs and wakes the fan-out goroutine (it
// never blocks, so delivery cannot slow a decision). Fan-out reads the
// outbox in event order from where its previous read stopped (so it does
// not step over the markers it already deleted) and, for up to
// Config.OutboxBatch events at a time, writes one queue record per
// matching enabled endpoint and deletes the markers, all in one synced
// batch: a crash before the batch leaves the markers (the events are
// fanned out after restart), a crash after it leaves the queue records
// (they are delivered after restart), and never both, so nothing is lost
// and nothing is enqueued twice. The new deliveries are handed to the
// dispatcher only once that batch is synced, so no event is sent before it
// is durable. Events are numbered before they are committed and commits
// overlap, so a marker can appear behind one already consumed: the ID that
// Notify passes makes fan-out read again from it, and a full read of the
// outbox (on start, on Kick and Settle, and within ten seconds of any
// notification) catches anything else.
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
// not a decision, and so is the interval between full reads of the outbox,
// which is a safety net rather than a decision.
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
//	wh, err := webhook.New(webhook.Config{Store: db, Clock: clk, Logger: log})
//	...
//	l, err := ledger.Open(ledger.Config{..., OnEvents: wh.Notify})
//	...
//	defer db.Close()
//	defer wh.Close() // runs first
package webhook
