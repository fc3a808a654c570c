//go:build compare_pg

// Command pghost is the comparison's PostgreSQL peer: moovhost's ISO 8583
// listener in front of the core rules applied as one SQL transaction per
// message (see package bench/pghost). Built only with -tags compare_pg.
//
//	pghost --dsn postgres://bench@127.0.0.1:55432/ledgersim_bench --init-schema --state loadtest-state.json
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ledgersim/ledgersim/bench/moovhost"
	"github.com/ledgersim/ledgersim/bench/pghost"
	"github.com/ledgersim/ledgersim/bench/seed"
	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/loadtest"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pghost", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		listen     = fs.String("listen", "127.0.0.1:9585", "ISO 8583 listen address")
		framing    = fs.String("framing", "binary2", "length header: binary2 or ascii4")
		dsn        = fs.String("dsn", os.Getenv("PGHOST_DSN"), "PostgreSQL connection string (env PGHOST_DSN)")
		pool       = fs.Int("pool", pghost.DefaultPoolSize, "PostgreSQL connections")
		initSchema = fs.Bool("init-schema", false, "drop and create the tables before loading")
		statePath  = fs.String("state", "", "load-test state file whose cards to load")
		synthetic  = fs.Int("synthetic", 0, "load this many loadtest.SyntheticCards instead of a state file")
		synSeed    = fs.Uint64("synthetic-seed", 1, "seed of --synthetic cards (as ledgersim loadtest --seed)")
		balance    = fs.Int64("balance-cents", seed.DefaultBalanceCents, "starting balance of every account, in cents")
		panKeyHex  = fs.String("pan-key", os.Getenv("PGHOST_PAN_KEY"), "hex key of the PAN and CVV2 HMACs (env PGHOST_PAN_KEY); default: a random key, so the cards are loaded on every start")
	)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "pghost: "+format+"\n", a...)
		return code
	}
	fr, err := iso.ParseFraming(*framing)
	if err != nil {
		return fail(2, "%v", err)
	}
	if *dsn == "" {
		return fail(2, "--dsn is required")
	}
	var key []byte
	if *panKeyHex != "" {
		if key, err = hex.DecodeString(*panKeyHex); err != nil || len(key) < 16 {
			return fail(2, "--pan-key must be at least 32 hex characters")
		}
	} else {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return fail(1, "%v", err)
		}
		if *statePath == "" && *synthetic == 0 {
			return fail(2, "without --pan-key the cards must be loaded: give --state or --synthetic")
		}
	}
	var sd *seed.Seed
	switch {
	case *statePath != "" && *synthetic > 0:
		return fail(2, "--state and --synthetic exclude each other")
	case *statePath != "":
		sd, err = seed.Load(*statePath, *balance)
	case *synthetic > 0:
		sd, err = seed.FromState(&loadtest.State{Cards: loadtest.SyntheticCards(*synthetic, *synSeed)}, *balance)
	}
	if err != nil {
		return fail(1, "%v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	setup, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ledger, err := pghost.Open(setup, *dsn, pghost.Options{PoolSize: int32(*pool), PANKey: key})
	if err != nil {
		return fail(1, "%v", err)
	}
	defer ledger.Close()
	if err := ledger.CheckDurable(setup); err != nil {
		return fail(1, "%v", err)
	}
	if *initSchema {
		if err := ledger.InitSchema(setup); err != nil {
			return fail(1, "%v", err)
		}
	}
	if sd != nil {
		if err := ledger.Load(setup, sd); err != nil {
			return fail(1, "%v", err)
		}
	}
	srv, err := moovhost.Listen(*listen, fr, ledger)
	if err != nil {
		return fail(1, "%v", err)
	}
	cards := 0
	if sd != nil {
		cards = len(sd.Cards)
	}
	fmt.Fprintf(stdout, "pghost listening on %s (%s), %d cards loaded, pool %d, synchronous_commit on\n", srv.Addr(), fr, cards, *pool)
	<-ctx.Done()
	srv.Close()
	st := srv.Stats()
	done, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	n, _ := ledger.Authorizations(done)
	fmt.Fprintf(stdout, "pghost answered %d messages (%d reply errors, %d connection errors, %d database errors), %d authorization rows\n",
		st.Handled, st.ReplyErrors, st.ConnErrors, ledger.Errors(), n)
	return 0
}
