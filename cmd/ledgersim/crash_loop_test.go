package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/loadtest"
)

// The crash loop's knobs. Every one has an environment variable so that
// `make crash` and scripts/reliability.sh can set them without knowing
// which packages a -flag would reach; the flag wins when both are given.
//
//	CRASH_ROUNDS   rounds, one SIGKILL each (default 3; make crash: 20)
//	CRASH_SEED     seed of every random choice (default: from the clock, logged)
//	CRASH_ROUND    length of each round's load, a Go duration (default 3s)
//	CRASH_RATE     requests per second offered by the generator (default 800)
//	CRASH_REPORT   write the figures as JSON to this path
var (
	crashRoundsFlag = flag.Int("crash-rounds", 0, "rounds of TestCrashLoop, one SIGKILL each (default $CRASH_ROUNDS, else 3)")
	crashSeedFlag   = flag.Uint64("crash-seed", 0, "seed of TestCrashLoop (default $CRASH_SEED, else from the clock)")
)

// crashMix is the load offered in each round: purchases, purchases that
// match an intent, clearings and reversals of approvals received earlier in
// the same run, refunds, repeats (0101) of answered authorizations and
// deliberate declines. The generator keeps the approvals that clearings,
// reversals and repeats refer to per run (and per connection, across its
// reconnections), so nothing needs to be carried from one round to the
// next: each round starts afresh and its first follow-ups fall back to
// authorizations. Within a round they do cross the crash: a clearing,
// reversal or repeat sent after the restart refers to an approval given
// before the SIGKILL.
var crashMix = loadtest.Mix{Auth: 45, Intent: 5, Clear: 15, Reversal: 10, Refund: 5, Repeat: 12, Decline: 8}

type crashConfig struct {
	Rounds int
	Seed   uint64
	Round  time.Duration
	Rate   float64
	Conns  int
	Cards  int
	Report string
}

func crashSettings(t *testing.T) crashConfig {
	t.Helper()
	c := crashConfig{Rounds: 3, Round: 3 * time.Second, Rate: 800, Conns: 4, Cards: 24, Report: os.Getenv("CRASH_REPORT")}
	if v := os.Getenv("CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "CRASH_ROUNDS")
		c.Rounds = n
	}
	if *crashRoundsFlag > 0 {
		c.Rounds = *crashRoundsFlag
	}
	c.Seed = uint64(time.Now().UnixNano())
	if v := os.Getenv("CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "CRASH_SEED")
		c.Seed = n
	}
	if *crashSeedFlag != 0 {
		c.Seed = *crashSeedFlag
	}
	if v := os.Getenv("CRASH_ROUND"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "CRASH_ROUND")
		c.Round = d
	}
	if v := os.Getenv("CRASH_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		require.NoError(t, err, "CRASH_RATE")
		c.Rate = r
	}
	require.Greater(t, c.Rounds, 0)
	require.GreaterOrEqual(t, c.Round, time.Second)
	return c
}

// crashReport is the figures of one crash-loop run (CRASH_REPORT). It is
// flat, one number a line, so a shell script can read it without a JSON
// tool.
type crashReport struct {
	Seed                 uint64  `json:"seed"`
	Rounds               int     `json:"rounds"`
	CrashesSurvived      int     `json:"crashesSurvived"`
	RoundSeconds         float64 `json:"roundSeconds"`
	RatePerSec           float64 `json:"ratePerSec"`
	Cards                int     `json:"cards"`
	RequestsForwarded    int     `json:"requestsForwarded"`
	RepliesFromServer    int     `json:"repliesFromServer"`
	ApprovalsReceived    int     `json:"approvalsReceived"`
	ApprovalsFound       int     `json:"approvalsFound"`
	ApprovalsLost        int     `json:"approvalsLost"`
	ApprovalCodeMismatch int     `json:"approvalCodeMismatch"`
	ServerAcksChecked    int     `json:"serverAcksChecked"`
	ServerAcksBroken     int     `json:"serverAcksBroken"`
	InDoubt              int     `json:"inDoubt"`
	InDoubtPresent       int     `json:"inDoubtPresent"`
	InDoubtAbsent        int     `json:"inDoubtAbsent"`
	InDoubtNoEffect      int     `json:"inDoubtNoEffect"`
	InDoubtPartial       int     `json:"inDoubtPartial"`
	GeneratorTimeouts    int64   `json:"generatorTimeouts"`
	GeneratorConnLost    int64   `json:"generatorConnLost"`
	GeneratorUnexpected  int64   `json:"generatorUnexpected"`
	DuplicateTxns        int     `json:"duplicateTxns"`
	ForcePosts           int     `json:"forcePosts"`
	RepeatProbes         int     `json:"repeatProbes"`
	RepeatProbesDiffer   int     `json:"repeatProbesDiffer"`
	VerifyRuns           int     `json:"verifyRuns"`
	InvariantBreaches    int     `json:"invariantBreaches"`
	StoreTransactions    int     `json:"storeTransactions"`
	MaxRestartSeconds    float64 `json:"maxRestartSeconds"` // start of the restarted process to serving (recovery included)
	ElapsedSeconds       float64 `json:"elapsedSeconds"`
}

