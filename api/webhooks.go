package api

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/webhook"
)

// Webhook endpoints and the event log:
//
//	GET    /v1/events                       list, newest first; ?type= filters
//	GET    /v1/events/{id}
//	POST   /v1/webhooks                     {url, description, events} -> 201, with secret
//	GET    /v1/webhooks                     list, newest first
//	GET    /v1/webhooks/{id}
//	PATCH  /v1/webhooks/{id}                {url, description, events, status}
//	DELETE /v1/webhooks/{id}
//	POST   /v1/webhooks/{id}/rotate-secret  -> the new secret
//	POST   /v1/webhooks/{id}/test           queues a webhook.test event -> 202
//	GET    /v1/webhooks/{id}/deliveries     the delivery log, newest first
//
// All of them need the organization's API key.

type routeDef struct {
	method, pattern string
	h               func(*reqCtx) error
}

// registerWebhookRoutes adds the event and webhook routes. Until
// UseWebhooks binds a webhook.Service, the /v1/webhooks routes answer 503;
// the /v1/events routes read the ledger's store and always work.
func (a *API) registerWebhookRoutes() {
	for _, r := range a.webhookRoutes(nil) {
		a.routes.add(r.method, r.pattern, scopeAdmin, r.h)
	}
}

// UseWebhooks binds the webhook routes to svc (adding them if
// registerWebhookRoutes has not). Call it once, after New and before the
// server serves: the router is not safe for concurrent change.
func (a *API) UseWebhooks(svc *webhook.Service) {
	for _, r := range a.webhookRoutes(svc) {
		if rt := a.findRoute(r.method, r.pattern); rt != nil {
			rt.h = r.h
			continue
		}
		a.routes.add(r.method, r.pattern, scopeAdmin, r.h)
	}
}

func (a *API) findRoute(method, pattern string) *route {
	for _, rt := range a.routes.routes {
		if rt.method == method && rt.pattern == pattern {
			return rt
		}
	}
	return nil
}

func (a *API) webhookRoutes(svc *webhook.Service) []routeDef {
	w := &webhookAPI{a: a, svc: svc}
	return []routeDef{
		{"GET", "/v1/events", a.listEvents},
		{"GET", "/v1/events/{id}", a.getEvent},
		{"POST", "/v1/webhooks", w.bound(w.create)},
		{"GET", "/v1/webhooks", w.bound(w.list)},
		{"GET", "/v1/webhooks/{id}", w.bound(w.get)},
		{"PATCH", "/v1/webhooks/{id}", w.bound(w.update)},
		{"DELETE", "/v1/webhooks/{id}", w.bound(w.delete)},
		{"POST", "/v1/webhooks/{id}/rotate-secret", w.bound(w.rotate)},
		{"POST", "/v1/webhooks/{id}/test", w.bound(w.test)},
		{"GET", "/v1/webhooks/{id}/deliveries", w.bound(w.deliveries)},
	}
}

type webhookAPI struct {
	a   *API
	svc *webhook.Service
}

var errWebhooksOff = &apiError{Status: 503, Type: typeService, Code: "webhooks_unavailable",
	Message: "Webhook delivery is not running on this server."}

func (w *webhookAPI) bound(h func(*reqCtx) error) func(*reqCtx) error {
	if w.svc == nil {
		return func(*reqCtx) error { return errWebhooksOff }
	}
	return h
}

// webhookErr maps the webhook package's errors onto the platform's.
func webhookErr(err error, id string) error {
	var ie *webhook.InputError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return errInvalid(ie.Param, fmt.Sprintf("'%s' %s.", ie.Param, ie.Message))
	case errors.Is(err, webhook.ErrNotFound):
		return errNotFound("webhook_not_found", fmt.Sprintf("No webhook with id '%s'.", id))
	case errors.Is(err, webhook.ErrEventNotFound):
		return errNotFound("event_not_found", fmt.Sprintf("No event with id '%s'.", id))
	case errors.Is(err, webhook.ErrTooMany):
		return &apiError{Status: 409, Type: typeConflict, Code: "webhook_limit_reached",
			Message: "The organization has the maximum number of webhook endpoints; delete one first."}
	case errors.Is(err, webhook.ErrDisabled):
		return &apiError{Status: 409, Type: typeConflict, Code: "webhook_disabled",
			Message: "The webhook endpoint is disabled; enable it first."}
	case errors.Is(err, webhook.ErrClosed):
		return errWebhooksOff
	}
	return err
}

