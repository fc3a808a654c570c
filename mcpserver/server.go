package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ledgersim/ledgersim/apikey"
	"github.com/ledgersim/ledgersim/client"
	"github.com/ledgersim/ledgersim/model"
)

// Config says where the API is.
type Config struct {
	// BaseURL is the management API, such as http://127.0.0.1:8080.
	// Required.
	BaseURL string
	// HTTPClient sends the API requests. Default: the client package's.
	HTTPClient *http.Client
	// Version is reported to MCP clients. Default "dev".
	Version string
	// Logger receives tool failures that are not the API's answers (a
	// panic, an unreachable server). Tool arguments are never logged: they
	// can hold card data. Default: discard.
	Logger *slog.Logger
}

func (c *Config) defaults() error {
	if c.BaseURL == "" {
		return errors.New("mcpserver: BaseURL is required")
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// IsAgentToken says whether key is an agent token rather than the
// organization's API key.
func IsAgentToken(key string) bool { return strings.HasPrefix(key, apikey.PrefixAgentToken) }

// NewServer returns an MCP server whose tools call the API with key: the
// agent tools for an agent token, all of them for the API key.
func NewServer(cfg Config, key string) (*mcp.Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{BaseURL: cfg.BaseURL, APIKey: key, HTTPClient: cfg.HTTPClient, UserAgent: "ledgersim-mcp/" + cfg.Version})
	if err != nil {
		return nil, err
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "ledgersim", Version: cfg.Version}, &mcp.ServerOptions{
		Instructions: "Tools of the ledgersim card platform. Amounts are integer cents, times epoch milliseconds. " +
			"Each tool takes an 'action'; an error is the platform API's own error text.",
	})
	t := &tools{c: c, log: cfg.Logger, agent: IsAgentToken(key)}
	t.register(s)
	return s, nil
}

// Credential reads the key an HTTP request carries: the Api-Key header,
// or an Authorization bearer token.
func Credential(r *http.Request) string {
	if k := r.Header.Get("Api-Key"); k != "" {
		return k
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// Handler serves MCP over streamable HTTP. A session's tools use the
// credential of the request that opened it; defaultKey, when not empty,
// serves requests that carry none. Without either the answer is a 401 in the
// API's error shape.
func Handler(cfg Config, defaultKey string) (http.Handler, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	h := mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
		key := Credential(r)
		if key == "" {
			key = defaultKey
		}
		s, err := NewServer(cfg, key)
		if err != nil {
			cfg.Logger.Error("mcp session not started", "err", err)
			return nil
		}
		return s
	}, &mcp.StreamableHTTPOptions{Logger: cfg.Logger, SessionTimeout: 30 * time.Minute})
	var ids model.IDGen
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Credential(r) == "" && defaultKey == "" {
			id := ids.New(model.PrefixRequest, time.Now())
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Request-Id", id)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = fmt.Fprintf(w, `{"error":{"type":"authentication_error","code":"missing_api_key","message":"Missing Api-Key header."},"requestId":%q}`, id)
			return
		}
		h.ServeHTTP(w, r)
	}), nil
}

// tools holds what every tool needs.
type tools struct {
	c     *client.Client
	log   *slog.Logger
	agent bool
}

// actions maps an action name to what it does.
type actions[In any] map[string]func(context.Context, In) (any, error)

func (a actions[In]) names() string {
	n := make([]string, 0, len(a))
	for k := range a {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// add registers one tool. Its handler dispatches on the action, turns an API
// refusal into the tool's error text, and never lets a panic out.
func add[In any](s *mcp.Server, t *tools, name, desc string, action func(In) string, acts actions[In]) {
	desc += " Actions: " + acts.names() + "."
	mcp.AddTool(s, &mcp.Tool{Name: name, Description: desc}, func(ctx context.Context, _ *mcp.CallToolRequest, in In) (res *mcp.CallToolResult, out any, err error) {
		defer func() {
			if p := recover(); p != nil {
				t.log.Error("mcp tool panicked", "tool", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				res, out, err = nil, nil, fmt.Errorf("%s failed inside ledgersim; nothing was changed by this call", name)
			}
		}()
		act := action(in)
		f, ok := acts[act]
		if !ok {
			if act == "" {
				return nil, nil, fmt.Errorf("Missing required parameter 'action': one of %s.", acts.names())
			}
			return nil, nil, fmt.Errorf("'action' must be one of %s, not %q.", acts.names(), act)
		}
		v, err := f(ctx, in)
		if err != nil {
			return nil, nil, toolError(err)
		}
		return nil, v, nil
	})
}

// toolError is the API's own error text: status, type, code, message and
// the parameter at fault.
func toolError(err error) error {
	if e, ok := client.AsError(err); ok {
		return errors.New(e.Error())
	}
	return err
}

// missing is the API's wording for a required parameter that was not given,
// for the ones that go in a path rather than a body.
func missing(param string) error {
	return fmt.Errorf("400 validation_error/parameter_missing: Missing required parameter '%s'.", param)
}

// notAvailable answers for what this version does not have.
func notAvailable(tool, what string) error {
	return fmt.Errorf("%s is not available in this version of ledgersim: %s. Nothing was read or changed.", tool, what)
}
