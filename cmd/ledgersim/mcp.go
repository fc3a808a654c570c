package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ledgersim/ledgersim/client"
	"github.com/ledgersim/ledgersim/internal/cliflag"
	"github.com/ledgersim/ledgersim/mcpserver"
)

// mcpCmd serves the platform's MCP tools against a running ledgersim's API,
// over stdio (the default: one credential from the flags) or streamable
// HTTP (each session brings its own in Api-Key or Authorization: Bearer).
func mcpCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ledgersim mcp [flags]\n\nServe the ledger_* MCP tools against a running server's API.\n\nflags:")
		cliflag.Print(stderr, fs, nil)
	}
	ef := envFlags{fs}
	var apiURL, apiKey, agentToken, transport, listen, logLevel string
	ef.str(&apiURL, "api", "http://localhost:8080", "base URL of the ledgersim API")
	ef.str(&apiKey, "api-key", os.Getenv("LEDGER_API_KEY"), "the organization's API key: every tool (env LEDGER_API_KEY too)")
	ef.str(&agentToken, "agent-token", os.Getenv("LEDGER_AGENT_TOKEN"), "an agent token: the agent tools only; wins over --api-key (env LEDGER_AGENT_TOKEN too)")
	ef.str(&transport, "transport", "stdio", "stdio, or http (streamable HTTP at /mcp)")
	ef.str(&listen, "listen", "127.0.0.1:8090", "address of the HTTP transport; keep it on loopback")
	ef.str(&logLevel, "log-level", "info", "log level: debug, info, warn, error (logs go to stderr)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
		fmt.Fprintf(stderr, "ledgersim mcp: bad --log-level %q\n", logLevel)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	key := apiKey
	if agentToken != "" {
		key = agentToken
	}
	cfg := mcpserver.Config{BaseURL: apiURL, Version: version, Logger: log}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch transport {
	case "stdio":
		if key == "" {
			fmt.Fprintln(stderr, "ledgersim mcp: give --api-key or --agent-token (or LEDGER_API_KEY / LEDGER_AGENT_TOKEN)")
			return 2
		}
		if err := probe(ctx, apiURL, key); err != nil {
			fmt.Fprintf(stderr, "ledgersim mcp: %v\n", err)
			return 1
		}
		s, err := mcpserver.NewServer(cfg, key)
		if err != nil {
			fmt.Fprintf(stderr, "ledgersim mcp: %v\n", err)
			return 2
		}
		err = s.Run(ctx, &mcp.IOTransport{Reader: io.NopCloser(stdin), Writer: nopWriteCloser{stdout}})
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
			log.Error("mcp stopped", "err", err)
			return 1
		}
		return 0
	case "http":
		if key != "" {
			if err := probe(ctx, apiURL, key); err != nil {
				fmt.Fprintf(stderr, "ledgersim mcp: %v\n", err)
				return 1
			}
		}
		h, err := mcpserver.Handler(cfg, key)
		if err != nil {
			fmt.Fprintf(stderr, "ledgersim mcp: %v\n", err)
			return 2
		}
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			fmt.Fprintf(stderr, "ledgersim mcp: %v\n", err)
			return 1
		}
		mux := http.NewServeMux()
		mux.Handle("/mcp", h)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		log.Info("ledgersim mcp serving", "url", "http://"+ln.Addr().String()+"/mcp", "api", apiURL)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("mcp stopped", "err", err)
			return 1
		}
		return 0
	default:
		fmt.Fprintf(stderr, "ledgersim mcp: --transport must be stdio or http, got %q\n", transport)
		return 2
	}
}

// probe checks the credential against the API once, so that a wrong key is
// reported at start rather than by every tool call.
func probe(ctx context.Context, apiURL, key string) error {
	c, err := client.New(client.Config{BaseURL: apiURL, APIKey: key})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if mcpserver.IsAgentToken(key) {
		_, err = c.ListTransactions(ctx, client.ListTransactionsParams{ListParams: client.ListParams{Limit: 1}})
	} else {
		_, err = c.GetClock(ctx)
	}
	if err != nil {
		return fmt.Errorf("the API at %s refused the credential or could not be reached: %w", apiURL, err)
	}
	return nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
