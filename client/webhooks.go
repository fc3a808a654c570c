package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"time"

	"github.com/ledgersim/ledgersim/webhook/signature"
)

// ListEventsParams filters ListEvents.
type ListEventsParams struct {
	ListParams
	// Type, when set, lists only events of that type (card.created, ...).
	Type string
}

// ListEvents reads one page of the event log, newest first (GET /v1/events).
func (c *Client) ListEvents(ctx context.Context, p ListEventsParams, opts ...RequestOption) (*Page[Event], error) {
	return listPage[Event](ctx, c, "/v1/events", p.ListParams, url.Values{"type": {p.Type}}, opts)
}

// Events iterates every event matching p.
func (c *Client) Events(ctx context.Context, p ListEventsParams, opts ...RequestOption) iter.Seq2[Event, error] {
	return all(func(lp ListParams) (*Page[Event], error) {
		q := p
		q.ListParams = lp
		return c.ListEvents(ctx, q, opts...)
	}, p.ListParams)
}

// GetEvent reads one event (GET /v1/events/{id}).
func (c *Client) GetEvent(ctx context.Context, id string, opts ...RequestOption) (*Event, error) {
	return call[Event](ctx, c, request{method: http.MethodGet, path: "/v1/events/" + seg(id)}, opts)
}

// CreateWebhookParams is the body of CreateWebhook.
type CreateWebhookParams struct {
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
	// Events are the event types delivered; empty means all.
	Events []string `json:"events,omitempty"`
}

// CreateWebhook adds an endpoint; its signing secret is in Secret, shown
// only now and on rotation (POST /v1/webhooks).
func (c *Client) CreateWebhook(ctx context.Context, p CreateWebhookParams, opts ...RequestOption) (*Webhook, error) {
	return call[Webhook](ctx, c, request{method: http.MethodPost, path: "/v1/webhooks", body: p}, opts)
}

// GetWebhook reads an endpoint (GET /v1/webhooks/{id}).
func (c *Client) GetWebhook(ctx context.Context, id string, opts ...RequestOption) (*Webhook, error) {
	return call[Webhook](ctx, c, request{method: http.MethodGet, path: "/v1/webhooks/" + seg(id)}, opts)
}

// ListWebhooks reads one page of endpoints (GET /v1/webhooks).
func (c *Client) ListWebhooks(ctx context.Context, p ListParams, opts ...RequestOption) (*Page[Webhook], error) {
	return listPage[Webhook](ctx, c, "/v1/webhooks", p, nil, opts)
}

// Webhooks iterates every endpoint.
func (c *Client) Webhooks(ctx context.Context, p ListParams, opts ...RequestOption) iter.Seq2[Webhook, error] {
	return all(func(p ListParams) (*Page[Webhook], error) { return c.ListWebhooks(ctx, p, opts...) }, p)
}

// UpdateWebhookParams is the body of UpdateWebhook: only the fields set are
// changed.
type UpdateWebhookParams struct {
	URL         *string
	Description *string
	// Events replaces the filter; an empty, non-nil slice means all events.
	Events []string
	// Status is enabled or disabled.
	Status *string
}

// MarshalJSON sends the fields that are set.
func (p UpdateWebhookParams) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	setPtr(m, "url", p.URL)
	setPtr(m, "description", p.Description)
	setPtr(m, "status", p.Status)
	if p.Events != nil {
		m["events"] = p.Events
	}
	return json.Marshal(m)
}

// UpdateWebhook changes an endpoint (PATCH /v1/webhooks/{id}).
func (c *Client) UpdateWebhook(ctx context.Context, id string, p UpdateWebhookParams, opts ...RequestOption) (*Webhook, error) {
	return call[Webhook](ctx, c, request{method: http.MethodPatch, path: "/v1/webhooks/" + seg(id), body: p}, opts)
}

// DeleteWebhook removes an endpoint (DELETE /v1/webhooks/{id}).
func (c *Client) DeleteWebhook(ctx context.Context, id string, opts ...RequestOption) (*Deleted, error) {
	return call[Deleted](ctx, c, request{method: http.MethodDelete, path: "/v1/webhooks/" + seg(id)}, opts)
}

// RotateWebhookSecret replaces an endpoint's secret; deliveries are signed
// with both for a while (POST /v1/webhooks/{id}/rotate-secret).
func (c *Client) RotateWebhookSecret(ctx context.Context, id string, opts ...RequestOption) (*Webhook, error) {
	return call[Webhook](ctx, c, request{method: http.MethodPost, path: "/v1/webhooks/" + seg(id) + "/rotate-secret"}, opts)
}

// TestWebhook queues a webhook.test event for an endpoint
// (POST /v1/webhooks/{id}/test).
func (c *Client) TestWebhook(ctx context.Context, id string, opts ...RequestOption) (*Event, error) {
	return call[Event](ctx, c, request{method: http.MethodPost, path: "/v1/webhooks/" + seg(id) + "/test"}, opts)
}

// ListWebhookDeliveries reads one page of an endpoint's delivery log
// (GET /v1/webhooks/{id}/deliveries).
func (c *Client) ListWebhookDeliveries(ctx context.Context, id string, p ListParams, opts ...RequestOption) (*Page[WebhookDelivery], error) {
	return listPage[WebhookDelivery](ctx, c, "/v1/webhooks/"+seg(id)+"/deliveries", p, nil, opts)
}

// WebhookDeliveries iterates an endpoint's whole delivery log.
func (c *Client) WebhookDeliveries(ctx context.Context, id string, p ListParams, opts ...RequestOption) iter.Seq2[WebhookDelivery, error] {
	return all(func(p ListParams) (*Page[WebhookDelivery], error) {
		return c.ListWebhookDeliveries(ctx, id, p, opts...)
	}, p)
}

// SignatureHeader is the header a webhook delivery's signature comes in.
const SignatureHeader = signature.Header

// DefaultSignatureTolerance is the replay window VerifyWebhook applies.
const DefaultSignatureTolerance = signature.DefaultTolerance

// The failures of VerifyWebhook; compare with errors.Is.
var (
	ErrNoSignature        = signature.ErrNoSignature
	ErrBadSignatureFormat = signature.ErrBadFormat
	ErrSignatureTooOld    = signature.ErrTooOld
	ErrSignatureMismatch  = signature.ErrMismatch
)

// VerifyWebhook checks a delivery: header is the SignatureHeader's value,
// body the raw request body, secrets the endpoint's secret (both during a
// rotation). It refuses a timestamp further than
// DefaultSignatureTolerance from now. On success it decodes the event.
func VerifyWebhook(header string, body []byte, secrets []string, now time.Time) (*Event, error) {
	if err := signature.Verify(header, body, secrets, now, DefaultSignatureTolerance); err != nil {
		return nil, err
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, err
	}
	return &ev, nil
}

// WebhookHandler returns an http.Handler for a webhook receiver: it reads
// the body (at most 1 MiB), verifies it against secrets, and hands the
// event to fn; an unverifiable request is answered 401 and never reaches
// fn. fn's error becomes a 500, so ledgersim retries the delivery.
func WebhookHandler(secrets []string, fn func(context.Context, *Event) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readLimited(r.Body, 1<<20)
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		ev, err := VerifyWebhook(r.Header.Get(SignatureHeader), body, secrets, time.Now())
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if err := fn(r.Context(), ev); err != nil {
			http.Error(w, "handler failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
