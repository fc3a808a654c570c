package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeAPI is the part of the management API Provision uses.
type fakeAPI struct {
	key     string
	intents bool

	mu        sync.Mutex
	n         int
	calls     map[string]int
	idemKeys  map[string]int
	failFirst bool // answer the first user creation with a 503
	cards     map[string]map[string]any
	pans      []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Api-Key") != f.key {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":{"type":"authentication_error","code":"invalid_api_key","message":"Invalid API key."}}`)
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		w.WriteHeader(400)
		return
	}
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		f.idemKeys[k]++
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	route := r.URL.Path
	if len(parts) == 4 && parts[0] == "v1" {
		route = "/v1/" + parts[1] + "/{id}/" + parts[3]
	}
	f.calls[route]++
	f.n++
	reply := func(status int, v any) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch route {
	case "/v1/users":
		if f.failFirst {
			f.failFirst = false
			w.WriteHeader(503)
			return
		}
		reply(201, map[string]any{"id": fmt.Sprintf("user_%d", f.n)})
	case "/v1/simulate/kyc":
		if body["decision"] != "approved" {
			w.WriteHeader(400)
			return
		}
		reply(200, map[string]any{"id": body["userId"], "status": "approved"})
	case "/v1/simulate/deposit":
		reply(201, map[string]any{"object": "deposit"})
	case "/v1/agents/register":
		reply(201, map[string]any{"id": fmt.Sprintf("agent_%d", f.n), "token": "at_test_x"})
	case "/v1/agents/{id}/cards":
		if body["credentialExposure"] != "rawPan" || body["acknowledgeRawPanRisk"] != true || body["type"] != "multi" {
			reply(400, map[string]any{"error": map[string]any{"code": "parameter_invalid", "message": "bad card"}})
			return
		}
		id := fmt.Sprintf("card_%d", f.n)
		f.cards[id] = body
		reply(201, map[string]any{"id": id})
	case "/v1/cards/{id}/intents":
		if !f.intents {
			reply(404, map[string]any{"error": map[string]any{"type": "not_found_error", "code": "not_found", "message": "No such route."}})
			return
		}
		reply(201, map[string]any{"id": "int_1", "intentId": body["intentId"], "status": "pending"})
	case "/v1/cards/{id}/details":
		pan := SyntheticCards(1, uint64(f.n))[0].PAN
		f.pans = append(f.pans, pan)
		reply(200, map[string]any{"pan": pan, "cvv": "123", "expirationMonth": "07", "expirationYear": "2031"})
	default:
		w.WriteHeader(404)
	}
}

func newFakeAPI(intents bool) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{key: "lk_test_key", intents: intents, calls: map[string]int{}, idemKeys: map[string]int{},
		cards: map[string]map[string]any{}, failFirst: true}
	return f, httptest.NewServer(f)
}

func TestProvisionWithoutIntents(t *testing.T) {
	f, srv := newFakeAPI(false)
	defer srv.Close()
	st, err := Provision(context.Background(), srv.URL, f.key, 7, ProvisionOptions{CardsPerUser: 3, Tag: "t1"})
	require.NoError(t, err)
	require.Len(t, st.Cards, 7)
	assert.False(t, st.IntentsSupported, "a 404 on intents means no intents")
	assert.Equal(t, 3, f.calls["/v1/users"]-1, "three users (plus one retried 503)")
	assert.Equal(t, 3, f.calls["/v1/simulate/kyc"])
	assert.Equal(t, 3, f.calls["/v1/simulate/deposit"])
	assert.Equal(t, 3, f.calls["/v1/agents/register"])
	assert.Equal(t, 7, f.calls["/v1/agents/{id}/cards"])
	assert.Equal(t, 7, f.calls["/v1/cards/{id}/details"])
	retried := 0
	for k, n := range f.idemKeys {
		if n > 1 {
			retried++
			assert.True(t, strings.HasSuffix(k, "-user"), k)
		}
	}
	assert.Equal(t, 1, retried, "the retry after the 503 reused its idempotency key")
	for i, c := range st.Cards {
		assert.Equal(t, merchantFor(i), c.Merchant, "card %d keeps its merchant", i)
		assert.Empty(t, c.IntentID)
		assert.Equal(t, int64(100_000), c.MaxAmountCents)
		assert.NotEmpty(t, c.ID)
		assert.Equal(t, float64(100_000), f.cards[c.ID]["maxAmount"])
		require.NoError(t, c.validate())
	}
	assert.NotEqual(t, st.Cards[0].UserID, st.Cards[3].UserID, "three cards per user")
	assert.Equal(t, st.Cards[0].UserID, st.Cards[2].UserID)

	// A run with these cards sends the intent share as auth.
	r := &runner{cfg: Config{Target: "127.0.0.1:1", Cards: st.Cards}.withDefaults()}
	require.NoError(t, r.prepare())
	assert.Empty(t, r.intentCards)
	for _, k := range r.table {
		assert.NotEqual(t, KindIntent, k)
	}
}

func TestProvisionWithIntents(t *testing.T) {
	f, srv := newFakeAPI(true)
	defer srv.Close()
	st, err := Provision(context.Background(), srv.URL, f.key, 4, ProvisionOptions{Tag: "t2", IntentAmountCents: 1234})
	require.NoError(t, err)
	assert.True(t, st.IntentsSupported)
	assert.Equal(t, 4, f.calls["/v1/cards/{id}/intents"])
	for _, c := range st.Cards {
		assert.NotEmpty(t, c.IntentID)
		assert.Equal(t, int64(1234), c.IntentAmountCents)
	}
}

func TestProvisionErrors(t *testing.T) {
	f, srv := newFakeAPI(false)
	defer srv.Close()
	_, err := Provision(context.Background(), srv.URL, "wrong", 2, ProvisionOptions{})
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 401, ae.Status)
	assert.Equal(t, "invalid_api_key", ae.Code)

	_, err = Provision(context.Background(), "", f.key, 2, ProvisionOptions{})
	assert.Error(t, err)
	_, err = Provision(context.Background(), srv.URL, f.key, 0, ProvisionOptions{})
	assert.Error(t, err)
}

func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultStateFile)
	st := &State{Version: stateVersion, IntentsSupported: true, Cards: SyntheticCards(3, 4)}
	require.NoError(t, st.Save(path))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the state file holds PANs")
	back, err := LoadState(path)
	require.NoError(t, err)
	assert.Equal(t, st.Cards, back.Cards)
	assert.True(t, back.IntentsSupported)

	// Saving again replaces the file and keeps the mode.
	require.NoError(t, st.Save(path))
	fi, err = os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left behind")

	_, err = LoadState(filepath.Join(dir, "missing.json"))
	assert.Error(t, err)
	require.NoError(t, os.WriteFile(path, []byte(`{"version":99,"cards":[]}`), 0o600))
	_, err = LoadState(path)
	assert.ErrorContains(t, err, "version")
	bad := *st
	bad.Cards = SyntheticCards(1, 1)
	bad.Cards[0].ExpMonth = "13"
	require.NoError(t, bad.Save(path))
	_, err = LoadState(path)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), bad.Cards[0].PAN)
}

func TestCardsAreMasked(t *testing.T) {
	c := SyntheticCards(1, 1)[0]
	assert.Equal(t, c.PAN[:6]+"******"+c.PAN[12:], MaskPAN(c.PAN))
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		assert.NotContains(t, s, c.PAN)
		assert.NotContains(t, s, c.PAN[6:12])
	}
	assert.Equal(t, "****", MaskPAN("1234"))
	for _, c := range SyntheticCards(50, 2) {
		assert.True(t, luhnValid(c.PAN), c.String())
	}
}

func luhnValid(pan string) bool {
	sum := 0
	for i := len(pan) - 1; i >= 0; i-- {
		d := int(pan[i] - '0')
		if (len(pan)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