type webhookView struct {
	Object         string   `json:"object"`
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Description    string   `json:"description"`
	Events         []string `json:"events"`
	Status         string   `json:"status"`
	DisabledReason string   `json:"disabledReason,omitempty"`
	// Secret is shown when the endpoint is created and when it is rotated,
	// never otherwise.
	Secret                  string `json:"secret,omitempty"`
	PreviousSecretExpiresAt int64  `json:"previousSecretExpiresAt,omitempty"`
	CreatedAt               int64  `json:"createdAt"`
	UpdatedAt               int64  `json:"updatedAt"`
}

func (w *webhookAPI) view(ep *webhook.Endpoint, withSecret bool) webhookView {
	v := webhookView{Object: "webhook", ID: ep.ID, URL: ep.URL, Description: ep.Description, Events: ep.Events,
		Status: ep.Status, DisabledReason: ep.DisabledReason, CreatedAt: ep.CreatedAt, UpdatedAt: ep.UpdatedAt}
	if v.Events == nil {
		v.Events = []string{}
	}
	if withSecret {
		v.Secret = ep.Secret
	}
	if ep.PreviousSecretExpiresAt > model.Ms(w.a.l.Clock().Now()) {
		v.PreviousSecretExpiresAt = ep.PreviousSecretExpiresAt
	}
	return v
}

type deliveryView struct {
	Object    string `json:"object"`
	ID        string `json:"id"`
	WebhookID string `json:"webhookId"`
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	Attempt   int    `json:"attempt"`
	Status    string `json:"status"`
	// StatusCode is null when the receiver gave no response.
	StatusCode    *int    `json:"statusCode"`
	LatencyMs     int64   `json:"latencyMs"`
	Error         *string `json:"error"`
	AttemptedAt   int64   `json:"attemptedAt"`
	DeliveredAt   *int64  `json:"deliveredAt"`
	NextAttemptAt *int64  `json:"nextAttemptAt"`
}

func viewDelivery(d *webhook.Delivery) deliveryView {
	v := deliveryView{Object: "webhook_delivery", ID: d.ID, WebhookID: d.WebhookID, EventID: d.EventID, EventType: d.EventType,
		Attempt: d.Attempt, Status: d.Status, LatencyMs: d.LatencyMs, AttemptedAt: d.AttemptedAt}
	if d.StatusCode != 0 {
		v.StatusCode = &d.StatusCode
	}
	if d.Error != "" {
		v.Error = &d.Error
	}
	if d.DeliveredAt != 0 {
		v.DeliveredAt = &d.DeliveredAt
	}
	if d.NextAttemptAt != 0 {
		v.NextAttemptAt = &d.NextAttemptAt
	}
	return v
}

func webhookPageView[T any, V any](p webhook.Page[T], view func(*T) V) listView {
	return pageView(ledger.Page[T]{Items: p.Items, HasMore: p.HasMore, Cursor: p.Cursor}, view)
}

// idemAlso stores the response of a webhook POST made with an
// Idempotency-Key in the same batch as the change, so that a retry replays
// it (through API.idempotent) byte for byte. The webhook package writes its
// own batches, so the ledger cannot do it as it does for its changes.
func (rc *reqCtx) idemAlso(status int, view func(result any) any) webhook.Also {
	if rc.idem == nil {
		return nil
	}
	now := rc.a.l.Clock().Now()
	return func(b *store.Batch, result any) error {
		raw, err := json.Marshal(view(result))
		if err != nil {
			return err
		}
		return rc.idem.Put(b, now, status, raw)
	}
}

// maxEventFilters bounds the events array (the catalogue is smaller).
const maxEventFilters = 100

