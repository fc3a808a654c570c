package verify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// TestLegitimateHistoryPasses: a store written only by ledger operations,
// every kind of them, breaks no invariant, and the postings that may
// overdraw are reported as notes.
func TestLegitimateHistoryPasses(t *testing.T) {
	f := baseFixture(t)
	_, db, v := openCopy(t, f)
	rep, err := Run(db, v, f.latest)
	require.NoError(t, err)
	require.Len(t, rep.Checks, 7)
	for _, c := range rep.Checks {
		assert.Zerof(t, c.Breaches, "%s: %v", c.Name, c.Examples)
		assert.Positivef(t, c.Checked, "%s examined nothing", c.Name)
	}
	assert.True(t, rep.OK())
	assert.Equal(t, f.latest, rep.At)

	bal := rep.Check(CheckBalances)
	require.NotEmpty(t, bal.Notes)
	assert.Equal(t, "3 users overdrawn by force post/advice/tip (allowed)", bal.Notes[0])
	for _, u := range f.overdrawn {
		assert.Truef(t, mentions(bal.Notes, u), "user %s is not in the overdrawn notes %v", u, bal.Notes)
	}
	agt := rep.Check(CheckAgentSpend)
	assert.True(t, mentions(agt.Notes, f.tipAgent), agt.Notes)
	assert.Contains(t, agt.Notes, "1 agents with onLimitExceeded notify over their limit (allowed)")
}

// TestFixtureCoversTheLifecycle keeps the history honest: it must hold
// every kind of record the checks distinguish, or the test above proves
// less than it says.
func TestFixtureCoversTheLifecycle(t *testing.T) {
	f := baseFixture(t)
	_, db, _ := openCopy(t, f)
	seen := map[string]int{}
	require.NoError(t, db.Scan(keyspace.TxnsPrefix, "", false, func(_, v []byte) bool {
		var tx model.Transaction
		require.NoError(t, ledger.DecodeTransaction(v, &tx))
		seen[tx.Kind+"/"+tx.Status]++
		switch {
		case tx.ForcePost:
			seen["forcePost"]++
		case tx.StandIn:
			seen["standIn"]++
		case tx.Status == model.TxnCompleted && tx.AmountCents > tx.AuthorizedAmountCents:
			seen["tip"]++
		case tx.Status == model.TxnReversed && tx.SettledAt != 0:
			seen["reversedAfterCompletion"]++
		case tx.ReversalReason == "expired":
			seen["expired"]++
		case tx.Status == model.TxnAuthorized && tx.ReversedCents > 0:
			seen["partlyReversedOpen"]++
		case tx.Status == model.TxnCompleted && tx.ReversedCents > 0:
			seen["partlyReversedCompleted"]++
		}
		return true
	}))
	for _, k := range []string{"purchase/authorized", "purchase/completed", "purchase/reversed", "purchase/declined",
		"refund/completed", "verification/completed", "forcePost", "standIn", "tip", "reversedAfterCompletion",
		"expired", "partlyReversedOpen", "partlyReversedCompleted"} {
		assert.Positivef(t, seen[k], "the history has no %s transaction", k)
	}
	types := map[string]bool{}
	require.NoError(t, db.Scan(keyspace.EventsPrefix, "", false, func(k, v []byte) bool {
		ev := decodeEvent(t, k, v)
		types[ev.Type] = true
		return true
	}))
	for _, typ := range []string{model.EvtIntentMatched, model.EvtIntentCanceled, model.EvtIntentExpired,
		model.EvtCardFrozen, model.EvtCardUnfrozen, model.EvtCardClosed, model.EvtAgentSuspended,
		model.EvtAgentLimitExceeded, model.EvtUserRejected, model.EvtTxnRefunded, model.EvtCredentialAccessed} {
		assert.Truef(t, types[typ], "the history has no %s event", typ)
	}
}

// corruption changes one thing in a copy of the fixture and returns the
// ID the check's example must name.
type corruption struct {
	name     string
	check    string
	breaches int
	corrupt  func(t *testing.T, f *fixture, db *store.DB, v *vault.Vault) string
}

