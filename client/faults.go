package client

import (
	"context"
	"net/http"
)

// Fault-injection actions (FaultParams.Action).
const (
	FaultDelay           = "delay"
	FaultNoReply         = "noReply"
	FaultDuplicateReply  = "duplicateReply"
	FaultCloseConnection = "closeConnection"
	FaultRespond         = "respond"
)

// FaultParams is a fault-injection rule for the ISO 8583 listener. Every
// criterion left empty matches any request.
type FaultParams struct {
	CardID    string `json:"cardId,omitempty"`
	Last4     string `json:"last4,omitempty"`
	MTI       string `json:"mti,omitempty"`
	AmountMin *int64 `json:"amountMin,omitempty"`
	AmountMax *int64 `json:"amountMax,omitempty"`
	Action    string `json:"action"`
	// DelayMs is required with FaultDelay.
	DelayMs *int64 `json:"delayMs,omitempty"`
	// ResponseCode is required with FaultRespond: a decline code.
	ResponseCode string `json:"responseCode,omitempty"`
	// Percent of the matching requests the rule applies to; default 100.
	Percent *int64 `json:"percent,omitempty"`
	// Count is the most requests the rule applies to; default no limit.
	Count *int64 `json:"count,omitempty"`
}

// Fault is a rule in force.
type Fault struct {
	Object       string `json:"object"`
	ID           string `json:"id"`
	CardID       string `json:"cardId,omitempty"`
	Last4        string `json:"last4,omitempty"`
	MTI          string `json:"mti,omitempty"`
	AmountMin    *int64 `json:"amountMin,omitempty"`
	AmountMax    *int64 `json:"amountMax,omitempty"`
	Action       string `json:"action"`
	DelayMs      *int64 `json:"delayMs,omitempty"`
	ResponseCode string `json:"responseCode,omitempty"`
	Percent      int64  `json:"percent"`
	Count        *int64 `json:"count"`
	// Matched counts the requests the rule was applied to.
	Matched   int64 `json:"matched"`
	CreatedAt int64 `json:"createdAt"`
}

// CreateFault puts a fault-injection rule in force (POST
// /v1/simulate/faults). Rules live in the server's memory.
func (c *Client) CreateFault(ctx context.Context, p FaultParams, opts ...RequestOption) (*Fault, error) {
	return call[Fault](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/faults", body: p}, opts)
}

// ListFaults returns the rules in force, in the order they are tried (GET
// /v1/simulate/faults).
func (c *Client) ListFaults(ctx context.Context, opts ...RequestOption) ([]Fault, error) {
	p, err := call[Page[Fault]](ctx, c, request{method: http.MethodGet, path: "/v1/simulate/faults"}, opts)
	if err != nil {
		return nil, err
	}
	return p.Data, nil
}

// DeleteFault removes a rule (DELETE /v1/simulate/faults/{id}).
func (c *Client) DeleteFault(ctx context.Context, id string, opts ...RequestOption) (*Deleted, error) {
	return call[Deleted](ctx, c, request{method: http.MethodDelete, path: "/v1/simulate/faults/" + seg(id)}, opts)
}
