package sim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
	"github.com/ledgersim/ledgersim/verify"
)

// Known bugs: disagreements between the core and docs/iso8583.md that the
// simulation found. While a switch is true the generator does not produce
// the operations that expose it, so that the suite stays green; set it to
// false (or run with -exercise=name, or -exercise=all) once the bug is
// fixed.
const (
	bugCrossShardRepeat = "crossShardRepeat"
	bugRepeatWindow     = "repeatWindow"
	bugUsageDelta       = "usageDelta"
	bugSpendAfterTip    = "spendAfterTip"
)

var knownBugs = map[string]bool{
	// crossShardRepeat: a message that reuses the class, DE 11 and DE 37 of
	// another user's recent message with other content (DE 2) must be
	// declined 94; repeats are remembered per lock shard, so it is decided
	// afresh unless both users hash to the same shard.
	bugCrossShardRepeat: false, // fixed: one repeat index for the whole ledger (ledger/repeats.go)
	// repeatWindow: a message sent again after the repeat window of its
	// first recording must be decided afresh. In memory the ledger keeps
	// the repeat key longer (refs.go: close extends until in place, and
	// popExpired stops at the first entry not due, so one late resolution
	// keeps every later ref; an open authorization is never dropped), and
	// a restart forgets it (rebuild_txns.go counts from CreatedAt). While
	// set, the generator repeats only messages still within their window.
	bugRepeatWindow: false, // fixed: the window counts from the first message, in memory and after a restart
	// usageDelta: after a restart a single-use card whose purchase was
	// reversed (or expired) is "used" again, and declines 65, when its whole
	// record was written while it was used (a freeze, an unfreeze, an agent
	// suspension): the usage delta is decoded over the record
	// (deltas.go, json.Unmarshal into c.Usage) and "used" is omitempty, so
	// false does not overwrite true. While set, the generator does not
	// restart while a card is in that state.
	bugUsageDelta: false, // fixed: deltas.go decodes usage into a fresh value
	// spendAfterTip: verify's agent-spend check reports a breach on a store
	// the ledger made by the documented operations. A clearing above the
	// authorized amount adds the tip to the agent's spend; a reversal of
	// the completed purchase gives nothing back (lifecycle.go reverseLocked
	// adjusts spend only for open authorizations), but verify excuses tips
	// only on completed purchases (verify/agents.go). Either the ledger
	// must give the spend back, as "Agent spending limits" says of
	// reversals in general, or verify must count the tip of a reversed
	// purchase. While set, the generator does not reverse a completed
	// purchase captured above its authorized amount.
	bugSpendAfterTip: false, // fixed: a reversal gives back the spend of a completed purchase too
}

// exercised reports whether the generator may produce the operations of a
// known bug: always when the bug is fixed, or when -exercise names it.
func exercised(bug string) bool {
	if !knownBugs[bug] {
		return true
	}
	for _, name := range strings.Split(*flagExercise, ",") {
		if name == bug || name == "all" {
			return true
		}
	}
	return false
}

// The minimal reproductions of the known bugs. Each asserts what
// docs/iso8583.md says and is skipped while its switch is set; run them
// with -exercise=all to see them fail.

func skipKnown(t *testing.T, bug string) {
	t.Helper()
	if !exercised(bug) {
		t.Skipf("known bug %q (run with -exercise=%s)", bug, bug)
	}
}

// fixture is a ledger on a fresh store with a virtual clock, driven the
// way the ISO host drives it.
type fixture struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	clk  *clock.Virtual
	v    *vault.Vault
	db   *store.DB
	l    *ledger.Ledger
	cfg  ledger.Config
	nUsr int
}

func newFixture(t *testing.T) *fixture {
	v, err := vault.Open(vault.Config{MasterKeyHex: strings.Repeat("ab", 32)})
	require.NoError(t, err)
	f := &fixture{t: t, ctx: context.Background(), dir: t.TempDir(), v: v,
		clk: clock.NewVirtual(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))}
	f.cfg = ledger.Config{Vault: v, Clock: f.clk, OverCapturePct: 20, HoldExpiry: 168 * time.Hour, RepeatWindow: 15 * time.Minute}
	f.open()
	t.Cleanup(func() { _ = f.db.Close() })
	return f
}

