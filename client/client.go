package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds one request when Config.HTTPClient is not set.
const DefaultTimeout = 30 * time.Second

// MaxResponseBytes bounds what the client reads of one response (a receipt
// file is the largest: up to 10 MiB).
const MaxResponseBytes = 16 << 20

// Config configures a Client.
type Config struct {
	// BaseURL is where the server's HTTP API listens, such as
	// "http://127.0.0.1:8080". Required.
	BaseURL string
	// APIKey is the organization's API key or an agent token (at_test_...). It
	// is sent as the Api-Key header and never appears in an error.
	// Required.
	APIKey string
	// HTTPClient sends the requests. Default: an http.Client with a
	// DefaultTimeout timeout.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent. Default "ledgersim-go".
	UserAgent string
}

// Client calls ledgersim's management API. It is safe for concurrent use.
type Client struct {
	base *url.URL
	key  string
	hc   *http.Client
	ua   string
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("client: BaseURL is required")
	}
	if cfg.APIKey == "" {
		return nil, errors.New("client: APIKey is required")
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: BaseURL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "ledgersim-go"
	}
	return &Client{base: u, key: cfg.APIKey, hc: cfg.HTTPClient, ua: cfg.UserAgent}, nil
}

// WithAPIKey returns a Client that shares c's connection pool and sends key
// instead: an agent token, say, alongside the organization's client.
func (c *Client) WithAPIKey(key string) *Client {
	cc := *c
	cc.key = key
	return &cc
}

// BaseURL is the server's base URL as configured.
func (c *Client) BaseURL() string { return c.base.String() }

// RequestOption changes one request.
type RequestOption func(*requestOptions)

type requestOptions struct {
	idempotencyKey string
	info           *ResponseInfo
}

// WithIdempotencyKey sends key as the Idempotency-Key header. The server
// answers a repeat of the same request with the same key by replaying the
// first response, so a POST can be retried safely after a timeout. Reusing
// a key for a different request is a conflict_error. Only POST requests
// honour it.
func WithIdempotencyKey(key string) RequestOption {
	return func(o *requestOptions) { o.idempotencyKey = key }
}

// WithResponseInfo fills info with what the response said besides its body.
func WithResponseInfo(info *ResponseInfo) RequestOption {
	return func(o *requestOptions) { o.info = info }
}

// ResponseInfo is what a response carries besides its body.
type ResponseInfo struct {
	StatusCode int
	// RequestID is the server's id of the request (the Request-Id header).
	RequestID string
	// Replayed is true when the response is the stored answer to an
	// earlier request with the same Idempotency-Key.
	Replayed bool
}

// NewIdempotencyKey returns a random key for WithIdempotencyKey.
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "idem_" + hex.EncodeToString(b[:])
}

// request is one call: its JSON body is marshalled from body unless raw is
// set.
type request struct {
	method, path string
	query        url.Values
	body         any
	raw          io.Reader
	contentType  string
	noAuth       bool
	// accept is the Accept header; default application/json.
	accept string
}

// response is what do read.
type response struct {
	status      int
	header      http.Header
	body        []byte
	contentType string
}

func (c *Client) do(ctx context.Context, r request, opts []RequestOption) (*response, error) {
	var o requestOptions
	for _, opt := range opts {
		opt(&o)
	}
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + r.path
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	var body io.Reader
	ct := r.contentType
	switch {
	case r.raw != nil:
		body = r.raw
	case r.body != nil:
		raw, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("client: encoding %s %s: %w", r.method, r.path, err)
		}
		body = bytes.NewReader(raw)
		ct = "application/json"
	case r.method == http.MethodPost:
		// Every POST takes a JSON object; an action without parameters
		// sends an empty one.
		body = strings.NewReader("{}")
		ct = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	} else {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", c.ua)
	if !r.noAuth {
		req.Header.Set("Api-Key", c.key)
	}
	if o.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", o.idempotencyKey)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		// The URL holds no secret (the key is a header), so the transport's
		// error can be returned as it is.
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: reading response: %w", r.method, r.path, err)
	}
	if len(raw) > MaxResponseBytes {
		return nil, fmt.Errorf("client: %s %s: response larger than %d bytes", r.method, r.path, MaxResponseBytes)
	}
	if o.info != nil {
		*o.info = ResponseInfo{StatusCode: res.StatusCode, RequestID: res.Header.Get("Request-Id"),
			Replayed: res.Header.Get("Idempotent-Replayed") == "true"}
	}
	if res.StatusCode >= 400 {
		return nil, parseError(res, raw)
	}
	return &response{status: res.StatusCode, header: res.Header, body: raw, contentType: res.Header.Get("Content-Type")}, nil
}

// call sends r and decodes a JSON response into out.
func call[T any](ctx context.Context, c *Client, r request, opts []RequestOption) (*T, error) {
	res, err := c.do(ctx, r, opts)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := json.Unmarshal(res.body, out); err != nil {
		return nil, fmt.Errorf("client: %s %s: decoding response: %w", r.method, r.path, err)
	}
	return out, nil
}

// seg escapes one path segment, so that an ID can never change the path.
func seg(id string) string { return url.PathEscape(id) }

// ListParams pages through a list. The zero value asks for the first page
// of the server's default size (20).
type ListParams struct {
	// Limit is the page size, 1 to 100; 0 means the server's default.
	Limit int
	// Cursor is the Cursor of the previous page; empty for the first.
	Cursor string
}

func (p ListParams) values() url.Values {
	v := url.Values{}
	if p.Limit > 0 {
		v.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Cursor != "" {
		v.Set("cursor", p.Cursor)
	}
	return v
}

// Page is one page of a list, newest first.
type Page[T any] struct {
	Object string `json:"object"`
	Data   []T    `json:"data"`
	// HasMore is true when another page follows; pass Cursor to get it.
	HasMore bool   `json:"hasMore"`
	Cursor  string `json:"cursor"`
}

// listPage fetches one page of path with extra query parameters.
func listPage[T any](ctx context.Context, c *Client, path string, p ListParams, extra url.Values, opts []RequestOption) (*Page[T], error) {
	q := p.values()
	for k, vs := range extra {
		for _, v := range vs {
			if v != "" {
				q.Add(k, v)
			}
		}
	}
	return call[Page[T]](ctx, c, request{method: http.MethodGet, path: path, query: q}, opts)
}

// all iterates every item of a list from p.Cursor on, fetching pages of
// p.Limit as it goes. It stops at the first error, which it yields.
func all[T any](fetch func(ListParams) (*Page[T], error), p ListParams) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			page, err := fetch(p)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range page.Data {
				if !yield(item, nil) {
					return
				}
			}
			if !page.HasMore || page.Cursor == "" {
				return
			}
			p.Cursor = page.Cursor
		}
	}
}

// Int64 returns a pointer to v, for optional parameters.
func Int64(v int64) *int64 { return &v }

// String returns a pointer to v, for optional parameters.
func String(v string) *string { return &v }

// Bool returns a pointer to v, for optional parameters.
func Bool(v bool) *bool { return &v }