// TestCrashLoop is the crash loop. It runs the load generator in-process
// against a real `ledgersim serve` process through a recording TCP relay,
// SIGKILLs the server at a random moment of each round and restarts it on
// the same data directory while the generator keeps going (it reconnects),
// and cancels the generator's context at another random moment. The relay
// keeps every request it passed on to the server and every reply the
// server sent, so after the last round it knows, for every message, whether
// the server answered it or whether the answer was lost with the process.
//
// Then, with the server stopped cleanly and started again, it checks
// through the API that
//
//   - every approval the generator received is in the store with the same
//     approval code (approvals lost: must be 0), and so is every other
//     answer the server gave (approvals, declines, clearings, reversals,
//     repeats answered like their original);
//   - every message that went unanswered is either fully applied (the
//     transaction with its amount, hold or status change) or not at all;
//   - no message was applied twice and no clearing became a force post;
//   - a repeat (0101) of an answered authorization, sent after all the
//     crashes, still gets the first answer;
//
// and `ledgersim verify` finds no breach, both on a copy of every crash
// image (the directory as the SIGKILL left it) and on the final store.
func TestCrashLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and repeatedly kills a server process")
	}
	cfg := crashSettings(t)
	t.Logf("crash loop: %d rounds of %v at %.0f/s, seed %d (rerun with CRASH_SEED=%d)", cfg.Rounds, cfg.Round, cfg.Rate, cfg.Seed, cfg.Seed)
	started := time.Now()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xc4a5))
	rep := crashReport{Seed: cfg.Seed, Rounds: cfg.Rounds, RoundSeconds: cfg.Round.Seconds(), RatePerSec: cfg.Rate, Cards: cfg.Cards}

	bin := testenv.BuildBinary(t)
	dir := t.TempDir()
	// A repeat window longer than any run, so the repeat probes at the end
	// reach authorizations from the first round.
	// Memory checkpoints every second, so that restarts load one and
	// replay the log after it rather than rebuilding from the store.
	args := []string{"--repeat-window", "6h", "--snapshot-interval", "1s"}
	proc := testenv.StartProc(t, bin, dir, args...)

	st, err := loadtest.Provision(context.Background(), "http://"+proc.HTTPAddr, testenv.APIKey, cfg.Cards,
		loadtest.ProvisionOptions{CardsPerUser: 4, Tag: fmt.Sprintf("crash%d", cfg.Seed%1_000_000)})
	require.NoError(t, err)
	require.True(t, st.IntentsSupported)

	relay := newISORelay(t)
	defer relay.Close()
	require.NoError(t, relay.SetUpstream(proc.ISOAddr))

	var approvals []loadtest.Approval
	fromCheckpoint := 0
	verifyDir := t.TempDir()
	for round := 1; round <= cfg.Rounds; round++ {
		killAt := time.Duration(float64(cfg.Round) * (0.15 + 0.65*rng.Float64()))
		// The context ends somewhere between the kill and a while after
		// the schedule's end (then the run simply ends on its own).
		cancelAt := killAt + time.Duration(rng.Float64()*float64(cfg.Round*13/10-killAt))
		ctx, cancel := context.WithTimeout(context.Background(), cancelAt)
		type runOut struct {
			res *loadtest.Result
			err error
		}
		runSeed := rng.Uint64()
		done := make(chan runOut, 1)
		go func() {
			res, err := loadtest.Run(ctx, loadtest.Config{
				Target: relay.Addr(), Conns: cfg.Conns, Rate: cfg.Rate, Arrivals: loadtest.Poisson,
				Duration: cfg.Round, Timeout: 1500 * time.Millisecond, Mix: crashMix, Seed: runSeed,
				Cards: st.Cards, DialTimeout: time.Second,
			}, nil)
			done <- runOut{res, err}
		}()
		killed := make(chan struct{})
		go func(p *testenv.Proc) {
			defer close(killed)
			time.Sleep(killAt)
			p.Kill()
			_ = relay.SetUpstream("") // only fails when listening again
		}(proc)
		<-killed
		killedAt := time.Now()
		// The crash image, as the SIGKILL left it, is verified after the
		// round on a copy, so that the restarted server recovers from the
		// original and not from something verify already opened.
		image := filepath.Join(verifyDir, fmt.Sprintf("round%02d", round))
		require.NoError(t, copyTree(dir, image))
		restartAt := time.Now()
		proc = testenv.StartProc(t, bin, dir, args...)
		require.NoError(t, relay.SetUpstream(proc.ISOAddr))
		restart, downtime := time.Since(restartAt), time.Since(killedAt)
		if loadedCheckpoint(proc.Logs()) {
			fromCheckpoint++
		}
		rep.MaxRestartSeconds = max(rep.MaxRestartSeconds, restart.Seconds())
		rep.CrashesSurvived++
		out := <-done
		cancel()
		if out.err != nil && !errors.Is(out.err, context.DeadlineExceeded) {
			require.NoError(t, out.err, "round %d", round)
		}
		res := out.res
		require.NotNil(t, res)
		require.Zero(t, res.ApprovalsDropped)
		approvals = append(approvals, res.Approvals...)
		rep.GeneratorTimeouts += res.Timeouts
		rep.GeneratorConnLost += res.ErrorsConnLost
		rep.GeneratorUnexpected += res.Unexpected
		breaches := runVerify(t, bin, image)
		rep.VerifyRuns++
		rep.InvariantBreaches += breaches
		require.NoError(t, os.RemoveAll(image))
		t.Logf("round %d: killed at %v, serving again %v later (restart %v), context ended at %v; offered %d sent %d replies %d approvals %d timeouts %d conn-lost %d unsent %d unexpected %d reconnects %d; verify of the crash image: %d breaches",
			round, killAt.Round(time.Millisecond), downtime.Round(time.Millisecond), restart.Round(time.Millisecond), cancelAt.Round(time.Millisecond), res.Offered, res.Sent, res.Replies,
			len(res.Approvals), res.Timeouts, res.ErrorsConnLost, res.ErrorsUnsent, res.Unexpected, res.Reconnects, breaches)
	}

	// A clean stop, then a fresh start to read the store through the API.
	stopClean(t, proc)
	relay.Close()
	proc = testenv.StartProc(t, bin, dir, args...)
	require.True(t, loadedCheckpoint(proc.Logs()), "a start after a clean stop loads the memory checkpoint Close wrote")
	require.Positive(t, fromCheckpoint, "restarts after a crash load a memory checkpoint")
	t.Logf("restarts after a crash that loaded a memory checkpoint: %d of %d", fromCheckpoint, rep.CrashesSurvived)
	e := &testenv.Env{T: t, Base: "http://" + proc.HTTPAddr, Client: &http.Client{Timeout: 30 * time.Second}}
	store := readStore(e, st.Cards)
	rep.StoreTransactions = len(store.all)

	msgs := relay.Messages(t)
	rep.RequestsForwarded = len(msgs)
	for _, m := range msgs {
		if m.reply != nil {
			rep.RepliesFromServer++
		}
	}
	cards := map[string]loadtest.Card{}
	for _, c := range st.Cards {
		cards[c.PAN] = c
	}
	ck := &crashChecker{store: store, cards: cards, msgs: msgs, rep: &rep}
	ck.index()
	ck.checkApprovals(approvals)
	ck.checkServerAnswers()
	ck.checkInDoubt()
	ck.checkStoreShape()
	ck.probeRepeats(t, proc.ISOAddr, rng)

	stopClean(t, proc)
	breaches := runVerify(t, bin, dir)
	rep.VerifyRuns++
	rep.InvariantBreaches += breaches
	rep.ElapsedSeconds = time.Since(started).Seconds()

	t.Logf("crash loop figures: rounds %d, crashes survived %d; requests through the relay %d, answered by the server %d",
		rep.Rounds, rep.CrashesSurvived, rep.RequestsForwarded, rep.RepliesFromServer)
	t.Logf("approvals received by the generator %d, found with the same code %d, lost %d, with another code %d",
		rep.ApprovalsReceived, rep.ApprovalsFound, rep.ApprovalsLost, rep.ApprovalCodeMismatch)
	t.Logf("server answers checked against the store %d, broken %d; unanswered (timed out or connection lost) %d: fully present %d, fully absent %d, no effect by design (repeats) %d, partial %d",
		rep.ServerAcksChecked, rep.ServerAcksBroken, rep.InDoubt, rep.InDoubtPresent, rep.InDoubtAbsent, rep.InDoubtNoEffect, rep.InDoubtPartial)
	t.Logf("duplicates %d, force posts %d, repeat probes %d (answered differently %d), verify runs %d, invariant breaches %d; generator: timeouts %d, connection lost %d, unexpected codes %d; %d transactions in the store; %.1fs",
		rep.DuplicateTxns, rep.ForcePosts, rep.RepeatProbes, rep.RepeatProbesDiffer, rep.VerifyRuns, rep.InvariantBreaches,
		rep.GeneratorTimeouts, rep.GeneratorConnLost, rep.GeneratorUnexpected, rep.StoreTransactions, rep.ElapsedSeconds)
	if cfg.Report != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(cfg.Report, append(b, '\n'), 0o644))
	}
	ck.report(t)
	require.Greater(t, rep.ApprovalsReceived, 0, "the generator received no approval: nothing was tested")
	require.Zero(t, rep.InvariantBreaches, "ledgersim verify found breaches (see the logs above)")
}

