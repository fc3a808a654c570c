package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/ledgersim/ledgersim/api"
	"github.com/ledgersim/ledgersim/apikey"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/faults"
	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/metrics"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
	"github.com/ledgersim/ledgersim/webhook"
)

// Config is everything `ledgersim serve` can be told. Every field documents
// its default.
type Config struct {
	// DataDir holds the store, the card keys and nothing else. Default "./data".
	DataDir string
	// HTTPAddr is the management API's listen address. Default ":8080".
	HTTPAddr string
	// ISOAddr is the ISO 8583 listener's address. Default ":8583".
	ISOAddr string
	// APIKey, when set, is the organization's API key. When empty, the first
	// start creates an lk_test_ key, stores only its hash and prints it once.
	APIKey string
	// KYC is "manual" (default: a person or POST /v1/simulate/kyc decides)
	// or "auto" (approve as soon as verification is initiated).
	KYC string
	// Clock is "real" (default) or "virtual".
	Clock string
	// VirtualStart is the virtual clock's reading on the first start of a
	// data directory (a restart resumes the stored time when that is later).
	// Default: the wall clock. Tests set it to run at a known instant.
	VirtualStart time.Time
	// BIN is the prefix of issued PANs. Default vault.DefaultBIN.
	BIN string
	// CardKey, when set (64 hex characters), derives the card-data keys
	// instead of reading or creating DataDir/keys.json.
	CardKey string
	// PublicURL is the base URL clients reach the HTTP API at (it prefixes
	// verification links). Default http://localhost:<http port>.
	PublicURL string
	// ISOFraming is "binary2" (default: 2-byte length header), "ascii4"
	// (4 ASCII digits), "binary4" (4-byte length) or "binary2-tpdu" (2-byte
	// length, then a 5-byte TPDU echoed with its addresses swapped).
	ISOFraming string
	// ISOMaxConns bounds the ISO 8583 connections open at once; one
	// accepted beyond it is closed at once. Default iso.DefaultMaxConns
	// (1000).
	ISOMaxConns int
	// ISOFrameTimeout is how long an ISO 8583 frame may take to arrive
	// once its first byte has; a slower sender is disconnected. Default
	// iso.DefaultFrameTimeout (10 seconds).
	ISOFrameTimeout time.Duration
	// HoldExpiry is how long an uncleared authorization holds funds.
	// Default 7 days.
	HoldExpiry time.Duration
	// AutoSettle completes an authorization still open that long after
	// its approval for its authorized amount, as a network's clearing file
	// would, on the server's clock. 0 (the zero value) turns it off; the
	// command's --auto-settle defaults to 48h.
	AutoSettle time.Duration
	// OverCapturePct is how far above the authorized amount a clearing may
	// capture, in percent. Default 20; negative means none.
	OverCapturePct int64
	// RepeatWindow is how long STAN and RRN are remembered for repeats.
	// Default 15 minutes.
	RepeatWindow time.Duration
	// LogSyncInterval is the least time between two syncs of the decision
	// log (ledger.Config.LogMinSyncInterval). Default 200µs.
	LogSyncInterval time.Duration
	// LogRetention is how long the decision log keeps what the store
	// already holds durably (ledger.Config.LogRetention). Default 10m.
	LogRetention time.Duration
	// CheckpointInterval and CheckpointRecords say how often the store
	// takes the checkpoint of balances, card usage and agent spend
	// (ledger.Config). Defaults 1s and 65,536 records.
	CheckpointInterval time.Duration
	CheckpointRecords  int
	// SnapshotInterval and SnapshotRecords say how often the ledger
	// writes a checkpoint of its memory tables (open holds, originals,
	// lists, events by type, the repeat window), so that a restart
	// replays only the log after it (ledger.Config). Defaults 5 minutes
	// and 2,000,000 records.
	SnapshotInterval time.Duration
	SnapshotRecords  int
	// RateLimits turns on the platform's documented API rate limits.
	RateLimits bool
	// AllowSharedDataDir starts the server on a data directory that group
	// or others may read. By default that is refused: the directory holds
	// the card keys, webhook secrets and personal data.
	AllowSharedDataDir bool
	// MaxBodyBytes bounds every API request body but a receipt upload's
	// (413 past it). Default api.MaxBodyBytes, 1 MiB.
	MaxBodyBytes int
	// MaxUploadBytes bounds a receipt upload's file (413 past it).
	// Default api.MaxUploadBytes, 10 MiB.
	MaxUploadBytes int
	// FaultsFile, when set, is a JSON array of fault-injection rules (the
	// objects POST /v1/simulate/faults takes) put in force at start. Rules
	// live in memory: this is how they survive a restart.
	FaultsFile string
	// Logger receives structured logs. Default: JSON to stderr.
	Logger *slog.Logger
	// KeyOut receives the one-time print of a generated API key. Default
	// os.Stdout.
	KeyOut io.Writer
}

