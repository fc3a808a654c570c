package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/apikey"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/faults"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
	"github.com/ledgersim/ledgersim/webhook"
)

// idemEnv is the API over HTTP on 127.0.0.1 with every route bound: the
// webhook service and the virtual clock (persisted as the server persists
// it), so that every POST the router serves can be called.
type idemEnv struct {
	t    *testing.T
	a    *API
	db   *store.DB
	base string
	n    int
}

func newIdemEnv(t *testing.T) *idemEnv { return newIdemEnvWith(t, nil) }

// newIdemEnvWith is newIdemEnv with the API's Config changed by edit.
func newIdemEnvWith(t *testing.T, edit func(*Config)) *idemEnv {
	t.Helper()
	clk := clock.NewVirtual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	db, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	v, err := vault.Open(vault.Config{MasterKeyHex: strings.Repeat("ab", 32)})
	require.NoError(t, err)
	l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clk})
	require.NoError(t, err)
	svc, err := webhook.New(webhook.Config{Store: db, Log: l, Clock: clk, Rand: func() float64 { return 0.5 }, PollInterval: time.Hour})
	require.NoError(t, err)
	advanced := func(ctx context.Context, also func(b *store.Batch) error) error {
		raw, _ := clk.Now().MarshalText()
		b := db.NewBatch()
		b.Put(store.MetaKey("virtual-clock"), raw)
		if also != nil {
			if err := also(b); err != nil {
				b.Discard()
				return err
			}
		}
		if err := db.Commit(b); err != nil {
			return err
		}
		_, err := l.Sweep(ctx)
		return err
	}
	fs, err := faults.New(faults.Config{Clock: clk})
	require.NoError(t, err)
	cfg := Config{Ledger: l, APIKeyHash: apikey.Hash(whTestKey), VirtualClock: clk, OnClockAdvance: advanced, Faults: fs}
	if edit != nil {
		edit(&cfg)
	}
	a, err := New(cfg)
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
	return &idemEnv{t: t, a: a, db: db, base: "http://" + ln.Addr().String()}
}

type idemResp struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

func (r *idemResp) str(k string) string { s, _ := r.json[k].(string); return s }

// do sends body as is (a string) with the organization's key unless
// headers name another.
func (e *idemEnv) do(method, path, body string, headers ...string) *idemResp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Api-Key", whTestKey)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	r := &idemResp{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.json)
	return r
}

func (e *idemEnv) must(status int, method, path string, body any) *idemResp {
	e.t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(e.t, err)
	r := e.do(method, path, string(raw))
	require.Equal(e.t, status, r.status, "%s %s: %s", method, path, r.raw)
	return r
}

// user makes an approved user with 1,000.00 on deposit.
func (e *idemEnv) user() string {
	e.n++
	u := e.must(201, "POST", "/v1/users", map[string]any{"firstName": "I", "lastName": "K", "email": fmt.Sprintf("u%d@example.com", e.n)})
	id := u.str("id")
	e.must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": id, "decision": "approved"})
	e.must(201, "POST", "/v1/simulate/deposit", map[string]any{"userId": id, "asset": "USDC", "chain": "base", "amount": 1000})
	return id
}

func (e *idemEnv) agent() string {
	return e.must(201, "POST", "/v1/agents/register", map[string]any{"userId": e.user(), "name": "bot"}).str("id")
}

func (e *idemEnv) card(extra map[string]any) string {
	body := map[string]any{"purpose": "p", "credentialExposure": "rawPan", "acknowledgeRawPanRisk": true}
	for k, v := range extra {
		body[k] = v
	}
	return e.must(201, "POST", "/v1/agents/"+e.agent()+"/cards", body).str("id")
}

func (e *idemEnv) authorization(amount int) string {
	return e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": e.card(map[string]any{"type": "multi"}), "amount": amount}).str("id")
}

func (e *idemEnv) pendingUser() string {
	e.n++
	return e.must(201, "POST", "/v1/users", map[string]any{"firstName": "P", "lastName": "K", "email": fmt.Sprintf("p%d@example.com", e.n)}).str("id")
}

func (e *idemEnv) webhook() string {
	return e.must(201, "POST", "/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook"}).str("id")
}

// deliveryState is what webhook delivery records in the background as it
// attempts a queued event: the outbox it drains (o/), its attempts (wd/),
// its queue records (wq/) and an endpoint's pause after a failure. It is
// delivery's state, not a request's.
var deliveryState = regexp.MustCompile(`^(w[dq]|o)/|,"pausedUntil":\d+`)

