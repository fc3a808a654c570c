package ledger_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
)

// TestOriginsFindClosedPurchasesAcrossRestarts: a follow-up's original is
// found by DE 90 or by RRN + approval code whether it is still open or
// already cleared or reversed, with and without the card, the latest
// purchase first when references repeat, before and after a restart
// (memory holds this index; the store keeps none).
func TestOriginsFindClosedPurchasesAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 2)
	auth := func(card int, stan, rrn string) ledger.Outcome {
		t.Helper()
		out, err := f.l.Authorize(ctx, &ledger.AuthRequest{
			Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: f.pans[card], Kind: authz.Purchase, AmountCents: 100,
			Currency: "840", MerchantID: "M1", Merchant: "SHOP", MCC: "5812", STAN: stan, RRN: rrn, TxnTime: "1206101500",
		})
		require.NoError(t, err)
		require.Equal(t, authz.CodeApproved, out.Code)
		return out
	}
	cleared := auth(0, "000001", "000000000001")
	_, err := f.l.Clear(ctx, &ledger.FollowUp{Source: "api", MTI: "0220", Class: ledger.ClassClearing, TxnID: cleared.TxnID, AmountCents: 100})
	require.NoError(t, err)
	reversed := auth(1, "000001", "000000000002") // the same DE 11 + DE 7, another card, later
	_, err = f.l.Reverse(ctx, &ledger.FollowUp{Source: "api", MTI: "0400", Class: ledger.ClassReversal, TxnID: reversed.TxnID})
	require.NoError(t, err)
	open := auth(0, "000003", "000000000003")
	declined, err := f.l.Authorize(ctx, &ledger.AuthRequest{
		Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: f.pans[0], Kind: authz.Purchase, AmountCents: 1 << 50,
		Currency: "840", MerchantID: "M1", Merchant: "SHOP", MCC: "5812", STAN: "000004", RRN: "000000000004", TxnTime: "1206101500",
	})
	require.NoError(t, err)
	require.NotEqual(t, authz.CodeApproved, declined.Code)

	de90 := func(stan string) string { return "0100" + stan + "1206101500" + "0000000000000000000000" }
	tests := []struct {
		name                string
		de90, rrn, authCode string
		card                int // -1: no DE 2
		want                string
	}{
		{"cleared, by DE 90 and card", de90("000001"), "", "", 0, cleared.TxnID},
		{"reversed, by DE 90 and card", de90("000001"), "", "", 1, reversed.TxnID},
		{"without the card, the latest of both", de90("000001"), "", "", -1, reversed.TxnID},
		{"cleared, by RRN and approval code", "", "000000000001", cleared.AuthCode, 0, cleared.TxnID},
		{"cleared, by RRN without the card", "", "000000000001", cleared.AuthCode, -1, cleared.TxnID},
		{"RRN with another approval code", "", "000000000001", "ZZZZZZ", 0, ""},
		{"open, by DE 90", de90("000003"), "", "", 0, open.TxnID},
		{"open, by DE 90 on the wrong card", de90("000003"), "", "", 1, ""},
		{"a declined purchase is no original", de90("000004"), "", "", 0, ""},
		{"unknown references", de90("999999"), "", "", -1, ""},
	}
	check := func(t *testing.T, l *ledger.Ledger) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				card := ""
				if tc.card >= 0 {
					card = f.cards[tc.card]
				}
				got, err := ledger.FindOriginal(l, tc.de90, tc.rrn, tc.authCode, card)
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
			})
		}
	}
	t.Run("live", func(t *testing.T) { check(t, f.l) })
	// What an earlier version kept in the store: dropped at Open, and
	// never consulted (this one names the wrong transaction).
	require.NoError(t, f.db.PutSync(keyspace.OrigSTANKey("000001", "1206101500", f.cards[0]), []byte(open.TxnID)))
	l := reopen(t, f)
	defer l.Close()
	t.Run("after a restart", func(t *testing.T) { check(t, l) })
	found := false
	require.NoError(t, l.Store().Scan(keyspace.OrigSTANPrefix, "", false, func(_, _ []byte) bool { found = true; return false }))
	require.False(t, found, "the store keeps no index of originals")
}
