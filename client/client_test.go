package client_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/client"
	"github.com/ledgersim/ledgersim/internal/oascheck"
	"github.com/ledgersim/ledgersim/ledgersimtest"
)

// coverage records the operations the tests below exercised; TestMain
// requires every operation of the document when the whole suite runs.
var coverage = oascheck.NewCoverage()

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == "" {
		missing, err := coverage.Missing()
		if err != nil || len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "the client tests never got a success from: %v (err %v)\n", missing, err)
			code = 1
		}
	}
	os.Exit(code)
}

// newServer starts a server whose client checks every exchange against the
// OpenAPI document.
func newServer(t *testing.T) *ledgersimtest.Server {
	ls := ledgersimtest.New(t)
	c, err := client.New(client.Config{BaseURL: ls.BaseURL, APIKey: ledgersimtest.APIKey,
		HTTPClient: &http.Client{Timeout: time.Minute, Transport: oascheck.TransportCovering(t, nil, coverage)}})
	require.NoError(t, err)
	ls.Client = c
	return ls
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  client.Config
		want string
	}{
		{"no base URL", client.Config{APIKey: "k"}, "BaseURL is required"},
		{"no key", client.Config{BaseURL: "http://127.0.0.1:1"}, "APIKey is required"},
		{"relative URL", client.Config{BaseURL: "127.0.0.1:8080", APIKey: "k"}, "not an absolute"},
		{"other scheme", client.Config{BaseURL: "ftp://h", APIKey: "k"}, "not an absolute"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.New(tc.cfg)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestUsersAgentsAndCards walks onboarding, agents, tokens and cards, with
// the organization's key and an agent's.
func TestUsersAgentsAndCards(t *testing.T) {
	ls := newServer(t)
	c, ctx := ls.Client, context.Background()

	u, err := c.CreateUser(ctx, client.CreateUserParams{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
		Metadata: map[string]any{"team": "books"}})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(u.ID, "user_"))
	require.Equal(t, "pending", u.Status)
	require.Equal(t, "books", u.Metadata["team"])

	v, err := c.StartVerification(ctx, u.ID)
	require.NoError(t, err)
	require.Contains(t, v.VerificationURL, "/kyc/")
	v, err = c.GetVerification(ctx, u.ID)
	require.NoError(t, err)
	require.Equal(t, "pending", v.ApplicationStatus)
	u, err = c.SimulateKYC(ctx, u.ID, client.KYCApproved)
	require.NoError(t, err)
	require.Equal(t, "approved", u.Status)
	got, err := c.GetUser(ctx, u.ID)
	require.NoError(t, err)
	require.Equal(t, u.Email, got.Email)

	fund, err := c.GetFunding(ctx, u.ID)
	require.NoError(t, err)
	require.NotEmpty(t, fund.Addresses)
	dep, err := c.SimulateDeposit(ctx, client.SimulateDepositParams{UserID: u.ID, Asset: "USDC", Chain: "base", Amount: "500.25"})
	require.NoError(t, err)
	require.EqualValues(t, 50025, dep.Deposit.AmountCents)
	require.EqualValues(t, 50025, dep.Balance.Available)

	reg, err := c.RegisterAgent(ctx, client.AgentParams{UserID: u.ID, Name: "shopper", ExternalID: "ext-1",
		SpendingLimit: client.Int64(200_00), SpendingLimitFrequency: "perMonth"})
	require.NoError(t, err)
	require.True(t, reg.Created)
	require.True(t, strings.HasPrefix(reg.Token, "at_test_"), "the first token is returned once")
	again, err := c.RegisterAgent(ctx, client.AgentParams{UserID: u.ID, Name: "shopper", ExternalID: "ext-1"})
	require.NoError(t, err)
	require.False(t, again.Created)
	require.Equal(t, reg.ID, again.ID)
	other, err := c.CreateAgent(ctx, client.AgentParams{UserID: u.ID, Name: "other"})
	require.NoError(t, err)

	ag, err := c.UpdateAgent(ctx, reg.ID, client.UpdateAgentParams{Description: client.String("buys books"), ClearSpendingLimit: true})
	require.NoError(t, err)
	require.Equal(t, "buys books", ag.Description)
	require.Nil(t, ag.SpendingLimit, "an explicit null clears the limit")
	ag, err = c.GetAgent(ctx, reg.ID)
	require.NoError(t, err)
	require.Equal(t, "shopper", ag.Name)

	agent := ls.AgentClient(reg.Token)
	card, err := agent.CreateCard(ctx, reg.ID, client.CreateCardParams{Purpose: "books", Type: client.CardMulti,
		Limits: &client.Limits{PerAuth: client.Int64(50_00)}})
	require.NoError(t, err)
	require.Equal(t, "active", card.Status)
	require.EqualValues(t, 50_00, *card.Limits.PerAuth)
	card2, err := agent.CreateCard(ctx, reg.ID, client.CreateCardParams{Purpose: "more books"})
	require.NoError(t, err)
	_, err = agent.GetCard(ctx, card.ID)
	require.NoError(t, err)

	// The agent cannot loosen its own controls.
	_, err = agent.UpdateCard(ctx, card.ID, client.UpdateCardParams{MaxAmount: client.Int64(1)})
	apiErr, ok := client.AsError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, http.StatusForbidden, apiErr.StatusCode)
	require.Equal(t, client.TypeAuthorization, apiErr.Type)
	require.NotContains(t, err.Error(), reg.Token, "an error never carries the key")
	updated, err := c.UpdateCard(ctx, card.ID, client.UpdateCardParams{MerchantHint: client.String("BOOKSHOP"), MaxAuthCount: client.Int64(5)})
	require.NoError(t, err)
	require.Equal(t, "BOOKSHOP", *updated.MerchantHint)
	updated, err = c.UpdateCard(ctx, card.ID, client.UpdateCardParams{ClearMaxAuthCount: true})
	require.NoError(t, err)
	require.Nil(t, updated.MaxAuthCount)

	tr, err := agent.FreezeCard(ctx, card2.ID)
	require.NoError(t, err)
	require.Equal(t, "frozen", tr.Status)
	tr, err = c.UnfreezeCard(ctx, card2.ID)
	require.NoError(t, err)
	require.Equal(t, "frozen", tr.PreviousStatus)
	tr, err = agent.CloseCard(ctx, card2.ID)
	require.NoError(t, err)
	require.Equal(t, "closed", tr.Status)

	var cardIDs []string
	for cd, err := range c.AgentCards(ctx, reg.ID, client.ListParams{Limit: 1}) {
		require.NoError(t, err)
		cardIDs = append(cardIDs, cd.ID)
	}
	require.ElementsMatch(t, []string{card.ID, card2.ID}, cardIDs, "the iterator follows the cursor")
	page, err := c.ListUserCards(ctx, u.ID, client.ListParams{Limit: 1})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	require.True(t, page.HasMore)
	n := 0
	for _, err := range c.UserCards(ctx, u.ID, client.ListParams{}) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 2, n)

	var agentIDs []string
	for a, err := range c.Agents(ctx, client.ListAgentsParams{UserID: u.ID, ListParams: client.ListParams{Limit: 1}}) {
		require.NoError(t, err)
		agentIDs = append(agentIDs, a.ID)
	}
	require.ElementsMatch(t, []string{reg.ID, other.ID}, agentIDs)
	users, err := c.ListUsers(ctx, client.ListParams{})
	require.NoError(t, err)
	require.Len(t, users.Data, 1)

	tok, err := c.CreateToken(ctx, reg.ID, client.CreateTokenParams{Name: "second"})
	require.NoError(t, err)
	require.NotEmpty(t, tok.Token)
	toks, err := c.ListTokens(ctx, reg.ID)
	require.NoError(t, err)
	require.Len(t, toks, 2)
	for _, tk := range toks {
		require.Empty(t, tk.Token, "a listed token never shows its secret")
	}
	rv, err := c.RevokeToken(ctx, reg.ID, tok.ID)
	require.NoError(t, err)
	require.False(t, rv.IsActive)
	tok3, err := c.CreateToken(ctx, other.ID, client.CreateTokenParams{})
	require.NoError(t, err)
	_, err = c.DeleteToken(ctx, other.ID, tok3.ID)
	require.NoError(t, err)
	_, err = ls.AgentClient(tok.Token).GetCard(ctx, card.ID)
	require.True(t, errors.Is(err, &client.Error{Type: client.TypeAuthentication}), "%v", err)

	sc, err := c.SuspendAgent(ctx, other.ID)
	require.NoError(t, err)
	require.Equal(t, "suspended", sc.Status)
	sc, err = c.ActivateAgent(ctx, other.ID)
	require.NoError(t, err)
	require.Equal(t, "active", sc.Status)
	sc, err = c.DeregisterAgent(ctx, other.ID)
	require.NoError(t, err)
	require.Equal(t, "deregistered", sc.Status)

	b, err := agent.GetBalance(ctx, u.ID)
	require.NoError(t, err)
	require.EqualValues(t, 50025, b.Available)
	require.EqualValues(t, b.Available, b.SpendingPower)
	ub, err := c.GetUserBalance(ctx, u.ID)
	require.NoError(t, err)
	require.Equal(t, b, ub)

	w, err := c.CreateWithdrawal(ctx, u.ID, client.CreateWithdrawalParams{ChainID: 8453,
		TokenAddress: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", Amount: 25, RecipientAddress: "0x1111111111111111111111111111111111111111"})
	require.NoError(t, err)
	require.Equal(t, "submitted", w.Status)
	w, err = c.ResolveWithdrawal(ctx, w.ID, client.WithdrawalConfirmed, "")
	require.NoError(t, err)
	require.Equal(t, "confirmed", w.Status)
	gw, err := c.GetWithdrawal(ctx, u.ID, w.ID)
	require.NoError(t, err)
	require.Equal(t, w, gw)
	var listed []string
	for wd, err := range c.Withdrawals(ctx, u.ID, client.ListParams{}) {
		require.NoError(t, err)
		listed = append(listed, wd.ID)
	}
	require.Equal(t, []string{w.ID}, listed)
	after, err := c.GetUserBalance(ctx, u.ID)
	require.NoError(t, err)
	require.EqualValues(t, b.Available-25, after.Available)
	_, err = c.CreateWithdrawal(ctx, u.ID, client.CreateWithdrawalParams{ChainID: 8453,
		TokenAddress: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", Amount: after.Available + 1, RecipientAddress: "0x1111111111111111111111111111111111111111"})
	require.ErrorContains(t, err, "insufficient_funds")
	// A failed withdrawal returns its funds.
	w2, err := c.CreateWithdrawal(ctx, u.ID, client.CreateWithdrawalParams{ChainID: 8453,
		TokenAddress: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", Amount: 10, RecipientAddress: "0x1111111111111111111111111111111111111111"})
	require.NoError(t, err)
	w2, err = c.ResolveWithdrawal(ctx, w2.ID, client.WithdrawalFailed, "reverted")
	require.NoError(t, err)
	require.Equal(t, "failed", w2.Status)
	require.Equal(t, "reverted", w2.FailureReason)
	back, err := c.GetUserBalance(ctx, u.ID)
	require.NoError(t, err)
	require.EqualValues(t, after.Available, back.Available)

	// A card issued notActivated waits for the organization to activate it.
	waiting, err := c.CreateCard(ctx, reg.ID, client.CreateCardParams{Purpose: "later", Status: "notActivated"})
	require.NoError(t, err)
	require.Equal(t, "notActivated", waiting.Status)
	tr, err = c.ActivateCard(ctx, waiting.ID)
	require.NoError(t, err)
	require.Equal(t, "active", tr.Status)
	require.Equal(t, "notActivated", tr.PreviousStatus)
}

// TestPurchaseAndTransactions runs the card network's side: intents,
// details, authorization, clearing, reversal, refund, receipts, the clock.
func TestPurchaseAndTransactions(t *testing.T) {
	ls := newServer(t)
	c, ctx := ls.Client, context.Background()
	f := ls.FundedAgent("bo@example.com", 300_00)

	card, err := f.Agent.CreateCard(ctx, f.AgentID, client.CreateCardParams{Purpose: "groceries", Type: client.CardMulti})
	require.NoError(t, err)
	it, err := f.Agent.CreateIntent(ctx, card.ID, client.CreateIntentParams{IntentID: "weekly", Summary: "weekly shop",
		ExpectedAmount: client.Int64(40_00), ExpectedMerchant: "GROCER", Tolerance: client.Int64(5_00)})
	require.NoError(t, err)
	require.Equal(t, client.IntentPending, it.Status)
	creds, err := f.Agent.CardDetails(ctx, card.ID, client.CardDetailsParams{Summary: "weekly shop", Reason: "one-time"})
	require.NoError(t, err)
	require.Equal(t, client.ExposureExtensionOnly, creds.ExposureMode)
	require.Empty(t, creds.PAN, "an extensionOnly card hands out a token, not the number")
	red, err := ls.Client.WithAPIKey("unused").RedeemDetailsToken(ctx, creds.DetailsToken)
	require.NoError(t, err)
	require.Len(t, red.PAN, 16)
	_, err = c.RedeemDetailsToken(ctx, creds.DetailsToken)
	require.True(t, client.HasCode(err, "token_already_redeemed"), "%v", err)
	evs, err := c.ListAccessEvents(ctx, card.ID, client.ListParams{})
	require.NoError(t, err)
	require.Len(t, evs.Data, 1)
	for ev, err := range f.Agent.AccessEvents(ctx, card.ID, client.ListParams{}) {
		require.NoError(t, err)
		require.Equal(t, "weekly shop", ev.Summary)
	}

	var info client.ResponseInfo
	key := client.NewIdempotencyKey()
	auth := client.SimulateAuthorizationParams{CardID: card.ID, Amount: 42_00, MerchantName: "GROCER", MerchantCategory: "5411"}
	dec, err := c.SimulateAuthorization(ctx, auth, client.WithIdempotencyKey(key), client.WithResponseInfo(&info))
	require.NoError(t, err)
	require.True(t, dec.Approved)
	require.Equal(t, "00", dec.ResponseCode)
	require.False(t, info.Replayed)
	require.True(t, strings.HasPrefix(info.RequestID, "req_"))
	again, err := c.SimulateAuthorization(ctx, auth, client.WithIdempotencyKey(key), client.WithResponseInfo(&info))
	require.NoError(t, err)
	require.True(t, info.Replayed, "the same key replays the first answer")
	require.Equal(t, dec.ID, again.ID)
	auth.Amount = 1
	_, err = c.SimulateAuthorization(ctx, auth, client.WithIdempotencyKey(key))
	require.True(t, errors.Is(err, &client.Error{StatusCode: 409, Code: "idempotency_key_reused"}), "%v", err)

	it, err = f.Agent.GetIntent(ctx, it.ID)
	require.NoError(t, err)
	require.Equal(t, client.IntentMatched, it.Status)
	require.NotNil(t, it.MatchResult)
	require.True(t, it.MatchResult.AmountMatch)
	its, err := f.Agent.ListIntents(ctx, card.ID, client.IntentMatched)
	require.NoError(t, err)
	require.Len(t, its, 1)

	cl, err := c.SimulateClearing(ctx, dec.ID, 42_00)
	require.NoError(t, err)
	require.True(t, cl.Approved)
	ref, err := c.SimulateRefund(ctx, dec.ID, 2_00)
	require.NoError(t, err)
	require.True(t, ref.Approved)

	// A dispute of the purchase, with evidence, won by the user.
	dsp, err := f.Agent.CreateDispute(ctx, dec.ID, client.CreateDisputeParams{Reason: "product_unacceptable", TextEvidence: "broken"})
	require.NoError(t, err)
	require.Equal(t, client.DisputePending, dsp.Status)
	require.EqualValues(t, 40_00, dsp.Amount)
	dsp, err = f.Agent.UploadDisputeEvidence(ctx, dsp.ID, "photo", "photo", "photo.png", []byte("\x89PNG\r\n\x1a\nnot really"))
	require.NoError(t, err)
	require.Equal(t, client.DisputeInReview, dsp.Status)
	require.True(t, dsp.Evidence.HasFile)
	gd, err := f.Agent.GetDispute(ctx, dsp.ID)
	require.NoError(t, err)
	require.Equal(t, dsp, gd)
	var dids []string
	for d, err := range c.Disputes(ctx, client.DisputeFilter{TransactionID: dec.ID}, client.ListParams{}) {
		require.NoError(t, err)
		dids = append(dids, d.ID)
	}
	require.Equal(t, []string{dsp.ID}, dids)
	dsp, err = c.ResolveDispute(ctx, dsp.ID, client.DisputeWon)
	require.NoError(t, err)
	require.Equal(t, client.DisputeAccepted, dsp.Status)
	require.EqualValues(t, 40_00, dsp.CreditAmount)
	require.NotNil(t, dsp.CreditTransactionID)
	_, err = f.Agent.CancelDispute(ctx, dsp.ID)
	require.ErrorContains(t, err, "dispute_not_cancelable")

	dec2, err := c.SimulateAuthorization(ctx, client.SimulateAuthorizationParams{CardID: card.ID, Amount: 10_00, MerchantName: "GROCER"})
	require.NoError(t, err)
	require.True(t, dec2.Approved, dec2.ResponseCode)
	rev, err := c.SimulateReversal(ctx, dec2.ID, client.Int64(4_00))
	require.NoError(t, err)
	require.True(t, rev.Approved)
	rev, err = c.SimulateReversal(ctx, dec2.ID, nil)
	require.NoError(t, err)
	require.Equal(t, client.TxnReversed, rev.Status)

	declined, err := c.SimulateAuthorization(ctx, client.SimulateAuthorizationParams{CardID: card.ID, Amount: 10_000_00, MerchantName: "GROCER"})
	require.NoError(t, err, "a decline is an answer, not an error")
	require.False(t, declined.Approved)
	require.Equal(t, "51", declined.ResponseCode)

	// The network's other flows: a partial approval, an increment and an
	// advice on it, a single-message purchase, a force capture, an
	// unlinked refund and its reversal.
	part, err := c.SimulateAuthorization(ctx, client.SimulateAuthorizationParams{CardID: card.ID, Amount: 10_000_00, MerchantName: "GROCER", AllowPartial: true})
	require.NoError(t, err)
	require.True(t, part.Approved)
	require.Equal(t, "10", part.ResponseCode)
	require.Equal(t, int64(10_000_00), part.RequestedAmount)
	require.Less(t, part.AuthorizedAmount, part.RequestedAmount)
	rev, err = c.SimulateReversal(ctx, part.ID, nil)
	require.NoError(t, err)
	require.Equal(t, client.TxnReversed, rev.Status)
	open, err := c.SimulateAuthorization(ctx, client.SimulateAuthorizationParams{CardID: card.ID, Amount: 5_00, MerchantName: "GROCER"})
	require.NoError(t, err)
	inc, err := c.SimulateIncrement(ctx, open.ID, 1_00)
	require.NoError(t, err)
	require.Equal(t, int64(6_00), inc.Amount)
	adv, err := c.SimulateAuthorizationAdvice(ctx, open.ID, 3_00)
	require.NoError(t, err)
	require.Equal(t, int64(3_00), adv.Amount)
	fin, err := c.SimulateFinancial(ctx, client.SimulateAuthorizationParams{CardID: card.ID, Amount: 2_00, MerchantName: "GROCER"})
	require.NoError(t, err)
	require.Equal(t, client.TxnCompleted, fin.Status)
	dsp2, err := f.Agent.CreateDispute(ctx, fin.ID, client.CreateDisputeParams{Reason: "duplicate"})
	require.NoError(t, err)
	dsp2, err = f.Agent.CancelDispute(ctx, dsp2.ID)
	require.NoError(t, err)
	require.Equal(t, "canceled", dsp2.Status)
	require.NotNil(t, dsp2.CanceledAt)
	fc, err := c.SimulateForceCapture(ctx, client.SimulateForceCaptureParams{CardID: card.ID, Amount: 1_00, MerchantName: "GROCER"})
	require.NoError(t, err)
	require.True(t, fc.Approved)
	unlinked, err := c.SimulateUnlinkedRefund(ctx, card.ID, 50)
	require.NoError(t, err)
	rr, err := c.SimulateRefundReversal(ctx, unlinked.ID)
	require.NoError(t, err)
	require.Equal(t, client.TxnReversed, rr.Status)

	tx, err := f.Agent.GetTransaction(ctx, dec.ID)
	require.NoError(t, err)
	require.Equal(t, "GROCER", tx.MerchantName)
	tx, err = f.Agent.UpdateTransaction(ctx, dec.ID, client.UpdateTransactionParams{Notes: client.String("weekly"), Tags: []string{"food"}})
	require.NoError(t, err)
	require.Equal(t, "weekly", *tx.Notes)
	require.Equal(t, []string{"food"}, tx.Tags)
	tx, err = f.Agent.UpdateTransaction(ctx, dec.ID, client.UpdateTransactionParams{ClearNotes: true, ClearTags: true})
	require.NoError(t, err)
	require.Nil(t, tx.Notes)
	require.Empty(t, tx.Tags)

	tx, err = f.Agent.SetReceiptURL(ctx, dec.ID, "https://example.com/r/1.pdf")
	require.NoError(t, err)
	require.True(t, tx.Receipt.HasReceipt)
	rc, err := f.Agent.GetReceipt(ctx, dec.ID)
	require.NoError(t, err)
	require.Equal(t, "https://example.com/r/1.pdf", rc.URL)
	png := []byte("\x89PNG\r\n\x1a\nnot really an image")
	tx, err = f.Agent.UploadReceipt(ctx, dec.ID, "r.png", png)
	require.NoError(t, err)
	require.Equal(t, "image/png", tx.Receipt.MimeType)
	rc, err = f.Agent.GetReceipt(ctx, dec.ID)
	require.NoError(t, err)
	require.Equal(t, "image/png", rc.ContentType)
	require.Equal(t, png, rc.Data)
	tx, err = f.Agent.DeleteReceipt(ctx, dec.ID)
	require.NoError(t, err)
	require.False(t, tx.Receipt.HasReceipt)

	var ids []string
	for tx, err := range f.Agent.Transactions(ctx, client.ListTransactionsParams{ListParams: client.ListParams{Limit: 2}}) {
		require.NoError(t, err)
		ids = append(ids, tx.ID)
	}
	require.GreaterOrEqual(t, len(ids), 4)
	pg, err := c.ListTransactions(ctx, client.ListTransactionsParams{CardID: card.ID, Status: client.TxnDeclined})
	require.NoError(t, err)
	require.Len(t, pg.Data, 1)
	require.Equal(t, declined.ID, pg.Data[0].ID)
	n := 0
	for _, err := range c.CardTransactions(ctx, card.ID, client.ListParams{Limit: 1}) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, len(ids), n)

	// The virtual clock: a pending intent expires when time moves past it.
	it2, err := f.Agent.CreateIntent(ctx, card.ID, client.CreateIntentParams{IntentID: "later", Summary: "later", TTLMinutes: client.Int64(5)})
	require.NoError(t, err)
	before, err := c.GetClock(ctx)
	require.NoError(t, err)
	require.True(t, before.Virtual)
	_, err = c.AdvanceClock(ctx, 90*time.Second)
	require.ErrorContains(t, err, "whole minutes")
	after, err := c.AdvanceClock(ctx, 10*time.Minute)
	require.NoError(t, err)
	require.EqualValues(t, 10*60*1000, after.Now-before.Now)
	it2, err = f.Agent.GetIntent(ctx, it2.ID)
	require.NoError(t, err)
	require.Equal(t, client.IntentExpired, it2.Status)
	it3, err := f.Agent.CreateIntent(ctx, card.ID, client.CreateIntentParams{IntentID: "cancel-me", Summary: "x"})
	require.NoError(t, err)
	it3, err = f.Agent.CancelIntent(ctx, it3.ID)
	require.NoError(t, err)
	require.Equal(t, client.IntentCanceled, it3.Status)

	// Approval: an intent that waits for a person.
	ap, err := f.Agent.CreateIntent(ctx, card.ID, client.CreateIntentParams{IntentID: "approve-me", Summary: "big", RequireApproval: true})
	require.NoError(t, err)
	require.Equal(t, client.IntentPendingApproval, ap.Status)
	ap, err = c.ApproveIntent(ctx, ap.ID)
	require.NoError(t, err)
	require.Equal(t, client.IntentPending, ap.Status)
	require.NotEmpty(t, ap.ApprovedBy)
	rj, err := f.Agent.CreateIntent(ctx, card.ID, client.CreateIntentParams{IntentID: "reject-me", Summary: "bigger", RequireApproval: true})
	require.NoError(t, err)
	rj, err = c.RejectIntent(ctx, rj.ID, "no")
	require.NoError(t, err)
	require.Equal(t, client.IntentRejected, rj.Status)
	require.Equal(t, "no", rj.RejectionReason)
}

func TestErrorsAreTyped(t *testing.T) {
	ls := newServer(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func() error
		status int
		typ    string
		code   string
		param  string
	}{
		{"validation names the field", func() error {
			_, err := ls.Client.CreateUser(ctx, client.CreateUserParams{FirstName: "A", LastName: "B", Email: "not-an-email"})
			return err
		}, 400, client.TypeValidation, "parameter_invalid", "email"},
		{"empty required field", func() error {
			_, err := ls.Client.CreateUser(ctx, client.CreateUserParams{LastName: "B", Email: "a@example.com"})
			return err
		}, 400, client.TypeValidation, "parameter_invalid", "firstName"},
		{"not found", func() error { _, err := ls.Client.GetCard(ctx, "card_nothing"); return err },
			404, client.TypeNotFound, "card_not_found", ""},
		{"wrong key", func() error {
			_, err := ls.Client.WithAPIKey("lk_test_wrong_wrong_wrong").ListUsers(ctx, client.ListParams{})
			return err
		},
			401, client.TypeAuthentication, "invalid_api_key", ""},
		{"bad limit", func() error { _, err := ls.Client.ListUsers(ctx, client.ListParams{Limit: 101}); return err },
			400, client.TypeValidation, "parameter_invalid", "limit"},
		{"path is escaped", func() error { _, err := ls.Client.GetUser(ctx, "../cards/x"); return err },
			404, client.TypeNotFound, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			e, ok := client.AsError(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, tc.status, e.StatusCode)
			require.Equal(t, tc.typ, e.Type)
			if tc.code != "" {
				require.Equal(t, tc.code, e.Code)
			}
			require.Equal(t, tc.param, e.Param)
			require.True(t, strings.HasPrefix(e.RequestID, "req_"), e.RequestID)
			require.NotEmpty(t, e.Message)
		})
	}
	require.True(t, client.IsNotFound(tests[2].call()))
}

func TestServerEndpoints(t *testing.T) {
	ls := newServer(t)
	ctx := context.Background()
	s, err := ls.Client.Health(ctx)
	require.NoError(t, err)
	require.Equal(t, "ok", s)
	s, err = ls.Client.Ready(ctx)
	require.NoError(t, err)
	require.Equal(t, "ready", s)
	m, err := ls.Client.Metrics(ctx)
	require.NoError(t, err)
	require.Contains(t, string(m), "# TYPE")
	spec, err := ls.Client.ISOSpec(ctx)
	require.NoError(t, err)
	require.Contains(t, string(spec), "fields")
	doc, err := ls.Client.WithAPIKey("not-needed").OpenAPI(ctx)
	require.NoError(t, err, "the document needs no key")
	require.Contains(t, string(doc), `"openapi": "3.1.0"`)
}

// TestWebhooks creates an endpoint whose receiver is WebhookHandler, and
// sees a signed test event arrive and the delivery logged.
func TestWebhooks(t *testing.T) {
	ls := newServer(t)
	c, ctx := ls.Client, context.Background()

	var mu sync.Mutex
	var secrets []string
	got := make(chan *client.Event, 4)
	recv := httptest.NewServer(client.WebhookHandler(nil, nil)) // replaced below once the secret is known
	recv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := client.WebhookHandler(secrets, func(_ context.Context, ev *client.Event) error { got <- ev; return nil })
		mu.Unlock()
		h.ServeHTTP(w, r)
	})
	t.Cleanup(recv.Close)

	wh, err := c.CreateWebhook(ctx, client.CreateWebhookParams{URL: recv.URL + "/hook", Description: "test", Events: []string{"card.created"}})
	require.NoError(t, err)
	require.NotEmpty(t, wh.Secret)
	mu.Lock()
	secrets = []string{wh.Secret}
	mu.Unlock()
	ev, err := c.TestWebhook(ctx, wh.ID)
	require.NoError(t, err)
	require.Equal(t, "webhook.test", ev.Type)
	delivered := <-got
	require.Equal(t, ev.ID, delivered.ID)

	g, err := c.GetWebhook(ctx, wh.ID)
	require.NoError(t, err)
	require.Empty(t, g.Secret, "the secret is shown on creation and rotation only")
	up, err := c.UpdateWebhook(ctx, wh.ID, client.UpdateWebhookParams{Description: client.String("renamed"), Events: []string{}})
	require.NoError(t, err)
	require.Equal(t, "renamed", up.Description)
	require.Empty(t, up.Events)
	rot, err := c.RotateWebhookSecret(ctx, wh.ID)
	require.NoError(t, err)
	require.NotEqual(t, wh.Secret, rot.Secret)
	list, err := c.ListWebhooks(ctx, client.ListParams{})
	require.NoError(t, err)
	require.Len(t, list.Data, 1)
	for w, err := range c.Webhooks(ctx, client.ListParams{}) {
		require.NoError(t, err)
		require.Equal(t, wh.ID, w.ID)
	}

	var deliveries []client.WebhookDelivery
	require.Eventually(t, func() bool {
		deliveries = deliveries[:0]
		for d, err := range c.WebhookDeliveries(ctx, wh.ID, client.ListParams{}) {
			require.NoError(t, err)
			deliveries = append(deliveries, d)
		}
		return len(deliveries) == 1 && deliveries[0].Status == "succeeded"
	}, 30*time.Second, 10*time.Millisecond)
	pg, err := c.ListWebhookDeliveries(ctx, wh.ID, client.ListParams{Limit: 1})
	require.NoError(t, err)
	require.Equal(t, ev.ID, pg.Data[0].EventID)

	events, err := c.ListEvents(ctx, client.ListEventsParams{Type: "card.created"})
	require.NoError(t, err)
	require.Empty(t, events.Data)
	ls.FundedAgent("events@example.com", 0)
	var first *client.Event
	for e, err := range c.Events(ctx, client.ListEventsParams{ListParams: client.ListParams{Limit: 1}}) {
		require.NoError(t, err)
		if first == nil {
			first = &e
		}
	}
	require.NotNil(t, first, "onboarding logs events")
	one, err := c.GetEvent(ctx, first.ID)
	require.NoError(t, err)
	require.Equal(t, first.Type, one.Type)

	del, err := c.DeleteWebhook(ctx, wh.ID)
	require.NoError(t, err)
	require.True(t, del.Deleted)
	_, err = c.GetWebhook(ctx, wh.ID)
	require.True(t, client.HasCode(err, "webhook_not_found"), "%v", err)
}

func TestVerifyWebhook(t *testing.T) {
	body := []byte(`{"id":"evt_1","object":"event","type":"card.created","createdAt":1,"data":{}}`)
	now := time.Unix(1_750_000_000, 0)
	good := signHeader(t, "whsec_a", now, body)
	tests := []struct {
		name    string
		header  string
		body    []byte
		secrets []string
		at      time.Time
		want    error
	}{
		{"valid", good, body, []string{"whsec_a"}, now, nil},
		{"either secret during rotation", good, body, []string{"whsec_new", "whsec_a"}, now, nil},
		{"tampered body", good, []byte(`{"id":"evt_2"}`), []string{"whsec_a"}, now, client.ErrSignatureMismatch},
		{"wrong secret", good, body, []string{"whsec_b"}, now, client.ErrSignatureMismatch},
		{"too old", good, body, []string{"whsec_a"}, now.Add(time.Hour), client.ErrSignatureTooOld},
		{"no header", "", body, []string{"whsec_a"}, now, client.ErrNoSignature},
		{"garbage", "v1", body, []string{"whsec_a"}, now, client.ErrBadSignatureFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := client.VerifyWebhook(tc.header, tc.body, tc.secrets, tc.at)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				require.Nil(t, ev)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "card.created", ev.Type)
		})
	}
}

// TestFaults adds, lists and deletes fault-injection rules; a bad rule is a
// 400 naming its field.
func TestFaults(t *testing.T) {
	ls := newServer(t)
	c, ctx := ls.Client, context.Background()
	f, err := c.CreateFault(ctx, client.FaultParams{MTI: "0100", Action: client.FaultDelay, DelayMs: client.Int64(250), Percent: client.Int64(10)})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(f.ID, "flt_"), f.ID)
	require.EqualValues(t, 10, f.Percent)
	require.Nil(t, f.Count)
	require.Zero(t, f.Matched)
	_, err = c.CreateFault(ctx, client.FaultParams{Action: client.FaultRespond, ResponseCode: "00"})
	e, ok := client.AsError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, http.StatusBadRequest, e.StatusCode)
	require.Equal(t, "responseCode", e.Param)

	list, err := c.ListFaults(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, f.ID, list[0].ID)
	d, err := c.DeleteFault(ctx, f.ID)
	require.NoError(t, err)
	require.True(t, d.Deleted)
	_, err = c.DeleteFault(ctx, f.ID)
	require.True(t, client.IsNotFound(err))
	list, err = c.ListFaults(ctx)
	require.NoError(t, err)
	require.Empty(t, list)
}
