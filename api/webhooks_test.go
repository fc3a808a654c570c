package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/apikey"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/internal/oascheck"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
	"github.com/ledgersim/ledgersim/webhook"
	"github.com/ledgersim/ledgersim/webhook/signature"
)

const whTestKey = "lk_test_webhooks_key_0123456789"

// whEnv is the API served over HTTP on 127.0.0.1 with a ledger and a
// webhook.Service wired as the server wires them, on a virtual clock.
type whEnv struct {
	t      *testing.T
	base   string
	clk    *clock.Virtual
	svc    *webhook.Service
	client *http.Client
}

func newWhEnv(t *testing.T) *whEnv {
	t.Helper()
	clk := clock.NewVirtual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	db, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	v, err := vault.Open(vault.Config{MasterKeyHex: strings.Repeat("cd", 32)})
	require.NoError(t, err)
	l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clk})
	require.NoError(t, err)
	svc, err := webhook.New(webhook.Config{Store: db, Log: l, Clock: clk, Rand: func() float64 { return 0.5 }, PollInterval: time.Hour})
	require.NoError(t, err)
	l.AttachEventReader(svc)
	a, err := New(Config{Ledger: l, APIKeyHash: apikey.Hash(whTestKey)})
	require.NoError(t, err)
	a.UseWebhooks(svc)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := a.Server()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		_ = svc.Close()
		_ = l.Close()
		_ = db.Close()
	})
	return &whEnv{t: t, base: "http://" + ln.Addr().String(), clk: clk, svc: svc, client: &http.Client{Timeout: 30 * time.Second, Transport: oascheck.Transport(t, nil)}}
}

type whResp struct {
	status int
	raw    []byte
	json   map[string]any
}

func (r *whResp) str(k string) string { s, _ := r.json[k].(string); return s }

func (r *whResp) errField(k string) string {
	e, _ := r.json["error"].(map[string]any)
	s, _ := e[k].(string)
	return s
}

func (r *whResp) data() []map[string]any {
	var out []map[string]any
	for _, x := range r.json["data"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

func (e *whEnv) do(method, path string, body any, headers ...string) *whResp {
	e.t.Helper()
	var rdr io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rdr = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rdr = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.base+path, rdr)
	require.NoError(e.t, err)
	req.Header.Set("Api-Key", whTestKey)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	r := &whResp{status: resp.StatusCode, raw: raw}
	_ = json.Unmarshal(raw, &r.json)
	return r
}

func (e *whEnv) must(status int, method, path string, body any, headers ...string) *whResp {
	e.t.Helper()
	r := e.do(method, path, body, headers...)
	require.Equal(e.t, status, r.status, "%s %s: %s", method, path, r.raw)
	return r
}

func (e *whEnv) settle() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(e.t, e.svc.Settle(ctx))
}

