package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SimulateAuthorizationParams is the body of SimulateAuthorization.
type SimulateAuthorizationParams struct {
	CardID string `json:"cardId"`
	// Amount in cents; 0 is an account verification.
	Amount          int64  `json:"amount"`
	MerchantName    string `json:"merchantName,omitempty"`
	MerchantID      string `json:"merchantId,omitempty"`
	MerchantCity    string `json:"merchantCity,omitempty"`
	MerchantCountry string `json:"merchantCountry,omitempty"`
	// MerchantCategory is a 4-digit MCC.
	MerchantCategory string `json:"merchantCategory,omitempty"`
	// Currency is an ISO 4217 code (USD by default).
	Currency string `json:"currency,omitempty"`
	// AllowPartial says the terminal takes a partial approval: a purchase
	// above what is left is approved for what is left (ResponseCode 10,
	// Transaction.RequestedAmount and AuthorizedAmount).
	AllowPartial bool `json:"allowPartial,omitempty"`
}

// SimulateAuthorization sends an authorization through the same decision
// path as an ISO 8583 0100 (POST /v1/simulate/authorization). A decline is
// not an error: see Decision.Approved and ResponseCode.
func (c *Client) SimulateAuthorization(ctx context.Context, p SimulateAuthorizationParams, opts ...RequestOption) (*Decision, error) {
	return call[Decision](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/authorization", body: p}, opts)
}

// SimulateClearing captures an authorized transaction for amount cents
// (POST /v1/simulate/clearing).
func (c *Client) SimulateClearing(ctx context.Context, transactionID string, amount int64, opts ...RequestOption) (*Decision, error) {
	body := map[string]any{"transactionId": transactionID, "amount": amount}
	return call[Decision](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/clearing", body: body}, opts)
}

// SimulateReversal reverses an authorization, wholly when amount is nil or
// by *amount cents (POST /v1/simulate/reversal).
func (c *Client) SimulateReversal(ctx context.Context, transactionID string, amount *int64, opts ...RequestOption) (*Decision, error) {
	body := map[string]any{"transactionId": transactionID}
	if amount != nil {
		body["amount"] = *amount
	}
	return call[Decision](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/reversal", body: body}, opts)
}

// SimulateRefund refunds amount cents of a completed transaction
// (POST /v1/simulate/refund).
func (c *Client) SimulateRefund(ctx context.Context, transactionID string, amount int64, opts ...RequestOption) (*Decision, error) {
	body := map[string]any{"transactionId": transactionID, "amount": amount}
	return call[Decision](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/refund", body: body}, opts)
}

// SimulateFinancial is a single-message purchase, authorized and
// completed in one as an ISO 8583 0200 (POST /v1/simulate/financial). A
// decline is not an error.
func (c *Client) SimulateFinancial(ctx context.Context, p SimulateAuthorizationParams, opts ...RequestOption) (*Decision, error) {
	return call[Decision](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/financial", body: p}, opts)
}

// SimulateIncrement is an incremental authorization: amount cents more on
// an open authorization (POST /v1/simulate/increment). A decline is not an
// error; a transaction that is not an open authorization is a 409.
func (c *Client) SimulateIncrement(ctx context.Context, transactionID string, amount int64, opts ...RequestOption) (*Decision, error) {
	body := map[string]any{"transactionId": transactionID, "amount": amount}
	return call[Decision](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/increment", body: body}, opts)
}

// SimulateAuthorizationAdvice sets an open authorization's amount to
// amount cents, as a network's advice does (POST
// /v1/simulate/authorization-advice).
func (c *Client) SimulateAuthorizationAdvice(ctx context.Context, transactionID string, amount int64, opts ...RequestOption) (*Decision, error) {
	body := map[string]any{"transactionId": transactionID, "amount": amount}
	return call[Decision](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/authorization-advice", body: body}, opts)
}

// SimulateForceCaptureParams is the body of SimulateForceCapture.
type SimulateForceCaptureParams struct {
	CardID           string `json:"cardId"`
	Amount           int64  `json:"amount"`
	MerchantName     string `json:"merchantName,omitempty"`
	MerchantID       string `json:"merchantId,omitempty"`
	MerchantCity     string `json:"merchantCity,omitempty"`
	MerchantCountry  string `json:"merchantCountry,omitempty"`
	MerchantCategory string `json:"merchantCategory,omitempty"`
}

// SimulateForceCapture posts a completed purchase without an
// authorization (POST /v1/simulate/force-capture).
func (c *Client) SimulateForceCapture(ctx context.Context, p SimulateForceCaptureParams, opts ...RequestOption) (*Decision, error) {
	return call[Decision](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/force-capture", body: p}, opts)
}

// SimulateUnlinkedRefund credits amount cents to a card with no purchase
// named (POST /v1/simulate/refund with cardId).
func (c *Client) SimulateUnlinkedRefund(ctx context.Context, cardID string, amount int64, opts ...RequestOption) (*Decision, error) {
	body := map[string]any{"cardId": cardID, "amount": amount}
	return call[Decision](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/refund", body: body}, opts)
}

// SimulateRefundReversal takes a refund back (POST
// /v1/simulate/refund-reversal).
func (c *Client) SimulateRefundReversal(ctx context.Context, refundID string, opts ...RequestOption) (*Decision, error) {
	body := map[string]any{"transactionId": refundID}
	return call[Decision](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/refund-reversal", body: body}, opts)
}

// GetClock reads the server's clock (GET /v1/simulate/clock).
func (c *Client) GetClock(ctx context.Context, opts ...RequestOption) (*Clock, error) {
	return call[Clock](ctx, c, request{method: http.MethodGet, path: "/v1/simulate/clock"}, opts)
}

// AdvanceClock moves a virtual clock forward by d, in whole minutes (at
// least one), and applies what comes due: intent expiry, hold expiry,
// webhook retries (POST /v1/simulate/clock/advance).
func (c *Client) AdvanceClock(ctx context.Context, d time.Duration, opts ...RequestOption) (*Clock, error) {
	minutes := int64(d / time.Minute)
	if minutes < 1 || d%time.Minute != 0 {
		return nil, fmt.Errorf("client: AdvanceClock moves whole minutes, not %s", d)
	}
	body := map[string]int64{"minutes": minutes}
	return call[Clock](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/clock/advance", body: body}, opts)
}

// Transaction statuses, for ListTransactionsParams.Status.
const (
	TxnAuthorized = "authorized"
	TxnCompleted  = "completed"
	TxnReversed   = "reversed"
	TxnDeclined   = "declined"
)

// ListTransactionsParams filters ListTransactions.
type ListTransactionsParams struct {
	ListParams
	CardID  string
	UserID  string
	AgentID string
	// Status is one of the Txn* statuses.
	Status string
}

// ListTransactions reads one page of transactions, newest first
// (GET /v1/transactions). An agent token sees only its own agent's.
func (c *Client) ListTransactions(ctx context.Context, p ListTransactionsParams, opts ...RequestOption) (*Page[Transaction], error) {
	q := url.Values{"cardId": {p.CardID}, "userId": {p.UserID}, "agentId": {p.AgentID}, "status": {p.Status}}
	return listPage[Transaction](ctx, c, "/v1/transactions", p.ListParams, q, opts)
}

// Transactions iterates every transaction matching p.
func (c *Client) Transactions(ctx context.Context, p ListTransactionsParams, opts ...RequestOption) iter.Seq2[Transaction, error] {
	return all(func(lp ListParams) (*Page[Transaction], error) {
		q := p
		q.ListParams = lp
		return c.ListTransactions(ctx, q, opts...)
	}, p.ListParams)
}

// ListCardTransactions reads one page of a card's transactions
// (GET /v1/cards/{id}/transactions).
func (c *Client) ListCardTransactions(ctx context.Context, cardID string, p ListParams, opts ...RequestOption) (*Page[Transaction], error) {
	return listPage[Transaction](ctx, c, "/v1/cards/"+seg(cardID)+"/transactions", p, nil, opts)
}

// CardTransactions iterates every transaction of a card.
func (c *Client) CardTransactions(ctx context.Context, cardID string, p ListParams, opts ...RequestOption) iter.Seq2[Transaction, error] {
	return all(func(p ListParams) (*Page[Transaction], error) { return c.ListCardTransactions(ctx, cardID, p, opts...) }, p)
}

// GetTransaction reads a transaction (GET /v1/transactions/{id}).
func (c *Client) GetTransaction(ctx context.Context, id string, opts ...RequestOption) (*Transaction, error) {
	return call[Transaction](ctx, c, request{method: http.MethodGet, path: "/v1/transactions/" + seg(id)}, opts)
}

// UpdateTransactionParams is the body of UpdateTransaction: only the fields
// set are changed.
type UpdateTransactionParams struct {
	// Notes sets the notes; ClearNotes removes them.
	Notes      *string
	ClearNotes bool
	// Tags replaces the tags (at most 50); ClearTags removes them.
	Tags      []string
	ClearTags bool
	// Category sets the category; ClearCategory removes it.
	Category      *string
	ClearCategory bool
}

// MarshalJSON sends the fields that are set, and null for a cleared one.
func (p UpdateTransactionParams) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	switch {
	case p.ClearNotes:
		m["notes"] = nil
	case p.Notes != nil:
		m["notes"] = *p.Notes
	}
	switch {
	case p.ClearTags:
		m["tags"] = nil
	case p.Tags != nil:
		m["tags"] = p.Tags
	}
	switch {
	case p.ClearCategory:
		m["category"] = nil
	case p.Category != nil:
		m["category"] = *p.Category
	}
	return json.Marshal(m)
}

// UpdateTransaction annotates a transaction (PATCH /v1/transactions/{id}).
func (c *Client) UpdateTransaction(ctx context.Context, id string, p UpdateTransactionParams, opts ...RequestOption) (*Transaction, error) {
	return call[Transaction](ctx, c, request{method: http.MethodPatch, path: "/v1/transactions/" + seg(id), body: p}, opts)
}

// SetReceiptURL links a transaction's receipt to an http(s) URL
// (PUT /v1/transactions/{id}/receipt).
func (c *Client) SetReceiptURL(ctx context.Context, txnID, receiptURL string, opts ...RequestOption) (*Transaction, error) {
	body := map[string]string{"url": receiptURL}
	return call[Transaction](ctx, c, request{method: http.MethodPut, path: "/v1/transactions/" + seg(txnID) + "/receipt", body: body}, opts)
}

// UploadReceipt stores a PDF, PNG or JPEG file (at most 10 MiB) as a
// transaction's receipt (PUT /v1/transactions/{id}/receipt, multipart).
func (c *Client) UploadReceipt(ctx context.Context, txnID, fileName string, data []byte, opts ...RequestOption) (*Transaction, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", fileName)
	if err != nil {
		return nil, fmt.Errorf("client: receipt form: %w", err)
	}
	if _, err := fw.Write(data); err != nil {
		return nil, fmt.Errorf("client: receipt form: %w", err)
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("client: receipt form: %w", err)
	}
	return call[Transaction](ctx, c, request{method: http.MethodPut, path: "/v1/transactions/" + seg(txnID) + "/receipt",
		raw: &buf, contentType: mw.FormDataContentType()}, opts)
}

// ReceiptContent is a transaction's receipt: the uploaded file (Data and
// ContentType) or the linked URL.
type ReceiptContent struct {
	ContentType string
	Data        []byte
	URL         string
	UploadedAt  int64
}

// GetReceipt reads a transaction's receipt (GET /v1/transactions/{id}/receipt).
func (c *Client) GetReceipt(ctx context.Context, txnID string, opts ...RequestOption) (*ReceiptContent, error) {
	path := "/v1/transactions/" + seg(txnID) + "/receipt"
	res, err := c.do(ctx, request{method: http.MethodGet, path: path}, opts)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(res.contentType, "application/json") {
		return &ReceiptContent{ContentType: res.contentType, Data: res.body}, nil
	}
	var link struct {
		URL        string `json:"url"`
		UploadedAt int64  `json:"uploadedAt"`
	}
	if err := json.Unmarshal(res.body, &link); err != nil {
		return nil, fmt.Errorf("client: GET %s: decoding response: %w", path, err)
	}
	return &ReceiptContent{ContentType: res.contentType, URL: link.URL, UploadedAt: link.UploadedAt}, nil
}

// DeleteReceipt removes a transaction's receipt
// (DELETE /v1/transactions/{id}/receipt).
func (c *Client) DeleteReceipt(ctx context.Context, txnID string, opts ...RequestOption) (*Transaction, error) {
	return call[Transaction](ctx, c, request{method: http.MethodDelete, path: "/v1/transactions/" + seg(txnID) + "/receipt"}, opts)
}
