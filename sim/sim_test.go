package sim

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/risk"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
	"github.com/ledgersim/ledgersim/verify"
)

var (
	flagSeed     = flag.Uint64("seed", 0, "run only this seed (replays a failure)")
	flagSeeds    = flag.Int("seeds", 30, "how many seeds to run: -first-seed, -first-seed+1, ...")
	flagFirst    = flag.Uint64("first-seed", 1, "the first seed of a -seeds run")
	flagSteps    = flag.Int("steps", 200, "operations per seed")
	flagExercise = flag.String("exercise", "", "known bugs to exercise anyway (see knownBugs): comma-separated names, or all")
	flagLog      = flag.Bool("simlog", false, "log every seed's operations, also when it passes")
	flagMemFS    = flag.Bool("memfs", false, "keep the stores in memory (Pebble's vfs.NewMem) instead of t.TempDir(): faster long runs")
)

// Checks beyond every step's: the full comparison (every transaction and
// intent, and the store's set of transactions) and the store invariants.
const (
	fullCompareEvery = 10
	verifyEvery      = 50
)

func TestSimulation(t *testing.T) {
	seeds := []uint64{*flagSeed}
	if *flagSeed == 0 {
		seeds = seeds[:0]
		for i := 0; i < *flagSeeds; i++ {
			seeds = append(seeds, *flagFirst+uint64(i))
		}
	}
	start := time.Now()
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			runSeed(t, seed, *flagSteps)
		})
	}
	t.Cleanup(func() {
		if !t.Failed() {
			t.Logf("%d seeds of %d steps (%d steps) in %v", len(seeds), *flagSteps, len(seeds)**flagSteps,
				time.Since(start).Round(time.Millisecond))
		}
		if testing.Verbose() {
			t.Log("what the steps did (operation: outcome, count):\n" + tally.String())
		}
	})
}

// tally counts outcomes over every seed of a run, to show with -v what the
// generator exercised.
var tally counter

type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[key]++
}

func (c *counter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.n))
	for k := range c.n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-60s %d\n", k, c.n[k])
	}
	return b.String()
}

// opName names an operation kind for the tally.
func opName(o *op) string {
	return [...]string{opMsg: "message", opAdvance: "advance the clock", opDeposit: "deposit", opRefund: "api refund",
		opIntent: "create intent", opCancel: "cancel intent", opDetails: "read details", opReactivate: "reactivate agent",
		opFreeze: "freeze card", opUnfreeze: "unfreeze card", opIssue: "issue card", opDeregister: "deregister agent",
		opRestart: "restart", opWithdraw: "withdraw", opDispute: "dispute", opResolveDispute: "resolve dispute",
		opKYC: "kyc status", opActivate: "activate card"}[o.kind]
}

// tallyKey names a step's operation and outcome for the tally.
func tallyKey(o *op, outcome string) string {
	if o.kind != opMsg {
		return opName(o) + ": " + outcome
	}
	x := o.x
	what := x.mti
	switch {
	case x.typ == mAuth:
		what += map[string]string{"00": " purchase", "20": " refund", "31": " inquiry"}[x.proc]
		if x.proc == "00" && x.amount == 0 {
			what = x.mti + " verification"
		}
		switch {
		case x.proc == "00" && x.amount > 0 && x.de90 != "" && x.mti == "0120":
			what = x.mti + " amount advice"
		case x.proc == "00" && x.amount > 0 && x.de90 != "" && x.mti != "0200":
			what = x.mti + " increment"
		case x.partialOK:
			what += " (partial ok)"
		}
	case x.viaTxn != nil:
		what += " by ID"
	}
	if note, _, _ := strings.Cut(o.note, ","); note != "" {
		what += " [" + note + "]"
	}
	return what + ": " + outcome
}

// config is what a seed chooses of the ledger's configuration and of its
// world.
type config struct {
	start          time.Time
	overCapturePct int64
	holdExpiry     time.Duration
	repeatWindow   time.Duration
	autoSettle     time.Duration // 0: off
	restarts       int
}

func seedConfig(rng *rand.Rand) config {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := config{
		// Anywhere in the year, at any second, so that runs cross days,
		// weeks, months and a year's end.
		start:          base.Add(time.Duration(rng.Int64N(365*24*3600)) * time.Second),
		overCapturePct: []int64{0, 10, 20, 25}[rng.IntN(4)],
		holdExpiry:     []time.Duration{2 * time.Hour, 26 * time.Hour, 168 * time.Hour}[rng.IntN(3)],
		repeatWindow:   []time.Duration{5 * time.Minute, 15 * time.Minute, 30 * time.Minute}[rng.IntN(3)],
	}
	if rng.IntN(3) == 0 {
		c.restarts = 1 + rng.IntN(3)
	}
	if rng.IntN(2) == 0 {
		c.autoSettle = []time.Duration{time.Hour, 20 * time.Hour, 48 * time.Hour}[rng.IntN(3)]
	}
	return c
}

type harness struct {
	t     *testing.T
	seed  uint64
	steps int
	ctx   context.Context
	cfg   config
	dir   string
	fs    vfs.FS // nil: the real filesystem
	clk   *clock.Virtual
	vault *vault.Vault
	db    *store.DB
	l     *ledger.Ledger
	m     *refModel
	g     *gen
	step  int
	log   []string
	// current names the operation kind of the step, for the tally.
	current string
	// byID maps the core's transaction IDs to the model's.
	byID map[string]*mTxn
	// idem is what the API remembers of each Idempotency-Key: the first
	// request performed under it that succeeded, and its reply.
	idem map[string]*idemEntry
}

// idemEntry is the request an Idempotency-Key was first used for, when
// (ms), and the reply it got.
type idemEntry struct {
	firstMs    int64
	path, body string
	status     int
	reply      []byte
}

