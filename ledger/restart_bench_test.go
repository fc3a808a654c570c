package ledger_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// BenchmarkRestart measures what a clean restart costs as the store grows:
// opening the store and rebuilding the ledger's memory (users, agents,
// cards, the open holds and the keys that find them as originals, and the
// repeat window) over a store that holds txns authorizations, every one of
// them still open (the most a restart has to restore). One op is one
// restart; the store was closed cleanly before each.
func BenchmarkRestart(b *testing.B) {
	for _, txns := range []int{20_000, 100_000} {
		b.Run(fmt.Sprintf("open-holds=%d", txns), func(b *testing.B) { benchRestart(b, txns) })
	}
}

func benchRestart(b *testing.B, txns int) {
	f := newFixture(b, 64)
	var seq atomic.Int64
	var failed atomic.Bool
	done := make(chan struct{})
	for w := 0; w < 64; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for n := seq.Add(1); n <= int64(txns); n = seq.Add(1) {
				out, err := f.l.Authorize(context.Background(), &ledger.AuthRequest{
					Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: f.pans[int(n)%len(f.pans)], Kind: authz.Purchase,
					AmountCents: 100, Currency: "840", MerchantID: "M1", Merchant: "BENCH", MCC: "5812",
					STAN: fmt.Sprintf("%06d", n%1000000), RRN: fmt.Sprintf("%012d", n), TxnTime: "1121101500",
				})
				if err != nil || out.Code != authz.CodeApproved {
					failed.Store(true)
					return
				}
			}
		}()
	}
	for w := 0; w < 64; w++ {
		<-done
	}
	if failed.Load() {
		b.Fatal("an authorization was not approved")
	}
	f.closeStore(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db, err := store.Open(store.Options{Dir: f.dir})
		if err != nil {
			b.Fatal(err)
		}
		v, err := vault.Open(vault.Config{Dir: f.dir})
		if err != nil {
			b.Fatal(err)
		}
		l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clock.Real{}, OverCapturePct: 20})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if holds, keys := ledger.OpenHolds(l); holds != txns || keys != 2*txns {
			b.Fatalf("restart restored %d open holds and %d original keys, want %d and %d", holds, keys, txns, 2*txns)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
