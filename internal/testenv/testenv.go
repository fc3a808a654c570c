package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/oascheck"
	"github.com/ledgersim/ledgersim/server"
)

// APIKey is the organization key test servers run with.
const APIKey = "lk_test_integration_key_0123456789"

// Env is a running server and a client for it.
type Env struct {
	T      testing.TB
	Dir    string
	Server *server.Server
	Base   string
	Cfg    server.Config
	Client *http.Client
}

// Start runs a server on 127.0.0.1 ports chosen by the OS, with data in a
// fresh temporary directory (or in cfg.DataDir when set).
func Start(t testing.TB, cfg server.Config) *Env {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.APIKey == "" {
		cfg.APIKey = APIKey
	}
	return StartRaw(t, cfg)
}

// StartRaw is Start without filling in the API key: an empty key makes the
// server generate one.
func StartRaw(t testing.TB, cfg server.Config) *Env {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.HTTPAddr = "127.0.0.1:0"
	if cfg.ISOAddr == "" {
		cfg.ISOAddr = "127.0.0.1:0"
	}
	if cfg.Logger == nil && !testing.Verbose() {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.KeyOut == nil {
		cfg.KeyOut = io.Discard
	}
	s, err := server.Start(cfg)
	require.NoError(t, err)
	e := &Env{T: t, Dir: cfg.DataDir, Server: s, Base: "http://" + s.HTTPAddr(), Cfg: cfg,
		Client: &http.Client{Timeout: 30 * time.Second, Transport: oascheck.Transport(t, nil)}}
	t.Cleanup(func() { e.Stop() })
	return e
}

// Stop shuts the server down (idempotent).
func (e *Env) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = e.Server.Shutdown(ctx)
}

// Restart stops the server and starts a new one on the same data directory.
func (e *Env) Restart() {
	e.Stop()
	cfg := e.Cfg
	s, err := server.Start(cfg)
	require.NoError(e.T, err)
	e.Server = s
	e.Base = "http://" + s.HTTPAddr()
}

// Resp is a decoded response.
type Resp struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// Str returns a top-level string field.
func (r *Resp) Str(k string) string { s, _ := r.JSON[k].(string); return s }

// Num returns a top-level number field.
func (r *Resp) Num(k string) int64 { f, _ := r.JSON[k].(float64); return int64(f) }

// ErrCode is error.code of an error response.
func (r *Resp) ErrCode() string {
	e, _ := r.JSON["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// ErrParam is error.param of an error response.
func (r *Resp) ErrParam() string {
	e, _ := r.JSON["error"].(map[string]any)
	s, _ := e["param"].(string)
	return s
}

// Data is the data array of a list response.
func (r *Resp) Data() []map[string]any {
	raw, _ := r.JSON["data"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, x := range raw {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

// Do sends a request with the organization key (or key when given) and a
// JSON body (a string is sent as is).
func (e *Env) Do(method, path string, body any, headers ...string) *Resp {
	e.T.Helper()
	var rdr io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rdr = bytes.NewBufferString(b)
	case []byte:
		rdr = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.T, err)
		rdr = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.Base+path, rdr)
	require.NoError(e.T, err)
	req.Header.Set("Api-Key", APIKey)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.Client.Do(req)
	require.NoError(e.T, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.T, err)
	r := &Resp{Status: res.StatusCode, Header: res.Header, Body: raw}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		_ = json.Unmarshal(raw, &r.JSON)
	}
	return r
}

// Must sends a request and requires the given status.
func (e *Env) Must(status int, method, path string, body any, headers ...string) *Resp {
	e.T.Helper()
	r := e.Do(method, path, body, headers...)
	require.Equal(e.T, status, r.Status, "%s %s: %s", method, path, r.Body)
	return r
}

// Funded creates an approved user with a deposit of cents, an agent and
// returns their IDs and the agent's token.
func (e *Env) Funded(email string, cents int64) (userID, agentID, token string) {
	e.T.Helper()
	u := e.Must(201, "POST", "/v1/users", map[string]any{"firstName": "Test", "lastName": "User", "email": email})
	userID = u.Str("id")
	e.Must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": userID, "decision": "approved"})
	if cents > 0 {
		amt := json.Number(formatTokens(cents))
		e.Must(201, "POST", "/v1/simulate/deposit", map[string]any{"userId": userID, "asset": "USDC", "chain": "base", "amount": amt})
	}
	a := e.Must(201, "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "bot"})
	return userID, a.Str("id"), a.Str("token")
}

func formatTokens(cents int64) string {
	whole, frac := cents/100, cents%100
	b := []byte{}
	b = append(b, []byte(itoa(whole))...)
	b = append(b, '.', byte('0'+frac/10), byte('0'+frac%10))
	return string(b)
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
