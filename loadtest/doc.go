// Package loadtest is ledgersim's ISO 8583 load generator: an open-loop
// client that offers a fixed schedule of authorizations, clearings,
// reversals, refunds, repeats and deliberate declines to an ISO 8583 host
// and measures what it gets back.
//
// # What it owns
//
//   - Run: one open-loop run. Requests fall due at Config.Rate per second
//     (constant or Poisson arrivals), spread over Config.Conns pipelined
//     TCP connections; replies are matched by DE 11 + DE 37, in any order.
//   - Max: a search over short runs for the highest rate whose p99 stays
//     under a bound, between a floor (where a trial still holds enough
//     requests for its p99 to mean something) and a ceiling.
//   - Provision, State, LoadState: cards created through the management
//     API and kept in a state file (mode 0600: it holds PANs) between
//     runs. SyntheticCards makes cards for sinks.
//   - Histogram: an allocation-free, mergeable log-linear latency
//     histogram, 1% precision from 1 µs to 60 s.
//   - EchoSink and StallSink: in-process ISO 8583 hosts, a zero-work one
//     to measure the generator itself and a stallable one for tests.
//   - WriteReport, WriteHTML: report.json, approvals.json and a
//     self-contained report.html with latency and throughput charts.
//
// # Coordinated omission
//
// Every latency runs from the moment its request was due, not from when it
// was sent. A generator that waits for replies before sending (a closed
// loop), or that simply falls behind while the server is slow, sends fewer
// requests exactly while the server is slow, and so under-samples the bad
// moments; timing from the send instant then hides the queueing a real
// client would see. Here, a request that could not go out on time is sent
// as soon as possible and still timed from its due time, so a 300 ms stall
// shows up as ~300 ms latencies for everything that fell due during it.
// Result.SendLag reports how late the generator sent (a server's
// backpressure can add to it, a full window or socket), Result.PacerLag how
// late its clock woke the senders (nothing but the generator's own process
// or machine can add to that; a result warns when it passes PauseWarnAt),
// and Result.ServiceTime (send to reply) shows what a closed-loop
// measurement would have claimed. A
// request unanswered Timeout after its due time is a timeout; one that
// could only have been sent after that is not sent at all and counts as a
// timeout too (Result.TimeoutsUnsent), so a generator held up by a dead or
// stalled server catches up rather than flooding it with stale requests.
//
// # Messages
//
// Messages are packed once per layout with iso.PackRequest and then
// patched in place (STAN, RRN, amount, times, card fields), so building
// one costs a copy and no allocation. Each card always spends at its one
// merchant (DE 42 + DE 43), because a multi-use card locks to its first
// merchant. STANs and RRNs are unique per message; the RRN starts with a
// six-character run ID, so runs against the same server do not collide.
// Clearings (0220) and reversals (0400, a third partial with DE 95) use
// DE 2, DE 37 and DE 38 of earlier approvals; repeats (0101) resend an
// answered 0100 unchanged; declines use a wrong DE 14 (expect 54) or an
// amount over the card's maxAmount (expect 61). Replies whose DE 39
// differs from what a correct server answers are counted as unexpected.
// A clearing, reversal or repeat drawn before any original is at hand is
// sent as an authorization (Result.Fallbacks); without cards that have a
// declared intent, the intent share is sent as authorizations.
//
// # Example
//
//	st, err := loadtest.LoadState("loadtest-state.json")
//	if err != nil {
//		return err
//	}
//	res, err := loadtest.Run(ctx, loadtest.Config{
//		Target:   "localhost:8583",
//		Rate:     5000,
//		Conns:    8,
//		Duration: 30 * time.Second,
//		Warmup:   5 * time.Second,
//		Cards:    st.Cards,
//	}, os.Stderr)
//	if err != nil {
//		return err
//	}
//	res.WriteText(os.Stdout)
//	return loadtest.WriteReport("out", res)
//
// # Concurrency
//
// Run, Max and Provision may be called from any goroutine, and several
// runs may proceed at once (each draws its own run ID). Inside a run, each
// connection has a sender goroutine (schedule, build, write) and a reader
// goroutine (match, record), which share the connection's window of
// in-flight requests and its counters under one mutex. One pacer goroutine
// sleeps with nanosleep(2) until the next due time and wakes the senders
// (runtime timers can be a millisecond late, which would be a millisecond
// of latency the generator adds), and one more goroutine times requests
// out and collects the per-second series. Nothing else is shared between
// connections. A Histogram is not safe for concurrent use: keep one per
// goroutine and Merge. EchoSink and StallSink methods are safe for
// concurrent use.
//
// # Capacity
//
// On the project's 2-core machine, with EchoSink (a host of infinite
// speed) in a separate process, the generator offered and matched 100,000
// requests per second over 4 connections with a median send lag of
// 0.08 ms, and 200,000 per second without a timeout (median lag 0.3 ms);
// the server's own ceiling on that machine was about 6,000 per second.
// Precise pacing has a price: about half a core at 6,000 per second,
// mostly system calls (a write and a wake-up per request), which a server
// sharing the machine does not get. BenchmarkGeneratorEcho and the
// loadtest command's hidden --echo-sink flag measure it again:
//
//	ledgersim loadtest --echo-sink 127.0.0.1:9583 &
//	ledgersim loadtest --synthetic --target 127.0.0.1:9583 --rate 100000 --duration 5s
//
// # Command
//
// ledgersim loadtest wraps Run, Max and Provision: --provision creates
// --cards cards through --api with --api-key and saves them to --state;
// later runs load the state file; --synthetic uses SyntheticCards; --max
// searches for the highest rate under --p99-bound between --max-floor and
// --max-ceiling and says which ended the search; --out writes the report
// files.
//
// # Sensitive data
//
// PANs and CVV2s live only in the state file and in memory. Results,
// reports, errors and progress lines show cards masked (first six and last
// four digits), and Card's String method masks too.
package loadtest
