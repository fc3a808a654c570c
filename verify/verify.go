package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// Names of the checks, in the order a Report lists them.
const (
	CheckBalances   = "balances"
	CheckResolution = "resolved-once"
	CheckAgentSpend = "agent-spend"
	CheckEvents     = "events"
	CheckPANIndex   = "pan-index"
	CheckDisputes   = "disputes"
	CheckLogReplay  = "log-replay"
)

// MaxExamples bounds the example breaches a check keeps: enough to start
// an investigation, few enough that a badly broken store still prints a
// readable report.
const MaxExamples = 10

// Check is the outcome of one invariant.
type Check struct {
	Name string `json:"name"`
	// Checked is how many records the check examined.
	Checked int `json:"checked"`
	// Breaches is how many violations it found; Examples are the first
	// MaxExamples of them, naming records by ID only.
	Breaches int      `json:"breaches"`
	Examples []string `json:"examples,omitempty"`
	// Notes are findings that the invariant allows but that are worth
	// knowing (users overdrawn by a force post, agents over a notify
	// limit). They never make the report fail.
	Notes []string `json:"notes,omitempty"`
}

func (c *Check) breach(format string, args ...any) {
	c.Breaches++
	if len(c.Examples) < MaxExamples {
		c.Examples = append(c.Examples, describe(format, args...))
	}
}

// describe formats a report line. Every string argument comes from the
// store (IDs, statuses, event types), and a corrupted store can hold
// anything there, so each one passes through printable first: a report
// must never carry card data, whatever the store holds.
func describe(format string, args ...any) string {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = printable(s)
		}
	}
	return fmt.Sprintf(format, args...)
}

// printable returns s when it looks like what the ledger stores in the
// fields reports name (IDs such as txn_01jq..., statuses, event types):
// short, of a plain alphabet, without a run of 12 or more digits (a PAN is
// 12 to 19, possibly grouped by spaces or dashes). Anything else is
// replaced by a placeholder.
func printable(s string) string {
	if len(s) > 64 {
		return "<unprintable>"
	}
	run := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= '0' && ch <= '9':
			run++
			if run >= 12 {
				return "<unprintable>"
			}
		case ch == ' ' || ch == '-':
			// Separators inside a grouped number do not end the run.
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch == '_', ch == '.', ch == '/', ch == '|':
			run = 0
		default:
			return "<unprintable>"
		}
	}
	return s
}

// Report is the outcome of every check over one store.
type Report struct {
	// At is the instant time-dependent checks (agent spend windows) were
	// evaluated at.
	At     time.Time `json:"at"`
	Checks []Check   `json:"checks"`
}

// OK reports whether no check found a breach.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if c.Breaches > 0 {
			return false
		}
	}
	return true
}

// Breaches is the total number of breaches over every check.
func (r *Report) Breaches() int {
	n := 0
	for _, c := range r.Checks {
		n += c.Breaches
	}
	return n
}