// snapshot is every key and value in the store but delivery's state.
func (e *idemEnv) snapshot() map[string]string {
	out := map[string]string{}
	require.NoError(e.t, e.db.Scan(nil, "", false, func(k, v []byte) bool {
		if deliveryState.Match(k) {
			return true
		}
		out[string(k)] = deliveryState.ReplaceAllString(string(v), "")
		return true
	}))
	return out
}

// idemCall is one POST: its path and body, made ready by setup.
type idemCall struct {
	path, body  string
	contentType string
}

func jsonCall(path string, body map[string]any) idemCall {
	raw, _ := json.Marshal(body)
	return idemCall{path: path, body: string(raw)}
}

// idemCases sets up, for every POST route, a first call that changes state.
var idemCases = map[string]func(e *idemEnv) idemCall{
	"/kyc/{token}": func(e *idemEnv) idemCall {
		link := e.must(200, "POST", "/v1/verification/user", map[string]any{"userId": e.pendingUser()}).str("verificationUrl")
		return idemCall{path: link[strings.Index(link, "/kyc/"):], body: "decision=approved", contentType: "application/x-www-form-urlencoded"}
	},
	"/v1/users": func(e *idemEnv) idemCall {
		e.n++
		return jsonCall("/v1/users", map[string]any{"firstName": "A", "lastName": "B", "email": fmt.Sprintf("n%d@example.com", e.n)})
	},
	"/v1/verification/user": func(e *idemEnv) idemCall {
		return jsonCall("/v1/verification/user", map[string]any{"userId": e.pendingUser()})
	},
	"/v1/simulate/kyc": func(e *idemEnv) idemCall {
		return jsonCall("/v1/simulate/kyc", map[string]any{"userId": e.pendingUser(), "decision": "approved"})
	},
	"/v1/simulate/deposit": func(e *idemEnv) idemCall {
		return jsonCall("/v1/simulate/deposit", map[string]any{"userId": e.user(), "asset": "USDC", "chain": "base", "amount": 5})
	},
	"/v1/users/{id}/withdrawals": func(e *idemEnv) idemCall {
		return jsonCall("/v1/users/"+e.user()+"/withdrawals", map[string]any{"chainId": 8453, "tokenAddress": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
			"amount": 100, "recipientAddress": "0x1111111111111111111111111111111111111111"})
	},
	"/v1/simulate/withdrawal/{id}/resolve": func(e *idemEnv) idemCall {
		w := e.must(201, "POST", "/v1/users/"+e.user()+"/withdrawals", map[string]any{"chainId": 8453, "tokenAddress": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
			"amount": 100, "recipientAddress": "0x1111111111111111111111111111111111111111"}).str("id")
		return jsonCall("/v1/simulate/withdrawal/"+w+"/resolve", map[string]any{"outcome": "failed", "reason": "reverted"})
	},
	"/v1/agents/register": func(e *idemEnv) idemCall {
		return jsonCall("/v1/agents/register", map[string]any{"userId": e.user(), "name": "r"})
	},
	"/v1/agents": func(e *idemEnv) idemCall {
		return jsonCall("/v1/agents", map[string]any{"userId": e.user(), "name": "c"})
	},
	"/v1/agents/{id}/suspend": func(e *idemEnv) idemCall {
		return jsonCall("/v1/agents/"+e.agent()+"/suspend", map[string]any{})
	},
	"/v1/agents/{id}/activate": func(e *idemEnv) idemCall {
		id := e.agent()
		e.must(200, "POST", "/v1/agents/"+id+"/suspend", map[string]any{})
		return jsonCall("/v1/agents/"+id+"/activate", map[string]any{})
	},
	"/v1/agents/{id}/deregister": func(e *idemEnv) idemCall {
		return jsonCall("/v1/agents/"+e.agent()+"/deregister", map[string]any{})
	},
	"/v1/agents/{id}/tokens": func(e *idemEnv) idemCall {
		return jsonCall("/v1/agents/"+e.agent()+"/tokens", map[string]any{"name": "t"})
	},
	"/v1/agents/{id}/tokens/{tokenId}/revoke": func(e *idemEnv) idemCall {
		id := e.agent()
		tok := e.must(201, "POST", "/v1/agents/"+id+"/tokens", map[string]any{}).str("id")
		return jsonCall("/v1/agents/"+id+"/tokens/"+tok+"/revoke", map[string]any{})
	},
	"/v1/agents/{id}/cards": func(e *idemEnv) idemCall {
		return jsonCall("/v1/agents/"+e.agent()+"/cards", map[string]any{"purpose": "p"})
	},
	"/v1/cards/{id}/freeze": func(e *idemEnv) idemCall {
		return jsonCall("/v1/cards/"+e.card(nil)+"/freeze", map[string]any{})
	},
	"/v1/cards/{id}/unfreeze": func(e *idemEnv) idemCall {
		id := e.card(nil)
		e.must(200, "POST", "/v1/cards/"+id+"/freeze", map[string]any{})
		return jsonCall("/v1/cards/"+id+"/unfreeze", map[string]any{})
	},
	"/v1/cards/{id}/activate": func(e *idemEnv) idemCall {
		return jsonCall("/v1/cards/"+e.card(map[string]any{"status": "notActivated"})+"/activate", map[string]any{})
	},
	"/v1/cards/{id}/close": func(e *idemEnv) idemCall {
		return jsonCall("/v1/cards/"+e.card(nil)+"/close", map[string]any{})
	},
	"/v1/cards/{id}/details": func(e *idemEnv) idemCall {
		return jsonCall("/v1/cards/"+e.card(nil)+"/details", map[string]any{"summary": "buy"})
	},
	"/v1/simulate/authorization": func(e *idemEnv) idemCall {
		return jsonCall("/v1/simulate/authorization", map[string]any{"cardId": e.card(nil), "amount": 300})
	},
	"/v1/simulate/clearing": func(e *idemEnv) idemCall {
		return jsonCall("/v1/simulate/clearing", map[string]any{"transactionId": e.authorization(300), "amount": 300})
	},
	"/v1/simulate/reversal": func(e *idemEnv) idemCall {
		return jsonCall("/v1/simulate/reversal", map[string]any{"transactionId": e.authorization(300), "amount": 100})
	},
	"/v1/simulate/refund": func(e *idemEnv) idemCall {
		id := e.authorization(300)
		e.must(200, "POST", "/v1/simulate/clearing", map[string]any{"transactionId": id, "amount": 300})
		return jsonCall("/v1/simulate/refund", map[string]any{"transactionId": id, "amount": 100})
	},
	"/v1/simulate/financial": func(e *idemEnv) idemCall {
		return jsonCall("/v1/simulate/financial", map[string]any{"cardId": e.card(nil), "amount": 300})
	},
	"/v1/simulate/increment": func(e *idemEnv) idemCall {
		id := e.authorization(300)
		// The risk engine's defaults may suspend a new agent after its
		// first purchase; the increment is to be decided on an active one.
		txn := e.must(200, "GET", "/v1/transactions/"+id, nil)
		e.must(200, "POST", "/v1/agents/"+txn.str("agentId")+"/activate", map[string]any{})
		// Which risk preset is in force when this runs depends on the
		// cases before it; one may have frozen the card as well.
		e.do("POST", "/v1/cards/"+txn.str("cardId")+"/unfreeze", "{}")
		return jsonCall("/v1/simulate/increment", map[string]any{"transactionId": id, "amount": 50})
	},
	"/v1/simulate/authorization-advice": func(e *idemEnv) idemCall {
		return jsonCall("/v1/simulate/authorization-advice", map[string]any{"transactionId": e.authorization(300), "amount": 250})
	},
	"/v1/simulate/force-capture": func(e *idemEnv) idemCall {
		return jsonCall("/v1/simulate/force-capture", map[string]any{"cardId": e.card(nil), "amount": 120, "merchantName": "SHOP"})
	},
	"/v1/simulate/refund-reversal": func(e *idemEnv) idemCall {
		refund := e.must(201, "POST", "/v1/simulate/refund", map[string]any{"cardId": e.card(nil), "amount": 80}).str("id")
		return jsonCall("/v1/simulate/refund-reversal", map[string]any{"transactionId": refund})
	},
	"/v1/transactions/{id}/disputes": func(e *idemEnv) idemCall {
		id := e.authorization(300)
		e.must(200, "POST", "/v1/simulate/clearing", map[string]any{"transactionId": id, "amount": 300})
		return jsonCall("/v1/transactions/"+id+"/disputes", map[string]any{"reason": "duplicate", "textEvidence": "charged twice"})
	},
	"/v1/simulate/dispute/{id}/resolve": func(e *idemEnv) idemCall {
		id := e.authorization(300)
		e.must(200, "POST", "/v1/simulate/clearing", map[string]any{"transactionId": id, "amount": 300})
		d := e.must(201, "POST", "/v1/transactions/"+id+"/disputes", map[string]any{"reason": "duplicate"}).str("id")
		return jsonCall("/v1/simulate/dispute/"+d+"/resolve", map[string]any{"outcome": "won"})
	},
	"/v1/disputes/{id}/cancel": func(e *idemEnv) idemCall {
		id := e.authorization(300)
		e.must(200, "POST", "/v1/simulate/clearing", map[string]any{"transactionId": id, "amount": 300})
		d := e.must(201, "POST", "/v1/transactions/"+id+"/disputes", map[string]any{"reason": "duplicate"}).str("id")
		return jsonCall("/v1/disputes/"+d+"/cancel", map[string]any{})
	},
	"/v1/simulate/faults": func(e *idemEnv) idemCall {
		return jsonCall("/v1/simulate/faults", map[string]any{"last4": "1234", "action": "noReply", "percent": 5})
	},
	"/v1/simulate/clock/advance": func(e *idemEnv) idemCall {
		return jsonCall("/v1/simulate/clock/advance", map[string]any{"minutes": 5})
	},
	"/v1/cards/{id}/intents": func(e *idemEnv) idemCall {
		return jsonCall("/v1/cards/"+e.card(map[string]any{"type": "multi"})+"/intents", map[string]any{"intentId": "o-1", "summary": "lunch"})
	},
	"/v1/intents/{id}/cancel": func(e *idemEnv) idemCall {
		card := e.card(map[string]any{"type": "multi"})
		it := e.must(201, "POST", "/v1/cards/"+card+"/intents", map[string]any{"intentId": "o-1", "summary": "lunch"}).str("id")
		return jsonCall("/v1/intents/"+it+"/cancel", map[string]any{})
	},
	"/v1/intents/{id}/approve": func(e *idemEnv) idemCall {
		card := e.card(map[string]any{"type": "multi"})
		it := e.must(201, "POST", "/v1/cards/"+card+"/intents", map[string]any{"intentId": "o-1", "summary": "tv", "requireApproval": true}).str("id")
		return jsonCall("/v1/intents/"+it+"/approve", map[string]any{})
	},
	"/v1/intents/{id}/reject": func(e *idemEnv) idemCall {
		card := e.card(map[string]any{"type": "multi"})
		it := e.must(201, "POST", "/v1/cards/"+card+"/intents", map[string]any{"intentId": "o-1", "summary": "tv", "requireApproval": true}).str("id")
		return jsonCall("/v1/intents/"+it+"/reject", map[string]any{"reason": "too much"})
	},
	"/v1/extension/redeem": func(e *idemEnv) idemCall {
		card := e.card(map[string]any{"credentialExposure": "extensionOnly"})
		tok := e.must(200, "POST", "/v1/cards/"+card+"/details", map[string]any{"summary": "buy"}).str("detailsToken")
		return jsonCall("/v1/extension/redeem", map[string]any{"detailsToken": tok})
	},
	"/v1/policies": func(e *idemEnv) idemCall {
		e.n++
		return jsonCall("/v1/policies", map[string]any{"name": fmt.Sprintf("policy %d", e.n), "blockedMccs": []string{"7995"}})
	},
	"/v1/settings/risk/preset": func(e *idemEnv) idemCall {
		e.n++
		return jsonCall("/v1/settings/risk/preset", map[string]any{"preset": []string{"strict", "paranoid"}[e.n%2], "dryRun": e.n%3 == 0})
	},
	"/v1/webhooks": func(e *idemEnv) idemCall {
		return jsonCall("/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/new"})
	},
	"/v1/webhooks/{id}/rotate-secret": func(e *idemEnv) idemCall {
		return jsonCall("/v1/webhooks/"+e.webhook()+"/rotate-secret", map[string]any{})
	},
	"/v1/webhooks/{id}/test": func(e *idemEnv) idemCall {
		return jsonCall("/v1/webhooks/"+e.webhook()+"/test", map[string]any{})
	},
}

