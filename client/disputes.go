package client

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"mime/multipart"
	"net/http"
	"net/url"
)

// Dispute statuses and outcomes.
const (
	DisputePending  = "pending"
	DisputeInReview = "inReview"
	DisputeAccepted = "accepted"
	DisputeRejected = "rejected"
	DisputeWon      = "won"
	DisputeLost     = "lost"
)

// CreateDisputeParams is the body of CreateDispute.
type CreateDisputeParams struct {
	// Reason is unauthorized, duplicate, product_not_received,
	// product_unacceptable, credit_not_processed or other (the default).
	Reason       string `json:"reason,omitempty"`
	Description  string `json:"description,omitempty"`
	TextEvidence string `json:"textEvidence,omitempty"`
}

// DisputeEvidence is what a dispute holds as evidence.
type DisputeEvidence struct {
	HasFile      bool   `json:"hasFile"`
	TextEvidence string `json:"textEvidence,omitempty"`
	Name         string `json:"name,omitempty"`
	Type         string `json:"type,omitempty"`
	MimeType     string `json:"mimeType,omitempty"`
	SizeBytes    int64  `json:"sizeBytes,omitempty"`
	UploadedAt   int64  `json:"uploadedAt,omitempty"`
}

// Dispute contests a completed purchase.
type Dispute struct {
	Object        string          `json:"object"`
	ID            string          `json:"id"`
	TransactionID string          `json:"transactionId"`
	CardID        string          `json:"cardId"`
	AgentID       string          `json:"agentId"`
	UserID        string          `json:"userId"`
	Amount        int64           `json:"amount"`
	Currency      string          `json:"currency"`
	Reason        string          `json:"reason"`
	Description   string          `json:"description,omitempty"`
	TextEvidence  string          `json:"textEvidence,omitempty"`
	Evidence      DisputeEvidence `json:"evidence"`
	RainDisputeID string          `json:"rainDisputeId"`
	Status        string          `json:"status"`
	Outcome       *string         `json:"outcome"`
	// CreditTransactionID is the refund a won dispute credited.
	CreditTransactionID *string `json:"creditTransactionId"`
	CreditAmount        int64   `json:"creditAmount"`
	CreatedAt           int64   `json:"createdAt"`
	UpdatedAt           int64   `json:"updatedAt"`
	ResolvedAt          *int64  `json:"resolvedAt"`
	CanceledAt          *int64  `json:"canceledAt,omitempty"`
}

// DisputeFilter selects disputes; empty fields select all.
type DisputeFilter struct {
	UserID, TransactionID, Status string
}

// CreateDispute disputes a completed purchase
// (POST /v1/transactions/{id}/disputes).
func (c *Client) CreateDispute(ctx context.Context, txnID string, p CreateDisputeParams, opts ...RequestOption) (*Dispute, error) {
	return call[Dispute](ctx, c, request{method: http.MethodPost, path: "/v1/transactions/" + seg(txnID) + "/disputes", body: p}, opts)
}

// GetDispute reads a dispute (GET /v1/disputes/{id}).
func (c *Client) GetDispute(ctx context.Context, id string, opts ...RequestOption) (*Dispute, error) {
	return call[Dispute](ctx, c, request{method: http.MethodGet, path: "/v1/disputes/" + seg(id)}, opts)
}

// ListDisputes reads one page of disputes, newest first (GET /v1/disputes).
func (c *Client) ListDisputes(ctx context.Context, f DisputeFilter, p ListParams, opts ...RequestOption) (*Page[Dispute], error) {
	q := url.Values{}
	for k, v := range map[string]string{"userId": f.UserID, "transactionId": f.TransactionID, "status": f.Status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return listPage[Dispute](ctx, c, "/v1/disputes", p, q, opts)
}

// Disputes iterates every dispute f selects.
func (c *Client) Disputes(ctx context.Context, f DisputeFilter, p ListParams, opts ...RequestOption) iter.Seq2[Dispute, error] {
	return all(func(p ListParams) (*Page[Dispute], error) { return c.ListDisputes(ctx, f, p, opts...) }, p)
}

// UploadDisputeEvidence uploads a dispute's evidence file, at most 20 MB
// (PUT /v1/disputes/{id}/evidence, multipart); the dispute goes in review.
func (c *Client) UploadDisputeEvidence(ctx context.Context, id, name, typ, fileName string, data []byte, opts ...RequestOption) (*Dispute, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("name", name); err != nil {
		return nil, fmt.Errorf("client: evidence form: %w", err)
	}
	if err := mw.WriteField("type", typ); err != nil {
		return nil, fmt.Errorf("client: evidence form: %w", err)
	}
	fw, err := mw.CreateFormFile("evidence", fileName)
	if err != nil {
		return nil, fmt.Errorf("client: evidence form: %w", err)
	}
	if _, err := fw.Write(data); err != nil {
		return nil, fmt.Errorf("client: evidence form: %w", err)
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("client: evidence form: %w", err)
	}
	out, err := call[struct {
		Dispute Dispute `json:"dispute"`
	}](ctx, c, request{method: http.MethodPut, path: "/v1/disputes/" + seg(id) + "/evidence", raw: &buf, contentType: mw.FormDataContentType()}, opts)
	if err != nil {
		return nil, err
	}
	return &out.Dispute, nil
}

// ResolveDispute decides an open dispute as the issuer would, outcome
// DisputeWon or DisputeLost (POST /v1/simulate/dispute/{id}/resolve).
func (c *Client) ResolveDispute(ctx context.Context, id, outcome string, opts ...RequestOption) (*Dispute, error) {
	return call[Dispute](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/dispute/" + seg(id) + "/resolve",
		body: map[string]string{"outcome": outcome}}, opts)
}

// CancelDispute withdraws a pending dispute (POST /v1/disputes/{id}/cancel):
// it becomes canceled, no money moves, and the purchase cannot be disputed
// again.
func (c *Client) CancelDispute(ctx context.Context, id string, opts ...RequestOption) (*Dispute, error) {
	return call[Dispute](ctx, c, request{method: http.MethodPost, path: "/v1/disputes/" + seg(id) + "/cancel", body: map[string]any{}}, opts)
}
