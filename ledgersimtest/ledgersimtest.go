package ledgersimtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/ledgersim/ledgersim/client"
	"github.com/ledgersim/ledgersim/server"
)

// APIKey is the organization's API key the test server runs with.
const APIKey = "lk_test_ledgersimtest_0123456789abcdef"

// Config changes what New starts. The zero value is what New uses.
type Config struct {
	// KYCAuto approves a user's KYC as soon as verification is started.
	KYCAuto bool
	// RateLimits turns on the platform's per-caller API rate limits.
	RateLimits bool
	// Start is the virtual clock's first reading. Default: the wall clock
	// when the server starts.
	Start time.Time
	// RealClock runs the server on the wall clock instead of a virtual
	// one; Clock.Advance then fails the test.
	RealClock bool
	// DataDir holds the store. Default: a new t.TempDir().
	DataDir string
	// Logger receives the server's logs. Default: discarded unless the
	// tests run with -v.
	Logger *slog.Logger
}

// Server is a running ledgersim.
type Server struct {
	// Client calls the API with the organization's API key.
	Client *client.Client
	// BaseURL is the HTTP API's address, http://127.0.0.1:<port>.
	BaseURL string
	// ISOAddr is the ISO 8583 listener's address, 127.0.0.1:<port>.
	ISOAddr string
	// Clock is the server's virtual clock.
	Clock *Clock

	t   testing.TB
	srv *server.Server
}

// New starts a ledgersim for t and stops it when t ends.
func New(t testing.TB) *Server { return NewWithConfig(t, Config{}) }

// NewWithConfig is New with cfg.
func NewWithConfig(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil && !testing.Verbose() {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	sc := server.Config{DataDir: cfg.DataDir, HTTPAddr: "127.0.0.1:0", ISOAddr: "127.0.0.1:0", APIKey: APIKey,
		KYC: "manual", Clock: "virtual", VirtualStart: cfg.Start, RateLimits: cfg.RateLimits, Logger: cfg.Logger, KeyOut: io.Discard}
	if cfg.KYCAuto {
		sc.KYC = "auto"
	}
	if cfg.RealClock {
		sc.Clock = "real"
	}
	srv, err := server.Start(sc)
	if err != nil {
		t.Fatalf("ledgersimtest: starting the server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("ledgersimtest: stopping the server: %v", err)
		}
	})
	base := "http://" + srv.HTTPAddr()
	c, err := client.New(client.Config{BaseURL: base, APIKey: APIKey, HTTPClient: &http.Client{Timeout: time.Minute}})
	if err != nil {
		t.Fatalf("ledgersimtest: %v", err)
	}
	s := &Server{Client: c, BaseURL: base, ISOAddr: srv.ISOAddr(), t: t, srv: srv}
	s.Clock = &Clock{s: s}
	return s
}

// AgentClient returns a client that calls the API with an agent's token.
func (s *Server) AgentClient(token string) *client.Client { return s.Client.WithAPIKey(token) }

// Funded is what FundedAgent made.
type Funded struct {
	UserID  string
	AgentID string
	// AgentToken is the agent's first token.
	AgentToken string
	// Agent calls the API with AgentToken.
	Agent *client.Client
}

// FundedAgent creates a user with email, approves their KYC, deposits
// cents (as USDC on base) and registers an agent for them. It fails the
// test on any error.
func (s *Server) FundedAgent(email string, cents int64) Funded {
	s.t.Helper()
	ctx := context.Background()
	u, err := s.Client.CreateUser(ctx, client.CreateUserParams{FirstName: "Test", LastName: "User", Email: email})
	s.check(err)
	_, err = s.Client.SimulateKYC(ctx, u.ID, client.KYCApproved)
	s.check(err)
	if cents > 0 {
		_, err = s.Client.SimulateDeposit(ctx, client.SimulateDepositParams{UserID: u.ID, Asset: "USDC", Chain: "base",
			Amount: tokenUnits(cents)})
		s.check(err)
	}
	reg, err := s.Client.RegisterAgent(ctx, client.AgentParams{UserID: u.ID, Name: "agent"})
	s.check(err)
	return Funded{UserID: u.ID, AgentID: reg.ID, AgentToken: reg.Token, Agent: s.AgentClient(reg.Token)}
}

func (s *Server) check(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatalf("ledgersimtest: %v", err)
	}
}

// tokenUnits writes cents as token units with two decimals.
func tokenUnits(cents int64) string { return fmt.Sprintf("%d.%02d", cents/100, cents%100) }

// Clock is the test server's virtual clock.
type Clock struct{ s *Server }

// Now is the server's current time.
func (c *Clock) Now() time.Time { return c.s.srv.Clock().Now() }

// Advance moves the clock forward by d (whole minutes) through the API, so
// that what comes due is applied as it would be in a running server:
// intents expire, holds lapse, webhook retries are sent. It returns the new
// time and fails the test on error.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.s.t.Helper()
	clk, err := c.s.Client.AdvanceClock(context.Background(), d)
	if err != nil {
		c.s.t.Fatalf("ledgersimtest: advancing the clock: %v", err)
	}
	return time.UnixMilli(clk.Now).UTC()
}