// TestEveryPostHonoursIdempotencyKey walks every POST the router serves: the
// first call changes state; a retry with the same key and body replays it
// byte for byte and changes nothing, even when the first call's reply was
// never recorded outside its own change (as after a crash just after it);
// the same key with another body is a 409. A new POST route without a case
// here fails the test.
func TestEveryPostHonoursIdempotencyKey(t *testing.T) {
	e := newIdemEnv(t)
	e.a.skipIdemSave = true
	seen := map[string]bool{}
	for _, rt := range e.a.routes.routes {
		if rt.method != "POST" {
			continue
		}
		seen[rt.pattern] = true
		t.Run(rt.pattern, func(t *testing.T) {
			setup, ok := idemCases[rt.pattern]
			require.True(t, ok, "POST %s has no idempotency case", rt.pattern)
			e.t = t
			call := setup(e)
			key := "idem-" + rt.pattern
			hdr := []string{"Idempotency-Key", key}
			if call.contentType != "" {
				hdr = append(hdr, "Content-Type", call.contentType)
			}
			before := e.snapshot()
			first := e.do("POST", call.path, call.body, hdr...)
			require.Less(t, first.status, 300, "%s", first.raw)
			require.GreaterOrEqual(t, first.status, 200)
			require.Empty(t, first.header.Get("Idempotent-Replayed"))
			after := e.snapshot()
			require.NotEqual(t, before, after, "the first call changes state: %s", first.raw)

			for range 2 {
				again := e.do("POST", call.path, call.body, hdr...)
				require.Equal(t, first.status, again.status)
				require.Equal(t, string(first.raw), string(again.raw), "a replay is the first response")
				require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
				require.Equal(t, first.header.Get("Content-Type"), again.header.Get("Content-Type"))
				require.Equal(t, after, e.snapshot(), "a replay changes nothing")
			}

			other := e.do("POST", call.path, call.body+" ", hdr...)
			require.Equal(t, 409, other.status, "%s", other.raw)
			require.Contains(t, string(other.raw), "idempotency_key_reused")
			require.Equal(t, after, e.snapshot(), "a conflicting retry changes nothing")
		})
	}
	for pattern := range idemCases {
		require.True(t, seen[pattern], "case %s names no POST route", pattern)
	}
}

