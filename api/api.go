package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ledgersim/ledgersim/apikey"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/faults"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
)

// MaxBodyBytes is the default bound of a request body (Config.MaxBodyBytes).
const MaxBodyBytes = 1 << 20

// MaxUploadBytes is the default bound of a receipt upload's file
// (Config.MaxUploadBytes), the one body allowed to be larger.
const MaxUploadBytes = 10 << 20

// uploadOverheadBytes is what a multipart upload may add to its file: the
// boundaries and part headers.
const uploadOverheadBytes = 64 << 10

// Config wires the API to the ledger.
type Config struct {
	// Ledger is the state. Required.
	Ledger *ledger.Ledger
	// APIKeyHash is the SHA-256 of the organization's API key. Required.
	APIKeyHash []byte
	// PublicURL is the base URL clients reach this server at; it prefixes
	// the hosted KYC page's link. Default "http://localhost:8080".
	PublicURL string
	// Logger receives request errors. Default: discard.
	Logger *slog.Logger
	// Observer, when set, is told each request's route, status and time.
	Observer func(route string, status int, elapsed time.Duration)
	// ISOSpecJSON is served at GET /v1/iso/spec.
	ISOSpecJSON []byte
	// VirtualClock is set when the server runs with --clock virtual; it
	// enables POST /v1/simulate/clock/advance.
	VirtualClock *clock.Virtual
	// OnClockAdvance is called after the virtual clock moves. It persists
	// the new time in a batch that also holds what also writes (the
	// request's idempotency record, when it has one).
	OnClockAdvance func(ctx context.Context, also func(b *store.Batch) error) error
	// Faults are the ISO listener's fault-injection rules, kept through
	// /v1/simulate/faults. Nil answers those routes 503.
	Faults *faults.Set
	// RateLimits turns on the platform's per-caller rate limits (429 with
	// Retry-After).
	RateLimits bool
	// Metrics serves GET /metrics (no Api-Key: it carries no card or
	// customer data). Nil disables the route.
	Metrics fasthttp.RequestHandler
	// MaxBodyBytes bounds every request body but a receipt upload's: the
	// server stops reading a longer one there and answers 413, closing the
	// connection. Default MaxBodyBytes (1 MiB).
	MaxBodyBytes int
	// MaxUploadBytes bounds the file of a receipt upload (PUT
	// /v1/transactions/{id}/receipt), the one route that reads past
	// MaxBodyBytes. Default MaxUploadBytes (10 MiB).
	MaxUploadBytes int
}

// API is the HTTP front of the ledger.
type API struct {
	cfg    Config
	l      *ledger.Ledger
	log    *slog.Logger
	routes *router
	ready  atomic.Bool
	ids    model.IDGen
	limits *limiter
	// skipIdemSave leaves out the record of a success that no change
	// recorded, as a crash just after the change would. Tests set it to
	// show that every change records its own response.
	skipIdemSave bool
}

// New builds the API and its routes.
func New(cfg Config) (*API, error) {
	if cfg.Ledger == nil || len(cfg.APIKeyHash) == 0 {
		return nil, errors.New("api: Ledger and APIKeyHash are required")
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://localhost:8080"
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = MaxBodyBytes
	}
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = MaxUploadBytes
	}
	if cfg.MaxBodyBytes < 1<<10 || cfg.MaxUploadBytes < 1<<10 {
		return nil, errors.New("api: MaxBodyBytes and MaxUploadBytes must be at least 1 KiB")
	}
	a := &API{cfg: cfg, l: cfg.Ledger, log: cfg.Logger, routes: &router{}}
	if cfg.RateLimits {
		a.limits = newLimiter(cfg.Ledger.Clock())
	}
	a.register()
	return a, nil
}

// SetReady flips /readyz.
func (a *API) SetReady(v bool) { a.ready.Store(v) }

// Server returns a fasthttp server for the API with timeouts and body
// bounds set, so a slow or hostile client cannot hold resources. Each
// request's body bound is its route's (bodyLimit), set once its header is
// read: a longer body is refused from its Content-Length, or, chunked, as
// soon as it passes the bound, with a 413 and the connection closed.
func (a *API) Server() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:            a.Handler,
		Name:               "ledgersim",
		ReadTimeout:        30 * time.Second,
		WriteTimeout:       30 * time.Second,
		IdleTimeout:        2 * time.Minute,
		MaxRequestBodySize: a.cfg.MaxBodyBytes,
		HeaderReceived: func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			return fasthttp.RequestConfig{MaxRequestBodySize: a.bodyLimit(h)}
		},
		// The one route that takes a multipart body parses it itself.
		DisablePreParseMultipartForm: true,
		ReadBufferSize:               16 << 10,
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			rc := &reqCtx{fc: ctx, requestID: a.ids.New(model.PrefixRequest, time.Now())}
			if errors.Is(err, fasthttp.ErrBodyTooLarge) {
				rc.writeError(errTooLarge)
				return
			}
			rc.writeError(&apiError{Status: 400, Type: typeInvalidRequest, Code: "malformed_request", Message: "The HTTP request could not be read."})
		},
		NoDefaultServerHeader: true,
		Logger:                fasthttpLogger{a.log},
	}
}

