// Command probe measures what this machine gives any program (package
// bench/probe): how long a small write plus fdatasync(2) takes on a
// directory's disk, and how late a short sleep wakes up.
//
//	probe sync --dir ./data --size 4096 --samples 3000 --interval 1ms [--overwrite]
//	probe sleep --duration 20s --interval 200us
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
	"syscall"
	"time"

	"github.com/ledgersim/ledgersim/bench/probe"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 || (args[0] != "sync" && args[0] != "sleep") {
		fmt.Fprintln(stderr, "usage: probe sync [--dir D --size N --samples N --interval D --overwrite --json F]\n       probe sleep [--duration D --interval D --json F]")
		return 2
	}
	fs := flag.NewFlagSet("probe "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonPath := fs.String("json", "", "also write the result, histogram included, as JSON to this file")
	var measure func() (*probe.Result, error)
	switch args[0] {
	case "sync":
		var cfg probe.SyncConfig
		fs.StringVar(&cfg.Dir, "dir", ".", "directory on the disk to probe (a temporary file is made and removed there)")
		fs.IntVar(&cfg.Size, "size", 4096, "bytes written before each sync")
		fs.IntVar(&cfg.Samples, "samples", 3000, "syncs to time")
		fs.DurationVar(&cfg.Interval, "interval", time.Millisecond, "pause between samples")
		fs.BoolVar(&cfg.Overwrite, "overwrite", false, "write into a file already full size, as a recycled log file is, instead of growing it")
		measure = func() (*probe.Result, error) { return probe.Sync(ctx, cfg) }
	case "sleep":
		var cfg probe.SleepConfig
		fs.DurationVar(&cfg.Duration, "duration", 20*time.Second, "how long to probe")
		fs.DurationVar(&cfg.Interval, "interval", 200*time.Microsecond, "each sleep")
		measure = func() (*probe.Result, error) { return probe.Sleep(ctx, cfg) }
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	res, err := measure()
	if res != nil && res.Samples() > 0 {
		fmt.Fprintf(stdout, "%s: %s\n", args[0], res.Text())
		if *jsonPath != "" {
			b, jerr := json.MarshalIndent(res, "", "  ")
			if jerr == nil {
				jerr = os.WriteFile(*jsonPath, append(b, '\n'), 0o644)
			}
			if jerr != nil {
				fmt.Fprintf(stderr, "probe: %v\n", jerr)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "probe: %v\n", err)
		return 1
	}
	return 0
}
