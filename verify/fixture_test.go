package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// start is the virtual clock's first reading: a weekday in the middle of a
// month, so that the hold-expiry advance stays inside the month's and the
// week's spend windows.
var start = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// history drives a real ledger through the operations whose records the
// checks read. Its methods stop the build at the first error (see build).
type history struct {
	ctx  context.Context
	l    *ledger.Ledger
	db   *store.DB
	v    *vault.Vault
	clk  *clock.Virtual
	stan int
}

type buildError struct{ err error }

func (h *history) must(err error) {
	if err != nil {
		panic(buildError{err})
	}
}

func (h *history) approved(out ledger.Outcome, what string) ledger.Outcome {
	if out.Code != authz.CodeApproved {
		h.must(fmt.Errorf("%s: response %s (%s)", what, out.Code, out.Reason))
	}
	return out
}

func ptr(v int64) *int64 { return &v }

// user creates a user, runs KYC to approval and deposits.
func (h *history) user(name string, depositCents int64) string {
	u, err := h.l.CreateUser(h.ctx, ledger.CreateUserInput{FirstName: name, LastName: "Test", Email: name + "@example.com"})
	h.must(err)
	_, err = h.l.StartVerification(h.ctx, u.ID)
	h.must(err)
	_, err = h.l.DecideKYC(h.ctx, u.ID, true)
	h.must(err)
	if depositCents > 0 {
		_, _, err = h.l.SimulateDeposit(h.ctx, ledger.DepositInput{UserID: u.ID, Asset: "USDC", Chain: "base",
			Amount: fmt.Sprint(depositCents / 100), AmountCents: depositCents})
		h.must(err)
	}
	return u.ID
}

func (h *history) agent(userID, name string, limit *int64, on string) string {
	in := ledger.AgentInput{UserID: userID, Name: name, ExternalID: name, SpendingLimit: limit, OnLimitExceeded: on}
	if limit != nil {
		in.SpendingLimitFrequency = model.FreqPerMonth
	}
	reg, err := h.l.RegisterAgent(h.ctx, in)
	h.must(err)
	return reg.Agent.ID
}

// card issues a rawPan card and reads its PAN as a client would: a
// multi-use card under an intent for its first purchase, a single-use card
// directly (its purpose is its intent).
func (h *history) card(agentID, typ string, firstAmount int64) (string, string) {
	c, err := h.l.CreateCard(h.ctx, agentID, ledger.CardInput{Purpose: "test purchases", Type: typ,
		CredentialExposure: model.ExposureRawPAN, AcknowledgeRawPanRisk: true, AttestationWindowMinutes: 60})
	h.must(err)
	if typ == model.CardMulti {
		_, err = h.l.CreateIntent(h.ctx, c.ID, ledger.IntentInput{IntentID: "first", Summary: "first purchase",
			ExpectedAmount: ptr(firstAmount), ExpectedMerchant: "SHOP", Tolerance: 100})
		h.must(err)
	}
	creds, err := h.l.ReadDetails(h.ctx, c.ID, ledger.Attestation{Summary: "buy from SHOP", Actor: "api_key"})
	h.must(err)
	return c.ID, creds.PAN
}

// auth sends an ISO 8583 authorization for pan with fresh network
// references; opts adjust the request (advice, 0200, refund...).
func (h *history) auth(pan string, amount int64, opts ...func(*ledger.AuthRequest)) ledger.Outcome {
	h.stan++
	r := &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: pan, Kind: authz.Purchase,
		AmountCents: amount, Currency: "840", MerchantID: "M1", Merchant: "SHOP", MCC: "5999",
		STAN: fmt.Sprintf("%06d", h.stan), RRN: fmt.Sprintf("R%011d", h.stan), TxnTime: h.clk.Now().Format("0102150405")}
	for _, o := range opts {
		o(r)
	}
	out, err := h.l.Authorize(h.ctx, r)
	h.must(err)
	return out
}

func (h *history) buy(pan string, amount int64, opts ...func(*ledger.AuthRequest)) string {
	return h.approved(h.auth(pan, amount, opts...), "authorization").TxnID
}