func runSeed(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 0x1ed6e75))
	cfg := seedConfig(rng)
	v, err := vault.Open(vault.Config{MasterKeyHex: strings.Repeat("ab", 32)})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, seed: seed, steps: steps, ctx: context.Background(), cfg: cfg, dir: t.TempDir(),
		clk: clock.NewVirtual(cfg.start), vault: v, byID: map[string]*mTxn{}, idem: map[string]*idemEntry{}}
	if *flagMemFS {
		h.fs, h.dir = vfs.NewMem(), "/sim"
	}
	h.m = newModel(cfg.start, cfg.overCapturePct, cfg.holdExpiry, cfg.repeatWindow, cfg.autoSettle)
	h.g = newGen(rng, h.m, cfg.restarts, exercised)
	h.logf("config: start %s, over-capture %d%%, hold expiry %v, repeat window %v, restarts up to %d",
		cfg.start.Format(time.RFC3339), cfg.overCapturePct, cfg.holdExpiry, cfg.repeatWindow, cfg.restarts)
	h.open()
	defer func() {
		_ = h.l.Close()
		_ = h.db.Close()
	}()
	h.setup()
	h.compareAll()
	for h.step = 1; h.step <= steps; h.step++ {
		o := h.g.next(h.step)
		h.logf("step %d: %s", h.step, o)
		h.exec(o)
		h.compareStep()
		if h.step%fullCompareEvery == 0 {
			h.compareAll()
		}
		if h.step%verifyEvery == 0 {
			h.verify()
		}
	}
	h.step = steps
	h.compareAll()
	h.verify()
	if *flagLog {
		t.Log("\n" + strings.Join(h.log, "\n"))
	}
}

func (h *harness) logf(format string, args ...any) {
	h.log = append(h.log, fmt.Sprintf(format, args...))
}

// fail stops the seed with what differs, how to replay it, and the log.
func (h *harness) fail(format string, args ...any) {
	h.t.Helper()
	replay := fmt.Sprintf("go test ./sim/ -run TestSimulation -seed=%d -steps=%d", h.seed, h.steps)
	if *flagExercise != "" {
		replay += " -exercise=" + *flagExercise
	}
	if *flagMemFS {
		replay += " -memfs"
	}
	h.t.Fatalf("seed %d, step %d: %s\nreplay: %s\noperations:\n%s", h.seed, h.step, fmt.Sprintf(format, args...),
		replay, strings.Join(h.log, "\n"))
}

func (h *harness) must(err error, what string) {
	h.t.Helper()
	if err != nil {
		h.fail("%s: %v", what, err)
	}
}

func (h *harness) open() {
	db, err := store.Open(store.Options{Dir: h.dir, FS: h.fs})
	h.must(err, "open store")
	l, err := ledger.Open(ledger.Config{Store: db, Vault: h.vault, Clock: h.clk, OverCapturePct: h.cfg.overCapturePct,
		HoldExpiry: h.cfg.holdExpiry, RepeatWindow: h.cfg.repeatWindow, AutoSettle: h.cfg.autoSettle})
	if err != nil {
		_ = db.Close()
		h.fail("open ledger: %v", err)
	}
	h.db, h.l = db, l
}

// setup makes the world: two or three approved users with deposits, one or
// two agents each with or without a spending limit, two or three cards
// each.
func (h *harness) setup() {
	g := h.g
	h.setupPolicies()
	h.setupRisk()
	nUsers := 2 + g.rng.IntN(2)
	for i := 0; i < nUsers; i++ {
		u := &mUser{name: fmt.Sprintf("U%d", i+1)}
		cu, err := h.l.CreateUser(h.ctx, ledger.CreateUserInput{FirstName: u.name, LastName: "Sim", Email: fmt.Sprintf("%s@sim.example", strings.ToLower(u.name))})
		h.must(err, "create user")
		_, err = h.l.DecideKYC(h.ctx, cu.ID, true)
		h.must(err, "approve user")
		u.id = cu.ID
		h.m.users = append(h.m.users, u)
		h.exec(&op{kind: opDeposit, user: u, amount: 5000 + g.rng.Int64N(150000)})
		h.logf("setup: %s, deposit %d", u.name, u.settled)
		for j := 0; j < 1+g.rng.IntN(2); j++ {
			a := &mAgent{name: fmt.Sprintf("A%d", len(h.m.agents)+1), user: u, status: model.AgentActive, onLimit: model.OnLimitNone}
			in := ledger.AgentInput{UserID: u.id, Name: a.name}
			if len(h.m.policies) > 0 && g.pct(25) {
				a.defaultPolicy = pick(g, h.m.policies)
				in.DefaultPolicyID = a.defaultPolicy.id
			}
			if g.pct(60) {
				lim := 5000 + g.rng.Int64N(80000)
				a.limit, in.SpendingLimit = &lim, &lim
				in.SpendingLimitFrequency = pick(g, append([]string{""}, model.Frequencies...))
				in.OnLimitExceeded = pick(g, append([]string{""}, model.OnLimitActions...))
				a.freq = in.SpendingLimitFrequency
				if a.freq == "" {
					a.freq = model.FreqPerMonth
				}
				if in.OnLimitExceeded != "" {
					a.onLimit = in.OnLimitExceeded
				}
			}
			reg, err := h.l.RegisterAgent(h.ctx, in)
			h.must(err, "register agent")
			a.id = reg.Agent.ID
			h.m.agents = append(h.m.agents, a)
			h.logf("setup: %s of %s, limit %s %s onLimitExceeded %s", a.name, u.name, ptrStr(a.limit), a.freq, a.onLimit)
			if a.defaultPolicy != nil {
				h.logf("setup: %s's default policy is %s", a.name, a.defaultPolicy.name)
			}
			for k := 0; k < 2+g.rng.IntN(2); k++ {
				o := &op{kind: opIssue, agent: a, card: g.cardSpec(a)}
				h.logf("setup: %s", o)
				h.exec(o)
			}
		}
	}
}

