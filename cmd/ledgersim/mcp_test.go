package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/mcptest"
	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

// stdioSession runs `ledgersim mcp` as its own process with the credential
// and talks to it over stdin/stdout with the SDK's command transport.
func stdioSession(t *testing.T, bin, api string, flags ...string) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.Command(bin, append([]string{"mcp", "--api", api, "--log-level", "error"}, flags...)...)
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	s, err := c.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestMCPOverStdio: `ledgersim mcp` over stdio lists the tools its
// credential allows and carries an agent's whole purchase.
func TestMCPOverStdio(t *testing.T) {
	bin := testenv.BuildBinary(t)
	e := testenv.Start(t, server.Config{})
	admin := stdioSession(t, bin, e.Base, "--api-key", testenv.APIKey)
	require.Equal(t, mcptest.AllTools, mcptest.ToolNames(t, admin))
	mcptest.Purchase(t, admin, func(token string) *mcp.ClientSession {
		agent := stdioSession(t, bin, e.Base, "--agent-token", token)
		require.Equal(t, mcptest.AgentTools, mcptest.ToolNames(t, agent))
		return agent
	})
	// A bad argument is the API's error, and the process carries on.
	msg := mcptest.CallErr(t, admin, "ledger_card", map[string]any{"action": "get", "cardId": "card_nope"})
	require.Contains(t, msg, "404 not_found_error/card_not_found")
	require.Equal(t, mcptest.AllTools, mcptest.ToolNames(t, admin))
}

// TestMCPRefusesABadCredential: a wrong key or no key stops `ledgersim mcp`
// at start with the reason, before any tool is offered.
func TestMCPRefusesABadCredential(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"wrong key", []string{"--api-key", "lk_test_not_the_key_0000000000"}, 1, "401 authentication_error/invalid_api_key"},
		{"unknown agent token", []string{"--agent-token", "at_test_nothing"}, 1, "invalid_api_key"},
		{"no credential", nil, 2, "give --api-key or --agent-token"},
		{"bad transport", []string{"--api-key", testenv.APIKey, "--transport", "carrier-pigeon"}, 2, "--transport must be stdio or http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("LEDGER_API_KEY", "")
			t.Setenv("LEDGER_AGENT_TOKEN", "")
			t.Setenv("LEDGERSIM_API_KEY", "")
			var out, errOut bytes.Buffer
			code := mcpCmd(append([]string{"--api", e.Base}, tc.args...), bytes.NewReader(nil), &out, &errOut)
			require.Equal(t, tc.code, code, errOut.String())
			require.Contains(t, errOut.String(), tc.want)
			require.Empty(t, out.String(), "nothing on the protocol stream")
			require.NotContains(t, errOut.String(), "lk_test_not_the_key")
		})
	}
}

// TestMCPOverHTTP: `ledgersim mcp --transport http` as its own process
// serves streamable HTTP at /mcp; each session brings its credential.
func TestMCPOverHTTP(t *testing.T) {
	bin := testenv.BuildBinary(t)
	e := testenv.Start(t, server.Config{})
	cmd := exec.Command(bin, "mcp", "--transport", "http", "--listen", "127.0.0.1:0", "--api", e.Base)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	var started struct{ URL string }
	sc := bufio.NewScanner(stderr)
	for started.URL == "" && sc.Scan() {
		_ = json.Unmarshal(sc.Bytes(), &started)
	}
	require.NotEmpty(t, started.URL, "the serving line names the URL")
	go func() { _, _ = io.Copy(io.Discard, stderr) }()

	connect := func(key string) *mcp.ClientSession {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
		s, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: started.URL, DisableStandaloneSSE: true,
			HTTPClient: &http.Client{Transport: bearer(key)}}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	admin := connect(testenv.APIKey)
	require.Equal(t, mcptest.AllTools, mcptest.ToolNames(t, admin))
	mcptest.Purchase(t, admin, func(token string) *mcp.ClientSession {
		agent := connect(token)
		require.Equal(t, mcptest.AgentTools, mcptest.ToolNames(t, agent))
		return agent
	})
}

// bearer sends key as an Authorization bearer token.
type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}