// clear completes an authorization through the simulate path (by ID).
func (h *history) clear(txnID string, amount int64) {
	out, err := h.l.Clear(h.ctx, &ledger.FollowUp{Source: "api", Class: ledger.ClassClearing, TxnID: txnID, AmountCents: amount, Currency: "840"})
	h.must(err)
	h.approved(out, "clearing")
}

// clearISO completes an authorization by a 0220 that quotes it in DE 90,
// or force-posts when the quoted original does not exist.
func (h *history) clearISO(pan, origSTAN, origTime string, amount int64) ledger.Outcome {
	h.stan++
	out, err := h.l.Clear(h.ctx, &ledger.FollowUp{Source: "iso", MTI: "0220", Class: ledger.ClassClearing, PAN: pan,
		OriginalData: "0100" + origSTAN + origTime, STAN: fmt.Sprintf("%06d", h.stan), RRN: fmt.Sprintf("R%011d", h.stan),
		TxnTime: h.clk.Now().Format("0102150405"), AmountCents: amount, Currency: "840", MerchantID: "M9", Merchant: "LATE POST", MCC: "5999"})
	h.must(err)
	return h.approved(out, "iso clearing")
}

// reverse reverses a transaction in full, or down to remaining.
func (h *history) reverse(txnID string, remaining *int64) {
	f := &ledger.FollowUp{Source: "api", Class: ledger.ClassReversal, TxnID: txnID, Currency: "840"}
	if remaining != nil {
		f.ReplacementCents, f.HasReplacement = *remaining, true
	}
	out, err := h.l.Reverse(h.ctx, f)
	h.must(err)
	h.approved(out, "reversal")
}

func (h *history) refund(txnID string, amount int64) string {
	out, err := h.l.Refund(h.ctx, txnID, amount)
	h.must(err)
	return h.approved(out, "refund").TxnID
}

func (h *history) txn(id string) model.Transaction {
	t, err := h.l.GetTxn(id)
	h.must(err)
	return t
}

// fixture is a closed store of legitimate history, and what the tests
// need to know about it. Tests copy dir; nothing writes to it.
type fixture struct {
	dir  string
	pans []string // every card's PAN, read back from the store
	// Records the corruptions target.
	alice, bob               string
	aliceAgent, idleAgent    string
	cardA, cardB, lifecycle  string
	panA                     string
	cleared, voided, openTxn string
	overdrawn                []string // users legitimately overdrawn
	tipAgent                 string   // over its limit by a tip only
	notifyAgent              string
	expiredCard              string // closed by the sweep at the end of its ttlDays
	latest                   time.Time
}

var (
	fixtureOnce sync.Once
	fixtureVal  *fixture
	fixtureErr  error
	fixtureRoot string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureRoot != "" {
		_ = os.RemoveAll(fixtureRoot)
	}
	os.Exit(code)
}

// baseFixture builds the history once for every test in the package.
func baseFixture(t *testing.T) *fixture {
	t.Helper()
	fixtureOnce.Do(func() {
		root, err := os.MkdirTemp("", "verify-fixture-")
		if err != nil {
			fixtureErr = err
			return
		}
		fixtureRoot = root
		fixtureVal, fixtureErr = build(filepath.Join(root, "data"))
	})
	require.NoError(t, fixtureErr)
	return fixtureVal
}

// newHistory opens a real ledger on dir with a virtual clock at at.
func newHistory(dir string, at time.Time) (*history, error) {
	db, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		return nil, err
	}
	v, err := vault.Open(vault.Config{Dir: dir})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	clk := clock.NewVirtual(at)
	l, err := ledger.Open(ledger.Config{Store: db, Vault: v, Clock: clk, OverCapturePct: 20, HoldExpiry: 48 * time.Hour})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &history{ctx: context.Background(), l: l, db: db, v: v, clk: clk}, nil
}

// run calls fn, turning a build failure into an error.
func (h *history) run(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			be, ok := r.(buildError)
			if !ok {
				panic(r)
			}
			err = be.err
		}
	}()
	// Verify reads the store; the ledger writes balances, usage and spend
	// to it at checkpoints.
	defer func() {
		if cerr := h.l.Checkpoint(); err == nil {
			err = cerr
		}
	}()
	fn()
	return nil
}