// setupPolicies makes up to three policies, each with some of the controls
// the simulation models: blocked or allowed merchant categories, a
// cumulative cap, an authorization count, a cooldown, and active hours and
// days in a time zone.
func (h *harness) setupPolicies() {
	g := h.g
	for i := 0; i < g.rng.IntN(4); i++ {
		p := &mPolicy{name: fmt.Sprintf("P%d", i+1)}
		in := model.Policy{Name: p.name}
		if g.pct(50) {
			p.blocked = []string{"7995", "4829"}
		} else if g.pct(40) {
			p.allowed = []string{"5411", "5541", "5812", "5814"}
		}
		in.BlockedMCCs, in.AllowedMCCs = p.blocked, p.allowed
		p.cumulativeMax = g.opt(35, 5000, 60000)
		p.maxAuthCount = g.opt(25, 1, 8)
		if g.pct(35) {
			p.cooldownMinutes = ptr(pick(g, []int64{1, 5, 30, 120}))
		}
		if g.pct(40) {
			p.hoursStart, p.hoursEnd = ptr(g.rng.Int64N(24)), ptr(g.rng.Int64N(24))
			p.zone = pick(g, []string{"", "America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata"})
			if g.pct(30) {
				for d := int64(0); d < 7; d++ {
					if g.pct(70) {
						p.days = append(p.days, d)
					}
				}
			}
		}
		in.CumulativeMax, in.MaxAuthCount, in.CooldownMinutes = p.cumulativeMax, p.maxAuthCount, p.cooldownMinutes
		in.ActiveHoursStart, in.ActiveHoursEnd, in.ActiveTimezone, in.ActiveDays = p.hoursStart, p.hoursEnd, p.zone, p.days
		pol, err := h.l.CreatePolicy(h.ctx, in)
		h.must(err, "create policy")
		p.id = pol.ID
		h.m.policies = append(h.m.policies, p)
		h.logf("setup: policy %s: blocked %v allowed %v cumulativeMax %s maxAuthCount %s cooldown %s hours %s-%s %q days %v",
			p.name, p.blocked, p.allowed, ptrStr(p.cumulativeMax), ptrStr(p.maxAuthCount), ptrStr(p.cooldownMinutes),
			ptrStr(p.hoursStart), ptrStr(p.hoursEnd), p.zone, p.days)
	}
}

// setupRisk sets, for most seeds, the organization's risk settings:
// duplicate detection, the velocity limit and cooldown violation, each on
// or off with an action, the other rules off; now and then in dry run.
func (h *harness) setupRisk() {
	g := h.g
	if !g.pct(70) {
		return
	}
	action := func() string {
		switch r := g.rng.IntN(100); {
		case r < 50:
			return risk.ActionAlert
		case r < 85:
			return risk.ActionFreezeCard
		}
		return risk.ActionSuspendAgent
	}
	r := &mRisk{dryRun: g.pct(15), dup: g.pct(50), vel: g.pct(60), cooldown: g.pct(50),
		dupWindowMin: pick(g, []int64{5, 15, 60}), maxPerHour: 2 + g.rng.Int64N(4), maxPerDay: pick(g, []int64{0, 8, 15})}
	r.dupAction, r.velAction, r.cdAction = action(), action(), action()
	_, err := h.l.UpdateRisk(h.ctx, ledger.RiskScope{}, func(cur *risk.Settings, _ *risk.Overlay) error {
		*cur = risk.Off()
		cur.Preset, cur.DryRun = risk.PresetCustom, r.dryRun
		cur.DuplicateDetection = risk.DuplicateRule{Enabled: r.dup, WindowMinutes: r.dupWindowMin, Action: r.dupAction}
		cur.VelocityLimit = risk.VelocityRule{Enabled: r.vel, MaxPerHour: r.maxPerHour, MaxPerDay: r.maxPerDay, Action: r.velAction}
		cur.CooldownViolation = risk.SimpleRule{Enabled: r.cooldown, Action: r.cdAction}
		return nil
	})
	h.must(err, "risk settings")
	h.m.risk = r
	h.logf("setup: risk dryRun %v, duplicate %v %dm %s, velocity %v %d/h %d/day %s, cooldown %v %s", r.dryRun,
		r.dup, r.dupWindowMin, r.dupAction, r.vel, r.maxPerHour, r.maxPerDay, r.velAction, r.cooldown, r.cdAction)
}

func ptr[T any](v T) *T { return &v }

// ---- executing a step ----

func errCode(err error) string {
	var le *ledger.Error
	if errors.As(err, &le) {
		return le.Code
	}
	if err != nil {
		return "unexpected error: " + err.Error()
	}
	return ""
}