func (f *fixture) open() {
	db, err := store.Open(store.Options{Dir: f.dir})
	require.NoError(f.t, err)
	cfg := f.cfg
	cfg.Store = db
	l, err := ledger.Open(cfg)
	require.NoError(f.t, err)
	f.db, f.l = db, l
}

// restart closes the store and opens it and the ledger again, at the same
// virtual time.
func (f *fixture) restart() {
	require.NoError(f.t, f.db.Close())
	f.open()
}

func (f *fixture) advance(d time.Duration) {
	f.clk.Advance(d)
	_, err := f.l.Sweep(f.ctx)
	require.NoError(f.t, err)
}

// card makes an approved user with a deposit, an agent and a card of typ,
// and returns the card's ID and PAN.
func (f *fixture) card(typ string) (string, string) { return f.cardOf(typ, nil) }

// cardOf is card with the agent's spending limit.
func (f *fixture) cardOf(typ string, limit *int64) (string, string) {
	f.nUsr++
	u, err := f.l.CreateUser(f.ctx, ledger.CreateUserInput{FirstName: "F", LastName: "Sim", Email: fmt.Sprintf("f%d@sim.example", f.nUsr)})
	require.NoError(f.t, err)
	_, err = f.l.DecideKYC(f.ctx, u.ID, true)
	require.NoError(f.t, err)
	_, _, err = f.l.SimulateDeposit(f.ctx, ledger.DepositInput{UserID: u.ID, Asset: "USDC", Chain: "base", Amount: "1000", AmountCents: 100000})
	require.NoError(f.t, err)
	reg, err := f.l.RegisterAgent(f.ctx, ledger.AgentInput{UserID: u.ID, Name: "agent", SpendingLimit: limit})
	require.NoError(f.t, err)
	c, err := f.l.CreateCard(f.ctx, reg.Agent.ID, ledger.CardInput{Purpose: "repro", Type: typ, CredentialExposure: model.ExposureRawPAN,
		AcknowledgeRawPanRisk: true, AttestationWindowMinutes: 5})
	require.NoError(f.t, err)
	pan, err := f.v.Open(c.ID, c.PANEnc)
	require.NoError(f.t, err)
	return c.ID, pan
}

// auth is an 0100 (or mti) purchase of amount on pan with DE 11 stan and
// DE 37 rrn.
func (f *fixture) auth(mti, pan string, amount int64, stan, rrn string) ledger.Outcome {
	out, err := f.l.Authorize(f.ctx, &ledger.AuthRequest{Source: "iso", MTI: mti, Class: ledger.ClassAuth, PAN: pan, Kind: authz.Purchase,
		AmountCents: amount, Currency: "840", MerchantID: "MERCHANT000001", Merchant: "ACME GROCERY", TerminalID: "TERM0001",
		STAN: stan, RRN: rrn, TxnTime: f.clk.Now().Format("0102150405")})
	require.NoError(f.t, err)
	return out
}

