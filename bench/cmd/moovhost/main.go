// Command moovhost is the comparison's minimal issuer host: an ISO 8583
// listener built from moov-io/iso8583 and moov-io/iso8583-connection that
// decides with the core rules over Go maps, with no durability. See
// package bench/moovhost.
//
//	moovhost --listen 127.0.0.1:9584 --state loadtest-state.json
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ledgersim/ledgersim/bench/moovhost"
	"github.com/ledgersim/ledgersim/bench/seed"
	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/loadtest"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("moovhost", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		listen    = fs.String("listen", "127.0.0.1:9584", "ISO 8583 listen address")
		framing   = fs.String("framing", "binary2", "length header: binary2 or ascii4")
		statePath = fs.String("state", "", "load-test state file whose cards to hold (from ledgersim loadtest --provision or compare provision)")
		synthetic = fs.Int("synthetic", 0, "hold this many loadtest.SyntheticCards instead of a state file")
		synSeed   = fs.Uint64("synthetic-seed", 1, "seed of --synthetic cards (as ledgersim loadtest --seed)")
		balance   = fs.Int64("balance-cents", seed.DefaultBalanceCents, "starting balance of every account, in cents")
	)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	fr, err := iso.ParseFraming(*framing)
	if err != nil {
		fmt.Fprintf(stderr, "moovhost: %v\n", err)
		return 2
	}
	var sd *seed.Seed
	switch {
	case *statePath != "" && *synthetic > 0:
		fmt.Fprintln(stderr, "moovhost: --state and --synthetic exclude each other")
		return 2
	case *statePath != "":
		sd, err = seed.Load(*statePath, *balance)
	case *synthetic > 0:
		sd, err = seed.FromState(&loadtest.State{Cards: loadtest.SyntheticCards(*synthetic, *synSeed)}, *balance)
	default:
		fmt.Fprintln(stderr, "moovhost: give --state or --synthetic")
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "moovhost: %v\n", err)
		return 1
	}
	ledger, err := moovhost.NewMemory(sd, nil)
	if err != nil {
		fmt.Fprintf(stderr, "moovhost: %v\n", err)
		return 1
	}
	srv, err := moovhost.Listen(*listen, fr, ledger)
	if err != nil {
		fmt.Fprintf(stderr, "moovhost: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "moovhost listening on %s (%s), %d cards, %d accounts, no durability\n",
		srv.Addr(), fr, len(sd.Cards), len(sd.Accounts))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	srv.Close()
	st := srv.Stats()
	_, _, auths := ledger.Size()
	fmt.Fprintf(stdout, "moovhost answered %d messages (%d reply errors, %d connection errors), %d authorizations kept\n",
		st.Handled, st.ReplyErrors, st.ConnErrors, auths)
	return 0
}