var corruptions = []corruption{
	{"pending off by one", CheckBalances, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		u := effectiveUser(t, db, f.alice)
		u.PendingCents++
		putUserState(t, db, u)
		return f.alice
	}},
	{"settled off by one", CheckBalances, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		u := effectiveUser(t, db, f.alice)
		u.SettledCents--
		putUserState(t, db, u)
		return f.alice
	}},
	{"deposit credited without its event", CheckBalances, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		u := effectiveUser(t, db, f.alice)
		u.DepositedCents += 100
		u.SettledCents += 100
		putUserState(t, db, u)
		return f.alice
	}},
	{"balance past the cap", CheckBalances, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		// Consistent with its events in every other way: only the cap is
		// broken.
		u := effectiveUser(t, db, f.alice)
		extra := authz.MaxBalanceCents
		addEvent(t, db, f.latest, model.EvtDepositCompleted, map[string]any{"userId": f.alice, "amount": extra, "currency": "USD"})
		u.DepositedCents += extra
		u.SettledCents += extra
		putUserState(t, db, u)
		return f.alice
	}},
	{"hold left on a completed transaction", CheckBalances, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		tx := getTxn(t, db, f.cleared)
		tx.HoldCents = 1
		putTxn(t, db, tx)
		return f.cleared
	}},
	{"completed transaction without its event", CheckResolution, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		evs := eventsOf(t, db, model.EvtTxnCompleted, "transactionId", f.cleared)
		require.Len(t, evs, 1)
		deleteKeys(t, db, keyspace.EventKey(evs[0].ID), keyspace.EventByTypeKey(evs[0].Type, evs[0].ID))
		return f.cleared
	}},
	{"duplicate transaction.completed", CheckResolution, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		evs := eventsOf(t, db, model.EvtTxnCompleted, "transactionId", f.cleared)
		require.Len(t, evs, 1)
		addEvent(t, db, f.latest, model.EvtTxnCompleted, evs[0].Data.(map[string]any))
		return f.cleared
	}},
	{"transaction.completed after a full reversal", CheckResolution, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		addEvent(t, db, f.latest, model.EvtTxnCompleted, map[string]any{"transactionId": f.voided, "cardId": f.cardA,
			"agentId": f.aliceAgent, "userId": f.alice, "status": model.TxnCompleted})
		return f.voided
	}},
	{"agent over its limit with onLimitExceeded none", CheckAgentSpend, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		a := getJSON[model.Agent](t, db, keyspace.AgentKey(f.idleAgent))
		a.Spend = model.SpendWindow{WindowStart: authz.MonthStart(f.latest), Cents: *a.SpendingLimit + 1}
		putJSON(t, db, keyspace.AgentKey(f.idleAgent), a)
		deleteKey(t, db, keyspace.SpendKey(f.idleAgent)) // the whole record is now the effective one
		return f.idleAgent
	}},
	{"event referencing a missing transaction", CheckEvents, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		missing := "txn_0000nothere"
		addEvent(t, db, f.latest, model.EvtCardAnomaly, map[string]any{"cardId": f.cardA, "agentId": f.aliceAgent,
			"userId": f.alice, "transactionId": missing, "anomaly": "unattested_spend"})
		return missing
	}},
	{"approved user whose application is locked", CheckEvents, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		u := getJSON[model.User](t, db, keyspace.UserKey(f.alice))
		require.Equal(t, model.UserApproved, u.Status)
		u.ApplicationStatus = model.AppLocked
		putJSON(t, db, keyspace.UserKey(f.alice), u)
		return f.alice
	}},
	{"card without card.created", CheckEvents, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		evs := eventsOf(t, db, model.EvtCardCreated, "cardId", f.lifecycle)
		require.Len(t, evs, 1)
		deleteKeys(t, db, keyspace.EventKey(evs[0].ID), keyspace.EventByTypeKey(evs[0].Type, evs[0].ID))
		return f.lifecycle
	}},
	{"card.expired recorded twice", CheckEvents, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		evs := eventsOf(t, db, model.EvtCardExpired, "cardId", f.expiredCard)
		require.Len(t, evs, 1, "the sweep recorded the end of the card's lifetime")
		addEvent(t, db, f.latest, model.EvtCardExpired, map[string]any{"cardId": f.expiredCard, "agentId": f.aliceAgent,
			"userId": f.alice, "status": model.CardClosed, "reason": "ttl_days_expired"})
		return f.expiredCard
	}},
	{"card.expired for a card whose lifetime goes on", CheckEvents, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		addEvent(t, db, f.latest, model.EvtCardExpired, map[string]any{"cardId": f.cardA, "agentId": f.aliceAgent,
			"userId": f.alice, "status": model.CardClosed, "reason": "ttl_days_expired"})
		return f.cardA
	}},
	{"card whose PANHash does not match", CheckPANIndex, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		c := getJSON[model.Card](t, db, keyspace.CardKey(f.cardA))
		c.PANHash = strings.Repeat("0", 64)
		putJSON(t, db, keyspace.CardKey(f.cardA), c)
		return f.cardA
	}},
	{"two cards sharing a PANHash", CheckPANIndex, 1, func(t *testing.T, f *fixture, db *store.DB, v *vault.Vault) string {
		// cardB is given cardA's PAN, sealed properly under its own ID, so
		// that the only thing wrong is the shared hash.
		a := getJSON[model.Card](t, db, keyspace.CardKey(f.cardA))
		b := getJSON[model.Card](t, db, keyspace.CardKey(f.cardB))
		sealed, err := v.Seal(b.ID, f.panA)
		require.NoError(t, err)
		b.PANEnc, b.PANHash, b.BIN, b.Last4 = sealed, a.PANHash, a.BIN, a.Last4
		putJSON(t, db, keyspace.CardKey(f.cardB), b)
		return f.cardB
	}},
	{"sealed PAN moved from another card", CheckPANIndex, 1, func(t *testing.T, f *fixture, db *store.DB, _ *vault.Vault) string {
		// A sealed PAN is bound to its card's ID: copied, it does not open.
		a := getJSON[model.Card](t, db, keyspace.CardKey(f.cardA))
		b := getJSON[model.Card](t, db, keyspace.CardKey(f.cardB))
		b.PANEnc = a.PANEnc
		putJSON(t, db, keyspace.CardKey(f.cardB), b)
		return f.cardB
	}},
	{"dispute credited more than its refund", CheckDisputes, 1, func(t *testing.T, _ *fixture, db *store.DB, _ *vault.Vault) string {
		d := resolvedDispute(t, db, model.DisputeAccepted)
		d.CreditCents++
		putJSON(t, db, keyspace.DisputeKey(d.ID), d)
		return d.ID
	}},
	{"lost dispute without its event", CheckDisputes, 1, func(t *testing.T, _ *fixture, db *store.DB, _ *vault.Vault) string {
		d := resolvedDispute(t, db, model.DisputeRejected)
		evs := eventsOf(t, db, model.EvtDisputeResolved, "disputeId", d.ID)
		require.Len(t, evs, 1)
		deleteKeys(t, db, keyspace.EventKey(evs[0].ID), keyspace.EventByTypeKey(evs[0].Type, evs[0].ID))
		return d.ID
	}},
	{"canceled dispute without its event", CheckDisputes, 1, func(t *testing.T, _ *fixture, db *store.DB, _ *vault.Vault) string {
		d := resolvedDispute(t, db, model.DisputeCanceled)
		evs := eventsOf(t, db, model.EvtDisputeCanceled, "disputeId", d.ID)
		require.Len(t, evs, 1)
		deleteKeys(t, db, keyspace.EventKey(evs[0].ID), keyspace.EventByTypeKey(evs[0].Type, evs[0].ID))
		return d.ID
	}},
	{"failed withdrawal without its event", CheckBalances, 1, func(t *testing.T, _ *fixture, db *store.DB, _ *vault.Vault) string {
		var w *model.Withdrawal
		require.NoError(t, db.Scan(keyspace.WithdrawalPrefix, "", false, func(_, v []byte) bool {
			x := new(model.Withdrawal)
			require.NoError(t, json.Unmarshal(v, x))
			if x.Status == model.WithdrawalFailed {
				w = x
				return false
			}
			return true
		}))
		require.NotNil(t, w, "the fixture has no failed withdrawal")
		evs := eventsOf(t, db, model.EvtWithdrawalFailed, "withdrawalId", w.ID)
		require.Len(t, evs, 1)
		deleteKeys(t, db, keyspace.EventKey(evs[0].ID), keyspace.EventByTypeKey(evs[0].Type, evs[0].ID))
		return w.UserID
	}},
	{"original index pointing nowhere", CheckPANIndex, 1, func(t *testing.T, _ *fixture, db *store.DB, _ *vault.Vault) string {
		putRaw(t, db, keyspace.OrigSTANKey("424242", "0310120000", "card_00000000gone"), []byte("txn_00000000gone"))
		return "txn_00000000gone"
	}},
}

