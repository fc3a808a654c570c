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
//     Both, like the generator, speak every framing of package iso
//     (Config.Framing), the TPDU of binary2-tpdu included.
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
// Result.SendLag reports how late the generator sent (its tick adds up to
// Config.Tick; a server's backpressure, a full window or socket, can add
// more), Result.PacerLag how late its clock woke (nothing but the
// generator's own process or machine can add to that; a result warns when
// it passes PauseWarnAt),
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
// AcquirerMix ("--mix acquirer") adds the rest of an acquirer's
// repertoire: partial-approval purchases (DE 48 carries sub-element 61,
// "61011", after the CVV2's; 00 or 10 expected), incremental
// authorizations (an 0100 whose DE 90 names an earlier approval, by its
// MTI, STAN and DE 7), stand-in advices (0120), single-message purchases
// (0200), reversal advices (0420 of an approval) and echo tests (0800 with
// DE 70 301; the 0810 echoes DE 11 but not DE 37, so echo tests are
// matched by STAN alone). Every DE 39 a kind gets is counted, expected or
// not, so a run shows what a server answers to what it may not support.
//
// # Timeouts and their reversals
//
// An acquirer that gets no reply to an authorization cannot know whether
// the issuer approved it, so it reverses it. The generator does the same:
// when an 0100 (not a repeat) or an 0200 times out, it owes an 0400 with
// the original's PAN, processing code, amount and RRN, naming it by DE 90
// (it has no approval code to quote), sent at the clock's next tick in the
// same write as the requests due then, or during the drain after the
// schedule (which then waits for their replies too). Reversals are not
// part of the mix and are not counted in Offered, Sent, Replies, Timeouts
// or the latencies: Result.TimeoutReversals counts those sent,
// Kinds["timeout_reversal"] their replies and codes (00, or 25 when the
// original had been declined), and TimeoutReversalsUnsent those owed but
// never sent (a timeout after the drain gave up, or more owed at once than
// a connection keeps).
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
// runs may proceed at once (each draws its own run ID). Inside a run, one
// clock goroutine does all the sending: it sleeps with nanosleep(2) until
// the next due time, but never less than Config.Tick after its last
// wake-up (runtime timers can be a millisecond late, which would be a
// millisecond of latency the generator adds), and then, for each
// connection, registers every request due by then in the connection's
// window and builds it onto one buffer under the connection's mutex, and
// writes the buffer without blocking: what the kernel does not take is
// tried again at the next tick, so a server that stops reading holds up
// only its own connection. Each connection has a reader goroutine, which
// takes in every reply the kernel holds with one read and matches and
// records them all under that mutex. One more goroutine times requests
// out and collects the per-second series. Nothing else is shared between
// connections, and no deadline is set on any read or write. A Histogram is
// not safe for concurrent use: keep one per goroutine and Merge. EchoSink
// and StallSink methods are safe for concurrent use.
//
// # CPU
//
// The generator usually shares the machine with the server it measures,
// and every microsecond it spends is one the server does not get. A
// result reports the generator's own CPU time per request sent over the
// measured period (getrusage), and the server's when Config.ServerCPU says
// where to read it: ProcCPU from /proc/<pid>/stat (ListenerPID finds the
// process listening on the target port, on this host) or MetricsCPU from
// process_cpu_seconds_total on the server's /metrics.
//
// # Capacity
//
// On the project's 2-core machine, with EchoSink (a host of infinite
// speed) in a separate process, 4 connections and the default 1 ms tick,
// the generator spends about 10-14 µs of CPU per request at 20,000 per
// second (it spent 36-49 µs with a sender goroutine per connection, woken
// for each request, and a write and a write deadline per request), most
// of it in the write and read system calls, one of each per connection
// and tick. A shorter tick times requests more finely and costs more
// (14-27 µs per request at 250 µs). BenchmarkGeneratorEcho and the
// loadtest command's hidden --echo-sink flag measure it again; the
// command's hidden --cpuprofile flag profiles either side:
//
//	ledgersim loadtest --echo-sink 127.0.0.1:9583 &
//	ledgersim loadtest --synthetic --target 127.0.0.1:9583 --rate 20000 --duration 8s
//
// # Command
//
// ledgersim loadtest wraps Run, Max and Provision: --provision creates
// --cards cards through --api with --api-key and saves them to --state;
// later runs load the state file; --synthetic uses SyntheticCards; --max
// searches for the highest rate under --p99-bound between --max-floor and
// --max-ceiling and says which ended the search; --out writes the report
// files; --tick sets Config.Tick; the server's CPU is read from the
// process listening on --target's port when it runs on this host, or from
// --server-pid, or from --metrics-url.
//
// # Sensitive data
//
// PANs and CVV2s live only in the state file and in memory. Results,
// reports, errors and progress lines show cards masked (first six and last
// four digits), and Card's String method masks too.
package loadtest
