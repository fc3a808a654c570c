package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ledgersim/ledgersim/apikey"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

const fuzzKey = "lk_test_fuzz_key_0123456789abcdef"

// fuzzTarget is an API on a real ledger, with one approved, funded user,
// an agent and a card whose IDs the fuzzed paths use.
type fuzzTarget struct {
	a                     *API
	userID, agentID, card string
	txnID, intentID       string
}

func newFuzzTarget(tb testing.TB) *fuzzTarget {
	dir := tb.TempDir()
	db, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	v, err := vault.Open(vault.Config{Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	// One clock for the ledger and the API (clock advance moves it).
	clk := clock.NewVirtual(mustTime())
	l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clk, OverCapturePct: 20})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = l.Close() })
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	ctx := context.Background()
	u, err := l.CreateUser(ctx, ledger.CreateUserInput{FirstName: "F", LastName: "Z", Email: "f@example.com"})
	must(err)
	_, err = l.DecideKYC(ctx, u.ID, true)
	must(err)
	_, _, err = l.SimulateDeposit(ctx, ledger.DepositInput{UserID: u.ID, Asset: "USDC", Chain: "base", Amount: "100", AmountCents: 10000})
	must(err)
	reg, err := l.RegisterAgent(ctx, ledger.AgentInput{UserID: u.ID, Name: "fuzz"})
	must(err)
	c, err := l.CreateCard(ctx, reg.Agent.ID, ledger.CardInput{Purpose: "fuzz", Type: "multi", CredentialExposure: "rawPan", AcknowledgeRawPanRisk: true, AttestationWindowMinutes: 10})
	must(err)
	out, err := l.Authorize(ctx, &ledger.AuthRequest{Source: "api", CardID: c.ID, AmountCents: 100, Currency: "840", Merchant: "FUZZ"})
	must(err)
	if out.Code != "00" {
		tb.Fatalf("fuzz target: the seed authorization was declined %s (%s)", out.Code, out.Reason)
	}
	it, err := l.CreateIntent(ctx, c.ID, ledger.IntentInput{IntentID: "seed", Summary: "seed"})
	must(err)
	a, err := New(Config{Ledger: l, APIKeyHash: apikey.Hash(fuzzKey), VirtualClock: clk})
	must(err)
	return &fuzzTarget{a: a, userID: u.ID, agentID: reg.Agent.ID, card: c.ID, txnID: out.TxnID, intentID: it.Intent.ID}
}

// routes are every route that decodes a JSON body.
func (f *fuzzTarget) routes() [][2]string {
	return [][2]string{
		{"POST", "/v1/users"}, {"POST", "/v1/verification/user"}, {"POST", "/v1/simulate/kyc"},
		{"POST", "/v1/simulate/deposit"}, {"POST", "/v1/agents/register"}, {"POST", "/v1/agents"},
		{"PATCH", "/v1/agents/" + f.agentID}, {"POST", "/v1/agents/" + f.agentID + "/tokens"},
		{"POST", "/v1/agents/" + f.agentID + "/cards"}, {"PATCH", "/v1/cards/" + f.card},
		{"POST", "/v1/cards/" + f.card + "/details"}, {"POST", "/v1/cards/" + f.card + "/intents"},
		{"POST", "/v1/intents/" + f.intentID + "/cancel"}, {"POST", "/v1/extension/redeem"},
		{"POST", "/v1/simulate/authorization"}, {"POST", "/v1/simulate/clearing"}, {"POST", "/v1/simulate/reversal"},
		{"POST", "/v1/simulate/refund"}, {"POST", "/v1/simulate/clock/advance"},
		{"PATCH", "/v1/transactions/" + f.txnID}, {"PUT", "/v1/transactions/" + f.txnID + "/receipt"},
		{"POST", "/v1/cards/" + f.card + "/freeze"},
	}
}

func (f *fuzzTarget) call(method, path string, body []byte) (int, []byte) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	ctx.Request.Header.Set("Api-Key", fuzzKey)
	ctx.Request.Header.SetContentType("application/json")
	ctx.Request.SetBody(body)
	f.a.Handler(&ctx)
	return ctx.Response.StatusCode(), append([]byte(nil), ctx.Response.Body()...)
}

// FuzzJSONBodies sends arbitrary bodies to every route that decodes JSON.
// Whatever the input, the answer is a documented status with a JSON body
// in the platform's shape, never a 500 and never a panic.
func FuzzJSONBodies(f *testing.F) {
	seeds := []string{
		`{}`, `null`, `[]`, `{"firstName":"A","lastName":"B","email":"a@example.com"}`,
		`{"userId":"user_x","decision":"approved"}`, `{"userId":"u","asset":"USDC","chain":"base","amount":"1.5"}`,
		`{"userId":"u","name":"n","spendingLimit":100,"spendingLimitFrequency":"perWeek","metadata":{"a":[1,2]}}`,
		`{"purpose":"p","type":"multi","limits":{"perDay":5,"perMonth":1e99}}`, `{"summary":"s","expectedAmount":-1}`,
		`{"intentId":"i","summary":"s","amount":1,"expectedAmount":2}`, `{"cardId":"c","amount":1,"currency":"XYZ"}`,
		`{"transactionId":"t","amount":9223372036854775807}`, `{"minutes":1e3}`, `{"tags":["a",null]}`,
		`{"url":"javascript:alert(1)"}`, `{"detailsToken":"tok_x"}`, "{\"a\":\"\\ud800\"}", `{"a":1}{"b":2}`,
		`{"limits":null,"maxAuthCount":null}`, `{"name":{"$gt":""}}`, strings.Repeat(`{"a":`, 200),
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	t := newFuzzTarget(f)
	routes := t.routes()
	f.Fuzz(func(tt *testing.T, route uint8, body []byte) {
		r := routes[int(route)%len(routes)]
		status, resp := t.call(r[0], r[1], body)
		switch status {
		case 200, 201, 400, 403, 404, 409, 413, 429:
		default:
			tt.Fatalf("%s %s: status %d for body %q: %s", r[0], r[1], status, body, resp)
		}
		var v map[string]any
		if err := json.Unmarshal(resp, &v); err != nil {
			tt.Fatalf("%s %s: response is not JSON: %q", r[0], r[1], resp)
		}
		if status >= 400 {
			e, ok := v["error"].(map[string]any)
			if !ok || e["type"] == nil || e["code"] == nil || e["message"] == nil || v["requestId"] == nil {
				tt.Fatalf("%s %s: error shape %s", r[0], r[1], resp)
			}
		}
	})
}

// TestFuzzTargetRoutesExist makes sure the fuzzer reaches real handlers,
// not the 404 of a mistyped path.
func TestFuzzTargetRoutesExist(t *testing.T) {
	ft := newFuzzTarget(t)
	for _, r := range ft.routes() {
		status, body := ft.call(r[0], r[1], []byte(`{"__probe":1}`))
		if status == 404 && strings.Contains(string(body), "No such endpoint") || status == 405 {
			t.Fatalf("%s %s is not routed: %d %s", r[0], r[1], status, body)
		}
		_ = fmt.Sprint(status)
	}
}

func mustTime() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }
