package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/ledgersim/ledgersim/internal/cliflag"
	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/loadtest"
)

// hiddenLoadtestFlags are left out of the usage text: they serve the
// project's own measurements, not users.
var hiddenLoadtestFlags = map[string]bool{"echo-sink": true, "cpuprofile": true}

// loadtestCmd runs the ISO 8583 load generator:
//
//	ledgersim loadtest --provision --cards 200     create cards, save the state file, run
//	ledgersim loadtest --rate 5000 --duration 30s  run with the saved cards
//	ledgersim loadtest --max --p99-bound 2ms       find the highest rate under the bound
func loadtestCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		target      = fs.String("target", "localhost:8583", "ISO 8583 listener, host:port")
		apiAddr     = fs.String("api", "http://localhost:8080", "management API base URL, for --provision")
		apiKey      = fs.String("api-key", os.Getenv("LEDGERSIM_API_KEY"), "organization API key, for --provision (env LEDGERSIM_API_KEY)")
		provision   = fs.Bool("provision", false, "create users, agents and cards through the API and save them to --state before running")
		statePath   = fs.String("state", loadtest.DefaultStateFile, "state file with the provisioned cards (mode 0600: it holds PANs)")
		synthetic   = fs.Bool("synthetic", false, "use locally made cards that exist on no server (for sinks and measuring the generator)")
		cards       = fs.Int("cards", 100, "number of cards to provision or use")
		conns       = fs.Int("conns", loadtest.DefaultConns, "TCP connections the rate is spread over")
		rate        = fs.Float64("rate", loadtest.DefaultRate, "requests due per second (the first trial's rate with --max)")
		arrivals    = fs.String("arrivals", "constant", "arrival process: constant or poisson")
		duration    = fs.Duration("duration", loadtest.DefaultDuration, "measured duration (per trial with --max)")
		warmup      = fs.Duration("warmup", 2*time.Second, "warmup before the measured duration, excluded from results")
		timeout     = fs.Duration("timeout", loadtest.DefaultTimeout, "a request unanswered this long after its due time is a timeout")
		mix         = fs.String("mix", loadtest.DefaultMix.String(), "percent of each kind (auth, clear, reversal, refund, repeat, decline, intent, partial, increment, advice, financial, reversalAdvice, echo); must add up to 100; \"acquirer\" is every kind")
		seed        = fs.Uint64("seed", 1, "seed of every random choice")
		framing     = fs.String("framing", "binary2", "framing: binary2, ascii4, binary4 or binary2-tpdu (the echo sink too)")
		out         = fs.String("out", "", "directory for report.json, approvals.json and report.html")
		maxMode     = fs.Bool("max", false, "search for the highest rate whose p99 stays under --p99-bound")
		bound       = fs.Duration("p99-bound", 2*time.Millisecond, "p99 latency bound for --max")
		ceiling     = fs.Float64("max-ceiling", 1_000_000, "highest rate --max tries")
		floor       = fs.Float64("max-floor", 0, "lowest rate --max tries (0: the rate at which a trial's --duration holds 1,000 requests, at most --rate)")
		maxInFlight = fs.Int("max-inflight", loadtest.DefaultMaxInFlightPerConn, "window of requests in flight per connection")
		tick        = fs.Duration("tick", loadtest.DefaultTick, "shortest interval between the generator's wake-ups: requests due within one go out in one write per connection")
		cpuProfile  = fs.String("cpuprofile", "", "write the generator's CPU profile to this file")
		serverPID   = fs.Int("server-pid", 0, "process whose CPU per message to report as the server's (0: the process listening on --target's port, when it runs on this host)")
		metricsURL  = fs.String("metrics-url", "", "read the server's CPU from process_cpu_seconds_total at this /metrics URL instead of /proc")
		echoSink    = fs.String("echo-sink", "", "run a zero-work echo sink on this address until interrupted, and nothing else")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ledgersim loadtest [flags]\n\nOpen-loop ISO 8583 load generator; latencies run from each request's due time.\n\nflags:")
		cliflag.Print(stderr, fs, func(name string) bool { return hiddenLoadtestFlags[name] })
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ledgersim loadtest: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fr, err := iso.ParseFraming(*framing)
	if err != nil {
		fmt.Fprintf(stderr, "ledgersim loadtest: --framing: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "ledgersim loadtest: --cpuprofile: %v\n", err)
			return 1
		}
		defer stopProfile()
	}
	if *echoSink != "" {
		return loadtestEchoSink(ctx, *echoSink, fr, stdout, stderr)
	}
	arr, err := loadtest.ParseArrivals(*arrivals)
	if err != nil {
		fmt.Fprintf(stderr, "ledgersim loadtest: --arrivals: %v\n", err)
		return 2
	}
	m, err := loadtest.ParseMix(*mix)
	if err != nil {
		fmt.Fprintf(stderr, "ledgersim loadtest: --mix: %v\n", err)
		return 2
	}
	if *cards < 1 {
		fmt.Fprintln(stderr, "ledgersim loadtest: --cards must be at least 1")
		return 2
	}
	if *provision && *synthetic {
		fmt.Fprintln(stderr, "ledgersim loadtest: --provision and --synthetic exclude each other")
		return 2
	}

	var cs []loadtest.Card
	switch {
	case *synthetic:
		cs = loadtest.SyntheticCards(*cards, *seed)
	case *provision:
		fmt.Fprintf(stderr, "provisioning %d cards through %s\n", *cards, *apiAddr)
		st, err := loadtest.Provision(ctx, *apiAddr, *apiKey, *cards, loadtest.ProvisionOptions{Progress: stderr})
		if err != nil {
			fmt.Fprintf(stderr, "ledgersim: %v\n", err)
			return 1
		}
		if err := st.Save(*statePath); err != nil {
			fmt.Fprintf(stderr, "ledgersim: %v\n", err)
			return 1
		}
		if !st.IntentsSupported {
			fmt.Fprintln(stderr, "the server has no intents API (404): the intent share is sent as ordinary authorizations")
		}
		fmt.Fprintf(stderr, "saved %d cards to %s\n", len(st.Cards), *statePath)
		cs = st.Cards
	default:
		st, err := loadtest.LoadState(*statePath)
		if err != nil {
			fmt.Fprintf(stderr, "ledgersim: %v\n(run with --provision first, or --synthetic against a sink)\n", err)
			return 1
		}
		cs = st.Cards
		if len(cs) > *cards {
			cs = cs[:*cards]
		} else if len(cs) < *cards {
			fmt.Fprintf(stderr, "the state file has %d cards; using all of them\n", len(cs))
		}
	}

	cfg := loadtest.Config{
		Target: *target, Framing: fr, Conns: *conns, Rate: *rate, Arrivals: arr,
		Duration: *duration, Warmup: *warmup, Timeout: *timeout, Mix: m, Seed: *seed,
		Cards: cs, MaxInFlightPerConn: *maxInFlight, Tick: *tick,
		Search: loadtest.SearchConfig{FloorRate: *floor, CeilingRate: *ceiling},
	}
	switch {
	case *serverPID > 0:
		cfg.ServerCPU = loadtest.ProcCPU(*serverPID)
	case *metricsURL != "":
		cfg.ServerCPU = loadtest.MetricsCPU(*metricsURL, nil)
	default:
		if pid, err := loadtest.ListenerPID(*target); err == nil {
			cfg.ServerCPU = loadtest.ProcCPU(pid)
		} else {
			fmt.Fprintf(stderr, "the server's CPU is not measured (%v); give --server-pid or --metrics-url\n", err)
		}
	}
	if *maxMode {
		return loadtestMax(ctx, cfg, *bound, *out, stdout, stderr)
	}
	res, err := loadtest.Run(ctx, cfg, stderr)
	if res == nil {
		fmt.Fprintf(stderr, "ledgersim: %v\n", err)
		return 1
	}
	res.WriteText(stdout)
	if *out != "" {
		if werr := loadtest.WriteReport(*out, res); werr != nil {
			fmt.Fprintf(stderr, "ledgersim: %v\n", werr)
			return 1
		}
		fmt.Fprintf(stderr, "report written to %s\n", filepath.Join(*out, loadtest.ReportHTML))
	}
	if err != nil {
		fmt.Fprintf(stderr, "ledgersim loadtest: stopped early: %v\n", err)
		return 1
	}
	return 0
}

