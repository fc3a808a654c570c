package server_test

import (
	"bytes"
	"log/slog"
	"net"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/server"
)

// TestRestartKeepsEverything stops a server and starts another on the same
// data directory: every record, index, token and idempotency record is as
// it was, and the generated API key still works without being printed again.
func TestRestartKeepsEverything(t *testing.T) {
	var keyOut bytes.Buffer
	dir := t.TempDir()
	// Start without a configured key: one is generated and printed once.
	cfg := server.Config{DataDir: dir, KeyOut: &keyOut}
	e := startWithGeneratedKey(t, cfg)
	key := regexp.MustCompile(`lk_test_[A-Za-z0-9]+`).FindString(keyOut.String())
	require.NotEmpty(t, key, "the first start prints its key")
	require.NotContains(t, readAll(t, dir), key, "only the key's hash is stored")
	h := func(extra ...string) []string { return append([]string{"Api-Key", key}, extra...) }

	userID := e.Must(201, "POST", "/v1/users", map[string]any{"firstName": "R", "lastName": "S", "email": "r@example.com"}, h()...).Str("id")
	e.Must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": userID, "decision": "approved"}, h()...)
	dep := map[string]any{"userId": userID, "asset": "USDC", "chain": "base", "amount": 42}
	depFirst := e.Must(201, "POST", "/v1/simulate/deposit", dep, h("Idempotency-Key", "dep-r")...)
	reg := e.Must(201, "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "bot", "externalId": "ext-r"}, h()...)
	agentID, tok := reg.Str("id"), reg.Str("token")
	revoked := e.Must(201, "POST", "/v1/agents/"+agentID+"/tokens", map[string]any{"name": "old"}, h()...)
	e.Must(200, "POST", "/v1/agents/"+agentID+"/tokens/"+revoked.Str("id")+"/revoke", nil, h()...)
	raw := map[string]any{"purpose": "p", "type": "multi", "credentialExposure": "rawPan", "acknowledgeRawPanRisk": true}
	card := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", raw, h()...).Str("id")
	frozen := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", raw, h()...).Str("id")
	e.Must(200, "POST", "/v1/cards/"+frozen+"/freeze", nil, h()...)
	e.Must(201, "POST", "/v1/cards/"+card+"/intents", map[string]any{"intentId": "o-1", "summary": "lunch", "expectedAmount": 2500, "expectedMerchant": "DoorDash"}, h()...)
	creds := e.Must(200, "POST", "/v1/cards/"+card+"/details", map[string]any{"summary": "before"}, h()...)

	paths := []string{"/v1/users/" + userID, "/v1/balances/" + userID, "/v1/agents/" + agentID, "/v1/cards/" + card,
		"/v1/cards/" + frozen, "/v1/agents/" + agentID + "/cards", "/v1/users", "/v1/agents", "/v1/cards/" + card + "/access-events",
		"/v1/users/" + userID + "/funding", "/v1/agents/" + agentID + "/tokens", "/v1/cards/" + card + "/intents"}
	before := map[string][]byte{}
	for _, p := range paths {
		before[p] = e.Must(200, "GET", p, nil, h()...).Body
	}

	keyOut.Reset()
	e.Stop()
	e = startWithGeneratedKey(t, cfg)
	require.Empty(t, keyOut.String(), "the key is printed only on the first start")

	for _, p := range paths {
		require.JSONEq(t, string(before[p]), string(e.Must(200, "GET", p, nil, h()...).Body), p)
	}
	// The PAN index and the card keys survived: the same PAN and CVV come back.
	after := e.Must(200, "POST", "/v1/cards/"+card+"/details", map[string]any{"summary": "after"}, h()...)
	require.Equal(t, creds.Str("pan"), after.Str("pan"))
	require.Equal(t, creds.Str("cvv"), after.Str("cvv"))
	// Unique indexes are rebuilt.
	require.Equal(t, "email_already_exists", e.Must(409, "POST", "/v1/users", map[string]any{"firstName": "R", "lastName": "S", "email": "r@example.com"}, h()...).ErrCode())
	again := e.Must(200, "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "bot", "externalId": "ext-r"}, h()...)
	require.Equal(t, agentID, again.Str("id"))
	// Tokens keep their state.
	e.Must(200, "GET", "/v1/cards/"+card, nil, "Api-Key", tok)
	e.Must(401, "GET", "/v1/cards/"+card, nil, "Api-Key", revoked.Str("token"))
	// The idempotency record replays after the restart and credits nothing twice.
	replay := e.Must(201, "POST", "/v1/simulate/deposit", dep, h("Idempotency-Key", "dep-r")...)
	require.Equal(t, depFirst.Body, replay.Body)
	require.EqualValues(t, 4200, e.Must(200, "GET", "/v1/balances/"+userID, nil, h()...).Num("available"))
	// And new records continue to work.
	e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "new"}, h()...)
}

// TestFailedFirstStartKeepsNoKey starts on a fresh directory with the HTTP
// port taken: the start fails and neither prints nor stores a key, so the
// next start prints the one it creates.
func TestFailedFirstStartKeepsNoKey(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	dir := t.TempDir()
	var keyOut bytes.Buffer
	cfg := server.Config{DataDir: dir, KeyOut: &keyOut, HTTPAddr: busy.Addr().String(), ISOAddr: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler)}
	_, err = server.Start(cfg)
	require.Error(t, err)
	require.Empty(t, keyOut.String(), "a failed start prints no key")

	startWithGeneratedKey(t, server.Config{DataDir: dir, KeyOut: &keyOut})
	key := regexp.MustCompile(`lk_test_[A-Za-z0-9]+`).FindString(keyOut.String())
	require.NotEmpty(t, key, "the first start that serves prints its key")
}