func (c *Config) defaults() error {
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = ":8080"
	}
	if c.ISOAddr == "" {
		c.ISOAddr = ":8583"
	}
	switch c.KYC {
	case "":
		c.KYC = "manual"
	case "manual", "auto":
	default:
		return fmt.Errorf("server: --kyc must be manual or auto, got %q", c.KYC)
	}
	switch c.Clock {
	case "":
		c.Clock = "real"
	case "real", "virtual":
	default:
		return fmt.Errorf("server: --clock must be real or virtual, got %q", c.Clock)
	}
	if c.APIKey != "" && len(c.APIKey) < 16 {
		return errors.New("server: --api-key must be at least 16 characters")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if c.OverCapturePct == 0 {
		c.OverCapturePct = 20
	} else if c.OverCapturePct < 0 {
		c.OverCapturePct = 0
	}
	if _, err := iso.ParseFraming(orDefault(c.ISOFraming, "binary2")); err != nil {
		return fmt.Errorf("server: --iso-framing: %w", err)
	}
	if c.KeyOut == nil {
		c.KeyOut = os.Stdout
	}
	return nil
}

// Server is a running ledgersim.
type Server struct {
	metrics  *metrics.Metrics
	registry *prometheus.Registry
	iso      *iso.Server
	isoLn    net.Listener
	vclock   *clock.Virtual
	stopBg   chan struct{}
	bgDone   chan struct{}
	cfg      Config
	log      *slog.Logger
	db       *store.DB
	ledger   *ledger.Ledger
	faults   *faults.Set
	wh       *webhook.Service
	api      *api.API
	http     *fasthttp.Server
	httpLn   net.Listener
	done     chan error
	clock    clock.Clock
	stopped  bool
}

