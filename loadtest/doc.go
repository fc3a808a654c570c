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
//     under a bound.
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
// Result.SendLag reports how late the generator itself sent, to tell a
// slow server from a slow generator. A request unanswered Timeout after
// its due time is a timeout.
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
// in-flight requests and its counters under one mutex; one more goroutine
// times requests out and collects the per-second series. Nothing else is
// shared between connections, so the generator scales with cores. A
// Histogram is not safe for concurrent use: keep one per goroutine and
// Merge. EchoSink and StallSink methods are safe for concurrent use.
//
// # Sensitive data
//
// PANs and CVV2s live only in the state file and in memory. Results,
// reports, errors and progress lines show cards masked (first six and last
// four digits), and Card's String method masks too.
package loadtest
