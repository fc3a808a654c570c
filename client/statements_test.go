package client_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/client"
)

// TestStatementsAndBalance reads a month's statement as JSON and PDF, a
// custom one, and the balance it agrees with.
func TestStatementsAndBalance(t *testing.T) {
	ls := newServer(t)
	c, ctx := ls.Client, context.Background()
	f := ls.FundedAgent("st@example.com", 500_00)
	card, err := f.Agent.CreateCard(ctx, f.AgentID, client.CreateCardParams{Purpose: "books", Type: client.CardMulti})
	require.NoError(t, err)
	dec, err := c.SimulateAuthorization(ctx, client.SimulateAuthorizationParams{CardID: card.ID, Amount: 25_00, MerchantName: "BOOKS", MerchantCategory: "5942"})
	require.NoError(t, err)
	_, err = c.SimulateClearing(ctx, dec.ID, 25_00)
	require.NoError(t, err)
	// Past the end of this month: its statement exists.
	_, err = c.AdvanceClock(ctx, 32*24*time.Hour)
	require.NoError(t, err)

	page, err := c.ListStatements(ctx, f.UserID, client.ListParams{Limit: 1})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	n := 0
	for s, err := range c.Statements(ctx, f.UserID, client.ListParams{}) {
		require.NoError(t, err)
		require.Equal(t, "monthly", s.Type)
		n++
	}
	require.GreaterOrEqual(t, n, 1)
	// The oldest statement is the month the purchase posted in.
	var oldest client.StatementSummary
	for s, err := range c.Statements(ctx, f.UserID, client.ListParams{}) {
		require.NoError(t, err)
		oldest = s
	}
	st, err := c.GetStatement(ctx, f.UserID, oldest.ID)
	require.NoError(t, err)
	require.EqualValues(t, 25_00, st.TotalSpent)
	require.Len(t, st.Transactions, 1)
	require.Equal(t, dec.ID, st.Transactions[0].ID)
	doc, err := c.GetStatementPDF(ctx, f.UserID, oldest.ID)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(doc, []byte("%PDF-")))

	now, err := c.GetClock(ctx)
	require.NoError(t, err)
	custom, err := c.CustomStatement(ctx, f.UserID, oldest.PeriodStart, now.Now/1000)
	require.NoError(t, err)
	require.Equal(t, "custom", custom.Type)
	full, err := c.GetStatement(ctx, f.UserID, custom.ID)
	require.NoError(t, err)
	require.Equal(t, custom.ClosingBalance, full.ClosingBalance)
	require.Len(t, full.Transactions, 1)
	b, err := c.GetUserBalance(ctx, f.UserID)
	require.NoError(t, err)
	require.Equal(t, b.BalanceDue, custom.ClosingBalance)
	require.Equal(t, b.SpendingPower, custom.AvailableCredit)

	_, err = f.Agent.ListStatements(ctx, f.UserID, client.ListParams{})
	require.True(t, client.HasCode(err, "insufficient_permissions"), "%v", err)
	_, err = c.CustomStatement(ctx, f.UserID, oldest.PeriodStart, now.Now/1000+3600)
	require.True(t, client.HasCode(err, "parameter_invalid"), "%v", err)
}