func TestWebhooksCRUD(t *testing.T) {
	e := newWhEnv(t)
	created := e.must(201, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/hooks", "description": "main"})
	id := created.str("id")
	require.True(t, strings.HasPrefix(id, "whk_"))
	require.Equal(t, "webhook", created.str("object"))
	require.Equal(t, "https://example.com/hooks", created.str("url"))
	require.Equal(t, "main", created.str("description"))
	require.Equal(t, []any{}, created.json["events"], "empty means every event")
	require.Equal(t, "enabled", created.str("status"))
	require.True(t, strings.HasPrefix(created.str("secret"), "whsec_"))
	require.EqualValues(t, model.Ms(e.clk.Now()), created.json["createdAt"])
	require.EqualValues(t, model.Ms(e.clk.Now()), created.json["updatedAt"])

	e.clk.Advance(time.Second)
	second := e.must(201, "POST", "/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/x", "events": []string{"card.created", "transaction.authorized", "card.created"}})
	require.Equal(t, []any{"card.created", "transaction.authorized"}, second.json["events"], "duplicates dropped")

	got := e.must(200, "GET", "/v1/webhooks/"+id, nil)
	require.Equal(t, id, got.str("id"))
	require.Equal(t, "https://example.com/hooks", got.str("url"))

	list := e.must(200, "GET", "/v1/webhooks", nil)
	require.Equal(t, "list", list.str("object"))
	require.Equal(t, false, list.json["hasMore"])
	require.Nil(t, list.json["cursor"])
	require.Equal(t, []string{second.str("id"), id}, whIDs(list.data()), "newest first")
	page := e.must(200, "GET", "/v1/webhooks?limit=1", nil)
	require.Equal(t, true, page.json["hasMore"])
	require.Equal(t, []string{second.str("id")}, whIDs(page.data()))
	page = e.must(200, "GET", "/v1/webhooks?limit=1&cursor="+page.str("cursor"), nil)
	require.Equal(t, false, page.json["hasMore"])
	require.Equal(t, []string{id}, whIDs(page.data()))

	e.clk.Advance(time.Second)
	patched := e.must(200, "PATCH", "/v1/webhooks/"+id, map[string]any{
		"url": "https://example.com/v2", "description": "renamed", "events": []string{"user.approved"}, "status": "disabled"})
	require.Equal(t, "https://example.com/v2", patched.str("url"))
	require.Equal(t, "renamed", patched.str("description"))
	require.Equal(t, []any{"user.approved"}, patched.json["events"])
	require.Equal(t, "disabled", patched.str("status"))
	require.EqualValues(t, model.Ms(e.clk.Now()), patched.json["updatedAt"])
	patched = e.must(200, "PATCH", "/v1/webhooks/"+id, map[string]any{"events": nil, "status": "enabled", "description": nil})
	require.Equal(t, []any{}, patched.json["events"])
	require.Equal(t, "enabled", patched.str("status"))
	require.Equal(t, "", patched.str("description"))
	require.Equal(t, "https://example.com/v2", patched.str("url"), "absent fields are left alone")

	rotated := e.must(200, "POST", "/v1/webhooks/"+id+"/rotate-secret", nil)
	require.True(t, strings.HasPrefix(rotated.str("secret"), "whsec_"))
	require.NotEqual(t, created.str("secret"), rotated.str("secret"))
	require.EqualValues(t, model.Ms(e.clk.Now().Add(24*time.Hour)), rotated.json["previousSecretExpiresAt"])

	del := e.must(200, "DELETE", "/v1/webhooks/"+id, nil)
	require.Equal(t, map[string]any{"object": "webhook", "id": id, "deleted": true}, del.json)
	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/webhooks/" + id}, {"PATCH", "/v1/webhooks/" + id}, {"DELETE", "/v1/webhooks/" + id},
		{"POST", "/v1/webhooks/" + id + "/rotate-secret"}, {"POST", "/v1/webhooks/" + id + "/test"},
		{"GET", "/v1/webhooks/" + id + "/deliveries"},
	} {
		nf := e.must(404, r.method, r.path, nil)
		require.Equal(t, "webhook_not_found", nf.errField("code"), "%s %s", r.method, r.path)
		require.Equal(t, "not_found_error", nf.errField("type"))
	}
	require.Equal(t, []string{second.str("id")}, whIDs(e.must(200, "GET", "/v1/webhooks", nil).data()))
}

func whIDs(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["id"].(string))
	}
	return out
}

