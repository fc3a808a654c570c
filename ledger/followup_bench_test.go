package ledger_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/internal/benchload"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
)

// followUp is the clearing (0220) or the reversal (0400) of the
// authorization made with STAN stan and RRN rrn, as an acquirer sends it:
// the card's PAN, DE 90 naming the original, its own STAN.
func followUp(class byte, pan, stan, rrn, ownSTAN string) *ledger.FollowUp {
	mti := "0220"
	if class == ledger.ClassReversal {
		mti = "0400"
	}
	return &ledger.FollowUp{Source: "iso", MTI: mti, Class: class, PAN: pan,
		OriginalData: "0100" + stan + "1121101500" + strings.Repeat("0", 22), RRN: rrn, STAN: ownSTAN,
		AmountCents: 100, Currency: "840"}
}

// BenchmarkFollowUpSynced is BenchmarkAuthorizeSynced for the messages
// that follow an authorization: each operation is an authorization and
// then its clearing (or its reversal), both synced, many in parallel.
// cpu-µs/op is the process's CPU for the pair.
func BenchmarkFollowUpSynced(b *testing.B) {
	for _, c := range []struct {
		name  string
		class byte
	}{{"clear", ledger.ClassClearing}, {"reverse", ledger.ClassReversal}} {
		b.Run(c.name, func(b *testing.B) {
			f := newFixture(b, 64)
			var seq atomic.Int64
			b.SetParallelism(64)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := benchload.CPUTime()
			defer func() {
				b.ReportMetric(float64((benchload.CPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			}()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					n := seq.Add(1)
					pan := f.pans[int(n)%len(f.pans)]
					stan, rrn := fmt.Sprintf("%06d", n%1000000), fmt.Sprintf("%012d", n)
					out, err := f.l.Authorize(ctx, &ledger.AuthRequest{
						Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: pan, Kind: authz.Purchase, AmountCents: 100,
						Currency: "840", MerchantID: "M1", Merchant: "BENCH", MCC: "5812", STAN: stan, RRN: rrn, TxnTime: "1121101500",
					})
					if err != nil || out.Code != authz.CodeApproved {
						b.Fatal(err, out.Code)
					}
					fu := followUp(c.class, pan, stan, rrn, fmt.Sprintf("%06d", (n+500000)%1000000))
					var res ledger.Outcome
					if c.class == ledger.ClassClearing {
						res, err = f.l.Clear(ctx, fu)
					} else {
						res, err = f.l.Reverse(ctx, fu)
					}
					if err != nil || res.Code != authz.CodeApproved {
						b.Fatal(err, res.Code, res.Reason)
					}
				}
			})
		})
	}
}

// BenchmarkAuthorizeInMemory is BenchmarkAuthorizeSynced with the store
// and the log on a filesystem in memory: every decision still waits for
// its record's sync and projection, but a sync costs no disk, so the
// process's CPU per decision is the ledger's own with less of the
// machine's noise in it.
func BenchmarkAuthorizeInMemory(b *testing.B) {
	benchAuthorize(b, newFixtureStore(b, 64, store.Options{FS: vfs.NewMem()}, nil))
}
