package verify

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ledgersim/ledgersim/internal/cliflag"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// Exit statuses of Main.
const (
	ExitOK      = 0 // every invariant holds
	ExitBreach  = 1 // at least one breach
	ExitUsage   = 2 // bad flags, or the store or keys could not be opened or read
	defaultData = "./data"
)

// Main is `ledgersim verify`: it opens the store in --data-dir (stopped, or
// a snapshot or copy of it), runs every check and prints a table, or the
// report as JSON with --json. It exits ExitOK, ExitBreach or ExitUsage.
//
// --data-dir and --card-key default to LEDGERSIM_DATA_DIR and
// LEDGERSIM_CARD_KEY, as for serve, so that verify reads a store with the
// same settings the server ran with.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr("LEDGERSIM_DATA_DIR", defaultData), "data directory of a stopped server, or a copy of one (env LEDGERSIM_DATA_DIR)")
	cardKey := fs.String("card-key", envOr("LEDGERSIM_CARD_KEY", ""), "64 hex characters: the master card key the server ran with; default: keys.json in the data dir (env LEDGERSIM_CARD_KEY)")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ledgersim verify [--data-dir D] [--card-key HEX] [--json]\n\nChecks the invariants of a stopped store. Exit status 0: all hold; 1: a breach; 2: usage or open error.\n\nflags:")
		cliflag.Print(stderr, fs, nil)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ledgersim verify: unexpected argument %q\n", printable(fs.Arg(0)))
		return ExitUsage
	}
	db, v, ckpt, err := open(*dataDir, *cardKey)
	if err != nil {
		fmt.Fprintf(stderr, "ledgersim verify: %v\n", err)
		return ExitUsage
	}
	defer func() { _ = db.Close() }()

	now, ok, err := LatestEventTime(db)
	if err != nil {
		fmt.Fprintf(stderr, "ledgersim verify: %v\n", err)
		return ExitUsage
	}
	if !ok {
		// A store without events has no spend to put in a window.
		now = time.Now().UTC()
	}
	rep, err := Run(db, v, now)
	if err != nil {
		fmt.Fprintf(stderr, "ledgersim verify: %v\n", err)
		return ExitUsage
	}
	rep.Checks = append(rep.Checks, ckpt)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // "<unprintable>" reads better than \u003c
		if err := enc.Encode(jsonReport{OK: rep.OK(), At: rep.At, Checks: rep.Checks}); err != nil {
			fmt.Fprintf(stderr, "ledgersim verify: %v\n", err)
			return ExitUsage
		}
	} else {
		WriteTable(stdout, rep)
	}
	if !rep.OK() {
		return ExitBreach
	}
	return ExitOK
}

// jsonReport is the report with its verdict, for scripts.
type jsonReport struct {
	OK     bool      `json:"ok"`
	At     time.Time `json:"at"`
	Checks []Check   `json:"checks"`
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// open opens the store and the vault without creating either: store.Open
// and vault.Open would make an empty store and fresh keys in a mistyped
// directory, and verify would then report that nothing is wrong.
//
// It runs the checkpoint check first (CheckMemCheckpoint), on a copy of
// the directory as it was left, before the store is opened here.
func open(dataDir, cardKey string) (*store.DB, *vault.Vault, Check, error) {
	var ckpt Check
	if st, err := os.Stat(filepath.Join(dataDir, "pebble")); err != nil || !st.IsDir() {
		return nil, nil, ckpt, fmt.Errorf("no store in %s (expected %s)", dataDir, filepath.Join(dataDir, "pebble"))
	}
	vc := vault.Config{MasterKeyHex: strings.TrimSpace(cardKey)}
	if vc.MasterKeyHex == "" {
		if _, err := os.Stat(filepath.Join(dataDir, "keys.json")); err != nil {
			return nil, nil, ckpt, fmt.Errorf("no card keys: %s is missing and --card-key was not given", filepath.Join(dataDir, "keys.json"))
		}
		vc.Dir = dataDir
	}
	v, err := vault.Open(vc)
	if err != nil {
		// vault's errors never quote the key.
		return nil, nil, ckpt, err
	}
	// The checkpoint check copies the directory's files: not while a
	// server has them open and is changing them.
	if err := store.CheckUnlocked(dataDir); err != nil {
		return nil, nil, ckpt, fmt.Errorf("%w (is a server still running on this directory? stop it, or verify a copy)", err)
	}
	ckpt, err = CheckMemCheckpoint(dataDir, v)
	if err != nil {
		return nil, nil, ckpt, fmt.Errorf("checkpoint check: %w", err)
	}
	db, err := store.Open(store.Options{Dir: dataDir})
	if err != nil {
		return nil, nil, ckpt, fmt.Errorf("%w (is a server still running on this directory? stop it, or verify a copy)", err)
	}
	// After a crash the store may lack the decision log's newest records:
	// what a restart would replay is replayed first, so that verify checks
	// what the server would serve.
	if _, err := ledger.CatchUpStore(db); err != nil {
		_ = db.Close()
		return nil, nil, ckpt, fmt.Errorf("replaying the decision log: %w", err)
	}
	return db, v, ckpt, nil
}

// WriteTable prints the report as a table: one row per check with the
// records checked and the breaches, then each check's example breaches
// and notes, then a verdict.
func WriteTable(w io.Writer, rep *Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "invariant\tchecked\tbreaches")
	for _, c := range rep.Checks {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", c.Name, c.Checked, c.Breaches)
	}
	_ = tw.Flush()
	for _, c := range rep.Checks {
		if len(c.Examples) == 0 && len(c.Notes) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", c.Name)
		for _, e := range c.Examples {
			fmt.Fprintf(w, "  breach: %s\n", e)
		}
		if more := c.Breaches - len(c.Examples); more > 0 {
			fmt.Fprintf(w, "  ... and %d more breaches\n", more)
		}
		for _, n := range c.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
	}
	fmt.Fprintf(w, "\nevaluated at %s (spend windows)\n", rep.At.Format(time.RFC3339))
	if rep.OK() {
		fmt.Fprintln(w, "OK: every invariant holds")
	} else {
		fmt.Fprintf(w, "FAILED: %d breaches\n", rep.Breaches())
	}
}
