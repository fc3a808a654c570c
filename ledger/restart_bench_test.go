package ledger_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// BenchmarkRestart measures what a restart costs as the store grows:
// opening the store and rebuilding the ledger's memory (users, agents,
// cards, the open holds and the keys that find them as originals, the
// transaction lists, the events by type and the repeat window) over a
// store that holds txns authorizations, every one of them still open (the
// most a restart has to restore). One op is one restart.
//
//   - full-rebuild: memory is rebuilt from the store's transactions and
//     events, ignoring the memory checkpoints (what every restart did
//     before them); the ledger was closed cleanly.
//   - checkpoint: the ledger was closed cleanly, which wrote a memory
//     checkpoint at the last record: the restart loads it and replays
//     nothing.
//   - checkpoint+tail: a memory checkpoint was taken tail records before
//     the end, and the process stopped without closing the ledger (only
//     its decision log, as a crash leaves it): the restart loads the
//     checkpoint and replays the tail.
func BenchmarkRestart(b *testing.B) {
	for _, c := range []struct {
		txns, tail int
		full       bool
	}{
		{20_000, 0, true}, {100_000, 0, true}, {100_000, 0, false}, {100_000, 10_000, false},
		{1_000_000, 0, true}, {1_000_000, 50_000, false},
		// A long tail: what replaying the log costs a record.
		{200_000, 150_000, false},
	} {
		name := fmt.Sprintf("open-holds=%d/checkpoint", c.txns)
		switch {
		case c.full:
			name = fmt.Sprintf("open-holds=%d/full-rebuild", c.txns)
		case c.tail > 0:
			name = fmt.Sprintf("open-holds=%d/checkpoint+tail=%d", c.txns, c.tail)
		}
		b.Run(name, func(b *testing.B) { benchRestart(b, c.txns, c.tail, c.full) })
	}
}

// authorizeMany approves authorizations from..to-1 (their STAN and RRN
// are made of the number), 64 at a time.
func authorizeMany(b *testing.B, f *fixture, from, to int) {
	seq := atomic.Int64{}
	seq.Store(int64(from))
	var failed atomic.Bool
	done := make(chan struct{})
	for w := 0; w < 64; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for n := seq.Add(1) - 1; n < int64(to); n = seq.Add(1) - 1 {
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
}

func benchRestart(b *testing.B, txns, tail int, full bool) {
	f := newFixture(b, 64)
	authorizeMany(b, f, 0, txns-tail)
	if tail > 0 {
		ledger.SnapshotNow(f.l)
		authorizeMany(b, f, txns-tail, txns)
		if err := ledger.Abandon(f.l); err != nil {
			b.Fatal(err)
		}
		f.closed = true
		if err := f.db.Close(); err != nil {
			b.Fatal(err)
		}
	} else {
		f.closeStore(b)
	}
	var ckptBytes int64
	if !full {
		ckptBytes = checkpointBytes(b, f.dir)
	}
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
		cfg := ledger.Config{Store: db, Vault: v, Clock: clock.Real{}, OverCapturePct: 20}
		if full {
			ledger.IgnoreSnapshots(&cfg)
		}
		l, err := ledger.Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if holds, keys := ledger.OpenHolds(l); holds != txns || keys != 2*txns {
			b.Fatalf("restart restored %d open holds and %d original keys, want %d and %d", holds, keys, txns, 2*txns)
		}
		if loaded := ledger.LoadedSnapshot(l) != 0; loaded == full {
			b.Fatalf("restart loaded a memory checkpoint: %v", loaded)
		}
		if err := ledger.Abandon(l); err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	if !full {
		// After the loop: ResetTimer drops what was reported before it.
		b.ReportMetric(float64(ckptBytes)/float64(txns-tail), "ckpt-B/hold")
	}
}

// checkpointBytes is the size of the newest memory checkpoint in dir.
func checkpointBytes(b *testing.B, dir string) int64 {
	names, err := filepath.Glob(filepath.Join(dir, "checkpoints", "*.ckpt"))
	if err != nil || len(names) == 0 {
		b.Fatalf("no memory checkpoint in %s: %v", dir, err)
	}
	st, err := os.Stat(names[len(names)-1])
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}