// TestCorruptionsAreReported: each corruption of a legitimate store is
// reported by exactly the check it breaks, as exactly the expected number
// of breaches, with an example naming the record.
func TestCorruptionsAreReported(t *testing.T) {
	f := baseFixture(t)
	for _, tc := range corruptions {
		t.Run(tc.name, func(t *testing.T) {
			_, db, v := openCopy(t, f)
			id := tc.corrupt(t, f, db, v)
			rep, err := Run(db, v, f.latest)
			require.NoError(t, err)
			require.False(t, rep.OK())
			for _, c := range rep.Checks {
				if c.Name == tc.check {
					assert.Equalf(t, tc.breaches, c.Breaches, "%s: %v", c.Name, c.Examples)
					assert.Truef(t, mentions(c.Examples, id), "no example names %s: %v", id, c.Examples)
				} else if c.Name == CheckLogReplay && tc.name != "original index pointing nowhere" {
					// Every corruption here is a write behind the log's
					// back, which the replay comparison catches too (but
					// for the original index, which only stores of earlier
					// versions hold).
					assert.Positivef(t, c.Breaches, "log-replay missed a change made behind the log's back")
				} else {
					assert.Zerof(t, c.Breaches, "%s also reported: %v", c.Name, c.Examples)
				}
			}
		})
	}
}