func TestWebhookSecretShownOnlyOnCreateAndRotate(t *testing.T) {
	e := newWhEnv(t)
	created := e.must(201, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/h"})
	secret := created.str("secret")
	require.NotEmpty(t, secret)
	id := created.str("id")
	rotated := e.must(200, "POST", "/v1/webhooks/"+id+"/rotate-secret", nil).str("secret")
	for _, r := range []*whResp{
		e.must(200, "GET", "/v1/webhooks/"+id, nil),
		e.must(200, "GET", "/v1/webhooks", nil),
		e.must(200, "PATCH", "/v1/webhooks/"+id, map[string]any{"description": "x"}),
	} {
		require.NotContains(t, string(r.raw), secret)
		require.NotContains(t, string(r.raw), rotated)
		require.NotContains(t, string(r.raw), `"secret"`)
		require.NotContains(t, string(r.raw), "whsec_")
	}
}

func TestWebhookValidation(t *testing.T) {
	e := newWhEnv(t)
	id := e.must(201, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/h"}).str("id")
	cases := []struct {
		name, method, path string
		body               any
		code, param        string
	}{
		{"url missing", "POST", "/v1/webhooks", map[string]any{}, "parameter_missing", "url"},
		{"url empty", "POST", "/v1/webhooks", map[string]any{"url": ""}, "parameter_invalid", "url"},
		{"url not a string", "POST", "/v1/webhooks", map[string]any{"url": 5}, "parameter_invalid", "url"},
		{"url relative", "POST", "/v1/webhooks", map[string]any{"url": "/hooks"}, "parameter_invalid", "url"},
		{"url not http", "POST", "/v1/webhooks", map[string]any{"url": "ftp://example.com/h"}, "parameter_invalid", "url"},
		{"url no host", "POST", "/v1/webhooks", map[string]any{"url": "https:///h"}, "parameter_invalid", "url"},
		{"url junk", "POST", "/v1/webhooks", map[string]any{"url": "not a url"}, "parameter_invalid", "url"},
		{"url too long", "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/" + strings.Repeat("a", 2048)}, "parameter_invalid", "url"},
		{"unknown event", "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/h", "events": []string{"card.created", "card.exploded"}}, "parameter_invalid", "events"},
		{"wildcard event", "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/h", "events": []string{"*"}}, "parameter_invalid", "events"},
		{"test event not subscribable", "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/h", "events": []string{"webhook.test"}}, "parameter_invalid", "events"},
		{"events not an array", "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/h", "events": "card.created"}, "parameter_invalid", "events"},
		{"description too long", "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/h", "description": strings.Repeat("d", 1001)}, "parameter_invalid", "description"},
		{"unknown field", "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/h", "secret": "mine"}, "parameter_unknown", "secret"},
		{"not json", "POST", "/v1/webhooks", "{url:", "body_parse_error", ""},
		{"patch bad status", "PATCH", "/v1/webhooks/" + id, map[string]any{"status": "paused"}, "parameter_invalid", "status"},
		{"patch bad url", "PATCH", "/v1/webhooks/" + id, map[string]any{"url": "mailto:a@b.c"}, "parameter_invalid", "url"},
		{"patch null url", "PATCH", "/v1/webhooks/" + id, map[string]any{"url": nil}, "parameter_invalid", "url"},
		{"patch bad events", "PATCH", "/v1/webhooks/" + id, map[string]any{"events": []string{"nope"}}, "parameter_invalid", "events"},
		{"patch unknown field", "PATCH", "/v1/webhooks/" + id, map[string]any{"secret": "x"}, "parameter_unknown", "secret"},
		{"rotate with a body", "POST", "/v1/webhooks/" + id + "/rotate-secret", map[string]any{"secret": "x"}, "parameter_unknown", "secret"},
		{"limit zero", "GET", "/v1/webhooks?limit=0", nil, "parameter_invalid", "limit"},
		{"limit too big", "GET", "/v1/webhooks/" + id + "/deliveries?limit=101", nil, "parameter_invalid", "limit"},
		{"events limit", "GET", "/v1/events?limit=abc", nil, "parameter_invalid", "limit"},
		{"events unknown type", "GET", "/v1/events?type=card.exploded", nil, "parameter_invalid", "type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.path, c.body)
			require.Equal(t, 400, r.status, "%s", r.raw)
			require.Equal(t, c.code, r.errField("code"), "%s", r.raw)
			require.Equal(t, c.param, r.errField("param"), "%s", r.raw)
			require.NotEmpty(t, r.errField("message"))
			require.True(t, strings.HasPrefix(r.str("requestId"), "req_"))
		})
	}
	// Nothing was changed by the refused requests.
	got := e.must(200, "GET", "/v1/webhooks/"+id, nil)
	require.Equal(t, "https://example.com/h", got.str("url"))
	require.Equal(t, "enabled", got.str("status"))
	require.Len(t, e.must(200, "GET", "/v1/webhooks", nil).data(), 1)
}

func TestWebhooksNeedTheAPIKey(t *testing.T) {
	e := newWhEnv(t)
	r := e.do("GET", "/v1/webhooks", nil, "Api-Key", "")
	require.Equal(t, 401, r.status)
	r = e.do("GET", "/v1/events", nil, "Api-Key", "lk_test_wrong_wrong_wrong_wrong")
	require.Equal(t, 401, r.status)

	// An agent token is refused: webhooks are the organization's.
	user := e.must(201, "POST", "/v1/users", map[string]any{"firstName": "A", "lastName": "B", "email": "scope@example.com"})
	e.must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": user.str("id"), "decision": "approved"})
	token := e.must(201, "POST", "/v1/agents/register", map[string]any{"userId": user.str("id"), "name": "bot"}).str("token")
	require.NotEmpty(t, token)
	for _, p := range []string{"/v1/webhooks", "/v1/events"} {
		r = e.do("GET", p, nil, "Api-Key", token)
		require.Equal(t, 403, r.status, "%s", r.raw)
		require.Equal(t, "insufficient_permissions", r.errField("code"))
	}
}

