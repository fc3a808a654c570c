package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// Health reads /healthz: "ok" while the process serves.
func (c *Client) Health(ctx context.Context) (string, error) {
	return c.status(ctx, "/healthz")
}

// Ready reads /readyz: "ready" once the server serves requests, an
// *Error with status 503 while it starts or stops.
func (c *Client) Ready(ctx context.Context) (string, error) {
	return c.status(ctx, "/readyz")
}

func (c *Client) status(ctx context.Context, path string) (string, error) {
	res, err := c.do(ctx, request{method: http.MethodGet, path: path, noAuth: true}, nil)
	if err != nil {
		return "", err
	}
	var s struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(res.body, &s); err != nil {
		return "", err
	}
	return s.Status, nil
}

// Metrics reads the Prometheus exposition text of /metrics.
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	res, err := c.do(ctx, request{method: http.MethodGet, path: "/metrics", noAuth: true}, nil)
	if err != nil {
		return nil, err
	}
	return res.body, nil
}

// ISOSpec reads the ISO 8583 message specification the listener speaks
// (GET /v1/iso/spec), as JSON.
func (c *Client) ISOSpec(ctx context.Context, opts ...RequestOption) (json.RawMessage, error) {
	res, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/iso/spec"}, opts)
	if err != nil {
		return nil, err
	}
	return res.body, nil
}

// OpenAPI reads the OpenAPI 3.1 document of this API
// (GET /v1/openapi.json).
func (c *Client) OpenAPI(ctx context.Context, opts ...RequestOption) (json.RawMessage, error) {
	res, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/openapi.json"}, opts)
	if err != nil {
		return nil, err
	}
	return res.body, nil
}

func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errors.New("client: body too large")
	}
	return b, nil
}