// stopClean sends SIGTERM and requires an orderly exit.
func stopClean(t *testing.T, p *testenv.Proc) {
	t.Helper()
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
	errc := make(chan error, 1)
	go func() { errc <- p.Wait() }()
	select {
	case err := <-errc:
		require.NoError(t, err, "exit status after SIGTERM")
	case <-time.After(30 * time.Second):
		// The goroutine above reaps the process; a second Wait would race it.
		_ = p.Cmd.Process.Signal(syscall.SIGKILL)
		<-errc
		t.Fatal("the server did not stop within 30s of SIGTERM")
	}
}

// runVerify runs `ledgersim verify --json` on a stopped store and returns
// the number of breaches, logging the failing checks.
func runVerify(t *testing.T, bin, dir string) int {
	t.Helper()
	cmd := exec.Command(bin, "verify", "--data-dir", dir, "--json")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("ledgersim verify on %s: %v: %s", dir, err, stderr.String())
	}
	var rep struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name     string   `json:"name"`
			Checked  int      `json:"checked"`
			Breaches int      `json:"breaches"`
			Examples []string `json:"examples"`
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal(out, &rep), "verify --json output")
	total := 0
	for _, c := range rep.Checks {
		total += c.Breaches
		if c.Breaches > 0 {
			t.Logf("verify %s: %s: %d breaches of %d checked: %v", filepath.Base(dir), c.Name, c.Breaches, c.Checked, c.Examples)
		}
	}
	require.Equal(t, rep.OK, total == 0, "verify's verdict and its breach count agree")
	return total
}

