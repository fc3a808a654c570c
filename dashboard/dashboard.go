package dashboard

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"mime"
	"path"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/webhook"
)

//go:embed static
var staticFS embed.FS

// Access is what a key may see.
type Access int

const (
	// Denied is an unknown or revoked key.
	Denied Access = iota
	// Agent is an agent token: its own cards, intents and transactions.
	Agent
	// Admin is the organization's API key.
	Admin
)

// Config wires the dashboard to the server.
type Config struct {
	// Store is read for the live counters. Required.
	Store *store.DB
	// Events finds the events of a type (the ledger). Required.
	Events webhook.EventIndex
	// Authorize says what an Api-Key header value may see. Required.
	Authorize func(key string) Access
	// Logger receives errors reading the counters. Default: discard.
	Logger *slog.Logger
	// MaxScanPerPoll bounds the events one counters poll reads per event
	// type. Default 5000.
	MaxScanPerPoll int
	// Now is the wall clock the rates are measured against (not the
	// ledger's, which may be virtual). Default time.Now.
	Now func() time.Time
}

// Dashboard serves the page, its assets and its counters.
type Dashboard struct {
	cfg    Config
	stats  *stats
	assets fs.FS
	ids    model.IDGen
}

// New checks the config and builds the dashboard.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Store == nil || cfg.Events == nil || cfg.Authorize == nil {
		return nil, errors.New("dashboard: Store, Events and Authorize are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	return &Dashboard{cfg: cfg, stats: newStats(cfg.Store, cfg.Events, cfg.MaxScanPerPoll, cfg.Now), assets: sub}, nil
}

// AssetPrefix is where the page's scripts and styles are served.
const AssetPrefix = "/dashboard/assets/"

// StatsPath is the counters' route.
const StatsPath = "/dashboard/stats"

// Handler serves the dashboard's paths and hands every other request to
// next (the management API).
func (d *Dashboard) Handler(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(fc *fasthttp.RequestCtx) {
		p := string(fc.Path())
		switch {
		case p == "/" || p == "/dashboard" || p == "/dashboard/":
			d.serveAsset(fc, "index.html")
		case strings.HasPrefix(p, AssetPrefix):
			d.serveAsset(fc, strings.TrimPrefix(p, AssetPrefix))
		case p == StatsPath:
			d.serveStats(fc)
		default:
			next(fc)
		}
	}
}

// securityHeaders keep the page's scripts its own: no inline script, no
// framing, no referrer leaking a path.
func securityHeaders(fc *fasthttp.RequestCtx) {
	h := &fc.Response.Header
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (d *Dashboard) serveAsset(fc *fasthttp.RequestCtx, name string) {
	if !fc.IsGet() && !fc.IsHead() {
		d.writeError(fc, 405, "invalid_request_error", "method_not_allowed", "This path does not support "+string(fc.Method())+".")
		return
	}
	clean := path.Clean("/" + name)[1:]
	if clean == "" || clean != name {
		d.writeError(fc, 404, "not_found_error", "not_found", "No such endpoint: GET "+string(fc.Path()))
		return
	}
	raw, err := fs.ReadFile(d.assets, clean)
	if err != nil {
		d.writeError(fc, 404, "not_found_error", "not_found", "No such endpoint: GET "+string(fc.Path()))
		return
	}
	securityHeaders(fc)
	ct := mime.TypeByExtension(path.Ext(clean))
	if ct == "" {
		ct = "application/octet-stream"
	}
	fc.SetContentType(ct)
	fc.SetStatusCode(200)
	fc.SetBody(raw)
}

func (d *Dashboard) serveStats(fc *fasthttp.RequestCtx) {
	if !fc.IsGet() {
		d.writeError(fc, 405, "invalid_request_error", "method_not_allowed", "This path does not support "+string(fc.Method())+".")
		return
	}
	key := string(fc.Request.Header.Peek("Api-Key"))
	if key == "" {
		d.writeError(fc, 401, "authentication_error", "missing_api_key", "Missing Api-Key header.")
		return
	}
	switch d.cfg.Authorize(key) {
	case Denied:
		d.writeError(fc, 401, "authentication_error", "invalid_api_key", "Invalid API key.")
		return
	case Agent:
		// The counters are the whole organization's.
		d.writeError(fc, 403, "authorization_error", "insufficient_permissions", "Agent tokens cannot call this endpoint; use the organization's API key.")
		return
	}
	v, err := d.stats.poll()
	if err != nil {
		d.cfg.Logger.Error("dashboard counters failed", "err", err)
		d.writeError(fc, 500, "service_error", "internal_error", "The counters could not be read.")
		return
	}
	d.writeJSON(fc, 200, v)
}

type errorBody struct {
	Error struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Param   string `json:"param,omitempty"`
	} `json:"error"`
	RequestID string `json:"requestId"`
}

func (d *Dashboard) writeError(fc *fasthttp.RequestCtx, status int, typ, code, msg string) {
	var b errorBody
	b.Error.Type, b.Error.Code, b.Error.Message = typ, code, msg
	b.RequestID = d.ids.New(model.PrefixRequest, time.Now())
	fc.Response.Header.Set("Request-Id", b.RequestID)
	d.writeJSON(fc, status, b)
}

func (d *Dashboard) writeJSON(fc *fasthttp.RequestCtx, status int, v any) {
	raw, _ := json.Marshal(v) // both shapes are plain structs
	fc.Response.Header.Set("Cache-Control", "no-store")
	fc.SetStatusCode(status)
	fc.SetContentType("application/json")
	fc.SetBody(raw)
}