func (h *harness) exec(o *op) {
	h.m.dirtyTxns, h.m.dirtyIntents = h.m.dirtyTxns[:0], h.m.dirtyIntents[:0]
	h.current = opName(o)
	switch o.kind {
	case opAdvance, opDeposit, opRestart:
		tally.add(h.current)
	}
	switch o.kind {
	case opMsg:
		if o.idemKey != "" {
			h.keyedFollowUp(o)
			return
		}
		h.message(h.ctx, o)
	case opAdvance:
		h.m.nowMs = h.clk.Advance(o.d).UnixMilli()
		want := h.m.sweep()
		got, err := h.l.Sweep(h.ctx)
		h.must(err, "sweep")
		h.logf("  -> now %s, %d holds expired (model: %d)", h.m.now().Format("2006-01-02 15:04:05 Mon"), got, want)
		if got != want {
			h.fail("Sweep expired %d holds, the model %d", got, want)
		}
	case opDeposit:
		h.deposit(o)
	case opRefund:
		if o.idemKey == "" {
			h.refund(h.ctx, o)
			break
		}
		body := fmt.Sprintf(`{"transactionId":%q,"amount":%d}`, o.txn.id, o.amount)
		h.idempotent(o.idemKey, "/v1/simulate/refund", body, func(ctx context.Context, idem *ledger.Idem) (int, []byte, bool, bool) {
			idem.SetRender(func(r any) (int, []byte, error) { return 201, renderOutcome(r.(ledger.Outcome)), nil })
			out, ok := h.refund(ctx, o)
			return 201, renderOutcome(out), ok, len(h.m.dirtyTxns) > 0
		})
	case opIntent:
		it := o.intent
		exp := h.m.createIntent(it)
		res, err := h.l.CreateIntent(h.ctx, it.card.id, ledger.IntentInput{IntentID: it.clientID, Summary: "simulated purchase",
			ExpectedAmount: it.expAmount, ExpectedMerchant: it.merchant, Tolerance: it.tolerance, TTLMinutes: it.ttl})
		h.checkAPI(exp, err)
		switch {
		case err != nil:
		case exp.newIntent != nil:
			if !res.Created {
				h.fail("CreateIntent returned an existing intent %s, the model creates %s", res.Intent.ID, it.name)
			}
			it.id = res.Intent.ID
			h.logf("  -> created %s = %s", it.name, it.id)
		default:
			if res.Created || res.Intent.ID != exp.intent.id {
				h.fail("CreateIntent: created %v %s, the model returns the existing %s (%s)", res.Created, res.Intent.ID, exp.intent.name, exp.intent.id)
			}
			h.logf("  -> existing %s", exp.intent.name)
		}
	case opCancel:
		exp := h.m.cancelIntent(o.intent)
		_, err := h.l.CancelIntent(h.ctx, o.intent.id)
		h.checkAPI(exp, err)
	case opDetails:
		exp := h.m.readDetails(o.card)
		creds, err := h.l.ReadDetails(h.ctx, o.card.id, ledger.Attestation{Summary: "simulated checkout", Actor: "api_key"})
		h.checkAPI(exp, err)
		if err == nil {
			want := ""
			if exp.intent != nil {
				want = exp.intent.id
			}
			if creds.AccessEvent.IntentID != want {
				h.fail("ReadDetails tied the access to intent %q, the model to %q", creds.AccessEvent.IntentID, want)
			}
		}
	case opReactivate:
		exp := h.m.reactivate(o.agent)
		_, err := h.l.SetAgentStatus(h.ctx, o.agent.id, model.AgentActive)
		h.checkAPI(exp, err)
	case opFreeze:
		exp := h.m.transition(o.card, model.CardFrozen)
		_, err := h.l.FreezeCard(h.ctx, o.card.id)
		h.checkAPI(exp, err)
	case opUnfreeze:
		exp := h.m.transition(o.card, model.CardActive)
		_, err := h.l.UnfreezeCard(h.ctx, o.card.id)
		h.checkAPI(exp, err)
	case opIssue:
		h.issue(o.card)
	case opDeregister:
		exp := h.m.deregister(o.agent)
		_, err := h.l.Deregister(h.ctx, o.agent.id)
		h.checkAPI(exp, err)
	case opActivate:
		exp := h.m.activate(o.card)
		_, err := h.l.ActivateCard(h.ctx, o.card.id)
		h.checkAPI(exp, err)
	case opKYC:
		exp := h.m.kyc(o.user, o.outcome)
		u, err := h.l.SetKYCStatus(h.ctx, o.user.id, o.outcome)
		h.checkAPI(exp, err)
		if err == nil && u.ApplicationStatus != o.outcome {
			h.fail("user %s is %s, the model %s", o.user.name, u.ApplicationStatus, o.outcome)
		}
	case opWithdraw:
		exp := h.m.withdraw(o.user, o.amount)
		_, err := h.l.CreateWithdrawal(h.ctx, o.user.id, ledger.WithdrawalInput{ChainID: 8453,
			TokenAddress: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", AmountCents: o.amount,
			RecipientAddress: "0x1111111111111111111111111111111111111111"})
		h.checkAPI(exp, err)
	case opDispute:
		exp, md := h.m.dispute(o.txn)
		d, err := h.l.CreateDispute(h.ctx, o.txn.id, ledger.DisputeInput{Reason: "duplicate"})
		h.checkAPI(exp, err)
		if err == nil {
			md.id = d.ID
			if d.AmountCents != md.amount {
				h.fail("dispute of %s covers %d cents, the model %d", o.txn.name, d.AmountCents, md.amount)
			}
		}
	case opResolveDispute:
		md := o.dispute
		exp := h.m.resolveDispute(md, o.outcome)
		d, err := h.l.ResolveDispute(h.ctx, md.id, o.outcome)
		h.checkAPI(exp, err)
		if err == nil {
			if d.Status != md.status {
				h.fail("dispute of %s is %s, the model %s", md.txn.name, d.Status, md.status)
			}
			var want int64
			if md.credit != nil {
				want = md.credit.amount
				md.credit.id = d.CreditTransactionID
				h.byID[d.CreditTransactionID] = md.credit
				// The approval code is the core's to make, as on a refund.
				if ct, err := h.l.GetTxn(d.CreditTransactionID); err == nil {
					md.credit.authCode = ct.AuthorizationCode
				}
			}
			if d.CreditCents != want {
				h.fail("dispute of %s credited %d cents, the model %d", md.txn.name, d.CreditCents, want)
			}
		}
	case opRestart:
		h.must(h.l.Close(), "close ledger")
		h.must(h.db.Close(), "close store")
		h.open()
		h.compareAll()
		h.verify()
	}
}