// reqCtx is one request in flight.
type reqCtx struct {
	a         *API
	fc        *fasthttp.RequestCtx
	ctx       context.Context
	params    map[string]string
	principal ledger.Principal
	requestID string
	idem      *ledger.Idem
	errCode   string
}

func (rc *reqCtx) param(n string) string { return rc.params[n] }

func (rc *reqCtx) writeJSON(status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		raw = []byte(`{"error":{"type":"service_error","code":"internal_error","message":"response encoding failed"}}`)
		status = 500
	}
	rc.writeRaw(status, raw)
}

func (rc *reqCtx) writeRaw(status int, raw []byte) {
	rc.fc.SetStatusCode(status)
	rc.fc.SetContentType("application/json")
	rc.fc.Response.Header.Set("Request-Id", rc.requestID)
	rc.fc.SetBody(raw)
}

// render prepares the response of a write: with an Idempotency-Key it is
// recorded in the write's own batch (see ledger.Idem), so the reply that is
// sent is byte for byte the one a retry will replay. Every handler of a POST
// that changes state calls it (or renderRaw) before the change: the ledger
// refuses a change under an Idempotency-Key that has no response to record.
func (rc *reqCtx) render(status int, view func(result any) any) {
	rc.renderRaw(status, "", func(result any) ([]byte, error) { return json.Marshal(view(result)) })
}

// renderRaw is render for a response that is not JSON (contentType set) or
// that the handler encodes itself.
func (rc *reqCtx) renderRaw(status int, contentType string, encode func(result any) ([]byte, error)) {
	if rc.idem == nil {
		return
	}
	rc.idem.ContentType = contentType
	rc.idem.SetRender(func(result any) (int, []byte, error) {
		raw, err := encode(result)
		return status, raw, err
	})
}

// reply writes a write's response: the recorded one if there is one.
func (rc *reqCtx) reply(status int, v any) error {
	if rc.idem != nil && rc.idem.Body != nil {
		rc.writeRecorded(rc.idem.Status, rc.idem.ContentType, rc.idem.Body)
		return nil
	}
	rc.writeJSON(status, v)
	return nil
}

// writeRecorded writes a response as an idempotency record holds it.
func (rc *reqCtx) writeRecorded(status int, contentType string, body []byte) {
	rc.writeRaw(status, body)
	if contentType != "" {
		rc.fc.SetContentType(contentType)
	}
}

// bodyLimit is the most of a request's body the server reads: the upload
// bound on the receipt upload route, MaxBodyBytes everywhere else.
func (a *API) bodyLimit(h *fasthttp.RequestHeader) int {
	path, _, _ := strings.Cut(string(h.RequestURI()), "?")
	if rt, _, _ := a.routes.match(string(h.Method()), path); rt != nil && rt.uploadBytes > 0 {
		return rt.uploadBytes + uploadOverheadBytes
	} else if rt != nil && rt.upload {
		return a.cfg.MaxUploadBytes + uploadOverheadBytes
	}
	return a.cfg.MaxBodyBytes
}

// body reads the request body as strict JSON fields.
func (rc *reqCtx) body() (*fields, error) {
	raw := rc.fc.PostBody()
	if len(raw) > rc.a.cfg.MaxBodyBytes {
		return nil, errTooLarge
	}
	f, e := parseFields(raw)
	if e != nil {
		return nil, e
	}
	return f, nil
}

// Handler serves one request.
func (a *API) Handler(fc *fasthttp.RequestCtx) {
	start := time.Now()
	rc := &reqCtx{a: a, fc: fc, ctx: context.Background(), requestID: a.ids.New(model.PrefixRequest, start)}
	method := string(fc.Method())
	path := string(fc.Path())
	rt, params, allowed := a.routes.match(method, path)
	route := "unmatched"
	switch {
	case rt == nil && allowed:
		rc.writeError(&apiError{Status: 405, Type: typeInvalidRequest, Code: "method_not_allowed", Message: "This path does not support " + method + "."})
	case rt == nil:
		rc.writeError(errNotFound("not_found", "No such endpoint: "+method+" "+path))
	default:
		route = rt.pattern
		rc.params = params
		if err := a.serve(rc, rt, method, path); err != nil {
			a.fail(rc, err)
		}
	}
	if a.cfg.Observer != nil {
		a.cfg.Observer(method+" "+route, fc.Response.StatusCode(), time.Since(start))
	}
	// The route pattern, never the raw path: paths carry ids, and a
	// mistyped one could carry anything.
	if a.log.Enabled(rc.ctx, slog.LevelDebug) {
		a.log.LogAttrs(rc.ctx, slog.LevelDebug, "http request", slog.String("method", method), slog.String("route", route),
			slog.Int("status", fc.Response.StatusCode()), slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000),
			slog.String("requestId", rc.requestID))
	}
}