// build writes the history: every kind of transaction and its lifecycle,
// holds that expire, intents that match, are canceled and expire, cards
// frozen and closed, users pending and rejected, and the postings that may
// overdraw (force post, advice, tip).
func build(dir string) (*fixture, error) {
	h, err := newHistory(dir, start)
	if err != nil {
		return nil, err
	}
	f := &fixture{dir: dir}
	err = h.run(func() {
		// A hold that expires: authorized, then the clock passes the hold
		// expiry and the sweep reverses it. An intent expires with it.
		frank := h.user("frank", 5_000)
		frankAgent := h.agent(frank, "frank-bot", nil, "")
		frankCard, frankPAN := h.card(frankAgent, model.CardMulti, 1_000)
		h.buy(frankPAN, 1_000)
		_, err := h.l.CreateIntent(h.ctx, frankCard, ledger.IntentInput{IntentID: "expires", Summary: "never bought", TTLMinutes: 1})
		h.must(err)
		// A card whose lifetime the same sweep ends.
		short, err := h.l.CreateCard(h.ctx, frankAgent, ledger.CardInput{Purpose: "one day", Type: model.CardMulti,
			CredentialExposure: model.ExposureNever, AttestationWindowMinutes: 10, TTLDays: ptr(1)})
		h.must(err)
		f.expiredCard = short.ID
		h.clk.Advance(49 * time.Hour)
		n, err := h.l.Sweep(h.ctx)
		h.must(err)
		if n != 1 {
			h.must(fmt.Errorf("sweep expired %d holds, want 1", n))
		}

		// A withdrawal leaves the deposits and the settled balance alike.
		wendy := h.user("wendy", 10_000)
		_, wendyPAN := h.card(h.agent(wendy, "wendy-bot", nil, ""), model.CardMulti, 2_000)
		h.clear(h.buy(wendyPAN, 2_000), 2_000)
		_, err = h.l.CreateWithdrawal(h.ctx, wendy, ledger.WithdrawalInput{ChainID: 8453,
			TokenAddress: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", AmountCents: 3_000, RecipientAddress: "0x1111111111111111111111111111111111111111"})
		h.must(err)
		// Another confirmed, and one that failed and returned its funds.
		for _, outcome := range []string{ledger.WithdrawalOutcomeConfirmed, ledger.WithdrawalOutcomeFailed} {
			w, err := h.l.CreateWithdrawal(h.ctx, wendy, ledger.WithdrawalInput{ChainID: 8453,
				TokenAddress: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", AmountCents: 500, RecipientAddress: "0x1111111111111111111111111111111111111111"})
			h.must(err)
			_, err = h.l.ResolveWithdrawal(h.ctx, w.ID, outcome, "")
			h.must(err)
		}
		// Disputes: one won (credited as a refund of the purchase), one
		// lost, one still open, one canceled.
		for i, outcome := range []string{model.DisputeWon, model.DisputeLost, "", model.DisputeCanceled} {
			tx := h.buy(wendyPAN, int64(100*(i+1)))
			h.clear(tx, int64(100*(i+1)))
			d, err := h.l.CreateDispute(h.ctx, tx, ledger.DisputeInput{Reason: "duplicate"})
			h.must(err)
			switch outcome {
			case "":
			case model.DisputeCanceled:
				_, err = h.l.CancelDispute(h.ctx, d.ID)
			default:
				_, err = h.l.ResolveDispute(h.ctx, d.ID, outcome)
			}
			h.must(err)
		}

		// alice: the ordinary lifecycle of purchases on a multi-use card.
		f.alice = h.user("alice", 100_000)
		f.aliceAgent = h.agent(f.alice, "alice-bot", ptr(50_000), model.OnLimitNone)
		cardA, panA := h.card(f.aliceAgent, model.CardMulti, 10_000)
		f.cardA, f.panA = cardA, panA

		// Matches the card's intent; cleared by a 0220 quoting it.
		f.cleared = h.buy(panA, 10_000)
		t1 := h.txn(f.cleared)
		h.clearISO(panA, t1.STAN, t1.TxnTime, 10_000)
		// A merchant credit linked to it through DE 90.
		h.buy(panA, 500, func(r *ledger.AuthRequest) { r.Kind, r.OriginalData = authz.Refund, "0100"+t1.STAN+t1.TxnTime })
		// A merchant credit without an original.
		h.buy(panA, 300, func(r *ledger.AuthRequest) { r.Kind = authz.Refund })

		// Partial reversal while open, then cleared at what remains.
		t2 := h.buy(panA, 5_000)
		h.reverse(t2, ptr(3_000))
		h.clear(t2, 3_000)
		// Voided in full while open.
		f.voided = h.buy(panA, 2_000)
		h.reverse(f.voided, nil)
		// Captured above the authorized amount (a tip).
		t4 := h.buy(panA, 4_000)
		h.clear(t4, 4_600)
		// Cleared, partly refunded, then reversed in full after completion.
		t5 := h.buy(panA, 3_000)
		h.clear(t5, 3_000)
		h.refund(t5, 1_000)
		h.reverse(t5, nil)
		// Cleared and refunded in full.
		t6 := h.buy(panA, 1_500)
		h.clear(t6, 1_500)
		h.refund(t6, 1_500)
		// Cleared, then partly reversed after completion.
		t7 := h.buy(panA, 2_000)
		h.clear(t7, 2_000)
		h.reverse(t7, ptr(1_200))
		// Authorized and completed at once (0200).
		h.buy(panA, 700, func(r *ledger.AuthRequest) { r.MTI, r.Class, r.Complete = "0200", ledger.ClassFinancial, true })
		// An account verification.
		h.buy(panA, 0, func(r *ledger.AuthRequest) { r.Kind = authz.Verification })
		// Declined: over the agent's limit.
		if out := h.auth(panA, 60_000); out.Code == authz.CodeApproved {
			h.must(errors.New("an authorization over the agent's limit was approved"))
		}
		// Still open: one whole, one partly reversed.
		f.openTxn = h.buy(panA, 2_500)
		partOpen := h.buy(panA, 800)
		h.reverse(partOpen, ptr(500))

		// An intent that is canceled.
		it, err := h.l.CreateIntent(h.ctx, cardA, ledger.IntentInput{IntentID: "cancel-me", Summary: "changed my mind"})
		h.must(err)
		_, err = h.l.CancelIntent(h.ctx, it.Intent.ID)
		h.must(err)

		// A single-use card: bought once, cleared, closed by the clearing.
		_, panS := h.card(f.aliceAgent, model.CardSingle, 0)
		single := h.buy(panS, 1_200)
		h.clear(single, 1_200)

		// A card that is frozen, unfrozen and closed, never read.
		c, err := h.l.CreateCard(h.ctx, f.aliceAgent, ledger.CardInput{Purpose: "lifecycle", Type: model.CardMulti,
			CredentialExposure: model.ExposureExtension, AttestationWindowMinutes: 10})
		h.must(err)
		f.lifecycle = c.ID
		_, err = h.l.FreezeCard(h.ctx, c.ID)
		h.must(err)
		_, err = h.l.UnfreezeCard(h.ctx, c.ID)
		h.must(err)
		_, err = h.l.CloseCard(h.ctx, c.ID)
		h.must(err)

		// alice's other agents: over a notify limit; suspended at its
		// limit; and one with a limit and no spend.
		f.notifyAgent = h.agent(f.alice, "alice-notify", ptr(1_000), model.OnLimitNotify)
		_, panN := h.card(f.notifyAgent, model.CardMulti, 1_500)
		h.buy(panN, 1_500)
		suspendAgent := h.agent(f.alice, "alice-suspend", ptr(1_000), model.OnLimitSuspend)
		_, panU := h.card(suspendAgent, model.CardMulti, 1_500)
		if out := h.auth(panU, 1_500); out.Code == authz.CodeApproved {
			h.must(errors.New("an authorization over a suspend limit was approved"))
		}
		f.idleAgent = h.agent(f.alice, "alice-idle", ptr(5_000), model.OnLimitNone)

		// bob: a force post (a clearing whose original is unknown) takes
		// him below zero.
		f.bob = h.user("bob", 1_000)
		bobAgent := h.agent(f.bob, "bob-bot", nil, "")
		cardB, panB := h.card(bobAgent, model.CardMulti, 3_000)
		f.cardB = cardB
		if out := h.clearISO(panB, "999999", "0101000000", 3_000); out.Txn == nil || !out.Txn.ForcePost {
			h.must(errors.New("the clearing without an original was not a force post"))
		}

		// carol: a stand-in advice (0120) above her balance, still open.
		carol := h.user("carol", 1_000)
		carolAgent := h.agent(carol, "carol-bot", nil, "")
		_, panC := h.card(carolAgent, model.CardMulti, 5_000)
		h.buy(panC, 5_000, func(r *ledger.AuthRequest) { r.MTI, r.Class, r.Advice = "0120", ledger.ClassAdvice, true })

		// dave: a tip takes him below zero and his agent over its limit.
		dave := h.user("dave", 2_000)
		f.tipAgent = h.agent(dave, "dave-bot", ptr(2_000), model.OnLimitNone)
		_, panD := h.card(f.tipAgent, model.CardMulti, 2_000)
		tip := h.buy(panD, 2_000)
		h.clear(tip, 2_400)

		f.overdrawn = []string{f.bob, carol, dave}

		// Users who never reach approval.
		erin, err := h.l.CreateUser(h.ctx, ledger.CreateUserInput{FirstName: "erin", LastName: "Test", Email: "erin@example.com"})
		h.must(err)
		_, err = h.l.StartVerification(h.ctx, erin.ID)
		h.must(err)
		fiona, err := h.l.CreateUser(h.ctx, ledger.CreateUserInput{FirstName: "fiona", LastName: "Test", Email: "fiona@example.com"})
		h.must(err)
		_, err = h.l.DecideKYC(h.ctx, fiona.ID, false)
		h.must(err)
	})
	if err == nil {
		f.pans, err = allPANs(h.db, h.v)
	}
	if err == nil {
		var ok bool
		f.latest, ok, err = LatestEventTime(h.db)
		if err == nil && !ok {
			err = errors.New("the history has no events")
		}
	}
	if cerr := h.db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// allPANs reads every card's PAN back from the store, so that the output
// tests look for all of them, including cards whose details were never
// read.
func allPANs(db *store.DB, v *vault.Vault) ([]string, error) {
	var pans []string
	var oerr error
	err := db.Scan(keyspace.CardsPrefix, "", false, func(_, raw []byte) bool {
		var c model.Card
		if oerr = json.Unmarshal(raw, &c); oerr != nil {
			return false
		}
		var pan string
		if pan, oerr = v.Open(c.ID, c.PANEnc); oerr != nil {
			return false
		}
		pans = append(pans, pan)
		return true
	})
	if err == nil {
		err = oerr
	}
	return pans, err
}

// copyOf copies the fixture's data directory (store and keys) for one
// test to change.
func copyOf(t *testing.T, f *fixture) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.CopyFS(dst, os.DirFS(f.dir)))
	return dst
}

// openCopy opens a copy of the fixture.
func openCopy(t *testing.T, f *fixture) (string, *store.DB, *vault.Vault) {
	t.Helper()
	dir := copyOf(t, f)
	db, err := store.Open(store.Options{Dir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	v, err := vault.Open(vault.Config{Dir: dir})
	require.NoError(t, err)
	return dir, db, v
}

// Raw record helpers for the corruptions: each writes through a store
// batch, as the ledger does, but without the ledger's rules.

func getJSON[T any](t *testing.T, db *store.DB, key []byte) *T {
	t.Helper()
	v := new(T)
	require.NoError(t, db.GetJSON(key, v))
	return v
}

func putJSON(t *testing.T, db *store.DB, key []byte, v any) {
	t.Helper()
	b := db.NewBatch()
	require.NoError(t, b.PutJSON(key, v))
	require.NoError(t, db.Commit(b))
}

func getTxn(t *testing.T, db *store.DB, id string) *model.Transaction {
	t.Helper()
	raw, err := db.Get(keyspace.TxnKey(id))
	require.NoError(t, err)
	tx := new(model.Transaction)
	require.NoError(t, ledger.DecodeTransaction(raw, tx))
	return tx
}

func putTxn(t *testing.T, db *store.DB, tx *model.Transaction) {
	t.Helper()
	raw, err := ledger.AppendTransaction(nil, tx)
	require.NoError(t, err)
	putRaw(t, db, keyspace.TxnKey(tx.ID), raw)
}

func putRaw(t *testing.T, db *store.DB, key, value []byte) {
	t.Helper()
	b := db.NewBatch()
	b.Put(key, value)
	require.NoError(t, db.Commit(b))
}

func deleteKeys(t *testing.T, db *store.DB, keys ...[]byte) {
	t.Helper()
	b := db.NewBatch()
	for _, k := range keys {
		b.Delete(k)
	}
	require.NoError(t, db.Commit(b))
}

// eventsOf lists the events of a type whose payload names id in field.
func eventsOf(t *testing.T, db *store.DB, typ, field, id string) []model.Event {
	t.Helper()
	var out []model.Event
	require.NoError(t, db.Scan(keyspace.EventsPrefix, "", false, func(k, v []byte) bool {
		ev := decodeEvent(t, k, v)
		if data, ok := ev.Data.(map[string]any); ok && ev.Type == typ && data[field] == id {
			out = append(out, ev)
		}
		return true
	}))
	return out
}

// decodeEvent reads a stored event as the ledger wrote it, its data
// decoded into plain JSON values.
func decodeEvent(t *testing.T, k, v []byte) model.Event {
	t.Helper()
	rec, err := eventlog.Decode(string(bytes.TrimPrefix(k, keyspace.EventsPrefix)), v)
	require.NoError(t, err)
	var data any
	require.NoError(t, json.Unmarshal(rec.Data, &data))
	return model.Event{ID: rec.ID, Type: rec.Type, CreatedAt: rec.CreatedAt, Data: data}
}

// addEvent writes an event with a fresh ID after every existing one, as
// change.event does (the index by type is the ledger's, in memory).
func addEvent(t *testing.T, db *store.DB, at time.Time, typ string, data map[string]any) string {
	t.Helper()
	var ids model.IDGen
	at = at.Add(time.Millisecond)
	id := ids.New(model.PrefixEvent, at)
	b := db.NewBatch()
	raw, err := eventlog.AppendJSON(nil, model.Ms(at), typ, data)
	require.NoError(t, err)
	b.Put(keyspace.EventKey(id), raw)
	require.NoError(t, db.Commit(b))
	return id
}

// mentions reports whether any example names id.
func mentions(examples []string, id string) bool {
	for _, e := range examples {
		if strings.Contains(e, id) {
			return true
		}
	}
	return false
}

// effectiveUser reads a user as the ledger sees it: the whole record with
// its balance delta laid over it.
func effectiveUser(t *testing.T, db *store.DB, id string) *model.User {
	t.Helper()
	u := getJSON[model.User](t, db, keyspace.UserKey(id))
	require.NoError(t, ledger.OverlayDeltas(db, func(uid string) *model.User {
		if uid == id {
			return u
		}
		return nil
	},
		func(string) *model.Card { return nil }, func(string) *model.Agent { return nil }))
	return u
}

// putUserState makes u the user's effective state: its whole record, with
// no delta laid over it.
func putUserState(t *testing.T, db *store.DB, u *model.User) {
	t.Helper()
	putJSON(t, db, keyspace.UserKey(u.ID), u)
	deleteKey(t, db, keyspace.BalanceKey(u.ID))
}

func deleteKey(t *testing.T, db *store.DB, key []byte) {
	t.Helper()
	b := db.NewBatch()
	b.Delete(key)
	require.NoError(t, db.Commit(b))
}