// copyTree copies a stopped data directory.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// isoRelay is a TCP relay between the load generator and the current
// server process. It passes frames through unchanged and keeps a copy of
// every request it wrote to the server and every reply the server sent.
// A request is kept before it is written, so anything the server may have
// read is known; a reply is kept as soon as it is read, whether or not the
// generator still gets it. When the server dies, the relay closes the
// generator's side too and stops listening until the server is back (on
// the same port), so the generator sees what it would see without a relay:
// its connections drop, and it cannot connect until the restart.
type isoRelay struct {
	addr     string
	mu       sync.Mutex
	ln       net.Listener // nil while there is no server
	upstream string
	conns    []*relayConn
	live     map[net.Conn]struct{}
	closed   bool
	wg       sync.WaitGroup
}

type relayConn struct {
	mu   sync.Mutex
	reqs [][]byte
	reps [][]byte
}

func newISORelay(t *testing.T) *isoRelay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return &isoRelay{addr: addr, live: map[net.Conn]struct{}{}}
}

func (r *isoRelay) Addr() string { return r.addr }

// SetUpstream points the relay at a server's ISO address and listens; ""
// stops listening (the server is down).
func (r *isoRelay) SetUpstream(addr string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.upstream = addr
	if addr == "" {
		if r.ln != nil {
			_ = r.ln.Close()
			r.ln = nil
		}
		return nil
	}
	if r.ln != nil {
		return nil
	}
	// The port was ours a moment ago; listening again can take a few
	// tries while the kernel lets go of it.
	var err error
	for try := 0; try < 100; try++ {
		var ln net.Listener
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			r.ln = ln
			r.wg.Add(1)
			go r.accept(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("relay: listen again on %s: %w", r.addr, err)
}

func (r *isoRelay) accept(ln net.Listener) {
	defer r.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		up := r.upstream
		r.mu.Unlock()
		var s net.Conn
		if up != "" {
			s, err = net.DialTimeout("tcp", up, time.Second)
		}
		if up == "" || err != nil {
			_ = c.Close()
			continue
		}
		rc := &relayConn{}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			_ = c.Close()
			_ = s.Close()
			return
		}
		r.conns = append(r.conns, rc)
		r.live[c], r.live[s] = struct{}{}, struct{}{}
		r.mu.Unlock()
		end := func() {
			_ = c.Close()
			_ = s.Close()
			r.mu.Lock()
			delete(r.live, c)
			delete(r.live, s)
			r.mu.Unlock()
		}
		r.wg.Add(2)
		go func() {
			defer r.wg.Done()
			defer end()
			fr := iso.NewFrameReader(c, iso.Binary2, 0)
			for {
				f, err := fr.Next()
				if err != nil {
					return
				}
				f = append([]byte(nil), f...)
				rc.mu.Lock()
				rc.reqs = append(rc.reqs, f)
				rc.mu.Unlock()
				if iso.WriteFrame(s, iso.Binary2, f) != nil {
					return
				}
			}
		}()
		go func() {
			defer r.wg.Done()
			defer end()
			fr := iso.NewFrameReader(s, iso.Binary2, 0)
			for {
				f, err := fr.Next()
				if err != nil {
					return
				}
				f = append([]byte(nil), f...)
				rc.mu.Lock()
				rc.reps = append(rc.reps, f)
				rc.mu.Unlock()
				if iso.WriteFrame(c, iso.Binary2, f) != nil {
					return
				}
			}
		}()
	}
}