func loadtestMax(ctx context.Context, cfg loadtest.Config, bound time.Duration, out string, stdout, stderr io.Writer) int {
	mr, err := loadtest.Max(ctx, cfg, bound, stderr)
	if mr != nil {
		fmt.Fprintf(stdout, "highest rate with p99 <= %v: %.0f/s (%d trials, stopped: %s)\n", bound, mr.RatePerSec, len(mr.Trials), maxStopText(mr))
		if mr.Best != nil {
			mr.Best.WriteText(stdout)
		}
		if out != "" {
			if werr := writeLoadtestMaxReport(out, mr); werr != nil {
				fmt.Fprintf(stderr, "ledgersim: %v\n", werr)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "ledgersim: %v\n", err)
		return 1
	}
	return 0
}

// maxStopText says why a search ended, with the bound it met.
func maxStopText(mr *loadtest.MaxResult) string {
	switch mr.Stop {
	case loadtest.StopFloor:
		return fmt.Sprintf("the trial at the floor of %.0f/s failed; lower rates were not tried (--max-floor)", mr.FloorRate)
	case loadtest.StopCeiling:
		return fmt.Sprintf("the trial at the ceiling of %.0f/s passed (--max-ceiling)", mr.CeilingRate)
	case loadtest.StopResolved:
		return "a passing rate within the resolution of a failing one"
	}
	return mr.Stop
}

// writeLoadtestMaxReport writes max.json (the search) and the best trial's report.
func writeLoadtestMaxReport(dir string, mr *loadtest.MaxResult) error {
	if mr.Best != nil {
		if err := loadtest.WriteReport(dir, mr.Best); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	summary := *mr
	summary.Best = nil
	b, err := json.MarshalIndent(summary, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "max.json"), append(b, '\n'), 0o644)
}

func loadtestEchoSink(ctx context.Context, addr string, fr iso.Framing, stdout, stderr io.Writer) int {
	s, err := loadtest.NewEchoSink(addr, fr)
	if err != nil {
		fmt.Fprintf(stderr, "ledgersim: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "echo sink listening on %s (%s)\n", s.Addr(), fr)
	<-ctx.Done()
	_ = s.Close()
	fmt.Fprintf(stdout, "echo sink answered %d requests\n", s.Received())
	return 0
}

// startCPUProfile profiles the process into path until the returned
// function runs: how the generator (or the echo sink) spends its CPU.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path) // #nosec G304 -- a path the operator gave.
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
