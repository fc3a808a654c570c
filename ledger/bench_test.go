package ledger_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/internal/benchload"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

type fixture struct {
	l     *ledger.Ledger
	db    *store.DB
	dir   string
	cards []string
	pans  []string
	// closed is set by closeStore, so that the test's cleanup does not
	// close the store a second time.
	closed bool
}

// closeStore closes the fixture's store before the test ends, for tests
// that reopen its directory.
func (f *fixture) closeStore(tb testing.TB) {
	tb.Helper()
	f.closed = true
	if err := f.l.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := f.db.Close(); err != nil {
		tb.Fatal(err)
	}
}

func newFixture(tb testing.TB, users int) *fixture { return newFixtureOpts(tb, users, nil) }

func newFixtureOpts(tb testing.TB, users int, onCommit func(time.Duration, int)) *fixture {
	tb.Helper()
	return newFixtureCfg(tb, users, onCommit, nil)
}

// newFixtureCfg is newFixtureOpts with the ledger's Config adjusted by
// mutate (when not nil) before it opens.
func newFixtureCfg(tb testing.TB, users int, onCommit func(time.Duration, int), mutate func(*ledger.Config)) *fixture {
	tb.Helper()
	return newFixtureStore(tb, users, store.Options{OnCommit: onCommit}, mutate)
}

// newFixtureStore is newFixtureCfg with the store's options given (their
// Dir is the test's own).
func newFixtureStore(tb testing.TB, users int, so store.Options, mutate func(*ledger.Config)) *fixture {
	tb.Helper()
	dir := tb.TempDir()
	so.Dir = dir
	db, err := store.Open(so)
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{db: db, dir: dir}
	tb.Cleanup(func() {
		if !f.closed {
			if f.l != nil {
				_ = f.l.Close()
			}
			_ = db.Close()
		}
	})
	v, err := vault.Open(vault.Config{Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := ledger.Config{Store: db, Vault: v, Clock: clock.Real{}, OverCapturePct: 20}
	if mutate != nil {
		mutate(&cfg)
	}
	l, err := ledger.Open(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	f.l = l
	for i := 0; i < users; i++ {
		u, err := l.CreateUser(ctx, ledger.CreateUserInput{FirstName: "B", LastName: "M", Email: fmt.Sprintf("b%d@example.com", i)})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := l.DecideKYC(ctx, u.ID, true); err != nil {
			tb.Fatal(err)
		}
		if _, _, err := l.SimulateDeposit(ctx, ledger.DepositInput{UserID: u.ID, Asset: "USDC", Chain: "base", Amount: "1", AmountCents: 1 << 40}); err != nil {
			tb.Fatal(err)
		}
		reg, err := l.RegisterAgent(ctx, ledger.AgentInput{UserID: u.ID, Name: "bench"})
		if err != nil {
			tb.Fatal(err)
		}
		c, err := l.CreateCard(ctx, reg.Agent.ID, ledger.CardInput{Purpose: "bench", Type: "multi", CredentialExposure: "rawPan", AcknowledgeRawPanRisk: true, AttestationWindowMinutes: 10})
		if err != nil {
			tb.Fatal(err)
		}
		it, err := l.CreateIntent(ctx, c.ID, ledger.IntentInput{IntentID: "read", Summary: "read the card"})
		if err != nil {
			tb.Fatal(err)
		}
		creds, err := l.ReadDetails(ctx, c.ID, ledger.Attestation{Summary: "bench"})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := l.CancelIntent(ctx, it.Intent.ID); err != nil {
			tb.Fatal(err)
		}
		f.cards = append(f.cards, c.ID)
		f.pans = append(f.pans, creds.PAN)
	}
	return f
}

// BenchmarkAuthorizeSynced is the whole authorization path below the wire:
// PAN lookup, repeat check, decision, the record and its events written to
// Pebble and synced, many decisions in parallel sharing fsyncs. Its ns/op is
// the inverse of the in-process throughput with durability.
func BenchmarkAuthorizeSynced(b *testing.B) { benchAuthorize(b, newFixture(b, 64)) }

// benchAuthorize runs synced authorizations against f's ledger from 64
// goroutines per core, and reports the process's CPU per decision as
// well as the wall time: with 128 decisions in flight the wall time per
// decision is mostly the sync's latency divided among them, which the
// disk decides; the CPU is the ledger's own cost (the log's syncs, the
// projection into the store and its compactions included).
func benchAuthorize(b *testing.B, f *fixture) {
	var seq atomic.Int64
	b.SetParallelism(64) // many concurrent decisions, as many connections would give
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := benchload.CPUTime()
	defer func() {
		b.ReportMetric(float64((benchload.CPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/decision")
	}()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			i := int(n) % len(f.pans)
			out, err := f.l.Authorize(context.Background(), &ledger.AuthRequest{
				Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: f.pans[i], Kind: authz.Purchase, AmountCents: 100,
				Currency: "840", MerchantID: "M1", Merchant: "BENCH", MCC: "5812",
				STAN: fmt.Sprintf("%06d", n%1000000), RRN: fmt.Sprintf("%012d", n), TxnTime: "1121101500",
			})
			if err != nil || out.Code != authz.CodeApproved {
				b.Fatal(err, out.Code)
			}
		}
	})
}

// BenchmarkEventRecording measures what recording events costs the
// authorization path: the same synced authorizations with the ledger's
// events (what every server does) and without them (a switch only this
// benchmark has). The paced-10k variants offer 10,000 authorizations per
// second open loop, the rate the webhook issue names, from 64 goroutines
// (as many pipelined connections would); the others go as fast as they
// can. Each reports the rate, Authorize's latency (p50 and p99, µs), the
// process's CPU time per authorization and the bytes each authorization
// committed. No webhook endpoint is registered, so no event is queued for
// delivery either way (see BenchmarkWebhookOverhead in package server for
// delivery).
func BenchmarkEventRecording(b *testing.B) {
	for _, rate := range []int{10000, 0} {
		for _, events := range []bool{true, false} {
			name := "events"
			if !events {
				name = "no-events"
			}
			if rate > 0 {
				name = fmt.Sprintf("paced-%dk-%s", rate/1000, name)
			}
			b.Run(name, func(b *testing.B) { benchEventRecording(b, events, rate) })
		}
	}
}

func benchEventRecording(b *testing.B, events bool, rate int) {
	var committed atomic.Int64
	f := newFixtureOpts(b, 64, func(_ time.Duration, n int) { committed.Add(int64(n)) })
	if !events {
		ledger.SkipEventsForBenchmark(f.l)
	}
	b.ReportAllocs()
	b.ResetTimer()
	committed.Store(0)
	r := benchload.Run(b.N, 64, rate, func(n int64) {
		out, err := f.l.Authorize(context.Background(), &ledger.AuthRequest{
			Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: f.pans[int(n)%len(f.pans)], Kind: authz.Purchase,
			AmountCents: 100, Currency: "840", MerchantID: "M1", Merchant: "BENCH", MCC: "5812",
			STAN: fmt.Sprintf("%06d", n%1000000), RRN: fmt.Sprintf("%012d", n), TxnTime: "1121101500",
		})
		if err != nil || out.Code != authz.CodeApproved {
			b.Error(err, out.Code)
		}
	})
	b.StopTimer()
	r.Report(b, "auth", r.CPU)
	b.ReportMetric(float64(committed.Load())/float64(b.N), "bytes/auth")
}