// Start opens everything and begins serving. It returns once the listeners
// are bound; Wait or Shutdown end it.
func Start(cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, done: make(chan error, 2)}
	if err := os.MkdirAll(cfg.DataDir, store.DirMode); err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}
	if err := checkPrivate(cfg.DataDir, cfg.AllowSharedDataDir); err != nil {
		return nil, err
	}
	v, err := vault.Open(vault.Config{Dir: cfg.DataDir, MasterKeyHex: cfg.CardKey, BIN: cfg.BIN})
	if err != nil {
		return nil, err
	}
	// The registry is the server's own, passed to every component and to
	// /metrics: nothing registers globally.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := metrics.New(reg)
	if err != nil {
		return nil, err
	}
	s.metrics, s.registry = m, reg
	var rules []faults.Spec
	if cfg.FaultsFile != "" {
		raw, err := os.ReadFile(cfg.FaultsFile)
		if err != nil {
			return nil, fmt.Errorf("server: --faults: %w", err)
		}
		if rules, err = faults.Parse(raw); err != nil {
			return nil, fmt.Errorf("server: --faults %s: %w", cfg.FaultsFile, err)
		}
	}
	db, err := store.Open(store.Options{Dir: cfg.DataDir, OnCommit: m.Commit})
	if err != nil {
		return nil, err
	}
	s.db = db
	fail := func(err error) (*Server, error) {
		_ = db.Close()
		return nil, err
	}
	s.clock = clock.Real{}
	if cfg.Clock == "virtual" {
		start := cfg.VirtualStart
		if start.IsZero() {
			start = time.Now()
		}
		s.vclock = clock.NewVirtual(start)
		if err := restoreVirtualTime(db, s.vclock); err != nil {
			return fail(err)
		}
		s.clock = s.vclock
	}
	keyHash, announceKey, err := s.apiKeyHash()
	if err != nil {
		return fail(err)
	}
	l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: s.clock, KYCAuto: cfg.KYC == "auto", Logger: cfg.Logger,
		HoldExpiry: cfg.HoldExpiry, AutoSettle: cfg.AutoSettle, OverCapturePct: cfg.OverCapturePct, RepeatWindow: cfg.RepeatWindow,
		LogMinSyncInterval: cfg.LogSyncInterval, LogRetention: cfg.LogRetention,
		CheckpointInterval: cfg.CheckpointInterval, CheckpointRecords: cfg.CheckpointRecords,
		SnapshotInterval: cfg.SnapshotInterval, SnapshotRecords: cfg.SnapshotRecords,
		OnIntentOutcome: m.IntentOutcome, OnLogSync: m.LogSync})
	if err != nil {
		return fail(err)
	}
	s.ledger = l
	fail = func(err error) (*Server, error) {
		_ = l.Close()
		_ = db.Close()
		return nil, err
	}
	// Webhook delivery tails the ledger's decision log from its own
	// cursor; it first fans out what the log holds after it (and an old
	// store's outbox) before anything new is decided.
	s.wh, err = webhook.New(webhook.Config{Store: db, Log: l, Clock: s.clock, Logger: cfg.Logger, OnAttempt: m.WebhookAttempt})
	if err != nil {
		return fail(err)
	}
	l.AttachEventReader(s.wh)
	m.WebhookQueue(s.wh.QueueDepth)
	fail = func(err error) (*Server, error) {
		_ = s.wh.Close()
		_ = l.Close()
		_ = db.Close()
		return nil, err
	}
	s.faults, err = faults.New(faults.Config{Registerer: reg, Clock: s.clock})
	if err != nil {
		return fail(err)
	}
	for _, r := range rules {
		if _, err := s.faults.Add(r, nil); err != nil {
			return fail(fmt.Errorf("server: --faults: %w", err))
		}
	}
	if len(rules) > 0 {
		s.log.Info("fault injection rules in force", "rules", len(rules), "file", cfg.FaultsFile)
	}

	framing, _ := iso.ParseFraming(orDefault(cfg.ISOFraming, "binary2"))
	s.iso, err = iso.NewServer(iso.Config{Addr: cfg.ISOAddr, Framing: framing, MaxConns: cfg.ISOMaxConns,
		FrameTimeout: cfg.ISOFrameTimeout, Logger: cfg.Logger, Observer: m.ISO()}, &isoHost{l: l, log: cfg.Logger, faults: s.faults})
	if err != nil {
		return fail(err)
	}
	s.isoLn, err = net.Listen("tcp", cfg.ISOAddr)
	if err != nil {
		return fail(fmt.Errorf("server: listen %s: %w", cfg.ISOAddr, err))
	}

	s.httpLn, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		_ = s.isoLn.Close()
		return fail(fmt.Errorf("server: listen %s: %w", cfg.HTTPAddr, err))
	}
	public := cfg.PublicURL
	if public == "" {
		_, port, _ := net.SplitHostPort(s.httpLn.Addr().String())
		public = "http://localhost:" + port
	}
	specJSON, err := iso.SpecJSON()
	if err != nil {
		_ = s.httpLn.Close()
		_ = s.isoLn.Close()
		return fail(err)
	}
	s.api, err = api.New(api.Config{Ledger: l, APIKeyHash: keyHash, PublicURL: public, Logger: cfg.Logger,
		ISOSpecJSON: specJSON, Faults: s.faults, VirtualClock: s.vclock, OnClockAdvance: s.clockAdvanced, Observer: m.HTTP, RateLimits: cfg.RateLimits,
		MaxBodyBytes: cfg.MaxBodyBytes, MaxUploadBytes: cfg.MaxUploadBytes,
		Metrics: fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))})
	if err != nil {
		_ = s.httpLn.Close()
		_ = s.isoLn.Close()
		return fail(err)
	}
	s.api.UseWebhooks(s.wh)
	routes := s.api.Routes()
	labels := make([]string, 0, len(routes))
	for _, r := range routes {
		labels = append(labels, r.Method+" "+r.Pattern) // the label api.Config.Observer is given
	}
	m.HTTPRoutes(labels)
	// A generated key is stored and printed only now that both listeners
	// are bound: a start that failed earlier (a busy port) must not keep a
	// key whose only copy scrolled past in its error output.
	if err := announceKey(); err != nil {
		_ = s.httpLn.Close()
		_ = s.isoLn.Close()
		return fail(err)
	}
	s.http = s.api.Server()
	if err := s.mountDashboard(keyHash); err != nil {
		_ = s.httpLn.Close()
		_ = s.isoLn.Close()
		return fail(err)
	}
	go func() { s.done <- s.http.Serve(s.httpLn) }()
	go func() {
		if err := s.iso.Serve(s.isoLn); err != nil && !errors.Is(err, iso.ErrServerClosed) {
			s.done <- err
		}
	}()
	s.stopBg, s.bgDone = make(chan struct{}), make(chan struct{})
	go s.sweepLoop()
	s.api.SetReady(true)
	s.log.Info("ledgersim serving", "http", s.httpLn.Addr().String(), "iso", s.isoLn.Addr().String(),
		"dataDir", cfg.DataDir, "kyc", cfg.KYC, "clock", cfg.Clock)
	return s, nil
}

