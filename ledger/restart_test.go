package ledger_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// reopen closes f's store cleanly and opens the ledger again on its
// directory, as a restart does.
func reopen(t *testing.T, f *fixture) *ledger.Ledger {
	t.Helper()
	f.closeStore(t)
	db, err := store.Open(store.Options{Dir: f.dir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	v, err := vault.Open(vault.Config{Dir: f.dir})
	require.NoError(t, err)
	l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clock.Real{}, OverCapturePct: 20})
	require.NoError(t, err)
	return l
}

// TestRestartRestoresOpenHoldsAndTheirOriginals: after a restart, every
// open authorization holds its funds again and is found as an original by
// DE 90 and by RRN and approval code, except where a later purchase on the
// same card reused its DE 11 + DE 7: then DE 90 finds the later one, as it
// did before the restart. Closed authorizations are not restored.
func TestRestartRestoresOpenHoldsAndTheirOriginals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 2)
	auth := func(card int, stan, rrn string, amount int64) ledger.Outcome {
		t.Helper()
		out, err := f.l.Authorize(ctx, &ledger.AuthRequest{
			Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: f.pans[card], Kind: authz.Purchase, AmountCents: amount,
			Currency: "840", MerchantID: "M1", Merchant: "SHOP", MCC: "5812", STAN: stan, RRN: rrn, TxnTime: "1206101500",
		})
		require.NoError(t, err)
		require.Equal(t, authz.CodeApproved, out.Code)
		return out
	}
	first := auth(0, "000001", "000000000001", 100)
	second := auth(0, "000001", "000000000002", 200) // same DE 11 + DE 7 on the same card
	other := auth(1, "000001", "000000000003", 300)  // the same DE 11 + DE 7 on another card
	cleared := auth(1, "000002", "000000000004", 400)
	_, err := f.l.Clear(ctx, &ledger.FollowUp{Source: "iso", MTI: "0220", Class: ledger.ClassClearing, PAN: f.pans[1],
		RRN: "000000000004", AuthCode: cleared.AuthCode, STAN: "000010", TxnTime: "1206101600", AmountCents: 400, Currency: "840"})
	require.NoError(t, err)

	l := reopen(t, f)
	holds, keys := ledger.OpenHolds(l)
	require.Equal(t, 3, holds, "three authorizations are still open")
	require.Equal(t, 5, keys, "first keeps only its RRN key; second and other keep both")

	reverse := func(card int, f2 ledger.FollowUp) ledger.Outcome {
		t.Helper()
		f2.Source, f2.MTI, f2.Class, f2.PAN, f2.Currency = "iso", "0400", ledger.ClassReversal, f.pans[card], "840"
		out, err := l.Reverse(ctx, &f2)
		require.NoError(t, err)
		return out
	}
	de90 := "0100" + "000001" + "1206101500" + "0000000000000000000000"
	tests := []struct {
		name   string
		card   int
		follow ledger.FollowUp
		want   string
	}{
		{"DE 90 finds the later purchase", 0, ledger.FollowUp{OriginalData: de90, STAN: "000020", TxnTime: "1206102000"}, second.TxnID},
		{"RRN and approval code find the earlier one", 0, ledger.FollowUp{RRN: "000000000001", AuthCode: first.AuthCode, STAN: "000021", TxnTime: "1206102000"}, first.TxnID},
		{"DE 90 on the other card finds its own", 1, ledger.FollowUp{OriginalData: de90, STAN: "000022", TxnTime: "1206102000"}, other.TxnID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := reverse(tc.card, tc.follow)
			require.Equal(t, authz.CodeApproved, out.Code, out.Reason)
			require.Equal(t, tc.want, out.Txn.ID)
		})
	}
	holds, _ = ledger.OpenHolds(l)
	require.Zero(t, holds, "every restored hold was released by its reversal")
}
