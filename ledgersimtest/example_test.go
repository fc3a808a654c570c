package ledgersimtest_test

import (
	"context"
	"testing"

	"github.com/ledgersim/ledgersim/client"
	"github.com/ledgersim/ledgersim/ledgersimtest"
)

// An agent's whole purchase: a funded agent gets a card, declares what it
// is about to buy, reads the card's details, and the merchant's
// authorization matches the intent.
func TestAgentPurchase(t *testing.T) {
	ls := ledgersimtest.New(t)
	ctx := context.Background()
	f := ls.FundedAgent("ada@example.com", 100_00) // $100 on deposit
	agent := f.Agent                               // the agent's own token from here on

	card, err := agent.CreateCard(ctx, f.AgentID, client.CreateCardParams{Purpose: "book order",
		CredentialExposure: client.ExposureRawPAN, AcknowledgeRawPanRisk: true})
	must(t, err)
	intent, err := agent.CreateIntent(ctx, card.ID, client.CreateIntentParams{IntentID: "order-1",
		Summary: "one paperback", ExpectedAmount: client.Int64(25_00), ExpectedMerchant: "BOOKSHOP"})
	must(t, err)
	creds, err := agent.CardDetails(ctx, card.ID, client.CardDetailsParams{Summary: "pay for order-1",
		ExpectedAmount: client.Int64(25_00), MerchantText: "BOOKSHOP"})
	must(t, err)
	t.Logf("card ending %s", creds.Last4) // never log the PAN or CVV

	// The merchant's authorization (the simulate endpoint takes the ISO 8583 decision path).
	dec, err := ls.Client.SimulateAuthorization(ctx, client.SimulateAuthorizationParams{CardID: card.ID,
		Amount: 25_00, MerchantName: "BOOKSHOP"})
	must(t, err)
	intent, err = agent.GetIntent(ctx, intent.ID)
	must(t, err)
	bal, err := agent.GetBalance(ctx, f.UserID)
	must(t, err)
	if !dec.Approved || intent.Status != client.IntentMatched || bal.Available != 75_00 {
		t.Fatalf("approved=%v intent=%s available=%d", dec.Approved, intent.Status, bal.Available)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