func (w *webhookAPI) create(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	in := webhook.CreateInput{
		URL:         f.str("url", true, webhook.MaxURLBytes),
		Description: f.str("description", false, webhook.MaxDescriptionBytes),
	}
	in.Events, _ = f.strings("events", maxEventFilters, 64)
	if e := f.done(); e != nil {
		return e
	}
	view := func(r any) any { ep := r.(webhook.Endpoint); return w.view(&ep, true) }
	ep, err := w.svc.Create(in, rc.idemAlso(201, view))
	if err != nil {
		return webhookErr(err, "")
	}
	return rc.reply(201, view(ep))
}

func (w *webhookAPI) list(rc *reqCtx) error {
	p, err := rc.listParams()
	if err != nil {
		return err
	}
	page := w.svc.List(p.Limit, p.Cursor)
	rc.writeJSON(200, webhookPageView(page, func(ep *webhook.Endpoint) webhookView { return w.view(ep, false) }))
	return nil
}

func (w *webhookAPI) get(rc *reqCtx) error {
	id := rc.param("id")
	ep, err := w.svc.Get(id)
	if err != nil {
		return webhookErr(err, id)
	}
	rc.writeJSON(200, w.view(&ep, false))
	return nil
}

func (w *webhookAPI) update(rc *reqCtx) error {
	id := rc.param("id")
	f, err := rc.body()
	if err != nil {
		return err
	}
	var in webhook.UpdateInput
	if f.null("url") {
		f.fail(errInvalid("url", "'url' must not be null."))
	}
	in.URL = f.optStr("url", webhook.MaxURLBytes)
	if f.null("description") {
		empty := ""
		in.Description = &empty
	} else {
		in.Description = f.optStr("description", webhook.MaxDescriptionBytes)
	}
	if f.null("events") {
		in.Events = &[]string{}
	} else if evs, ok := f.strings("events", maxEventFilters, 64); ok {
		in.Events = &evs
	}
	if s := f.enum("status", false, []string{webhook.StatusEnabled, webhook.StatusDisabled}); s != "" {
		in.Status = &s
	}
	if e := f.done(); e != nil {
		return e
	}
	ep, err := w.svc.Update(id, in)
	if err != nil {
		return webhookErr(err, id)
	}
	rc.writeJSON(200, w.view(&ep, false))
	return nil
}

type deletedView struct {
	Object  string `json:"object"`
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

func (w *webhookAPI) delete(rc *reqCtx) error {
	id := rc.param("id")
	if err := w.svc.Delete(id); err != nil {
		return webhookErr(err, id)
	}
	rc.writeJSON(200, deletedView{Object: "webhook", ID: id, Deleted: true})
	return nil
}

func (w *webhookAPI) rotate(rc *reqCtx) error {
	id := rc.param("id")
	if f, err := rc.body(); err != nil {
		return err
	} else if e := f.done(); e != nil {
		return e
	}
	view := func(r any) any { ep := r.(webhook.Endpoint); return w.view(&ep, true) }
	ep, err := w.svc.RotateSecret(id, rc.idemAlso(200, view))
	if err != nil {
		return webhookErr(err, id)
	}
	return rc.reply(200, view(ep))
}

func (w *webhookAPI) test(rc *reqCtx) error {
	id := rc.param("id")
	if f, err := rc.body(); err != nil {
		return err
	} else if e := f.done(); e != nil {
		return e
	}
	view := func(r any) any { return r.(webhook.Envelope) }
	env, err := w.svc.SendTest(id, rc.idemAlso(202, view))
	if err != nil {
		return webhookErr(err, id)
	}
	return rc.reply(202, env)
}

func (w *webhookAPI) deliveries(rc *reqCtx) error {
	id := rc.param("id")
	p, err := rc.listParams()
	if err != nil {
		return err
	}
	page, err := w.svc.Deliveries(id, p.Limit, p.Cursor)
	if err != nil {
		return webhookErr(err, id)
	}
	rc.writeJSON(200, webhookPageView(page, viewDelivery))
	return nil
}
