package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ledgersim/ledgersim/internal/cliflag"
	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/server"
)

const version = "0.1.0"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 && isHelp(args[0]) {
		// Without a command, --help is about the binary, not serve's flags.
		cmd = "help"
	}
	switch cmd {
	case "serve":
		return serve(args, stdout, stderr)
	case "loadtest":
		return loadtestCmd(args, stdout, stderr)
	case "verify":
		return verifyCmd(args, stdout, stderr)
	case "mcp":
		return mcpCmd(args, os.Stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "ledgersim", version)
		return 0
	case "help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "ledgersim: unknown command %q\n", cmd)
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ledgersim <command> [flags]\n\ncommands:\n  serve     run the server (the default when the first argument is a flag)\n  loadtest  drive an ISO 8583 host with an open-loop load\n  verify    check the invariants of a stopped store\n  mcp       serve the ledger_* MCP tools (stdio or streamable HTTP) against a running server\n  version   print the version\n  help      print this text\n\nRun 'ledgersim <command> --help' for a command's flags.")
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "--h":
		return true
	}
	return false
}

// envFlags registers string flags whose defaults come from LEDGERSIM_*
// environment variables, so that a container or a script can configure the
// server without a command line.
type envFlags struct{ fs *flag.FlagSet }

func (e envFlags) str(p *string, name, def, help string) {
	env := "LEDGERSIM_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if v, ok := os.LookupEnv(env); ok {
		def = v
	}
	e.fs.StringVar(p, name, def, help+" (env "+env+")")
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ledgersim serve [flags]\n\nRuns the management API and the ISO 8583 host on one data directory.\n\nflags:")
		cliflag.Print(stderr, fs, nil)
	}
	var cfg server.Config
	var logLevel string
	ef := envFlags{fs}
	ef.str(&cfg.DataDir, "data-dir", "./data", "data directory (store and card keys)")
	ef.str(&cfg.HTTPAddr, "http-addr", ":8080", "management API listen address")
	ef.str(&cfg.ISOAddr, "iso-addr", ":8583", "ISO 8583 listen address")
	ef.str(&cfg.APIKey, "api-key", "", "organization API key, at least 16 characters; when empty, one is created on first start and printed once")
	ef.str(&cfg.KYC, "kyc", "manual", "KYC decisions: manual or auto")
	ef.str(&cfg.Clock, "clock", "real", "clock: real or virtual (moved by POST /v1/simulate/clock/advance)")
	ef.str(&cfg.BIN, "bin", "", "BIN (6-8 digits) of issued PANs; default 485932")
	ef.str(&cfg.CardKey, "card-key", "", "64 hex characters: master key for PAN encryption, PAN hashing and CVV derivation; default: keys.json in the data dir")
	ef.str(&cfg.PublicURL, "public-url", "", "base URL clients reach the API at; default http://localhost:<port>")
	ef.str(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	ef.str(&cfg.ISOFraming, "iso-framing", "binary2", "ISO 8583 framing: binary2 (2-byte length), ascii4 (4 ASCII digits), binary4 (4-byte length) or binary2-tpdu (2-byte length, then a 5-byte TPDU echoed with destination and source swapped)")
	ef.str(&cfg.FaultsFile, "faults", "", "JSON file of fault-injection rules for the ISO 8583 listener (an array of POST /v1/simulate/faults bodies), in force from the start; rules live in memory and survive a restart only this way")
	fs.BoolVar(&cfg.RateLimits, "rate-limits", os.Getenv("LEDGERSIM_RATE_LIMITS") == "true", "apply the platform's API rate limits (read 100/min burst 20, write 30/min burst 10, card creation 10/min burst 5; env LEDGERSIM_RATE_LIMITS=true)")
	var debugAddr string
	ef.str(&debugAddr, "debug-addr", "", "when set, serve Go's profiler (/debug/pprof/) on this address; keep it on loopback")
	var holdExpiry, autoSettle, repeatWindow, overCapture, isoMaxConns, isoFrameTimeout string
	ef.str(&isoMaxConns, "iso-max-conns", strconv.Itoa(iso.DefaultMaxConns), "most ISO 8583 connections open at once; one more is closed at once")
	ef.str(&isoFrameTimeout, "iso-frame-timeout", iso.DefaultFrameTimeout.String(), "how long an ISO 8583 frame may take to arrive once its first byte has")
	ef.str(&holdExpiry, "hold-expiry", "168h", "how long an uncleared authorization holds funds")
	ef.str(&autoSettle, "auto-settle", "48h", "complete an authorization still open this long after its approval, for its authorized amount, as a network's clearing file would (0 = off; the hold then expires after --hold-expiry)")
	ef.str(&repeatWindow, "repeat-window", "15m", "how long STAN+RRN are remembered to answer repeats")
	ef.str(&overCapture, "over-capture-pct", "20", "how far above the authorized amount a clearing may capture, in percent (0 = none)")
	var logSync, logRetention, checkpointInterval, checkpointRecords string
	ef.str(&checkpointInterval, "checkpoint-interval", "1s", "how often the store takes the checkpoint of balances, card usage and agent spend (a restart replays the decision log after it)")
	ef.str(&checkpointRecords, "checkpoint-records", "65536", "take that checkpoint after this many decision records too, if sooner")
	var snapshotInterval, snapshotRecords string
	ef.str(&snapshotInterval, "snapshot-interval", "5m", "how often the ledger writes a checkpoint of its memory (open holds, originals, transaction lists, events by type, the repeat window) to checkpoints/ in the data directory; a restart loads the newest and replays only the decision log after it")
	ef.str(&snapshotRecords, "snapshot-records", "2000000", "write that checkpoint after this many decision records too, if sooner")
	ef.str(&logSync, "log-sync-interval", "200us", "least time between two syncs of the decision log: longer means fewer syncs under load, and up to that much more latency at low load")
	ef.str(&logRetention, "log-retention", "10m", "how long the decision log keeps records the store already holds durably")
	fs.BoolVar(&cfg.AllowSharedDataDir, "allow-shared-data-dir", os.Getenv("LEDGERSIM_ALLOW_SHARED_DATA_DIR") == "true", "start even when group or others may read the data directory (by default that is refused; env LEDGERSIM_ALLOW_SHARED_DATA_DIR=true)")
	var maxBody, maxUpload string
	ef.str(&maxBody, "max-body-bytes", "1048576", "largest request body the API reads (every route but the receipt upload); a longer one is a 413")
	ef.str(&maxUpload, "max-upload-bytes", "10485760", "largest receipt file PUT /v1/transactions/{id}/receipt accepts; a longer one is a 413")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	var err error
	if cfg.HoldExpiry, err = time.ParseDuration(holdExpiry); err != nil || cfg.HoldExpiry <= 0 {
		fmt.Fprintf(stderr, "ledgersim: bad --hold-expiry %q\n", holdExpiry)
		return 2
	}
	if cfg.AutoSettle, err = time.ParseDuration(autoSettle); err != nil || cfg.AutoSettle < 0 {
		fmt.Fprintf(stderr, "ledgersim: bad --auto-settle %q\n", autoSettle)
		return 2
	}
	if cfg.RepeatWindow, err = time.ParseDuration(repeatWindow); err != nil || cfg.RepeatWindow <= 0 {
		fmt.Fprintf(stderr, "ledgersim: bad --repeat-window %q\n", repeatWindow)
		return 2
	}
	if cfg.LogSyncInterval, err = time.ParseDuration(logSync); err != nil || cfg.LogSyncInterval <= 0 || cfg.LogSyncInterval > time.Second {
		fmt.Fprintf(stderr, "ledgersim: bad --log-sync-interval %q (above 0, at most 1s)\n", logSync)
		return 2
	}
	if cfg.LogRetention, err = time.ParseDuration(logRetention); err != nil || cfg.LogRetention <= 0 {
		fmt.Fprintf(stderr, "ledgersim: bad --log-retention %q\n", logRetention)
		return 2
	}
	if cfg.CheckpointInterval, err = time.ParseDuration(checkpointInterval); err != nil || cfg.CheckpointInterval <= 0 {
		fmt.Fprintf(stderr, "ledgersim: bad --checkpoint-interval %q\n", checkpointInterval)
		return 2
	}
	if cfg.CheckpointRecords, err = strconv.Atoi(checkpointRecords); err != nil || cfg.CheckpointRecords <= 0 {
		fmt.Fprintf(stderr, "ledgersim: bad --checkpoint-records %q\n", checkpointRecords)
		return 2
	}
	if cfg.SnapshotInterval, err = time.ParseDuration(snapshotInterval); err != nil || cfg.SnapshotInterval <= 0 {
		fmt.Fprintf(stderr, "ledgersim: bad --snapshot-interval %q\n", snapshotInterval)
		return 2
	}
	if cfg.SnapshotRecords, err = strconv.Atoi(snapshotRecords); err != nil || cfg.SnapshotRecords <= 0 {
		fmt.Fprintf(stderr, "ledgersim: bad --snapshot-records %q\n", snapshotRecords)
		return 2
	}
	if cfg.ISOMaxConns, err = strconv.Atoi(isoMaxConns); err != nil || cfg.ISOMaxConns <= 0 {
		fmt.Fprintf(stderr, "ledgersim: bad --iso-max-conns %q\n", isoMaxConns)
		return 2
	}
	if cfg.ISOFrameTimeout, err = time.ParseDuration(isoFrameTimeout); err != nil || cfg.ISOFrameTimeout <= 0 {
		fmt.Fprintf(stderr, "ledgersim: bad --iso-frame-timeout %q\n", isoFrameTimeout)
		return 2
	}
	pct, err := strconv.ParseInt(overCapture, 10, 64)
	if err != nil || pct < 0 || pct > 1000 {
		fmt.Fprintf(stderr, "ledgersim: bad --over-capture-pct %q\n", overCapture)
		return 2
	}
	if cfg.MaxBodyBytes, err = strconv.Atoi(maxBody); err != nil || cfg.MaxBodyBytes < 1<<10 {
		fmt.Fprintf(stderr, "ledgersim: bad --max-body-bytes %q (at least 1024)\n", maxBody)
		return 2
	}
	if cfg.MaxUploadBytes, err = strconv.Atoi(maxUpload); err != nil || cfg.MaxUploadBytes < 1<<10 {
		fmt.Fprintf(stderr, "ledgersim: bad --max-upload-bytes %q (at least 1024)\n", maxUpload)
		return 2
	}
	cfg.OverCapturePct = pct
	if pct == 0 {
		cfg.OverCapturePct = -1 // the server's zero means its default
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
		fmt.Fprintf(stderr, "ledgersim: bad --log-level %q\n", logLevel)
		return 2
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	cfg.KeyOut = stdout

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := server.Start(cfg)
	if err != nil {
		cfg.Logger.Error("cannot start", "err", err)
		return 1
	}
	if debugAddr != "" {
		_, stopDebug, err := serveDebug(debugAddr, cfg.Logger)
		if err != nil {
			cfg.Logger.Error("cannot serve the profiler", "addr", debugAddr, "err", err)
			_ = s.Shutdown(context.Background())
			return 1
		}
		defer stopDebug()
	}
	if err := s.Wait(ctx); err != nil {
		cfg.Logger.Error("stopped with error", "err", err)
		return 1
	}
	return 0
}