// apiKeyHash establishes the organization's API key: the configured one, or
// the stored hash of the one generated on first start. A generated key is
// not yet stored: announce stores its hash and prints it, and Start calls it
// once nothing else can fail.
func (s *Server) apiKeyHash() (hash []byte, announce func() error, err error) {
	nothing := func() error { return nil }
	if s.cfg.APIKey != "" {
		return apikey.Hash(s.cfg.APIKey), nothing, nil
	}
	h, err := s.db.Get(store.MetaKey("api-key-hash"))
	if err == nil {
		return h, nothing, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	key := apikey.New(apikey.PrefixTestKey)
	h = apikey.Hash(key)
	return h, func() error {
		if err := s.db.PutSync(store.MetaKey("api-key-hash"), h); err != nil {
			return err
		}
		// The key is printed once, to standard output and never to the log;
		// only its hash is kept.
		fmt.Fprintf(s.cfg.KeyOut, "\nledgersim created an API key for this data directory. It is shown only now:\n\n    %s\n\nUse it as the Api-Key header. Start with --api-key (or LEDGERSIM_API_KEY, at least 16 characters) to choose your own.\n\n", key)
		return nil
	}, nil
}

// sweepLoop expires holds and forgets old repeat references once a second.
// With the virtual clock, clockAdvanced sweeps at once as well.
func (s *Server) sweepLoop() {
	defer close(s.bgDone)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stopBg:
			return
		case <-t.C:
			if _, err := s.ledger.Sweep(context.Background()); err != nil {
				s.log.Error("hold sweep failed", "err", err)
			}
		}
	}
}

// clockAdvanced persists the virtual time (so a restart resumes it) and
// applies what the new time makes due.
func (s *Server) clockAdvanced(ctx context.Context, also func(b *store.Batch) error) error {
	raw, _ := s.vclock.Now().MarshalText()
	b := s.db.NewBatch()
	b.Put(store.MetaKey("virtual-clock"), raw)
	if also != nil {
		if err := also(b); err != nil {
			b.Discard()
			return err
		}
	}
	if err := s.db.Commit(b); err != nil {
		return err
	}
	_, err := s.ledger.Sweep(ctx)
	s.wh.Kick() // retries that came due with the advance
	return err
}

// checkPrivate makes sure group and others have no access to the data
// directory. A directory that existed before the server made it keeps its
// mode: an empty one is closed to them (as if the server had made it), and
// one that already holds something is refused unless allowed, since what
// is in it has been open.
func checkPrivate(dir string, allowed bool) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("server: data dir: %w", err)
	}
	perm := info.Mode().Perm()
	if perm&0o077 == 0 || allowed {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("server: data dir: %w", err)
	}
	if len(entries) == 0 {
		if err := os.Chmod(dir, store.DirMode); err != nil {
			return fmt.Errorf("server: data dir: %w", err)
		}
		return nil
	}
	return fmt.Errorf("server: data directory %s is open to group or others (mode %04o) and is not empty; it holds card keys, webhook secrets and personal data: run chmod 700 %s, or start with --allow-shared-data-dir", dir, perm, dir)
}

func restoreVirtualTime(db *store.DB, v *clock.Virtual) error {
	raw, err := db.Get(store.MetaKey("virtual-clock"))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var t time.Time
	if err := t.UnmarshalText(raw); err != nil {
		return fmt.Errorf("server: stored virtual time is corrupt: %w", err)
	}
	v.Set(t)
	return nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// ISOAddr is the bound address of the ISO 8583 listener.
func (s *Server) ISOAddr() string { return s.isoLn.Addr().String() }

// HTTPAddr is the bound address of the HTTP API.
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }

// Ledger exposes the state, for tests and in-process tools.
func (s *Server) Ledger() *ledger.Ledger { return s.ledger }

// Registry is the server's Prometheus registry.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Clock is the server's clock.
func (s *Server) Clock() clock.Clock { return s.clock }

// Wait blocks until a listener fails or ctx is done, then shuts down.
func (s *Server) Wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-s.done:
		if err != nil {
			s.log.Error("listener failed", "err", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if serr := s.Shutdown(sctx); err == nil {
		err = serr
	}
	return err
}

// Shutdown stops accepting, lets requests in flight finish, and closes the
// store.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.stopped {
		return nil
	}
	s.stopped = true
	s.api.SetReady(false)
	var errs []string
	// ISO first: it answers every request it has read, and those answers
	// need the store. Then HTTP, then the background sweep, then the store.
	if err := s.iso.Shutdown(ctx); err != nil {
		errs = append(errs, err.Error())
	}
	if err := s.http.ShutdownWithContext(ctx); err != nil {
		errs = append(errs, err.Error())
	}
	close(s.stopBg)
	<-s.bgDone
	// Webhooks after everything that makes events and before the store:
	// attempts in flight are abandoned and made again after a restart.
	s.ledger.AttachEventReader(nil)
	_ = s.wh.Close()
	// The decision log before the store: closing it projects what it
	// holds into the store.
	if err := s.ledger.Close(); err != nil {
		errs = append(errs, err.Error())
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, err.Error())
	}
	s.log.Info("ledgersim stopped")
	if len(errs) > 0 {
		return fmt.Errorf("server: shutdown: %s", strings.Join(errs, "; "))
	}
	return nil
}