// TestReportsCarryNoCardData: even when the store holds a PAN where an ID
// belongs, no report line repeats it.
func TestReportsCarryNoCardData(t *testing.T) {
	f := baseFixture(t)
	_, db, v := openCopy(t, f)
	addEvent(t, db, f.latest, model.EvtCardAnomaly, map[string]any{"cardId": f.panA, "transactionId": f.panA[:4] + " " + f.panA[4:8] + " " + f.panA[8:]})
	putRaw(t, db, keyspace.OrigSTANKey("000001", "1121101500", f.panA), []byte(f.panA))
	rep, err := Run(db, v, f.latest)
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Check(CheckEvents).Breaches, rep.Check(CheckEvents).Examples)
	assert.Equal(t, 1, rep.Check(CheckPANIndex).Breaches, rep.Check(CheckPANIndex).Examples)
	// (The original key is not the log's: memory holds that index, and a
	// ledger drops such keys at Open; CheckPANIndex still reads them.)
	assert.Equal(t, 1, rep.Check(CheckLogReplay).Breaches, "the event, written behind the log's back: %v", rep.Check(CheckLogReplay).Examples)
	raw, err := json.Marshal(rep)
	require.NoError(t, err)
	for _, pan := range f.pans {
		assert.NotContains(t, string(raw), pan)
		assert.NotContains(t, string(raw), pan[6:])
		assert.NotContains(t, string(raw), v.Hash(pan))
	}
	assert.Contains(t, string(raw), "unprintable")
}

// TestExamplesAreBounded: a store broken in many places still gives a
// short report with the full count.
func TestExamplesAreBounded(t *testing.T) {
	f := baseFixture(t)
	_, db, v := openCopy(t, f)
	for i := 0; i < MaxExamples+5; i++ {
		addEvent(t, db, f.latest.Add(time.Duration(i)*time.Millisecond), model.EvtCardFrozen,
			map[string]any{"cardId": "card_missing" + string(rune('a'+i))})
	}
	rep, err := Run(db, v, f.latest)
	require.NoError(t, err)
	c := rep.Check(CheckEvents)
	assert.Equal(t, MaxExamples+5, c.Breaches)
	assert.Len(t, c.Examples, MaxExamples)
}