func TestWebhookCreateIsIdempotent(t *testing.T) {
	e := newWhEnv(t)
	body := map[string]any{"url": "https://example.com/h"}
	first := e.must(201, "POST", "/v1/webhooks", body, "Idempotency-Key", "idk_one")
	again := e.must(201, "POST", "/v1/webhooks", body, "Idempotency-Key", "idk_one")
	require.Equal(t, string(first.raw), string(again.raw), "the same response, secret included")
	require.Len(t, e.must(200, "GET", "/v1/webhooks", nil).data(), 1)
	conflict := e.must(409, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/other"}, "Idempotency-Key", "idk_one")
	require.Equal(t, "idempotency_key_reused", conflict.errField("code"))

	id := first.str("id")
	r1 := e.must(200, "POST", "/v1/webhooks/"+id+"/rotate-secret", nil, "Idempotency-Key", "idk_rot")
	r2 := e.must(200, "POST", "/v1/webhooks/"+id+"/rotate-secret", nil, "Idempotency-Key", "idk_rot")
	require.Equal(t, r1.str("secret"), r2.str("secret"), "one rotation")
}

// hookReceiver is a real HTTP receiver on 127.0.0.1.
type hookReceiver struct {
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
	status []int
	srv    *httptest.Server
}

func newHookReceiver(t *testing.T, statuses ...int) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		n := len(h.bodies)
		h.bodies = append(h.bodies, body)
		h.sigs = append(h.sigs, r.Header.Get("X-Ledger-Signature"))
		h.mu.Unlock()
		status := 200
		if n < len(statuses) {
			status = statuses[n]
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) got() ([][]byte, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...), append([]string(nil), h.sigs...)
}

func TestWebhookTestEventAndDeliveryLog(t *testing.T) {
	e := newWhEnv(t)
	rc := newHookReceiver(t, 500)
	created := e.must(201, "POST", "/v1/webhooks", map[string]any{"url": rc.srv.URL + "/hook", "events": []string{"card.created"}})
	id, secret := created.str("id"), created.str("secret")

	sent := e.must(202, "POST", "/v1/webhooks/"+id+"/test", nil)
	require.Equal(t, "event", sent.str("object"))
	require.Equal(t, "webhook.test", sent.str("type"))
	evtID := sent.str("id")
	require.True(t, strings.HasPrefix(evtID, "evt_"))
	e.settle()
	e.clk.Advance(10 * time.Second)
	e.settle()

	bodies, sigs := rc.got()
	require.Len(t, bodies, 2, "failed once, then retried")
	for i := range bodies {
		require.NoError(t, signature.Verify(sigs[i], bodies[i], []string{secret}, e.clk.Now(), signature.DefaultTolerance))
		var env map[string]any
		require.NoError(t, json.Unmarshal(bodies[i], &env))
		require.Equal(t, evtID, env["id"])
		require.Equal(t, "webhook.test", env["type"])
		require.Equal(t, id, env["data"].(map[string]any)["webhookId"])
	}

	log := e.must(200, "GET", "/v1/webhooks/"+id+"/deliveries", nil)
	require.Equal(t, "list", log.str("object"))
	ds := log.data()
	require.Len(t, ds, 2)
	ok, failed := ds[0], ds[1] // newest first
	require.Equal(t, "webhook_delivery", ok["object"])
	require.True(t, strings.HasPrefix(ok["id"].(string), "whd_"))
	require.Equal(t, evtID, ok["eventId"])
	require.Equal(t, "webhook.test", ok["eventType"])
	require.EqualValues(t, 2, ok["attempt"])
	require.Equal(t, "succeeded", ok["status"])
	require.EqualValues(t, 200, ok["statusCode"])
	require.Nil(t, ok["error"])
	require.Nil(t, ok["nextAttemptAt"])
	require.EqualValues(t, model.Ms(e.clk.Now()), ok["deliveredAt"])
	require.Contains(t, ok, "latencyMs")
	require.EqualValues(t, 1, failed["attempt"])
	require.Equal(t, "failed", failed["status"])
	require.EqualValues(t, 500, failed["statusCode"])
	require.Equal(t, "receiver answered HTTP 500", failed["error"])
	require.Nil(t, failed["deliveredAt"])
	require.EqualValues(t, model.Ms(e.clk.Now()), failed["nextAttemptAt"])
	require.EqualValues(t, model.Ms(e.clk.Now().Add(-10*time.Second)), failed["attemptedAt"])

	page := e.must(200, "GET", "/v1/webhooks/"+id+"/deliveries?limit=1", nil)
	require.Equal(t, true, page.json["hasMore"])
	require.Equal(t, ok["id"], page.data()[0]["id"])
	page = e.must(200, "GET", "/v1/webhooks/"+id+"/deliveries?limit=1&cursor="+page.str("cursor"), nil)
	require.Equal(t, false, page.json["hasMore"])
	require.Equal(t, failed["id"], page.data()[0]["id"])

	// A disabled endpoint cannot be sent a test.
	e.must(200, "PATCH", "/v1/webhooks/"+id, map[string]any{"status": "disabled"})
	r := e.must(409, "POST", "/v1/webhooks/"+id+"/test", nil)
	require.Equal(t, "webhook_disabled", r.errField("code"))
}