// TestKnownBugRepeatWindow: "After the window the same DE 11 + DE 37 is a
// new message and is decided afresh. The window survives restarts."
func TestKnownBugRepeatWindow(t *testing.T) {
	skipKnown(t, bugRepeatWindow)

	t.Run("a later resolution keeps an unrelated message's repeat", func(t *testing.T) {
		f := newFixture(t)
		_, pan := f.card(model.CardMulti)
		a := f.auth("0100", pan, 1000, "000001", "600000000001")
		require.Equal(t, authz.CodeApproved, a.Code)
		b := f.auth("0100", pan, 500_000, "000002", "600000000002") // more than the balance
		require.Equal(t, authz.CodeInsufficientFunds, b.Code)
		f.advance(time.Minute)
		c, err := f.l.Clear(f.ctx, &ledger.FollowUp{Source: "iso", MTI: "0220", Class: ledger.ClassClearing, PAN: pan,
			OriginalData: de90("0100", "000001", a.Txn.TxnTime), RRN: "600000000001", STAN: "000003", AmountCents: 1000, Currency: "840"})
		require.NoError(t, err)
		require.Equal(t, authz.CodeApproved, c.Code)
		f.advance(14*time.Minute + 30*time.Second) // B's window ended 30 s ago
		again := f.auth("0101", pan, 500_000, "000002", "600000000002")
		assert.False(t, again.Replayed, "a repeat 15m30s after the first message is answered with the first reply")
		assert.NotEqual(t, b.TxnID, again.TxnID)
	})

	t.Run("an open authorization answers its repeats past the window", func(t *testing.T) {
		f := newFixture(t)
		_, pan := f.card(model.CardMulti)
		a := f.auth("0100", pan, 1000, "000001", "600000000001")
		require.Equal(t, authz.CodeApproved, a.Code)
		f.advance(20 * time.Minute)
		again := f.auth("0101", pan, 1000, "000001", "600000000001")
		assert.False(t, again.Replayed, "a repeat 20 minutes after the first message is answered with the first reply")
	})

	t.Run("a restart changes the answer", func(t *testing.T) {
		f := newFixture(t)
		_, pan := f.card(model.CardMulti)
		a := f.auth("0100", pan, 1000, "000001", "600000000001")
		require.Equal(t, authz.CodeApproved, a.Code)
		f.advance(10 * time.Minute)
		_, err := f.l.Reverse(f.ctx, &ledger.FollowUp{Source: "iso", MTI: "0400", Class: ledger.ClassReversal, PAN: pan,
			OriginalData: de90("0100", "000001", a.Txn.TxnTime), RRN: "600000000001", STAN: "000002", Currency: "840"})
		require.NoError(t, err)
		f.advance(6 * time.Minute) // the 0100's window ended a minute ago
		before := f.auth("0101", pan, 1000, "000001", "600000000001")
		f2 := newFixture(t)
		_, pan2 := f2.card(model.CardMulti)
		a2 := f2.auth("0100", pan2, 1000, "000001", "600000000001")
		require.Equal(t, authz.CodeApproved, a2.Code)
		f2.advance(10 * time.Minute)
		_, err = f2.l.Reverse(f2.ctx, &ledger.FollowUp{Source: "iso", MTI: "0400", Class: ledger.ClassReversal, PAN: pan2,
			OriginalData: de90("0100", "000001", a2.Txn.TxnTime), RRN: "600000000001", STAN: "000002", Currency: "840"})
		require.NoError(t, err)
		f2.advance(6 * time.Minute)
		f2.restart()
		after := f2.auth("0101", pan2, 1000, "000001", "600000000001")
		assert.Equal(t, before.Replayed, after.Replayed, "the same history answers a repeat differently with and without a restart")
	})
}

// TestKnownBugUsageDelta: a fully reversed purchase leaves a single-use
// card usable again, also after a restart.
func TestKnownBugUsageDelta(t *testing.T) {
	skipKnown(t, bugUsageDelta)
	f := newFixture(t)
	cardID, pan := f.card(model.CardSingle)
	a := f.auth("0100", pan, 1000, "000001", "600000000001")
	require.Equal(t, authz.CodeApproved, a.Code)
	_, err := f.l.FreezeCard(f.ctx, cardID)
	require.NoError(t, err)
	_, err = f.l.UnfreezeCard(f.ctx, cardID)
	require.NoError(t, err)
	r, err := f.l.Reverse(f.ctx, &ledger.FollowUp{Source: "iso", MTI: "0400", Class: ledger.ClassReversal, PAN: pan,
		OriginalData: de90("0100", "000001", a.Txn.TxnTime), RRN: "600000000001", STAN: "000002", Currency: "840"})
	require.NoError(t, err)
	require.Equal(t, authz.CodeApproved, r.Code)
	c, err := f.l.GetCard(cardID)
	require.NoError(t, err)
	require.False(t, c.Usage.Used)
	f.restart()
	c, err = f.l.GetCard(cardID)
	require.NoError(t, err)
	assert.False(t, c.Usage.Used, "the card is used again after the restart")
	assert.Equal(t, authz.CodeApproved, f.auth("0100", pan, 1000, "000003", "600000000003").Code)
}