func (a *API) fail(rc *reqCtx, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		rc.writeError(ae)
		return
	}
	if le, ok := fromLedger(err); ok {
		rc.writeError(le)
		return
	}
	// Errors from below the ledger never carry card data (see store and
	// vault), so logging them is safe.
	a.log.Error("request failed", "requestId", rc.requestID, "err", err)
	rc.writeError(errInternal)
}

func (a *API) serve(rc *reqCtx, rt *route, method, path string) error {
	if !rt.public {
		if err := a.authenticate(rc); err != nil {
			return err
		}
		if rc.principal.IsAgent() && rt.scope == scopeAdmin {
			return errAgentScope
		}
		if err := a.rateLimit(rc, method, rt); err != nil {
			return err
		}
	}
	if err := rc.checkQuery(rt); err != nil {
		return err
	}
	if method == "POST" && len(rc.fc.Request.Header.Peek("Idempotency-Key")) > 0 {
		return a.idempotent(rc, rt, method, path)
	}
	return rt.h(rc)
}

func (a *API) authenticate(rc *reqCtx) error {
	key := string(rc.fc.Request.Header.Peek("Api-Key"))
	if key == "" {
		return errMissingKey
	}
	if strings.HasPrefix(key, apikey.PrefixAgentToken) {
		p, ok := a.l.AuthenticateToken(key)
		if !ok {
			return errBadKey
		}
		rc.principal = p
		return nil
	}
	if !apikey.Equal(apikey.Hash(key), a.cfg.APIKeyHash) {
		return errBadKey
	}
	return nil
}

func (rc *reqCtx) actor() string {
	if rc.principal.IsAgent() {
		return rc.principal.TokenID
	}
	return "api_key"
}

// idemScope is whose Idempotency-Keys a request's key is one of: the agent
// token's, the organization's, or, on the routes that take no Api-Key, the
// public's.
func (rc *reqCtx) idemScope(rt *route) string {
	if rt.public {
		return "public"
	}
	return rc.actor()
}

// idempotent runs a POST under its Idempotency-Key: the same key and body
// replay the first successful response (header Idempotent-Replayed: true);
// the same key with another body or route is a conflict. A success that
// changed state was recorded in its change's own batch (see render); one
// that changed nothing is recorded here, synced before it is sent. An error
// changed nothing and is not recorded: a retry runs again.
func (a *API) idempotent(rc *reqCtx, rt *route, method, path string) error {
	key := string(rc.fc.Request.Header.Peek("Idempotency-Key"))
	if len(key) > 255 {
		return errInvalid("Idempotency-Key", "The Idempotency-Key header must be at most 255 characters.")
	}
	idem := a.l.NewIdem(rc.idemScope(rt), key, method, path, rc.fc.PostBody())
	unlock := a.l.LockIdem(idem)
	defer unlock()
	rec, found, err := a.l.FindIdem(idem)
	if err != nil {
		return err
	}
	if found {
		if !idem.Matches(rec) {
			return &apiError{Status: 409, Type: typeConflict, Code: "idempotency_key_reused", Param: "Idempotency-Key",
				Message: "This Idempotency-Key was used with a different request; use a new key for a new request."}
		}
		rc.fc.Response.Header.Set("Idempotent-Replayed", "true")
		// A replay may carry card data (card details); nothing between
		// may keep it.
		rc.fc.Response.Header.Set("Cache-Control", "no-store")
		rc.writeRecorded(rec.Status, rec.ContentType, rec.Body)
		return nil
	}
	rc.idem = idem
	rc.ctx = ledger.WithIdem(rc.ctx, idem)
	if err := rt.h(rc); err != nil {
		a.fail(rc, err)
		return nil
	}
	status := rc.fc.Response.StatusCode()
	if idem.Body != nil || status < 200 || status > 299 || a.skipIdemSave {
		return nil
	}
	if ct := string(rc.fc.Response.Header.ContentType()); ct != "application/json" {
		idem.ContentType = ct
	}
	if err := a.l.SaveIdem(idem, status, append([]byte(nil), rc.fc.Response.Body()...)); err != nil {
		a.fail(rc, err)
	}
	return nil
}

// fasthttpLogger sends fasthttp's connection-level messages (client resets,
// oversize bodies) to the structured log at debug level.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug("http connection", "detail", fmt.Sprintf(format, args...))
}