// message delivers a network message (or a clearing or reversal by ID)
// and checks the reply.
func (h *harness) message(ctx context.Context, o *op) ledger.Outcome {
	exp := h.m.deliver(o.x)
	out, err := h.deliver(ctx, o.x)
	h.must(err, "the core failed")
	h.checkReply(exp, out)
	h.g.sent = append(h.g.sent, o.x)
	outcome := out.Code
	if out.Replayed {
		outcome += " (repeat)"
	}
	tally.add(tallyKey(o, outcome))
	if t := exp.newTxn; t != nil && t.intent != nil {
		tally.add("intent " + t.intent.status + " by " + t.mti)
	}
	if t := exp.newTxn; t != nil && t.attestation != "" {
		tally.add("purchase " + t.attestation)
	}
	return out
}

// refund runs an API refund and checks its answer; ok is false when the
// answer is an error.
func (h *harness) refund(ctx context.Context, o *op) (out ledger.Outcome, ok bool) {
	exp := h.m.refund(o.txn, o.amount)
	out, err := h.l.Refund(ctx, o.txn.id, o.amount)
	h.checkAPI(exp, err)
	if err == nil {
		h.checkReply(exp, out)
	}
	return out, err == nil
}

// keyedFollowUp runs a clearing or reversal by ID under its
// Idempotency-Key, with the body the simulate endpoint would be sent. The
// API answers anything but an approval with an error, which is not
// remembered.
func (h *harness) keyedFollowUp(o *op) {
	x := o.x
	path, body := "/v1/simulate/clearing", fmt.Sprintf(`{"transactionId":%q,"amount":%d}`, x.viaTxn.id, x.amount)
	if x.typ == mReverse {
		path, body = "/v1/simulate/reversal", fmt.Sprintf(`{"transactionId":%q}`, x.viaTxn.id)
		if x.hasRepl {
			body = fmt.Sprintf(`{"transactionId":%q,"remainingAmount":%d}`, x.viaTxn.id, x.repl)
		}
	}
	h.idempotent(o.idemKey, path, body, func(ctx context.Context, idem *ledger.Idem) (int, []byte, bool, bool) {
		idem.SetRender(func(r any) (int, []byte, error) { return 200, renderOutcome(r.(ledger.Outcome)), nil })
		out := h.message(ctx, o)
		return 200, renderOutcome(out), out.Code == authz.CodeApproved, len(h.m.dirtyTxns) > 0
	})
}

// renderOutcome is the reply to an API call, as far as the simulation
// tells replies apart: the decision, the transaction it names and that
// transaction as it was then, so that a replay rendered again from the
// transaction's later state would not pass for the first reply.
func renderOutcome(out ledger.Outcome) []byte {
	b := fmt.Sprintf("%s|%s|%s", out.Code, out.TxnID, out.AuthCode)
	if t := out.Txn; t != nil {
		b += fmt.Sprintf("|%s|%d|%d|%d|%d", t.Status, t.AmountCents, t.HoldCents, t.ReversedCents, t.RefundedCents)
	}
	return []byte(b)
}

func (h *harness) checkAPI(exp expect, err error) {
	h.t.Helper()
	got := errCode(err)
	if got == "" {
		tally.add(h.current + ": ok")
	} else {
		tally.add(h.current + ": " + got)
	}
	if got != "" || exp.errCode != "" {
		h.logf("  -> error %q (model: %q)", got, exp.errCode)
	}
	if got != exp.errCode {
		h.fail("error %q, the model expects %q", got, exp.errCode)
	}
}

func (h *harness) issue(c *mCard) {
	exp := h.m.issue(c)
	in := ledger.CardInput{Purpose: "simulated spending", Type: model.CardMulti, CredentialExposure: c.exposure,
		AcknowledgeRawPanRisk: c.exposure == model.ExposureRawPAN, MaxAmount: c.maxAmount, MerchantHint: c.hint,
		Limits: model.Limits{PerAuth: c.perAuth, PerDay: c.perDay, PerMonth: c.perMonth}, LimitsGiven: true,
		MaxAuthCount: c.maxAuthCount, TTLDays: c.ttlDays, AttestationWindowMinutes: c.attestMin, OnDrift: c.onDrift,
		NotActivated: c.notActivated}
	if c.policy != nil {
		in.PolicyID = c.policy.id
	}
	if c.single {
		in.Type = model.CardSingle
	}
	cc, err := h.l.CreateCard(h.ctx, c.agent.id, in)
	h.checkAPI(exp, err)
	if err != nil {
		return
	}
	pan, err := h.vault.Open(cc.ID, cc.PANEnc)
	h.must(err, "open PAN")
	c.id, c.pan, c.cvv = cc.ID, pan, h.vault.CVV(pan, cc.Expiry())
	h.m.byPAN[pan] = c
	if cc.ExpYear != c.expYear || cc.ExpMonth != c.expMonth {
		h.fail("card %s expires %s/%s, the model says %s/%s", c.name, cc.ExpMonth, cc.ExpYear, c.expMonth, c.expYear)
	}
	h.logf("  -> %s = %s, expiry %s", c.name, c.id, c.expiryYYMM())
}