// TestUndecodableRecordsAreBreaches: corruption that leaves a record
// unreadable is reported by the check that owns the record, not as an
// error that hides every other finding.
func TestUndecodableRecordsAreBreaches(t *testing.T) {
	f := baseFixture(t)
	_, db, v := openCopy(t, f)
	putRaw(t, db, keyspace.EventKey("evt_zzzzzzzzzzzzzzzzzzzzzz"), []byte("{not json"))
	rep, err := Run(db, v, f.latest)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Check(CheckEvents).Breaches, rep.Check(CheckEvents).Examples)
}

func TestRunNeedsStoreAndVault(t *testing.T) {
	_, err := Run(nil, nil, time.Now())
	require.Error(t, err)
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"txn_01jq8z3c0000abcdefgh": "txn_01jq8z3c0000abcdefgh",
		"transaction.completed":    "transaction.completed",
		"xos/":                     "xos/",
		"4859320000000000":         "<unprintable>",
		"4859 3200 0000 0000":      "<unprintable>",
		"4859-3200-0000-0000":      "<unprintable>",
		"evt_00000000000000gone":   "<unprintable>", // 14 digits in a row
		"a\nb":                     "<unprintable>",
		strings.Repeat("a", 65):    "<unprintable>",
		"":                         "",
	} {
		assert.Equalf(t, want, printable(in), "printable(%q)", in)
	}
}

func TestInWindow(t *testing.T) {
	now := time.Date(2026, 3, 12, 13, 30, 0, 0, time.UTC) // a Thursday
	ms := func(tm time.Time) int64 { return tm.UnixMilli() }
	assert.True(t, inWindow(model.FreqPerMonth, now, ms(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))))
	assert.False(t, inWindow(model.FreqPerMonth, now, ms(time.Date(2026, 2, 28, 23, 59, 0, 0, time.UTC))))
	assert.True(t, inWindow(model.FreqPerWeek, now, ms(time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC))))
	assert.False(t, inWindow(model.FreqPerWeek, now, ms(time.Date(2026, 3, 8, 23, 0, 0, 0, time.UTC))))
	assert.True(t, inWindow(model.FreqPer24Hours, now, ms(now.Add(-23*time.Hour))))
	assert.False(t, inWindow(model.FreqPer24Hours, now, ms(now.Add(-24*time.Hour-time.Minute))))
	assert.True(t, inWindow(model.FreqAllTime, now, 0))
	assert.False(t, inWindow(model.FreqPerTransaction, now, ms(now)))
	assert.Equal(t, authz.MonthStart(now), windowStartMs(model.FreqPerMonth, now))
}

// TestLoweredLimitReadsAsBreach documents a limit of the agent-spend
// check: the store keeps no history of an agent's limit, so a limit
// lowered below what was already spent in the window is reported as a
// breach. The example says the agent was updated in the window, which is
// how an operator tells this case from a real one.
func TestLoweredLimitReadsAsBreach(t *testing.T) {
	h := freshHistory(t, t.TempDir(), start)
	var agentID string
	require.NoError(t, h.run(func() {
		u := h.user("jo", 10_000)
		agentID = h.agent(u, "jo-bot", ptr(5_000), model.OnLimitNone)
		_, pan := h.card(agentID, model.CardMulti, 4_000)
		h.buy(pan, 4_000)
	}))
	assertClean(t, verifyHistory(t, h))

	h.clk.Advance(time.Minute)
	_, err := h.l.UpdateAgent(h.ctx, agentID, ledger.AgentPatch{SpendingLimit: ptr(3_000)})
	require.NoError(t, err)
	rep, err := Run(h.db, h.v, h.clk.Now())
	require.NoError(t, err)
	c := rep.Check(CheckAgentSpend)
	require.Equal(t, 1, c.Breaches, c.Examples)
	assert.Contains(t, c.Examples[0], agentID)
	assert.Contains(t, c.Examples[0], "the agent was updated in this window")
}

// resolvedDispute returns the fixture's dispute of the given status.
func resolvedDispute(t *testing.T, db *store.DB, status string) *model.Dispute {
	t.Helper()
	var found *model.Dispute
	require.NoError(t, db.Scan(keyspace.DisputePrefix, "", false, func(_, v []byte) bool {
		d := new(model.Dispute)
		require.NoError(t, json.Unmarshal(v, d))
		if d.Status == status {
			found = d
			return false
		}
		return true
	}))
	require.NotNil(t, found, "the fixture has no %s dispute", status)
	return found
}