func TestEventsListAndFilter(t *testing.T) {
	e := newWhEnv(t)
	rc := newHookReceiver(t)
	e.must(201, "POST", "/v1/webhooks", map[string]any{"url": rc.srv.URL, "events": []string{"user.approved"}})
	var approved, rejected []string
	for i := range 5 {
		e.clk.Advance(time.Second)
		u := e.must(201, "POST", "/v1/users", map[string]any{"firstName": "U", "lastName": "L", "email": fmt.Sprintf("u%d@example.com", i)})
		decision := "approved"
		if i%2 == 1 {
			decision = "rejected"
		}
		e.must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": u.str("id"), "decision": decision})
		if decision == "approved" {
			approved = append(approved, u.str("id"))
		} else {
			rejected = append(rejected, u.str("id"))
		}
	}

	all := e.must(200, "GET", "/v1/events?limit=100", nil)
	events := all.data()
	require.Len(t, events, 5)
	for i, ev := range events {
		require.Equal(t, "event", ev["object"])
		require.True(t, strings.HasPrefix(ev["id"].(string), "evt_"))
		if i > 0 {
			require.Less(t, ev["id"], events[i-1]["id"], "newest first")
			require.LessOrEqual(t, ev["createdAt"], events[i-1]["createdAt"])
		}
	}
	require.Equal(t, "user.approved", events[0]["type"])
	require.Equal(t, approved[2], events[0]["data"].(map[string]any)["userId"])

	// Pages of two, through the cursor.
	var paged []string
	cursor := ""
	for {
		p := e.must(200, "GET", "/v1/events?limit=2"+cursor, nil)
		paged = append(paged, whIDs(p.data())...)
		if p.json["hasMore"] != true {
			require.Nil(t, p.json["cursor"])
			break
		}
		cursor = "&cursor=" + p.str("cursor")
	}
	require.Equal(t, whIDs(events), paged)

	// By type, through the type index.
	byType := e.must(200, "GET", "/v1/events?type=user.rejected", nil).data()
	require.Len(t, byType, len(rejected))
	for i, ev := range byType {
		require.Equal(t, "user.rejected", ev["type"])
		require.Equal(t, rejected[len(rejected)-1-i], ev["data"].(map[string]any)["userId"])
	}
	p := e.must(200, "GET", "/v1/events?type=user.approved&limit=2", nil)
	require.Equal(t, true, p.json["hasMore"])
	p2 := e.must(200, "GET", "/v1/events?type=user.approved&limit=2&cursor="+p.str("cursor"), nil)
	require.Equal(t, false, p2.json["hasMore"])
	require.Len(t, append(p.data(), p2.data()...), len(approved))
	require.Empty(t, e.must(200, "GET", "/v1/events?type=card.created", nil).data())

	one := e.must(200, "GET", "/v1/events/"+events[1]["id"].(string), nil)
	require.Equal(t, events[1], one.json)
	nf := e.must(404, "GET", "/v1/events/evt_nope", nil)
	require.Equal(t, "event_not_found", nf.errField("code"))

	// The receiver got the approved ones, as the events API shows them.
	e.settle()
	bodies, _ := rc.got()
	require.Len(t, bodies, len(approved))
	var first map[string]any
	require.NoError(t, json.Unmarshal(bodies[0], &first))
	require.Equal(t, e.must(200, "GET", "/v1/events/"+first["id"].(string), nil).json, first)
}

func TestWebhookRoutesWithoutService(t *testing.T) {
	db, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	v, err := vault.Open(vault.Config{MasterKeyHex: strings.Repeat("ef", 32)})
	require.NoError(t, err)
	l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clock.Real{}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	a, err := New(Config{Ledger: l, APIKeyHash: apikey.Hash(whTestKey)})
	require.NoError(t, err)
	if rt, _, _ := a.routes.match("GET", "/v1/webhooks"); rt == nil {
		a.registerWebhookRoutes()
	}
	rt, _, _ := a.routes.match("GET", "/v1/webhooks")
	require.NotNil(t, rt)
	require.ErrorIs(t, rt.h(nil), errWebhooksOff)
	rt, _, _ = a.routes.match("GET", "/v1/events")
	require.NotNil(t, rt)
}