// TestKnownBugCrossShardRepeat: a message that reuses DE 11 + DE 37 of
// another card's message within the window is 94, whatever the cards'
// users.
func TestKnownBugCrossShardRepeat(t *testing.T) {
	skipKnown(t, bugCrossShardRepeat)
	f := newFixture(t)
	_, pan1 := f.card(model.CardMulti)
	_, pan2 := f.card(model.CardMulti) // another user, so (255 times in 256) another shard
	require.Equal(t, authz.CodeApproved, f.auth("0100", pan1, 1000, "000001", "600000000001").Code)
	assert.Equal(t, authz.CodeDuplicate, f.auth("0100", pan2, 1000, "000001", "600000000001").Code)
}

// TestKnownBugRepeatWindowBoundary: a restart exactly at the end of a
// follow-up's repeat window brings its repeat key back until the next
// Sweep (rebuildFollowUps and Sweep's clean-up keep the records made at
// now - window, FollowUpFloor is inclusive), where memory had forgotten it.
func TestKnownBugRepeatWindowBoundary(t *testing.T) {
	skipKnown(t, bugRepeatWindow)
	f := newFixture(t)
	_, pan := f.card(model.CardMulti)
	a := f.auth("0100", pan, 1000, "000001", "600000000001")
	require.Equal(t, authz.CodeApproved, a.Code)
	rev := &ledger.FollowUp{Source: "iso", MTI: "0400", Class: ledger.ClassReversal, PAN: pan, OriginalData: de90("0100", "000001", a.Txn.TxnTime),
		RRN: "600000000001", STAN: "000002", Currency: "840", HasReplacement: true, ReplacementCents: 600}
	r, err := f.l.Reverse(f.ctx, rev)
	require.NoError(t, err)
	require.Equal(t, authz.CodeApproved, r.Code)
	f.advance(15 * time.Minute) // the reversal's window ends now
	f.restart()
	changed := *rev
	changed.ReplacementCents = 500 // other content: decided afresh, a further partial reversal
	r2, err := f.l.Reverse(f.ctx, &changed)
	require.NoError(t, err)
	assert.Equal(t, authz.CodeApproved, r2.Code, "a message after the window is taken for a duplicate")
}

// TestKnownBugSpendAfterTip: a tip that is reversed with its purchase
// leaves the store failing verify's agent-spend check.
func TestKnownBugSpendAfterTip(t *testing.T) {
	skipKnown(t, bugSpendAfterTip)
	f := newFixture(t)
	limit := int64(1000)
	_, pan := f.cardOf(model.CardMulti, &limit) // perMonth, onLimitExceeded none
	a := f.auth("0100", pan, 1000, "000001", "600000000001")
	require.Equal(t, authz.CodeApproved, a.Code)
	orig := de90("0100", "000001", a.Txn.TxnTime)
	c, err := f.l.Clear(f.ctx, &ledger.FollowUp{Source: "iso", MTI: "0220", Class: ledger.ClassClearing, PAN: pan,
		OriginalData: orig, RRN: "600000000001", STAN: "000002", AmountCents: 1200, Currency: "840"})
	require.NoError(t, err)
	require.Equal(t, authz.CodeApproved, c.Code) // a tip of 20%
	r, err := f.l.Reverse(f.ctx, &ledger.FollowUp{Source: "iso", MTI: "0400", Class: ledger.ClassReversal, PAN: pan,
		OriginalData: orig, RRN: "600000000001", STAN: "000003", Currency: "840"})
	require.NoError(t, err)
	require.Equal(t, authz.CodeApproved, r.Code)
	require.NoError(t, f.l.Checkpoint())
	rep, err := verify.Run(f.db, f.v, f.clk.Now())
	require.NoError(t, err)
	assert.True(t, rep.OK(), "verify: %+v", rep.Check(verify.CheckAgentSpend))
}