// TestIdempotentRecordsAreSealed: a response that carries card data is not
// kept in the clear by its idempotency record.
func TestIdempotentRecordsAreSealed(t *testing.T) {
	e := newIdemEnv(t)
	card := e.card(nil)
	r := e.do("POST", "/v1/cards/"+card+"/details", `{"summary":"buy"}`, "Idempotency-Key", "k1")
	require.Equal(t, 200, r.status)
	pan := r.str("pan")
	require.Len(t, pan, 16)
	require.NoError(t, e.db.Scan([]byte("i/"), "", false, func(k, v []byte) bool {
		require.False(t, bytes.Contains(v, []byte(pan)), "the PAN is in an idempotency record")
		return true
	}))
	again := e.do("POST", "/v1/cards/"+card+"/details", `{"summary":"buy"}`, "Idempotency-Key", "k1")
	require.Equal(t, pan, again.str("pan"))
	require.Equal(t, "no-store", again.header.Get("Cache-Control"))
}

// TestRetriedReversalReversesOnce is the report's case: three reversals of
// 100 under one key on a 300 authorization leave 200 authorized.
func TestRetriedReversalReversesOnce(t *testing.T) {
	e := newIdemEnv(t)
	id := e.authorization(300)
	body := fmt.Sprintf(`{"transactionId":%q,"amount":100}`, id)
	for i := range 3 {
		r := e.do("POST", "/v1/simulate/reversal", body, "Idempotency-Key", "rev-1")
		require.Equal(t, 200, r.status, "%s", r.raw)
		require.Equal(t, i > 0, r.header.Get("Idempotent-Replayed") == "true")
	}
	txn := e.must(200, "GET", "/v1/transactions/"+id, nil)
	require.EqualValues(t, 200, txn.json["amount"])
	r := e.do("POST", "/v1/simulate/clearing", fmt.Sprintf(`{"transactionId":%q,"amount":200}`, id), "Idempotency-Key", "rev-1")
	require.Equal(t, 409, r.status, "the key belongs to the reversal")
}

// TestReversingADeclineIsAConflict: a declined transaction cannot be
// reversed over HTTP, as it cannot be cleared; both answer 409 with the
// same error, and nothing changes.
func TestReversingADeclineIsAConflict(t *testing.T) {
	e := newIdemEnv(t)
	card := e.card(map[string]any{"type": "multi"})
	d := e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": 500_000})
	require.Equal(t, false, d.json["approved"], "%s", d.raw)
	id := d.str("id")
	before := e.snapshot()
	clr := e.do("POST", "/v1/simulate/clearing", fmt.Sprintf(`{"transactionId":%q,"amount":100}`, id))
	for _, body := range []string{fmt.Sprintf(`{"transactionId":%q}`, id), fmt.Sprintf(`{"transactionId":%q,"amount":100}`, id)} {
		rev := e.do("POST", "/v1/simulate/reversal", body)
		require.Equal(t, 409, rev.status, "%s", rev.raw)
		require.Equal(t, clr.status, rev.status)
		require.Equal(t, clr.json["error"].(map[string]any)["code"], rev.json["error"].(map[string]any)["code"])
	}
	require.Equal(t, before, e.snapshot())
}
