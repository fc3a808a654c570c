package ledger_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

type fixture struct {
	l     *ledger.Ledger
	db    *store.DB
	cards []string
	pans  []string
}

func newFixture(tb testing.TB, users int) *fixture { return newFixtureOpts(tb, users, nil) }

func newFixtureOpts(tb testing.TB, users int, onCommit func(time.Duration, int)) *fixture {
	tb.Helper()
	dir := tb.TempDir()
	db, err := store.Open(store.Options{Dir: dir, OnCommit: onCommit})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	v, err := vault.Open(vault.Config{Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clock.Real{}, OverCapturePct: 20})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	f := &fixture{l: l, db: db}
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
func BenchmarkAuthorizeSynced(b *testing.B) {
	f := newFixture(b, 64)
	var seq atomic.Int64
	b.SetParallelism(64) // many concurrent decisions, as many connections would give
	b.ReportAllocs()
	b.ResetTimer()
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