// deliver hands a message to the core the way the ISO host does: the
// decision returns before its sync, and its reply is told only once the
// Deferred's wait says it is durable (API follow-ups wait inside the call).
func (h *harness) deliver(ctx context.Context, x *msg) (ledger.Outcome, error) {
	var d ledger.Deferred
	waited := func(out ledger.Outcome, err error) (ledger.Outcome, error) {
		if err != nil {
			return out, err
		}
		return out, d.Wait()
	}
	if x.typ == mAuth {
		r := &ledger.AuthRequest{Durable: &d, Source: "iso", MTI: x.mti, Class: x.class(), PAN: x.pan,
			Kind: procKind(x.proc, x.amount), AmountCents: x.amount, Currency: x.currency, Expiry: x.expiry, CVV2: x.cvv,
			HasCVV2: x.hasCVV, MerchantID: x.merchantID, Merchant: x.merchant, City: "SPRINGFIELD", Country: "US", MCC: x.mccOr5411(),
			STAN: x.stan, RRN: x.rrn, TxnTime: x.de7, TerminalID: x.terminal, AcquirerID: "123456", OriginalData: x.de90,
			Advice: x.mti == "0120", Complete: x.mti == "0200", AllowPartial: x.partialOK}
		// The ISO host's routing: DE 90 on a purchase names the
		// authorization an 0100 adds to or an 0120 sets the amount of.
		if x.de90 != "" && r.Kind == authz.Purchase {
			switch x.mti {
			case "0100", "0101":
				return waited(h.l.Increment(ctx, r, ""))
			case "0120":
				return waited(h.l.AdviseAmount(ctx, r, ""))
			}
		}
		return waited(h.l.Authorize(ctx, r))
	}
	f := &ledger.FollowUp{Durable: &d, Source: "iso", MTI: x.mti, Class: x.class(), PAN: x.pan, OriginalData: x.de90, RRN: x.rrn,
		AuthCode: x.authCode, STAN: x.stan, TxnTime: x.de7, TerminalID: x.terminal, AcquirerID: "123456",
		AmountCents: x.amount, Currency: x.currency, ReplacementCents: x.repl, HasReplacement: x.hasRepl,
		MerchantID: x.merchantID, Merchant: x.merchant, City: "SPRINGFIELD", Country: "US", MCC: x.mccOr5411()}
	if x.viaTxn != nil {
		f = &ledger.FollowUp{Source: "api", TxnID: x.viaTxn.id, Currency: "840", AmountCents: x.amount,
			ReplacementCents: x.repl, HasReplacement: x.hasRepl}
	}
	if x.typ == mClear {
		return waited(h.l.Clear(ctx, f))
	}
	return waited(h.l.Reverse(ctx, f))
}

// checkReply compares a reply with the model's: the response code, and
// which transaction and approval code it names.
func (h *harness) checkReply(exp expect, out ledger.Outcome) {
	h.t.Helper()
	summary := "  -> " + out.Code
	if out.Reason != "" {
		summary += " " + out.Reason
	}
	if out.AuthCode != "" {
		summary += " " + out.AuthCode
	}
	if t := h.byID[out.TxnID]; t != nil {
		summary += " " + t.name
	}
	if out.Replayed {
		summary += " (replayed)"
	}
	if out.HasBalance {
		summary += fmt.Sprintf(" balance %d", out.AvailableCents)
	}
	if exp.newTxn != nil {
		summary += " new " + exp.newTxn.name
	}
	h.logf("%s (model: %s)", summary, exp.code)
	if out.Code != exp.code {
		h.fail("response %s (%s), the model expects %s", out.Code, out.Reason, exp.code)
	}
	switch {
	case exp.rec != nil:
		if !out.Replayed {
			h.fail("a repeat was decided again instead of answered with the first reply")
		}
		if exp.rec.txn != nil && out.TxnID != exp.rec.txn.id {
			h.fail("the repeat names transaction %s, the first reply named %s (%s)", out.TxnID, exp.rec.txn.id, exp.rec.txn.name)
		}
		if out.AuthCode != exp.rec.authCode {
			h.fail("the repeat's approval code is %q, the first reply's %q", out.AuthCode, exp.rec.authCode)
		}
	case exp.newTxn != nil:
		if out.Replayed {
			h.fail("a new message was answered as a repeat")
		}
		if out.TxnID == "" || h.byID[out.TxnID] != nil {
			h.fail("expected a new transaction (%s), the reply names %q", exp.newTxn.name, out.TxnID)
		}
		approved := out.Code == authz.CodeApproved || out.Code == authz.CodePartialApproval
		if approved != (out.AuthCode != "") {
			h.fail("response %s with approval code %q", out.Code, out.AuthCode)
		}
		if !approved && out.Reason != exp.reason {
			h.fail("declined %s with reason %q, the model says %q", out.Code, out.Reason, exp.reason)
		}
		h.m.bind(&exp, out.TxnID, out.AuthCode)
		h.byID[out.TxnID] = exp.newTxn
	case exp.txn != nil:
		if out.Replayed {
			h.fail("answered as a repeat")
		}
		if out.TxnID != exp.txn.id || out.AuthCode != exp.txn.authCode {
			h.fail("the reply names %s with approval code %q, the model %s (%s) with %q", out.TxnID, out.AuthCode, exp.txn.name, exp.txn.id, exp.txn.authCode)
		}
	default:
		if out.Replayed {
			h.fail("answered as a repeat")
		}
		if out.TxnID != "" && h.byID[out.TxnID] == nil {
			h.fail("the core recorded transaction %s, the model records nothing", out.TxnID)
		}
		if exp.hasBalance && (!out.HasBalance || out.AvailableCents != exp.balance) {
			h.fail("balance inquiry: available %d (present %v), the model %d", out.AvailableCents, out.HasBalance, exp.balance)
		}
	}
}

// ---- comparing ----

type diffs []string

func (d *diffs) eq(what string, got, want any) {
	if got != want {
		*d = append(*d, fmt.Sprintf("%s: core %v, model %v", what, got, want))
	}
}

func (h *harness) report(d diffs) {
	h.t.Helper()
	if len(d) > 0 {
		h.fail("core and model differ:\n  %s", strings.Join(d, "\n  "))
	}
}

