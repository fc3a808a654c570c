// Package bench holds ledgersim's benchmarks and its side-by-side
// comparisons with other issuer-host designs.
//
// # The comparison
//
// make compare (scripts/compare.sh) runs one open-loop workload, the load
// generator's (package loadtest: the same cards, message mix, seed and
// number of connections), against four ISO 8583 hosts in one run:
//
//   - ledgersim: ledgersim serve on a fresh data directory, with its cards
//     created through the management API (loadtest.Provision).
//   - sink: ledgersim loadtest --echo-sink, a host that does no work and
//     answers every request at once (loadtest.EchoSink), in a process of
//     its own. Its maximum is what this machine, its kernel and the
//     generator allow any host; ledgersim is read against it. It approves
//     everything, declines included, so its unexpected column is not
//     zero.
//   - moovhost (bench/moovhost, bench/cmd/moovhost): the issuer host a Go
//     team writes first, built only from moov-io/iso8583 and
//     moov-io/iso8583-connection. Its server side accepts connections and
//     unpacks every message with ledgersim's own spec (iso.Spec(), so the
//     wire is identical) and handles each in a goroutine of its own; the
//     rules run over a map[string]*card under one mutex. It keeps nothing
//     on disk: a crash loses every hold and balance change it
//     acknowledged. That is the point: it shows what the ISO 8583 stack
//     and the rules cost without durability, an upper bound for designs
//     that do not sync.
//   - postgres (bench/pghost, bench/cmd/pghost): the same rules as one SQL
//     transaction per message on PostgreSQL (SELECT ... FOR UPDATE of the
//     card and its account, the decision, UPDATE of the hold or balance,
//     INSERT of the authorization, COMMIT with synchronous_commit on)
//     behind moovhost's listener: the design most issuer processors start
//     from. It is durable, as ledgersim is. scripts/compare.sh installs
//     PostgreSQL from the OS packages if needed and runs a private cluster
//     in a temporary directory; never in CI.
//
// The peers load the cards ledgersim was provisioned with from the
// load-test state file (package bench/seed): the same PANs, expiry dates,
// CVV2s, per-card limits and balances, cards of one user sharing one
// account. They apply the core rules ledgersim applies to this workload
// (known PAN, card status, DE 14 and the card's expiry, CVV2, currency,
// the per-card limit, available balance; an approval holds the amount),
// answer repeats (0101) with the first answer, and capture (0220) and
// reverse (0400, partial with DE 95) approvals found by DE 37 + DE 38 +
// DE 2, so every kind of message in the mix gets the answer ledgersim
// gives and the "unexpected" column stays at zero. ledgersim does more on
// every authorization: merchant locks, intents and attestation, agent
// spending windows, duplicate detection over a time window, PANs
// encrypted at rest, events and webhooks.
//
// For each host bench/cmd/compare finds the highest rate whose p99
// latency (from each request's due time, so queueing counts) stays under
// a bound with no timeouts and no errors (loadtest.Max; --p99-bound,
// default 10 ms), then runs every host at one common rate (by default half
// the lowest of the maxima) and prints a table: the maximum, p50, p99 and
// p99.9 at the common rate, approvals, unexpected codes, timeouts, errors,
// the ratios of the maximum and the p99 to ledgersim's, and each host's
// and the generator's CPU per message (the host's from /proc, found by its
// listening port). Below the table it prints every host's maximum and
// ledgersim's maximum over each other host's, against the goals
// scripts/compare.sh gives with --goal: at least 0.5 times the sink, 3
// times moovhost and 20 times PostgreSQL. --out writes the whole report
// as JSON. The generator runs on the same machine as the hosts and takes
// its share of the CPU (its report says how much), and every host answers
// over loopback TCP; the
// report records the load average before and after, because other work on
// the machine changes every figure.
//
// # The PostgreSQL driver
//
// bench/pghost and bench/cmd/pghost need github.com/jackc/pgx/v5 and are
// built only with the build tag compare_pg, so the module builds and its
// tests run without the driver. Once go.mod requires pgx,
// scripts/compare.sh builds and runs the PostgreSQL peer; until then it
// says so and compares the other two. The PostgreSQL tests need a scratch
// database:
//
//	LEDGERSIM_PG_TEST_DSN=postgres://bench@127.0.0.1:55432/ledgersim_bench \
//	    go test -tags compare_pg ./bench/pghost/
package bench
