package api_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

// owned is what one agent owns, by kind of path parameter.
type owned struct {
	token string
	ids   map[string]string // "card", "intent", "txn", "agent", "user"
}

// TestNoAccessAcrossAgents tries many (token, endpoint, resource) triples in
// which the resource belongs to another agent (of the same user or of
// another one) and finds neither a read nor a write: every answer is 403 or
// 404, lists hold only the caller's own records, and nothing anywhere
// changed.
func TestNoAccessAcrossAgents(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	var agents []owned
	for u := 0; u < 2; u++ {
		userID, firstAgent, firstTok := e.Funded([]string{"p@example.com", "q@example.com"}[u], 100000)
		ids := []struct{ agent, tok string }{{firstAgent, firstTok}}
		second := e.Must(201, "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "second"})
		ids = append(ids, struct{ agent, tok string }{second.Str("id"), second.Str("token")})
		for _, a := range ids {
			card := multiCard(e, a.agent, nil)
			it := e.Must(201, "POST", "/v1/cards/"+card+"/intents", map[string]any{"intentId": "own", "summary": "s", "expectedAmount": 999})
			e.Must(200, "POST", "/v1/cards/"+card+"/details", map[string]any{"summary": "s"})
			tx := authorize(e, card, 100, "SHOP")
			agents = append(agents, owned{token: a.tok, ids: map[string]string{
				"card": card, "intent": it.Str("id"), "txn": tx.Str("id"), "agent": a.agent, "user": userID}})
		}
	}
	templates := []struct{ method, path, kind string }{
		{"GET", "/v1/cards/{}", "card"}, {"POST", "/v1/cards/{}/details", "card"}, {"GET", "/v1/cards/{}/intents", "card"},
		{"POST", "/v1/cards/{}/intents", "card"}, {"GET", "/v1/cards/{}/transactions", "card"}, {"GET", "/v1/cards/{}/access-events", "card"},
		{"POST", "/v1/cards/{}/freeze", "card"}, {"POST", "/v1/cards/{}/close", "card"}, {"PATCH", "/v1/cards/{}", "card"},
		{"POST", "/v1/cards/{}/unfreeze", "card"}, {"GET", "/v1/intents/{}", "intent"}, {"POST", "/v1/intents/{}/cancel", "intent"},
		{"GET", "/v1/transactions/{}", "txn"}, {"PATCH", "/v1/transactions/{}", "txn"}, {"PUT", "/v1/transactions/{}/receipt", "txn"},
		{"GET", "/v1/transactions/{}/receipt", "txn"}, {"DELETE", "/v1/transactions/{}/receipt", "txn"},
		{"GET", "/v1/agents/{}/cards", "agent"}, {"POST", "/v1/agents/{}/cards", "agent"}, {"GET", "/v1/agents/{}", "agent"},
		{"POST", "/v1/agents/{}/suspend", "agent"}, {"POST", "/v1/agents/{}/tokens", "agent"},
		{"GET", "/v1/users/{}", "user"}, {"GET", "/v1/users/{}/cards", "user"}, {"GET", "/v1/transactions?agentId={}", "agent"},
	}
	bodies := map[string]any{"POST": map[string]any{"summary": "x", "intentId": "steal", "purpose": "p", "name": "n"},
		"PATCH": map[string]any{"notes": "mine now", "maxAmount": 1}, "PUT": map[string]any{"url": "https://example.com/r.pdf"}}

	snapshot := func() string {
		var b strings.Builder
		for _, a := range agents {
			for _, p := range []string{"/v1/cards/" + a.ids["card"], "/v1/cards/" + a.ids["card"] + "/intents",
				"/v1/transactions/" + a.ids["txn"], "/v1/balances/" + a.ids["user"], "/v1/agents/" + a.ids["agent"],
				"/v1/agents/" + a.ids["agent"] + "/tokens", "/v1/cards/" + a.ids["card"] + "/access-events"} {
				b.Write(e.Must(200, "GET", p, nil).Body)
			}
		}
		return b.String()
	}
	before := snapshot()
	rng := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 400; i++ {
		caller := agents[rng.IntN(len(agents))]
		owner := agents[rng.IntN(len(agents))]
		tpl := templates[rng.IntN(len(templates))]
		if owner.ids["agent"] == caller.ids["agent"] {
			continue
		}
		if tpl.kind == "user" && owner.ids["user"] == caller.ids["user"] {
			// Users are the API key's domain: 403 whoever owns them.
			owner = caller
		}
		path := strings.Replace(tpl.path, "{}", owner.ids[tpl.kind], 1)
		r := e.Do(tpl.method, path, bodies[tpl.method], "Api-Key", caller.token)
		require.Contains(t, []int{403, 404}, r.Status, "%s %s by another agent's token: %d %s", tpl.method, path, r.Status, r.Body)
		// Nothing of the owner that the caller did not name comes back.
		for kind, id := range owner.ids {
			if !strings.Contains(path, id) && kind != "user" {
				require.NotContains(t, string(r.Body), id, "%s %s leaked the owner's %s", tpl.method, path, kind)
			}
		}
	}
	require.Equal(t, before, snapshot(), "nothing of another agent changed")

	// Lists show the caller's own records only, whatever the filter.
	for _, a := range agents {
		for _, q := range []string{"", "?userId=" + agents[0].ids["user"], "?userId=" + agents[3].ids["user"], "?status=authorized"} {
			r := e.Do("GET", "/v1/transactions"+q, nil, "Api-Key", a.token)
			require.Equal(t, 200, r.Status, "%s", r.Body)
			for _, tx := range r.Data() {
				require.Equal(t, a.ids["agent"], tx["agentId"], "GET /v1/transactions%s by an agent token", q)
			}
		}
	}
}