// compareStep compares what every step may change: every user's balance,
// every card's and agent's state and window spend, and the transactions
// and intents the step touched.
func (h *harness) compareStep() {
	var d diffs
	h.compareUsers(&d)
	h.compareCards(&d)
	h.compareAgents(&d)
	for _, t := range h.m.dirtyTxns {
		h.compareTxn(&d, t)
	}
	for _, it := range h.m.dirtyIntents {
		h.compareIntent(&d, it)
	}
	h.report(d)
}

// compareAll also compares every transaction and intent, and checks that
// the store holds exactly the model's transactions.
func (h *harness) compareAll() {
	var d diffs
	h.compareUsers(&d)
	h.compareCards(&d)
	h.compareAgents(&d)
	for _, t := range h.m.txns {
		h.compareTxn(&d, t)
	}
	for _, it := range h.m.intents {
		h.compareIntent(&d, it)
	}
	n := 0
	err := h.db.Scan(keyspace.TxnsPrefix, "", false, func(k, _ []byte) bool {
		n++
		if id := string(k[len(keyspace.TxnsPrefix):]); h.byID[id] == nil {
			d = append(d, "the store holds transaction "+id+", unknown to the model")
		}
		return true
	})
	h.must(err, "scan transactions")
	d.eq("number of transactions", n, len(h.m.txns))
	// Every rule that fired recorded its alert, acted on or not.
	alerts := 0
	for cursor := ""; ; {
		ids := h.l.EventIDsByType(model.EvtRiskAlert, cursor, 100)
		if len(ids) == 0 {
			break
		}
		alerts += len(ids)
		cursor = ids[len(ids)-1]
	}
	d.eq("risk.alert events", alerts, h.m.riskAlerts)
	h.report(d)
}

func (h *harness) compareUsers(d *diffs) {
	for _, u := range h.m.users {
		cu, err := h.l.GetUser(u.id)
		h.must(err, "get user")
		d.eq(u.name+" depositedCents", cu.DepositedCents, u.deposited)
		d.eq(u.name+" settledCents", cu.SettledCents, u.settled)
		d.eq(u.name+" pendingCents", cu.PendingCents, u.pending)
	}
}

func (h *harness) compareCards(d *diffs) {
	now := h.clk.Now()
	for _, c := range h.m.cards {
		cc, err := h.l.GetCard(c.id)
		h.must(err, "get card")
		n := c.name
		d.eq(n+" status", cc.Status, c.status)
		d.eq(n+" frozenBySuspension", cc.FrozenBySuspension, c.frozenBySuspension)
		d.eq(n+" authCount", cc.Usage.AuthCount, c.authCount)
		d.eq(n+" used", cc.Usage.Used, c.used)
		d.eq(n+" locked to a merchant", cc.Usage.LockedMerchant != "", c.locked != "")
		d.eq(n+" day spend", authz.DaySpend(&cc, now), h.m.cardDaySpend(c))
		d.eq(n+" month spend", authz.MonthSpend(&cc, now), h.m.cardMonthSpend(c))
		d.eq(n+" lastAccessAt", cc.Usage.LastAccessAt, c.lastAccessMs)
	}
}

func (h *harness) compareAgents(d *diffs) {
	now := h.clk.Now()
	for _, a := range h.m.agents {
		ca, err := h.l.GetAgent(a.id)
		h.must(err, "get agent")
		d.eq(a.name+" status", ca.Status, a.status)
		d.eq(a.name+" current spend", authz.AgentSpend(&ca, now), h.m.agentSpend(a))
	}
}

func (h *harness) compareTxn(d *diffs, t *mTxn) {
	if t.id == "" {
		*d = append(*d, t.name+": never named by the core")
		return
	}
	ct, err := h.l.GetTxn(t.id)
	if err != nil {
		*d = append(*d, fmt.Sprintf("%s (%s): %v", t.name, t.id, err))
		return
	}
	n := t.name
	d.eq(n+" card", ct.CardID, t.card.id)
	d.eq(n+" kind", ct.Kind, t.kind)
	d.eq(n+" status", ct.Status, t.status)
	d.eq(n+" amountCents", ct.AmountCents, t.amount)
	d.eq(n+" authorizedAmountCents", ct.AuthorizedAmountCents, t.authorized)
	d.eq(n+" holdCents", ct.HoldCents, t.hold)
	d.eq(n+" reversedCents", ct.ReversedCents, t.reversed)
	d.eq(n+" refundedCents", ct.RefundedCents, t.refunded)
	d.eq(n+" responseCode", ct.ResponseCode, t.code)
	d.eq(n+" authorizationCode", ct.AuthorizationCode, t.authCode)
	d.eq(n+" declinedReason", ct.DeclinedReason, t.reason)
	d.eq(n+" reversalReason", ct.ReversalReason, t.reversalReason)
	d.eq(n+" forcePost", ct.ForcePost, t.forcePost)
	d.eq(n+" standIn", ct.StandIn, t.standIn)
	d.eq(n+" requestedAmountCents", ct.RequestedAmountCents, t.requested)
	var orig, intent string
	if t.original != nil {
		orig = t.original.id
	}
	if t.intent != nil {
		intent = t.intent.id
	}
	d.eq(n+" originalId", ct.OriginalID, orig)
	d.eq(n+" intentId", ct.IntentID, intent)
	d.eq(n+" attestationStatus", ct.AttestationStatus, t.attestation)
	if t.status == model.TxnAuthorized {
		d.eq(n+" holdExpiresAt", ct.HoldExpiresAt, t.holdExpiresMs)
		d.eq(n+" autoSettleAt", ct.AutoSettleAt, t.autoSettleMs)
	}
}

