package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
)

// TestNetworkFlows walks one card through partial approval, incremental
// authorization, an advice that changes the amount, auto-settle, force
// capture, an unlinked refund and its reversal, checking after each step
// that available = settled − open holds and that the holds are the open
// authorizations' amounts.
func TestNetworkFlows(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	f := newFixtureCfg(t, 1, nil, func(c *ledger.Config) { c.Clock, c.AutoSettle = clk, 48*time.Hour })
	ctx := context.Background()
	base, err := f.l.GetCard(f.cards[0])
	require.NoError(t, err)
	card, err := f.l.CreateCard(ctx, base.AgentID, ledger.CardInput{Purpose: "test", Type: "multi", MaxAmount: ptr(int64(700)),
		CredentialExposure: "rawPan", AcknowledgeRawPanRisk: true, AttestationWindowMinutes: 10})
	require.NoError(t, err)
	user0, err := f.l.GetUser(card.UserID)
	require.NoError(t, err)

	check := func(settledDelta, pending int64) {
		t.Helper()
		u, err := f.l.GetUser(card.UserID)
		require.NoError(t, err)
		require.Equal(t, user0.SettledCents+settledDelta, u.SettledCents, "settled")
		require.Equal(t, user0.PendingCents+pending, u.PendingCents, "pending")
		var holds int64
		page, err := f.l.ListTxns(ledger.TxnFilter{CardID: card.ID}, ledger.ListParams{Limit: 100})
		require.NoError(t, err)
		for _, tx := range page.Items {
			if tx.Status == model.TxnAuthorized {
				holds += tx.HoldCents
				require.Equal(t, tx.AmountCents, tx.HoldCents)
			}
		}
		require.Equal(t, pending, holds, "holds are the open authorizations")
	}
	auth := func(amount int64, partial bool) ledger.Outcome {
		t.Helper()
		out, err := f.l.Authorize(ctx, &ledger.AuthRequest{Source: "api", MTI: "0100", Class: ledger.ClassAuth, CardID: card.ID,
			Kind: authz.Purchase, AmountCents: amount, Currency: "840", Merchant: "SHOP", AllowPartial: partial})
		require.NoError(t, err)
		return out
	}

	// Without the indicator, over the card's maximum is a 61.
	require.Equal(t, authz.CodeAmountLimit, auth(1000, false).Code)
	check(0, 0)
	// With it, approved for what is left.
	out := auth(1000, true)
	require.Equal(t, authz.CodePartialApproval, out.Code)
	require.Equal(t, int64(700), out.Txn.AmountCents)
	require.Equal(t, int64(700), out.Txn.AuthorizedAmountCents)
	require.Equal(t, int64(1000), out.Txn.RequestedAmountCents)
	require.NotEmpty(t, out.AuthCode)
	id := out.TxnID
	check(0, 700)

	// An increment is checked for its own amount: 800 is over the card's
	// maximum, 200 is not.
	inc := func(amount int64) ledger.Outcome {
		t.Helper()
		out, err := f.l.Increment(ctx, &ledger.AuthRequest{Source: "api", MTI: "0100", Class: ledger.ClassAuth, Kind: authz.Purchase,
			AmountCents: amount, Currency: "840"}, id)
		require.NoError(t, err)
		return out
	}
	require.Equal(t, authz.CodeAmountLimit, inc(800).Code)
	check(0, 700)
	out = inc(200)
	require.Equal(t, authz.CodeApproved, out.Code)
	require.Equal(t, id, out.TxnID)
	require.Equal(t, int64(900), out.Txn.AmountCents)
	check(0, 900)

	// An advice sets the amount, down or up, deciding nothing.
	adv := func(amount int64) ledger.Outcome {
		t.Helper()
		out, err := f.l.AdviseAmount(ctx, &ledger.AuthRequest{Source: "api", MTI: "0120", Class: ledger.ClassAdvice, Kind: authz.Purchase,
			AmountCents: amount, Currency: "840", Advice: true}, id)
		require.NoError(t, err)
		return out
	}
	require.Equal(t, authz.CodeApproved, adv(500).Code)
	check(0, 500)
	require.Equal(t, authz.CodeApproved, adv(5000).Code)
	check(0, 5000)
	require.Equal(t, authz.CodeInvalidAmount, adv(0).Code)

	// Auto-settle completes it 48 hours after its approval.
	clk.Advance(47 * time.Hour)
	_, err = f.l.Sweep(ctx)
	require.NoError(t, err)
	check(0, 5000)
	clk.Advance(2 * time.Hour)
	_, err = f.l.Sweep(ctx)
	require.NoError(t, err)
	check(-5000, 0)
	tx, err := f.l.GetTxn(id)
	require.NoError(t, err)
	require.Equal(t, model.TxnCompleted, tx.Status)
	// Nothing open is left to amend: 25.
	require.Equal(t, authz.CodeNoOriginal, inc(10).Code)

	// Force capture, an unlinked refund and its reversal.
	fc, err := f.l.ForceCapture(ctx, card.ID, &ledger.FollowUp{Source: "api", AmountCents: 300, Currency: "840", Merchant: "SHOP"})
	require.NoError(t, err)
	require.True(t, fc.Txn.ForcePost)
	check(-5300, 0)
	refund, err := f.l.Authorize(ctx, &ledger.AuthRequest{Source: "api", MTI: "0100", Class: ledger.ClassAuth, CardID: card.ID,
		Kind: authz.Refund, AmountCents: 120, Currency: "840", Merchant: "SHOP"})
	require.NoError(t, err)
	require.Equal(t, authz.CodeApproved, refund.Code)
	check(-5180, 0)
	rr, err := f.l.ReverseRefund(ctx, refund.TxnID)
	require.NoError(t, err)
	require.Equal(t, model.TxnReversed, rr.Txn.Status)
	check(-5300, 0)
	// Again: answered as it stands, nothing moves.
	_, err = f.l.ReverseRefund(ctx, refund.TxnID)
	require.NoError(t, err)
	check(-5300, 0)
	_, err = f.l.ReverseRefund(ctx, fc.TxnID)
	require.Error(t, err, "a purchase is not a refund")
}

func ptr[T any](v T) *T { return &v }