// Check returns the check with the given name, or nil.
func (r *Report) Check(name string) *Check {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

// Run checks every invariant over db. It only reads. v opens the sealed
// PANs (it must hold the key the store's cards were sealed with); now is
// the instant agent spend windows are evaluated at (LatestEventTime gives
// the store's own notion of it). An error means the store could not be
// read; a record that cannot be decoded is a breach, not an error.
func Run(db *store.DB, v *vault.Vault, now time.Time) (*Report, error) {
	if db == nil || v == nil {
		return nil, errors.New("verify: a store and a vault are required")
	}
	s := newState(db, v, now.UTC())
	if err := s.load(); err != nil {
		return nil, err
	}
	s.checkBalances()
	s.checkResolution()
	s.checkAgentSpend()
	s.checkEvents()
	if err := s.checkDisputes(); err != nil {
		return nil, err
	}
	replay, err := checkLogReplay(db)
	if err != nil {
		return nil, err
	}
	return &Report{At: s.now, Checks: []Check{s.bal, s.res, s.agt, s.evt, s.pan, s.dsp, replay}}, nil
}

// checkLogReplay replays the decision log into an empty store and compares
// it with db: the store must be exactly what its records give.
func checkLogReplay(db *store.DB) (Check, error) {
	c := Check{Name: CheckLogReplay}
	res, err := ledger.CheckStoreAgainstLog(db)
	if err != nil {
		return c, err
	}
	c.Checked = res.Keys
	for _, m := range res.Mismatches {
		c.breach("%s key %s (missing: written by the log, not in the store; differs: another value; unlogged: written by no record; undeleted: deleted by the log; short: the log ends early)", m.Kind, m.Key)
	}
	c.Breaches = res.Mismatched
	switch {
	case res.Records == 0:
		c.Notes = append(c.Notes, "no decision records: the store predates its log or is empty")
	case !res.Whole:
		c.Notes = append(c.Notes, describe("the log holds records %d to %d (older ones were trimmed, or the store predates its log): what they wrote was compared, not the rest", res.First, res.Last))
	default:
		c.Notes = append(c.Notes, describe("replayed records %d to %d: the store is exactly their projection", res.First, res.Last))
	}
	return c, nil
}

// LatestEventTime is the creation time of the store's newest event, and
// false when the store has no events. Every change that moves money or
// spend writes an event, so this is the last instant the state changed;
// evaluating spend windows there gives the same answer on a live store, a
// snapshot and a copy, whatever the wall clock or a virtual clock says.
func LatestEventTime(db *store.DB) (time.Time, bool, error) {
	var ev eventlog.Record
	var found bool
	var decodeErr error
	err := db.Scan(keyspace.EventsPrefix, "", true, func(k, v []byte) bool {
		ev, decodeErr = eventlog.Decode(string(bytes.TrimPrefix(k, keyspace.EventsPrefix)), v)
		found = decodeErr == nil
		// A corrupt newest event is reported by the events check; the
		// scan goes on to the newest readable one.
		return decodeErr != nil
	})
	if err != nil {
		return time.Time{}, false, err
	}
	if !found {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(ev.CreatedAt).UTC(), true, nil
}

// state is everything the checks read, loaded once. Records are kept in
// maps for lookups and in ID order (the store's scan order) for reports
// that come out the same on every run.
type state struct {
	db  *store.DB
	v   *vault.Vault
	now time.Time

	bal, res, agt, evt, pan, dsp Check

	users     map[string]*model.User
	userIDs   []string
	agents    map[string]*model.Agent
	agentIDs  []string
	cards     map[string]*model.Card
	cardIDs   []string
	intents   map[string]bool
	access    map[string]bool
	txns      map[string]*model.Transaction
	txnIDs    []string
	openIDs   []string
	events    int
	txnEvents map[string]*txnEvents
	deposits  map[string]int64 // deposit.completed amounts by user
	// Subjects of the events that create cards and agents and approve
	// users.
	cardCreated   map[string]bool
	cardExpired   map[string]int // card.expired events per card
	cardActivated map[string]bool
	agentCreated  map[string]bool
	userApproved  map[string]bool
	// disputeEvents counts each dispute's events (disputes.go).
	disputeEvents map[string]*disputeEvents
}

func newState(db *store.DB, v *vault.Vault, now time.Time) *state {
	return &state{
		db: db, v: v, now: now,
		bal: Check{Name: CheckBalances}, res: Check{Name: CheckResolution}, agt: Check{Name: CheckAgentSpend},
		evt: Check{Name: CheckEvents}, pan: Check{Name: CheckPANIndex}, dsp: Check{Name: CheckDisputes},
		disputeEvents: map[string]*disputeEvents{},
		users:         map[string]*model.User{}, agents: map[string]*model.Agent{}, cards: map[string]*model.Card{},
		intents: map[string]bool{}, access: map[string]bool{}, txns: map[string]*model.Transaction{},
		txnEvents: map[string]*txnEvents{}, deposits: map[string]int64{},
		cardCreated: map[string]bool{}, cardExpired: map[string]int{}, cardActivated: map[string]bool{}, agentCreated: map[string]bool{}, userApproved: map[string]bool{},
	}
}

// scanRecords decodes every record under prefix. A record that does not
// decode is a breach of the check that owns its kind.
func scanRecords[T any](db *store.DB, prefix []byte, owner *Check, kind string, fn func(id string, rec *T)) error {
	return scanDecoded(db, prefix, owner, kind, func(v []byte, rec *T) error { return json.Unmarshal(v, rec) }, fn)
}

// scanDecoded is scanRecords with the record's own decoder.
func scanDecoded[T any](db *store.DB, prefix []byte, owner *Check, kind string, decode func([]byte, *T) error, fn func(id string, rec *T)) error {
	return db.Scan(prefix, "", false, func(k, v []byte) bool {
		id := string(bytes.TrimPrefix(k, prefix))
		rec := new(T)
		if err := decode(v, rec); err != nil {
			owner.breach("%s %s: record does not decode", kind, id)
			return true
		}
		fn(id, rec)
		return true
	})
}

// scanKeys lists the IDs under prefix without decoding values.
func scanKeys(db *store.DB, prefix []byte, fn func(id string, v []byte)) error {
	return db.Scan(prefix, "", false, func(k, v []byte) bool {
		fn(string(bytes.TrimPrefix(k, prefix)), v)
		return true
	})
}

func (s *state) load() error {
	if err := scanRecords(s.db, keyspace.UsersPrefix, &s.bal, "user", func(id string, u *model.User) {
		s.users[id] = u
		s.userIDs = append(s.userIDs, id)
	}); err != nil {
		return err
	}
	if err := scanRecords(s.db, keyspace.AgentsPrefix, &s.agt, "agent", func(id string, a *model.Agent) {
		s.agents[id] = a
		s.agentIDs = append(s.agentIDs, id)
	}); err != nil {
		return err
	}
	// Cards are checked as they are read, so that no PAN outlives the
	// check of its own card.
	hashOwner := map[string]string{}
	if err := scanRecords(s.db, keyspace.CardsPrefix, &s.pan, "card", func(id string, c *model.Card) {
		s.pan.Checked++
		s.checkCardPAN(id, c, hashOwner)
		c.PANEnc = nil
		s.cards[id] = c
		s.cardIDs = append(s.cardIDs, id)
	}); err != nil {
		return err
	}
	// Balances, usage and spend live in delta records laid over the whole
	// ones, as the ledger itself reads them.
	if err := ledger.OverlayDeltas(s.db, func(id string) *model.User { return s.users[id] },
		func(id string) *model.Card { return s.cards[id] }, func(id string) *model.Agent { return s.agents[id] }); err != nil {
		return err
	}
	if err := scanKeys(s.db, keyspace.IntentPrefix, func(id string, _ []byte) { s.intents[id] = true }); err != nil {
		return err
	}
	if err := scanKeys(s.db, keyspace.AccessPrefix, func(id string, _ []byte) { s.access[id] = true }); err != nil {
		return err
	}
	if err := scanDecoded(s.db, keyspace.TxnsPrefix, &s.res, "transaction", ledger.DecodeTransaction, func(id string, t *model.Transaction) {
		// Only the ledger fields are needed; receipts and notes can be
		// large.
		t.Notes, t.Tags, t.Category, t.Receipt = nil, nil, nil, nil
		s.txns[id] = t
		s.txnIDs = append(s.txnIDs, id)
	}); err != nil {
		return err
	}
	if err := s.loadEvents(); err != nil {
		return err
	}
	return s.checkOrigIndex()
}