func (h *harness) compareIntent(d *diffs, it *mIntent) {
	ci, err := h.l.GetIntent(it.id)
	if err != nil {
		*d = append(*d, fmt.Sprintf("%s (%s): %v", it.name, it.id, err))
		return
	}
	n := it.name
	d.eq(n+" status", ci.Status, it.status)
	d.eq(n+" expiresAt", ci.ExpiresAt, it.expiresMs)
	var txn string
	if it.txn != nil {
		txn = it.txn.id
	}
	d.eq(n+" transactionId", ci.TransactionID, txn)
	if it.txn != nil {
		if ci.MatchResult == nil {
			*d = append(*d, n+": no matchResult")
		} else {
			d.eq(n+" amountMatch", ci.MatchResult.AmountMatch, it.amountMatch)
			d.eq(n+" merchantMatch", ci.MatchResult.MerchantMatch, it.merchantMatch)
		}
	}
}

// verify runs the store's invariant checks.
func (h *harness) verify() {
	h.t.Helper()
	// verify reads the store, which takes balances, usage and spend at
	// the ledger's checkpoints.
	h.must(h.l.Checkpoint(), "checkpoint")
	rep, err := verify.Run(h.db, h.vault, h.clk.Now())
	h.must(err, "verify")
	if !rep.OK() {
		var b strings.Builder
		for _, c := range rep.Checks {
			for _, e := range c.Examples {
				fmt.Fprintf(&b, "\n  %s: %s", c.Name, e)
			}
		}
		h.fail("verify found %d breaches:%s", rep.Breaches(), b.String())
	}
}

// deposit runs a deposit, under its Idempotency-Key when it has one.
func (h *harness) deposit(o *op) {
	run := func(ctx context.Context) []byte {
		h.m.deposit(o.user, o.amount)
		res, _, err := h.l.SimulateDeposit(ctx, ledger.DepositInput{UserID: o.user.id, Asset: "USDC", Chain: "base",
			Amount: fmt.Sprint(o.amount / 100), AmountCents: o.amount})
		h.must(err, "deposit")
		return []byte(res.ID)
	}
	if o.idemKey == "" {
		run(h.ctx)
		return
	}
	body := fmt.Sprintf(`{"userId":%q,"amount":%d}`, o.user.id, o.amount)
	h.idempotent(o.idemKey, "/v1/simulate/deposit", body, func(ctx context.Context, idem *ledger.Idem) (int, []byte, bool, bool) {
		idem.SetRender(func(r any) (int, []byte, error) { return 201, []byte(r.(ledger.DepositResult).Deposit.ID), nil })
		return 201, run(ctx), true, true
	})
}

// idempotent runs a request made under an Idempotency-Key as the API runs
// a POST (see api.API.idempotent), and checks what the ledger remembers
// against h.idem. A key is remembered for ledger.IdemWindow after the first
// request under it that succeeded, across restarts too: while it is, the
// same request (route and body) must be answered with that first reply,
// byte for byte, and perform nothing (the model is not told, so the step's
// comparison catches a second execution), and another request is a
// conflict that performs nothing either. Otherwise run performs the
// request under ctx, with its response recorded in the change's own batch,
// or, for a success that changed nothing, saved afterwards as the API
// does. run returns the reply, ok false for an error reply, which the API
// does not remember (a retry runs again), so the ledger must not have
// recorded it, and whether the model changed: a change must have recorded
// its response in its own batch, or a retry after a crash before the save
// would perform it again.
func (h *harness) idempotent(key, path, body string, run func(ctx context.Context, idem *ledger.Idem) (status int, reply []byte, ok, changed bool)) {
	idem := h.l.NewIdem("sim", key, "POST", path, []byte(body))
	unlock := h.l.LockIdem(idem)
	defer unlock()
	rec, found, err := h.l.FindIdem(idem)
	h.must(err, "find idempotency record")
	now := h.clk.Now().UnixMilli()
	e := h.idem[key]
	remembered := e != nil && now-e.firstMs <= ledger.IdemWindow.Milliseconds()
	switch {
	case found && !remembered:
		h.fail("key %s: a record is found that the model says is %s", key, map[bool]string{true: "expired", false: "never written"}[e != nil])
	case !found && remembered:
		h.fail("key %s: first used at %d, within the window at %d, but no record is found: it would be performed twice", key, e.firstMs, now)
	case found && (e.path != path || e.body != body):
		if idem.Matches(rec) {
			h.fail("key %s: %s %s matches the record of the first request, %s %s", key, path, body, e.path, e.body)
		}
		h.logf("  -> 409 idempotency_key_reused (first %s %s)", e.path, e.body)
		tally.add(h.current + " under a used key, another request: 409")
		return
	case found:
		if !idem.Matches(rec) || rec.Status != e.status || !bytes.Equal(rec.Body, e.reply) {
			h.fail("key %s: the replay (%d %q, matches %v) differs from the first reply (%d %q)", key, rec.Status, rec.Body,
				idem.Matches(rec), e.status, e.reply)
		}
		h.logf("  -> replayed %d %s", rec.Status, rec.Body)
		tally.add(h.current + " under a used key, the same request: replayed")
		return
	}
	status, reply, ok, changed := run(ledger.WithIdem(h.ctx, idem), idem)
	switch {
	case !ok:
		if idem.Body != nil {
			h.fail("key %s: an error reply left a recorded response (%d %q): a retry would be told it succeeded", key, idem.Status, idem.Body)
		}
		return
	case idem.Body == nil && changed:
		h.fail("key %s: the request changed state without recording its response in the same batch", key)
	case idem.Body == nil:
		// A success that changed nothing: the API records it after the fact.
		h.must(h.l.SaveIdem(idem, status, reply), "save idempotency record")
	case idem.Status != status || !bytes.Equal(idem.Body, reply):
		h.fail("key %s: the response recorded with the change (%d %q) is not the reply (%d %q)", key, idem.Status, idem.Body, status, reply)
	}
	h.idem[key] = &idemEntry{firstMs: now, path: path, body: body, status: status, reply: reply}
}
