// Command compare runs the side-by-side comparison of bench/compare.
//
//	compare provision --api http://127.0.0.1:8080 --api-key KEY --cards 200 --state state.json
//	compare run --state state.json \
//	    --target ledgersim=127.0.0.1:9583 --target sink=127.0.0.1:9586 \
//	    --target moovhost=127.0.0.1:9584 --target postgres=127.0.0.1:9585 \
//	    --goal sink=0.5 --goal moovhost=3 --goal postgres=20 --out compare.json
//
// provision creates the cards in ledgersim through its management API
// (loadtest.Provision) and saves them to the state file, from which the
// peer hosts load the same cards. run measures every target with the same
// workload and prints the table; scripts/compare.sh does both and starts
// and stops the hosts.
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
	"strconv"
	"strings"
	"syscall"

	"github.com/ledgersim/ledgersim/bench/compare"
	"github.com/ledgersim/ledgersim/loadtest"
)

func main() { os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr)) }

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: compare provision|run [flags]")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "provision":
		return provisionCmd(ctx, args[1:], stdout, stderr)
	case "run":
		return runCmd(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "compare: unknown command %q (want provision or run)\n", args[0])
	return 2
}

func provisionCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("provision", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		api      = fs.String("api", "http://127.0.0.1:8080", "ledgersim management API base URL")
		key      = fs.String("api-key", os.Getenv("LEDGERSIM_API_KEY"), "organization API key (env LEDGERSIM_API_KEY)")
		cards    = fs.Int("cards", 200, "cards to create")
		deposit  = fs.Int64("deposit-tokens", 100_000_000, "each user's USDC deposit in whole tokens (1 token = 100 cents); give the peers --balance-cents of 100 times this")
		perUser  = fs.Int("cards-per-user", 5, "cards per user (and funding account)")
		state    = fs.String("state", loadtest.DefaultStateFile, "state file to write (mode 0600: it holds PANs)")
		progress = fs.Bool("progress", true, "print provisioning progress")
	)
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	opts := loadtest.ProvisionOptions{DepositTokens: *deposit, CardsPerUser: *perUser}
	if *progress {
		opts.Progress = stderr
	}
	st, err := loadtest.Provision(ctx, *api, *key, *cards, opts)
	if err != nil {
		fmt.Fprintf(stderr, "compare: %v\n", err)
		return 1
	}
	if err := st.Save(*state); err != nil {
		fmt.Fprintf(stderr, "compare: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "provisioned %d cards (%d per user, %d tokens each user) into %s\n", len(st.Cards), *perUser, *deposit, *state)
	return 0
}

// targetsFlag collects --target name=host:port.
type targetsFlag []compare.Target

func (t *targetsFlag) String() string {
	parts := make([]string, len(*t))
	for i, x := range *t {
		parts[i] = x.Name + "=" + x.Addr
	}
	return strings.Join(parts, ",")
}

func (t *targetsFlag) Set(v string) error {
	name, addr, ok := strings.Cut(v, "=")
	if !ok || name == "" || addr == "" {
		return errors.New("want name=host:port")
	}
	*t = append(*t, compare.Target{Name: name, Addr: addr})
	return nil
}

// goalsFlag collects --goal name=ratio.
type goalsFlag map[string]float64

func (g goalsFlag) String() string {
	parts := make([]string, 0, len(g))
	for name, v := range g {
		parts = append(parts, fmt.Sprintf("%s=%g", name, v))
	}
	return strings.Join(parts, ",")
}

func (g goalsFlag) Set(v string) error {
	name, ratio, ok := strings.Cut(v, "=")
	f, err := strconv.ParseFloat(ratio, 64)
	if !ok || name == "" || err != nil || !(f > 0) {
		return errors.New("want name=ratio, the ratio above 0")
	}
	g[name] = f
	return nil
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var targets targetsFlag
	fs.Var(&targets, "target", "a host to measure, name=host:port; repeat in order; the first is the baseline of the ratios")
	goals := goalsFlag{}
	fs.Var(goals, "goal", "name=ratio: the least the baseline's highest rate should be over this target's; repeat per target")
	var (
		durable     = fs.String("durable", "ledgersim,postgres", "comma-separated names of the targets that sync before answering (shown in the table)")
		state       = fs.String("state", loadtest.DefaultStateFile, "state file with the cards every target holds")
		synthetic   = fs.Int("synthetic", 0, "use this many loadtest.SyntheticCards instead of a state file (peers started with the same --synthetic)")
		cards       = fs.Int("cards", 0, "use only the first N cards of the state file (0: all)")
		mix         = fs.String("mix", loadtest.DefaultMix.String(), "percent of each message kind")
		seed        = fs.Uint64("seed", 1, "seed of every random choice (and of --synthetic cards)")
		conns       = fs.Int("conns", compare.DefaultConns, "TCP connections per target")
		bound       = fs.Duration("p99-bound", compare.DefaultBound, "p99 latency a sustainable rate must keep")
		startRate   = fs.Float64("start-rate", compare.DefaultStartRate, "first trial's rate of each search")
		ceiling     = fs.Float64("max-ceiling", compare.DefaultCeilingRate, "highest rate a search tries")
		floor       = fs.Float64("max-floor", 0, "lowest rate a search tries (0: the rate at which a trial holds 1,000 requests, at most the start rate)")
		resolution  = fs.Float64("resolution", compare.DefaultResolution, "a search ends when the pass/fail gap is this fraction of the passing rate")
		maxTrials   = fs.Int("max-trials", compare.DefaultMaxTrials, "most trials per search")
		trialWarmup = fs.Duration("trial-warmup", compare.DefaultTrialWarmup, "warmup of each search trial")
		trialDur    = fs.Duration("trial-duration", compare.DefaultTrialDuration, "measured part of each search trial")
		pause       = fs.Duration("pause", compare.DefaultPause, "pause between trials and runs, so one's backlog does not leak into the next")
		commonRate  = fs.Float64("common-rate", 0, "rate of the fixed-rate runs (0: --common-fraction of the lowest maximum)")
		commonFrac  = fs.Float64("common-fraction", compare.DefaultCommonFraction, "fraction of the lowest maximum to run every target at")
		commonWarm  = fs.Duration("common-warmup", compare.DefaultCommonWarmup, "warmup of each fixed-rate run")
		commonDur   = fs.Duration("common-duration", compare.DefaultCommonDuration, "measured part of each fixed-rate run")
		timeout     = fs.Duration("timeout", loadtest.DefaultTimeout, "a request unanswered this long after its due time is a timeout")
		out         = fs.String("out", "", "write the report as JSON to this file")
	)
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	if len(targets) == 0 {
		fmt.Fprintln(stderr, "compare: give at least one --target name=host:port")
		return 2
	}
	m, err := loadtest.ParseMix(*mix)
	if err != nil {
		fmt.Fprintf(stderr, "compare: --mix: %v\n", err)
		return 2
	}
	for _, name := range strings.Split(*durable, ",") {
		for i := range targets {
			if targets[i].Name == strings.TrimSpace(name) {
				targets[i].Durable = true
			}
		}
	}
	var cs []loadtest.Card
	if *synthetic > 0 {
		cs = loadtest.SyntheticCards(*synthetic, *seed)
	} else {
		st, err := loadtest.LoadState(*state)
		if err != nil {
			fmt.Fprintf(stderr, "compare: %v\n", err)
			return 1
		}
		cs = st.Cards
	}
	if *cards > 0 && *cards < len(cs) {
		cs = cs[:*cards]
	}
	rep, err := compare.Run(ctx, compare.Options{
		Targets: targets, Cards: cs, Mix: m, Seed: *seed, Conns: *conns, Timeout: *timeout,
		Bound: *bound, StartRate: *startRate, FloorRate: *floor, CeilingRate: *ceiling, Resolution: *resolution, MaxTrials: *maxTrials,
		TrialWarmup: *trialWarmup, TrialDuration: *trialDur, Pause: *pause,
		CommonRate: *commonRate, CommonFraction: *commonFrac, CommonWarmup: *commonWarm, CommonDuration: *commonDur,
		Goals: goals, Progress: stderr,
	})
	if rep != nil {
		fmt.Fprintln(stdout)
		rep.WriteTable(stdout)
		if *out != "" {
			if werr := writeJSON(*out, rep); werr != nil {
				fmt.Fprintf(stderr, "compare: %v\n", werr)
				return 1
			}
			fmt.Fprintf(stderr, "report written to %s\n", *out)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "compare: %v\n", err)
		return 1
	}
	return 0
}

func writeJSON(path string, rep *compare.Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func parseExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