// Close stops accepting, closes every connection and waits for the
// relay's goroutines. It is idempotent.
func (r *isoRelay) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	if r.ln != nil {
		_ = r.ln.Close()
		r.ln = nil
	}
	for c := range r.live {
		_ = c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// isoMsg is a request the relay passed on, decoded, with the server's
// reply when there was one.
type isoMsg struct {
	mti      string
	stan     int
	rrn      string
	pan      string
	proc     int
	amount   int64
	hasDE95  bool
	remains  int64 // DE 95 positions 1-12: what a partial reversal leaves
	raw      []byte
	reply    *iso.Reply
	original *isoMsg // for clearings, reversals and repeats: the 0100 they refer to
}

// replyClass maps a reply MTI to the class of requests it answers.
func requestClass(mti string) string {
	switch mti {
	case "0100", "0101", "0110":
		return "auth"
	case "0220", "0230":
		return "clear"
	case "0400", "0401", "0410":
		return "reversal"
	}
	return mti
}

func decodeRequest(spec *iso8583.MessageSpec, raw []byte) (*isoMsg, error) {
	m := iso8583.NewMessage(spec)
	if err := m.Unpack(raw); err != nil {
		return nil, err
	}
	get := func(id int) string { s, _ := m.GetString(id); return s }
	msg := &isoMsg{raw: raw, rrn: get(37), pan: get(2)}
	msg.mti, _ = m.GetMTI()
	var err error
	if msg.stan, err = strconv.Atoi(get(11)); err != nil {
		return nil, fmt.Errorf("DE 11: %w", err)
	}
	msg.proc, _ = strconv.Atoi(get(3))
	msg.amount, _ = strconv.ParseInt(get(4), 10, 64)
	if de95 := get(95); de95 != "" {
		msg.hasDE95 = true
		if len(de95) < 12 {
			return nil, fmt.Errorf("DE 95 too short")
		}
		msg.remains, err = strconv.ParseInt(de95[:12], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("DE 95: %w", err)
		}
	}
	return msg, nil
}

func (m *isoMsg) refund() bool { return m.proc/10000 == 20 }

// Messages decodes what the relay saw and pairs every request with its
// reply (on the same connection, by class, DE 11 and DE 37, first come
// first served). Call it after Close.
func (r *isoRelay) Messages(t *testing.T) []*isoMsg {
	t.Helper()
	spec := iso.Spec()
	var all []*isoMsg
	for _, rc := range r.conns {
		pending := map[string][]*isoMsg{}
		for _, raw := range rc.reqs {
			m, err := decodeRequest(spec, raw)
			require.NoError(t, err, "a request the generator sent does not decode")
			k := fmt.Sprintf("%s|%d|%s", requestClass(m.mti), m.stan, m.rrn)
			pending[k] = append(pending[k], m)
			all = append(all, m)
		}
		for _, raw := range rc.reps {
			rep, err := iso.UnpackResponse(raw)
			require.NoError(t, err, "a reply of the server does not decode")
			stan, err := strconv.Atoi(rep.STAN)
			require.NoError(t, err)
			k := fmt.Sprintf("%s|%d|%s", requestClass(rep.MTI), stan, rep.RRN)
			q := pending[k]
			require.NotEmpty(t, q, "a reply %s answers no request the relay passed on", rep.MTI)
			q[0].reply = rep
			pending[k] = q[1:]
		}
	}
	return all
}

// storedTxn is a transaction as GET /v1/transactions shows it.
type storedTxn struct {
	ID               string  `json:"id"`
	CardID           string  `json:"cardId"`
	UserID           string  `json:"userId"`
	Type             string  `json:"type"`
	Status           string  `json:"status"`
	Amount           int64   `json:"amount"`
	AuthorizedAmount int64   `json:"authorizedAmount"`
	PendingAmount    int64   `json:"pendingAmount"`
	ReversedAmount   int64   `json:"reversedAmount"`
	ResponseCode     string  `json:"responseCode"`
	AuthCode         *string `json:"authorizationCode"`
	ForcePost        bool    `json:"forcePost"`
	Source           string  `json:"source"`
	STAN             string  `json:"stan"`
	RRN              string  `json:"rrn"`
}

func (s *storedTxn) authCode() string {
	if s.AuthCode == nil {
		return ""
	}
	return *s.AuthCode
}

func (s *storedTxn) String() string {
	return fmt.Sprintf("%s (%s %s amount %d authorized %d pending %d code %s/%s)", s.ID, s.Type, s.Status, s.Amount,
		s.AuthorizedAmount, s.PendingAmount, s.ResponseCode, s.authCode())
}

type storeView struct {
	all   []*storedTxn
	byKey map[string][]*storedTxn // "rrn|stan"
	byRRN map[string][]*storedTxn
}

func txnKey(rrn string, stan int) string { return fmt.Sprintf("%s|%d", rrn, stan) }

// readStore lists every transaction of every card through the API, 100 at
// a time.
func readStore(e *testenv.Env, cards []loadtest.Card) *storeView {
	e.T.Helper()
	sv := &storeView{byKey: map[string][]*storedTxn{}, byRRN: map[string][]*storedTxn{}}
	for _, c := range cards {
		cursor := ""
		for {
			path := "/v1/transactions?limit=100&cardId=" + c.ID
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			r := e.Must(200, "GET", path, nil)
			var page struct {
				Data    []*storedTxn `json:"data"`
				HasMore bool         `json:"hasMore"`
				Cursor  string       `json:"cursor"`
			}
			require.NoError(e.T, json.Unmarshal(r.Body, &page))
			for _, tx := range page.Data {
				require.Equal(e.T, c.ID, tx.CardID, "cardId filter")
				sv.all = append(sv.all, tx)
				if tx.RRN == "" {
					continue
				}
				stan, err := strconv.Atoi(tx.STAN)
				require.NoError(e.T, err, "transaction %s has stan %q", tx.ID, tx.STAN)
				sv.byKey[txnKey(tx.RRN, stan)] = append(sv.byKey[txnKey(tx.RRN, stan)], tx)
				sv.byRRN[tx.RRN] = append(sv.byRRN[tx.RRN], tx)
			}
			if !page.HasMore {
				break
			}
			require.NotEmpty(e.T, page.Cursor)
			cursor = page.Cursor
		}
	}
	return sv
}

// crashChecker compares what the relay saw with the store. Findings are
// grouped by check, so that the failure says which promise was broken.
type crashChecker struct {
	store    *storeView
	cards    map[string]loadtest.Card // by PAN
	msgs     []*isoMsg
	rep      *crashReport
	originOf map[string]*isoMsg // rrn -> the 0100 that created it
	findings map[string][]string
	order    []string
}

func (ck *crashChecker) fail(check, format string, args ...any) {
	if ck.findings == nil {
		ck.findings = map[string][]string{}
	}
	if _, ok := ck.findings[check]; !ok {
		ck.order = append(ck.order, check)
	}
	ck.findings[check] = append(ck.findings[check], fmt.Sprintf(format, args...))
}

// describe names a message without its PAN.
func (ck *crashChecker) describe(m *isoMsg) string {
	card := ck.cards[m.pan]
	return fmt.Sprintf("%s STAN %06d RRN %s card %s %s amount %d", m.mti, m.stan, m.rrn, card.ID, loadtest.MaskPAN(m.pan), m.amount)
}

func (ck *crashChecker) index() {
	ck.originOf = map[string]*isoMsg{}
	for _, m := range ck.msgs {
		if m.mti == "0100" {
			if _, ok := ck.originOf[m.rrn]; !ok {
				ck.originOf[m.rrn] = m
			}
		}
	}
	for _, m := range ck.msgs {
		switch m.mti {
		case "0101", "0220", "0400", "0401":
			m.original = ck.originOf[m.rrn]
			if m.original == nil {
				ck.fail("relay", "%s refers to an authorization the relay never passed on", ck.describe(m))
			}
		}
	}
}

// lookup returns the one transaction of a message's STAN and RRN.
func (ck *crashChecker) lookup(m *isoMsg) (*storedTxn, bool) {
	txs := ck.store.byKey[txnKey(m.rrn, m.stan)]
	if len(txs) == 0 {
		return nil, false
	}
	return txs[0], true
}

// checkApprovals: every approval the generator received is in the store
// with the same approval code.
func (ck *crashChecker) checkApprovals(approvals []loadtest.Approval) {
	ck.rep.ApprovalsReceived = len(approvals)
	for _, a := range approvals {
		stan, err := strconv.Atoi(a.STAN)
		if err != nil {
			ck.fail("approvals", "approval with STAN %q", a.STAN)
			continue
		}
		txs := ck.store.byKey[txnKey(a.RRN, stan)]
		if len(txs) == 0 {
			ck.rep.ApprovalsLost++
			ck.fail("approvals lost", "%s approval STAN %s RRN %s card %s %s code %s is not in the store", a.Kind, a.STAN, a.RRN, a.CardID, a.Card, a.AuthCode)
			continue
		}
		tx := txs[0]
		if tx.authCode() != a.AuthCode || tx.CardID != a.CardID || tx.ResponseCode != "00" {
			ck.rep.ApprovalCodeMismatch++
			ck.fail("approvals changed", "%s approval STAN %s RRN %s card %s code %s is stored as %s", a.Kind, a.STAN, a.RRN, a.CardID, a.AuthCode, tx)
			continue
		}
		ck.rep.ApprovalsFound++
	}
}

// recordedDeclines are the codes an authorization decline is recorded with
// (docs/iso8583.md, response codes).
var recordedDeclines = map[string]bool{"05": true, "13": true, "51": true, "54": true, "57": true, "61": true, "62": true, "65": true, "82": true}

// checkServerAnswers: everything the server answered is in the store as
// answered, whether or not the generator still got the answer.
func (ck *crashChecker) checkServerAnswers() {
	for _, m := range ck.msgs {
		if m.reply == nil {
			continue
		}
		ck.rep.ServerAcksChecked++
		bad := func(format string, args ...any) {
			ck.rep.ServerAcksBroken++
			ck.fail("answered messages", "%s answered %s/%s: %s", ck.describe(m), m.reply.Code, m.reply.AuthCode, fmt.Sprintf(format, args...))
		}
		code := m.reply.Code
		switch m.mti {
		case "0100":
			tx, ok := ck.lookup(m)
			switch {
			case code == "00" && !ok:
				bad("not in the store")
			case code == "00" && (tx.authCode() != m.reply.AuthCode || tx.ResponseCode != "00"):
				bad("stored as %s", tx)
			case code == "00" && m.refund() && (tx.Type != "refund" || tx.Status != "completed" || tx.Amount != m.amount):
				bad("stored as %s", tx)
			case code == "00" && !m.refund() && (tx.Type != "purchase" || tx.AuthorizedAmount != m.amount):
				bad("stored as %s", tx)
			case code != "00" && recordedDeclines[code] && !ok:
				bad("the decline is not recorded")
			case code != "00" && ok && (tx.Status != "declined" || tx.ResponseCode != code || tx.PendingAmount != 0):
				bad("stored as %s", tx)
			}
		case "0101":
			o := m.original
			if o == nil {
				continue
			}
			if o.reply != nil && (o.reply.Code != code || o.reply.AuthCode != m.reply.AuthCode) {
				bad("the original was answered %s/%s", o.reply.Code, o.reply.AuthCode)
			}
		case "0220":
			o := m.original
			if o == nil {
				continue
			}
			tx, ok := ck.lookup(o)
			switch {
			case code != "00":
				bad("a clearing of an acknowledged approval was declined")
			case !ok:
				bad("its authorization is not in the store")
			case tx.Status != "completed" || tx.Amount != m.amount || tx.PendingAmount != 0:
				bad("its authorization is stored as %s", tx)
			}
		case "0400", "0401":
			o := m.original
			if o == nil {
				continue
			}
			tx, ok := ck.lookup(o)
			switch {
			case code != "00":
				bad("a reversal of an acknowledged approval was declined")
			case !ok:
				bad("its authorization is not in the store")
			case !m.hasDE95 && (tx.Status != "reversed" || tx.PendingAmount != 0):
				bad("its authorization is stored as %s", tx)
			case m.hasDE95 && (tx.Status != "authorized" || tx.Amount != m.remains || tx.PendingAmount != m.remains):
				bad("partial reversal to %d: its authorization is stored as %s", m.remains, tx)
			}
		}
	}
}

// checkInDoubt: every message the server did not answer (the generator
// timed out, or the connection died with the process) is either fully
// applied or not at all. The generator only sends follow-ups of answers it
// received, so nothing later can have changed an unanswered message's
// transaction.
func (ck *crashChecker) checkInDoubt() {
	for _, m := range ck.msgs {
		if m.reply != nil {
			continue
		}
		ck.rep.InDoubt++
		partial := func(format string, args ...any) {
			ck.rep.InDoubtPartial++
			ck.fail("unanswered messages", "%s, unanswered: %s", ck.describe(m), fmt.Sprintf(format, args...))
		}
		switch m.mti {
		case "0100":
			tx, ok := ck.lookup(m)
			switch {
			case !ok:
				ck.rep.InDoubtAbsent++
			case tx.CardID != ck.cards[m.pan].ID || tx.AuthorizedAmount != m.amount && tx.Amount != m.amount:
				partial("another card or amount: %s", tx)
			case tx.Status == "declined" && tx.PendingAmount == 0:
				ck.rep.InDoubtPresent++
			case m.refund() && tx.Type == "refund" && tx.Status == "completed" && tx.Amount == m.amount && tx.authCode() != "":
				ck.rep.InDoubtPresent++
			case !m.refund() && tx.Type == "purchase" && tx.Status == "authorized" && tx.PendingAmount == m.amount && tx.authCode() != "":
				ck.rep.InDoubtPresent++
			default:
				partial("stored as %s", tx)
			}
		case "0101":
			// A repeat changes nothing, answered or not; that it made no
			// second transaction is checked with the duplicates.
			ck.rep.InDoubtNoEffect++
		case "0220":
			o := m.original
			if o == nil {
				continue
			}
			tx, ok := ck.lookup(o)
			switch {
			case !ok:
				partial("its acknowledged authorization is not in the store")
			case tx.Status == "authorized" && tx.PendingAmount == o.amount && tx.Amount == o.amount:
				ck.rep.InDoubtAbsent++
			case tx.Status == "completed" && tx.Amount == m.amount && tx.PendingAmount == 0:
				ck.rep.InDoubtPresent++
			default:
				partial("its authorization is stored as %s", tx)
			}
		case "0400", "0401":
			o := m.original
			if o == nil {
				continue
			}
			tx, ok := ck.lookup(o)
			switch {
			case !ok:
				partial("its acknowledged authorization is not in the store")
			case tx.Status == "authorized" && tx.PendingAmount == o.amount && tx.Amount == o.amount:
				ck.rep.InDoubtAbsent++
			case !m.hasDE95 && tx.Status == "reversed" && tx.PendingAmount == 0:
				ck.rep.InDoubtPresent++
			case m.hasDE95 && tx.Status == "authorized" && tx.Amount == m.remains && tx.PendingAmount == m.remains:
				ck.rep.InDoubtPresent++
			default:
				partial("its authorization is stored as %s", tx)
			}
		default:
			ck.rep.InDoubtNoEffect++
		}
	}
}

// checkStoreShape: no STAN and RRN made two transactions, every
// transaction came from a message the relay passed on, and no clearing
// turned into a force post (which would mean it did not find the
// authorization it was sent for).
func (ck *crashChecker) checkStoreShape() {
	sent := map[string]bool{}
	for _, m := range ck.msgs {
		sent[txnKey(m.rrn, m.stan)] = true
	}
	for k, txs := range ck.store.byKey {
		if len(txs) > 1 {
			ck.rep.DuplicateTxns += len(txs) - 1
			ck.fail("duplicates", "%d transactions for RRN|STAN %s: %s and %s", len(txs), k, txs[0], txs[1])
		}
	}
	for _, tx := range ck.store.all {
		if tx.ForcePost {
			ck.rep.ForcePosts++
			ck.fail("force posts", "force post %s", tx)
		}
		if tx.Source != "iso" {
			continue
		}
		stan, _ := strconv.Atoi(tx.STAN)
		if !sent[txnKey(tx.RRN, stan)] {
			ck.fail("unknown transactions", "%s (RRN %s STAN %s) matches no message the relay passed on", tx, tx.RRN, tx.STAN)
		}
	}
}

// probeRepeats sends, after all the crashes, a repeat (0101, the original
// bytes with the MTI changed) of every unanswered authorization that was
// applied and of a sample of answered ones: the answer must be the one the
// store (or the first reply) holds, and nothing may change.
func (ck *crashChecker) probeRepeats(t *testing.T, addr string, rng *rand.Rand) {
	t.Helper()
	var probes []*isoMsg
	var answered []*isoMsg
	for _, m := range ck.msgs {
		if m.mti != "0100" {
			continue
		}
		if m.reply == nil {
			if _, ok := ck.lookup(m); ok {
				probes = append(probes, m)
			}
			continue
		}
		if m.reply.Code == "00" || recordedDeclines[m.reply.Code] {
			answered = append(answered, m)
		}
	}
	rng.Shuffle(len(answered), func(i, j int) { answered[i], answered[j] = answered[j], answered[i] })
	probes = append(probes, answered[:min(len(answered), 200)]...)
	if len(probes) == 0 {
		return
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	fr := iso.NewFrameReader(conn, iso.Binary2, 0)
	for _, m := range probes {
		raw := append([]byte(nil), m.raw...)
		copy(raw[:4], "0101")
		require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
		require.NoError(t, iso.WriteFrame(conn, iso.Binary2, raw))
		f, err := fr.Next()
		require.NoError(t, err, "repeat probe")
		got, err := iso.UnpackResponse(f)
		require.NoError(t, err)
		require.Equal(t, m.rrn, got.RRN, "probes are answered in order on one connection")
		ck.rep.RepeatProbes++
		wantCode, wantAuth := "", ""
		if m.reply != nil {
			wantCode, wantAuth = m.reply.Code, m.reply.AuthCode
		} else {
			tx, _ := ck.lookup(m)
			wantCode, wantAuth = tx.ResponseCode, tx.authCode()
		}
		if got.Code != wantCode || got.AuthCode != wantAuth {
			ck.rep.RepeatProbesDiffer++
			ck.fail("repeats after the crashes", "%s: a repeat was answered %s/%s, want %s/%s", ck.describe(m), got.Code, got.AuthCode, wantCode, wantAuth)
		}
	}
}

// knownBugs names checks that fail because of a reported bug that is not
// fixed yet: their findings are logged and the test is skipped, not
// failed, when nothing else is wrong. Empty when every check passes.
var knownBugs = map[string]string{}

func (ck *crashChecker) report(t *testing.T) {
	t.Helper()
	if len(ck.order) == 0 {
		return
	}
	sort.SliceStable(ck.order, func(i, j int) bool { return knownBugs[ck.order[i]] == "" && knownBugs[ck.order[j]] != "" })
	var skipped []string
	failed := false
	for _, check := range ck.order {
		f := ck.findings[check]
		shown := f[:min(len(f), 10)]
		if bug := knownBugs[check]; bug != "" {
			t.Logf("check %q: %d findings (known bug: %s), for example:\n  %s", check, len(f), bug, strings.Join(shown, "\n  "))
			skipped = append(skipped, check+": "+bug)
			continue
		}
		failed = true
		t.Errorf("check %q: %d findings, for example:\n  %s", check, len(f), strings.Join(shown, "\n  "))
	}
	if !failed && len(skipped) > 0 {
		t.Skip("known bug: " + strings.Join(skipped, "; "))
	}
}

// loadedCheckpoint reports whether a server's start-up log says it loaded
// its memory tables from a checkpoint (rather than rebuilding them from
// the store).
func loadedCheckpoint(lines []string) bool {
	for _, l := range lines {
		if strings.Contains(l, "memory tables loaded from a checkpoint") {
			return true
		}
	}
	return false
}
