package client

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// StatementSummary is a statement without its lines, as ListStatements
// returns it. Amounts are cents; times are epoch SECONDS, the platform's
// unit for statements (everything else is in milliseconds).
type StatementSummary struct {
	Object string `json:"object"`
	ID     string `json:"id"`
	UserID string `json:"userId"`
	// Type is "monthly" or "custom".
	Type string `json:"type"`
	// PeriodStart is included, PeriodEnd excluded.
	PeriodStart int64  `json:"periodStart"`
	PeriodEnd   int64  `json:"periodEnd"`
	Currency    string `json:"currency"`
	// OpeningBalance and ClosingBalance are what was owed (posted
	// purchases less refunds) at the period's start and end.
	OpeningBalance int64 `json:"openingBalance"`
	ClosingBalance int64 `json:"closingBalance"`
	// CreditLimit is what had been deposited by the period's end.
	CreditLimit    int64 `json:"creditLimit"`
	PendingCharges int64 `json:"pendingCharges"`
	// AvailableCredit is CreditLimit - ClosingBalance - PendingCharges.
	AvailableCredit int64 `json:"availableCredit"`
	TotalSpent      int64 `json:"totalSpent"`
	TotalRefunds    int64 `json:"totalRefunds"`
	TotalFees       int64 `json:"totalFees"`
	// TotalWithdrawals is what was withdrawn in the period; it lowers the
	// credit limit, not what is owed.
	TotalWithdrawals int64 `json:"totalWithdrawals"`
	TransactionCount int   `json:"transactionCount"`
	CreatedAt        int64 `json:"createdAt"`
}

// Statement is a full statement.
type Statement struct {
	StatementSummary
	Transactions      []StatementLine          `json:"transactions"`
	SummaryByMerchant []StatementMerchantTotal `json:"summaryByMerchant"`
	SummaryByCategory []StatementCategoryTotal `json:"summaryByCategory"`
	Withdrawals       []StatementWithdrawal    `json:"withdrawals"`
}

// StatementWithdrawal is a withdrawal made in a statement's period;
// CreatedAt is epoch seconds.
type StatementWithdrawal struct {
	ID               string `json:"id"`
	Amount           int64  `json:"amount"`
	ChainID          int    `json:"chainId"`
	RecipientAddress string `json:"recipientAddress"`
	TransactionHash  string `json:"transactionHash,omitempty"`
	Status           string `json:"status"`
	CreatedAt        int64  `json:"createdAt"`
}

// StatementLine is one transaction on a statement. Amount is positive;
// Type ("purchase" or "refund") says which way it went.
type StatementLine struct {
	ID                   string `json:"id"`
	Type                 string `json:"type"`
	Status               string `json:"status"`
	Amount               int64  `json:"amount"`
	Currency             string `json:"currency"`
	MerchantName         string `json:"merchantName"`
	MerchantCategoryCode string `json:"merchantCategoryCode"`
	Category             string `json:"category"`
	CardID               string `json:"cardId"`
	AgentID              string `json:"agentId"`
	AuthorizedAt         *int64 `json:"authorizedAt"`
	PostedAt             int64  `json:"postedAt"`
}

// StatementMerchantTotal sums one merchant's lines, charged less refunded.
type StatementMerchantTotal struct {
	MerchantName     string `json:"merchantName"`
	TransactionCount int    `json:"transactionCount"`
	TotalAmount      int64  `json:"totalAmount"`
}

// StatementCategoryTotal sums one merchant category's lines.
type StatementCategoryTotal struct {
	Category         string `json:"category"`
	CategoryCode     string `json:"categoryCode"`
	TransactionCount int    `json:"transactionCount"`
	TotalAmount      int64  `json:"totalAmount"`
}

func statementsPath(userID string) string { return "/v1/users/" + seg(userID) + "/statements" }

// ListStatements reads one page of a user's monthly statements, newest
// first (GET /v1/users/{id}/statements).
func (c *Client) ListStatements(ctx context.Context, userID string, p ListParams, opts ...RequestOption) (*Page[StatementSummary], error) {
	return listPage[StatementSummary](ctx, c, statementsPath(userID), p, nil, opts)
}

// Statements iterates every monthly statement of a user, newest first.
func (c *Client) Statements(ctx context.Context, userID string, p ListParams, opts ...RequestOption) iter.Seq2[StatementSummary, error] {
	return all(func(p ListParams) (*Page[StatementSummary], error) { return c.ListStatements(ctx, userID, p, opts...) }, p)
}

// GetStatement reads a statement with every line
// (GET /v1/users/{id}/statements/{statementId}).
func (c *Client) GetStatement(ctx context.Context, userID, statementID string, opts ...RequestOption) (*Statement, error) {
	return call[Statement](ctx, c, request{method: http.MethodGet, path: statementsPath(userID) + "/" + seg(statementID)}, opts)
}

// GetStatementPDF reads a statement as a PDF document.
func (c *Client) GetStatementPDF(ctx context.Context, userID, statementID string, opts ...RequestOption) ([]byte, error) {
	return pdfBody(c.do(ctx, request{method: http.MethodGet, path: statementsPath(userID) + "/" + seg(statementID), accept: "application/pdf"}, opts))
}

// CustomStatement computes the statement of [periodStart, periodEnd),
// epoch seconds, a range that has ended on the server's clock
// (GET /v1/users/{id}/statements?periodStart=&periodEnd=). Nothing is
// stored: GetStatement or GetStatementPDF with the returned ID computes it
// again with every line.
func (c *Client) CustomStatement(ctx context.Context, userID string, periodStart, periodEnd int64, opts ...RequestOption) (*StatementSummary, error) {
	q := url.Values{"periodStart": {strconv.FormatInt(periodStart, 10)}, "periodEnd": {strconv.FormatInt(periodEnd, 10)}}
	page, err := listPage[StatementSummary](ctx, c, statementsPath(userID), ListParams{}, q, opts)
	if err != nil {
		return nil, err
	}
	if len(page.Data) != 1 {
		return nil, fmt.Errorf("client: expected one custom statement, got %d", len(page.Data))
	}
	return &page.Data[0], nil
}

func pdfBody(res *response, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(res.contentType, "application/pdf") {
		return nil, fmt.Errorf("client: expected a PDF, got %q", res.contentType)
	}
	return res.body, nil
}
