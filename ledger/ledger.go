package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/matcher"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/risk"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// Config wires a Ledger to its parts.
type Config struct {
	// Store is the durable log. Required.
	Store *store.DB
	// Vault seals and derives card data. Required.
	Vault *vault.Vault
	// Clock tells the time of every change. Required.
	Clock clock.Clock
	// Shards is the number of lock shards. Default 256.
	Shards int
	// KYCAuto approves a user as soon as verification is initiated.
	KYCAuto bool
	// CardLifetime is how long a card is valid when it has no ttlDays.
	// Default 3 years.
	CardLifetime time.Duration
	// Logger receives operational messages. Default: discard.
	Logger *slog.Logger
	// HoldExpiry is how long an authorization that is not cleared holds
	// funds before it expires and releases them. Default 7 days.
	HoldExpiry time.Duration
	// AutoSettle, when positive, completes an authorization still open
	// that long after its approval for its amount, as a network's clearing
	// file would (Sweep does it, on the ledger's clock). 0 leaves open
	// authorizations to HoldExpiry alone; whichever comes first applies.
	AutoSettle time.Duration
	// OverCapturePct is how far above the authorized amount a clearing may
	// capture (tips), in percent; 0 allows no over-capture (the server's
	// flag defaults to 20).
	OverCapturePct int64
	// RepeatWindow is how long a message's STAN and RRN are remembered to
	// answer repeats with the first reply. Default 15 minutes.
	RepeatWindow time.Duration
	// OnIntentOutcome, when set, is told the matcher's outcome for each
	// purchase: "matched", "mismatched" or "none". It must be cheap.
	OnIntentOutcome func(outcome string)
	// LogDir is the decision log's directory, on the store's filesystem.
	// Default: "log" in the store's data directory.
	LogDir string
	// LogMinSyncInterval is the least time between two syncs of the
	// decision log (decisionlog.Config.MinSyncInterval). Default 200µs.
	LogMinSyncInterval time.Duration
	// LogSegmentBytes is the size of a decision log segment. Default 64 MiB.
	LogSegmentBytes int64
	// OnFatal is called once if the decision log fails (fail-stop; see
	// package decisionlog). Default: log the error and exit the process
	// with status 70.
	OnFatal func(error)
	// LogRetention is how long the decision log keeps records the store
	// already holds durably, before Sweep lets it drop their segments.
	// Default 10 minutes.
	LogRetention time.Duration
	// CheckpointInterval and CheckpointRecords say how often the store
	// takes a checkpoint of the hot keys (balances, card usage, agent
	// spend; see hotkeys.go): after this much time on the ledger's clock or
	// this many records, whichever comes first. Defaults 1s and 65,536.
	// Longer means fewer store writes and more log for a restart to read.
	CheckpointInterval time.Duration
	CheckpointRecords  int
	// OnLogSync, when set, is told how long each sync of the decision log
	// took and how many records it made durable (metrics).
	OnLogSync func(elapsed time.Duration, records int)
	// SnapshotDir holds the memory checkpoints (memcheckpoint.go), on the
	// store's filesystem. Default: "checkpoints" in the store's data
	// directory.
	SnapshotDir string
	// SnapshotInterval and SnapshotRecords say how often Sweep takes a
	// checkpoint of memory's tables (open holds, originals, lists, events
	// by type, the repeat window), so that a restart replays only the log
	// after it: after this much time on the ledger's clock or this many
	// records, whichever comes first. Defaults 5 minutes and 2,000,000.
	// (CheckpointInterval is another checkpoint: the store's of the hot
	// keys.)
	SnapshotInterval time.Duration
	SnapshotRecords  int

	// IgnoreMemCheckpoints makes Open rebuild memory from the store even
	// when a memory checkpoint is there (the tests and verify's checkpoint
	// check compare the two).
	IgnoreMemCheckpoints bool
}

func (c *Config) validate() error {
	if c.Store == nil || c.Vault == nil || c.Clock == nil {
		return errors.New("ledger: Store, Vault and Clock are required")
	}
	if c.Shards == 0 {
		c.Shards = 256
	}
	if c.Shards < 1 || c.Shards > 1<<16 {
		return fmt.Errorf("ledger: Shards must be 1..65536, got %d", c.Shards)
	}
	if c.CardLifetime == 0 {
		c.CardLifetime = 3 * 365 * 24 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.HoldExpiry == 0 {
		c.HoldExpiry = 7 * 24 * time.Hour
	}
	if c.OverCapturePct < 0 || c.OverCapturePct > 1000 {
		return fmt.Errorf("ledger: OverCapturePct must be 0..1000, got %d", c.OverCapturePct)
	}
	if c.RepeatWindow == 0 {
		c.RepeatWindow = 15 * time.Minute
	}
	if c.HoldExpiry < 0 || c.RepeatWindow < 0 || c.AutoSettle < 0 {
		return errors.New("ledger: HoldExpiry, RepeatWindow and AutoSettle must not be negative")
	}
	if c.LogRetention == 0 {
		c.LogRetention = 10 * time.Minute
	}
	if c.LogRetention < 0 {
		return errors.New("ledger: LogRetention must be positive")
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = time.Second
	}
	if c.CheckpointRecords == 0 {
		c.CheckpointRecords = 1 << 16
	}
	if c.CheckpointInterval < 0 || c.CheckpointRecords < 0 {
		return errors.New("ledger: CheckpointInterval and CheckpointRecords must not be negative")
	}
	if c.LogDir == "" {
		c.LogDir = c.Store.FS().PathJoin(c.Store.Dir(), "log")
	}
	if c.SnapshotDir == "" {
		c.SnapshotDir = c.Store.FS().PathJoin(c.Store.Dir(), "checkpoints")
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = 5 * time.Minute
	}
	if c.SnapshotRecords == 0 {
		c.SnapshotRecords = 2_000_000
	}
	if c.SnapshotInterval < 0 || c.SnapshotRecords < 0 {
		return errors.New("ledger: SnapshotInterval and SnapshotRecords must not be negative")
	}
	return nil
}

// Ledger is the in-memory, store-backed state.
type Ledger struct {
	// skipEvents leaves every event out of the store. Only the
	// benchmark that measures what recording events costs sets it (see
	// export_test.go): a ledger without its events breaks verify and
	// webhook delivery.
	skipEvents bool

	cfg Config
	db  *store.DB
	// dlog is the decision log: every change is a record in it, durable
	// before it is acknowledged (commit.go).
	dlog decisionlog.Log
	pipe pipeline
	trim logTrim
	// reader is the attached reader of the log's events (webhook
	// delivery), nil when none, and tail the events it wants that it has
	// not read yet (logevents.go).
	reader atomic.Pointer[eventReaderRef]
	tail   eventTail
	// hot holds the hot keys' writes until the store's next checkpoint
	// of them (hotkeys.go).
	hot hotKeys
	// origins finds approved purchases by the references follow-ups
	// quote (origins.go).
	origins *origins
	// lists serves transaction lists by card, user and agent (txnlists.go).
	lists *txnLists
	// events serves events by type (eventindex.go).
	events *eventsByType
	vault  *vault.Vault
	clock  clock.Clock
	log    *slog.Logger
	ids    model.IDGen
	shards []shard
	dir    directory
	idem   idemLocks
	// repeats answers repeated messages across all shards.
	repeats *repeatIndex
	// lastFollowUpGC is when Sweep last dropped old follow-up records (ms).
	lastFollowUpGC atomic.Int64
	// lifetimeGen counts the changes that can move a card's lifetime end.
	lifetimeGen atomic.Uint64
	// pols are the organization's policies (policies.go).
	pols policies
	// risk holds the risk settings (risk.go).
	risk riskState
	// snap takes and loads the checkpoints of memory's tables
	// (memcheckpoint.go).
	snap snapshots
}

// shard holds the records of the users that hash to it. Every field is
// guarded by mu.
type shard struct {
	mu      sync.Mutex
	users   map[string]*model.User
	agents  map[string]*model.Agent
	cards   map[string]*model.Card
	txns    shardTxns
	intents *matcher.Index
	// approvals are the intents a person must decide on (approvals.go).
	approvals approvals
	// The earliest card lifetime end the last scan saw, and the generation
	// of lifetime changes it saw (card_lifetime.go).
	nextLifetimeEnd int64
	lifetimesSeen   uint64
}

// directory maps secondary keys to the user that owns them, which names the
// shard. It is read on every request and written only when something is
// created, hence the RWMutex.
type directory struct {
	mu           sync.RWMutex
	userOfAgent  map[string]string
	userOfCard   map[string]string
	cardByPAN    map[panKey]panEntry
	userByEmail  map[string]string
	agentByExtID map[string]string
	tokens       map[string]*model.AgentToken // by hex hash
	tokenByID    map[string]*model.AgentToken
}

// Open rebuilds the state from the store.
func Open(cfg Config) (*Ledger, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l := &Ledger{cfg: cfg, db: cfg.Store, vault: cfg.Vault, clock: cfg.Clock, log: cfg.Logger,
		repeats: newRepeatIndex(cfg.RepeatWindow.Milliseconds())}
	l.shards = make([]shard, cfg.Shards)
	for i := range l.shards {
		l.shards[i] = shard{users: map[string]*model.User{}, agents: map[string]*model.Agent{}, cards: map[string]*model.Card{}, txns: newShardTxns(), intents: matcher.NewIndex()}
	}
	l.dir = directory{
		userOfAgent: map[string]string{}, userOfCard: map[string]string{}, cardByPAN: map[panKey]panEntry{},
		userByEmail: map[string]string{}, agentByExtID: map[string]string{},
		tokens: map[string]*model.AgentToken{}, tokenByID: map[string]*model.AgentToken{},
	}
	l.pipe.init()
	l.tail.init()
	l.lists = newTxnLists()
	l.events = newEventsByType()
	l.origins = newOrigins()
	l.pols.init()
	l.risk.overlays = map[string]*risk.Overlay{}
	dlog, err := decisionlog.Open(decisionlog.Config{
		Dir: cfg.LogDir, FS: cfg.Store.FS(), MinSyncInterval: cfg.LogMinSyncInterval, SegmentBytes: cfg.LogSegmentBytes,
		OnFatal: cfg.OnFatal, Logger: cfg.Logger, OnSync: cfg.OnLogSync, OnDurable: l.projectDurable,
	})
	if err != nil {
		return nil, err
	}
	l.dlog = dlog
	l.pipe.appended = dlog.Last()
	if err := l.replay(); err != nil {
		_ = dlog.Close()
		return nil, err
	}
	l.hot.init(dlog.Last(), cfg.Clock.Now().UnixMilli())
	if err := l.openSnapshots(); err != nil {
		_ = dlog.Close()
		return nil, err
	}
	if err := l.rebuild(); err != nil {
		_ = dlog.Close()
		return nil, err
	}
	if err := dropRetired(l.db); err != nil {
		_ = dlog.Close()
		return nil, err
	}
	return l, nil
}

// Close syncs and closes the decision log, projecting what it held into
// the store, and writes a checkpoint of memory's tables at the log's last
// record. The store is the caller's to close, after.
func (l *Ledger) Close() error {
	if err := l.dlog.Close(); err != nil {
		return err
	}
	if err := l.checkpointHot(); err != nil {
		return err
	}
	return l.closeSnapshots()
}

// Clock returns the ledger's clock.
func (l *Ledger) Clock() clock.Clock { return l.clock }

// Vault returns the ledger's vault.
func (l *Ledger) Vault() *vault.Vault { return l.vault }

// Store returns the ledger's store, for read-only listing.
func (l *Ledger) Store() *store.DB { return l.db }

func loadAll[T any](db *store.DB, prefix []byte, fn func(*T)) error {
	var decodeErr error
	err := db.Scan(prefix, "", false, func(k, v []byte) bool {
		rec := new(T)
		if err := json.Unmarshal(v, rec); err != nil {
			decodeErr = fmt.Errorf("ledger: rebuild: corrupt %s record: %w", prefix, err)
			return false
		}
		fn(rec)
		return true
	})
	if err != nil {
		return err
	}
	return decodeErr
}

// observeIDs tells the ID generator the newest ID of each kind in the
// store, so that IDs made from now on sort after them (see IDGen.Observe).
func (l *Ledger) observeIDs() error {
	for _, prefix := range [][]byte{keyspace.UsersPrefix, keyspace.AgentsPrefix, keyspace.CardsPrefix, keyspace.TokensPrefix,
		keyspace.EventsPrefix, keyspace.TxnsPrefix, keyspace.IntentPrefix, keyspace.AccessPrefix} {
		if err := l.db.Scan(prefix, "", true, func(k, _ []byte) bool {
			l.ids.Observe(string(k[len(prefix):]))
			return false
		}); err != nil {
			return err
		}
	}
	return nil
}

func (l *Ledger) rebuild() error {
	if err := l.observeIDs(); err != nil {
		return err
	}
	if err := loadAll(l.db, keyspace.UsersPrefix, func(u *model.User) {
		u.Canonicalize()
		l.shardOf(u.ID).users[u.ID] = u
		l.dir.userByEmail[emailKey(u.Email)] = u.ID
	}); err != nil {
		return err
	}
	if err := loadAll(l.db, keyspace.AgentsPrefix, func(a *model.Agent) {
		l.shardOf(a.UserID).agents[a.ID] = a
		l.dir.userOfAgent[a.ID] = a.UserID
		if a.ExternalID != "" {
			l.dir.agentByExtID[a.ExternalID] = a.ID
		}
	}); err != nil {
		return err
	}
	if err := loadAll(l.db, keyspace.CardsPrefix, func(c *model.Card) {
		l.shardOf(c.UserID).cards[c.ID] = c
		l.dir.userOfCard[c.ID] = c.UserID
		if k, ok := panKeyOf(c.PANHash); ok {
			l.dir.cardByPAN[k] = panEntry{cardID: c.ID, userID: c.UserID}
		}
	}); err != nil {
		return err
	}
	if err := loadAll(l.db, keyspace.TokensPrefix, func(t *model.AgentToken) {
		l.dir.tokens[fmt.Sprintf("%x", t.Hash)] = t
		l.dir.tokenByID[t.ID] = t
	}); err != nil {
		return err
	}
	if err := l.overlayDeltas(); err != nil {
		return err
	}
	if err := l.rebuildPolicies(); err != nil {
		return err
	}
	if err := l.rebuildRisk(); err != nil {
		return err
	}
	if err := l.rebuildIntents(); err != nil {
		return err
	}
	if l.loadMemCheckpoint() {
		return nil
	}
	// The index of events by type and what memory derives from the
	// transactions are separate tables from separate families of the
	// store: the two passes run side by side, so that a full rebuild takes
	// the longer of the two rather than their sum.
	evErr := make(chan error, 1)
	go func() { evErr <- l.rebuildEvents() }()
	txnErr := l.rebuildTxns()
	if err := <-evErr; err != nil {
		return err
	}
	return txnErr
}

func (l *Ledger) shardOf(userID string) *shard {
	h := uint32(2166136261) // FNV-1a 32, in place
	for i := 0; i < len(userID); i++ {
		h = (h ^ uint32(userID[i])) * 16777619
	}
	return &l.shards[h%uint32(len(l.shards))]
}

func emailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func (l *Ledger) userOfAgent(agentID string) (string, bool) {
	l.dir.mu.RLock()
	defer l.dir.mu.RUnlock()
	u, ok := l.dir.userOfAgent[agentID]
	return u, ok
}

func (l *Ledger) userOfCard(cardID string) (string, bool) {
	l.dir.mu.RLock()
	defer l.dir.mu.RUnlock()
	u, ok := l.dir.userOfCard[cardID]
	return u, ok
}

// change collects the writes and events of one state change.
type change struct {
	l *Ledger
	// rec is the change's decision record: its header, then every write
	// in order (record.go).
	rec []byte
	lsn decisionlog.LSN
	now time.Time
	err error
	// wanted are the change's events the event reader wants (in
	// wantedBuf for the usual one or two); announce says that a later
	// change's record (a risk action's) carries some, which this change's
	// waiter announces.
	wanted    []wantedEvent
	wantedBuf [2]wantedEvent
	announce  bool
	// intentMismatched is set when the change resolved an intent as
	// mismatched (the risk engine's intentMismatch rule reads it).
	intentMismatched bool
	// keys are the hashes of the written keys the queue of records not
	// yet projected indexes (commit.go), kept in keyBuf for the usual
	// one or two; hasRange is set by a range deletion.
	keys     []uint64
	keyBuf   [4]uint64
	hasRange bool
}

func (l *Ledger) begin(now time.Time) *change {
	return l.beginIn(new(change), make([]byte, 0, recordCap), now)
}

// beginIn is begin into a change and a record buffer the caller made
// (authWork: one allocation for several).
func (l *Ledger) beginIn(c *change, buf []byte, now time.Time) *change {
	*c = change{l: l, now: now, rec: appendRecordHeader(buf, RecOther, now)}
	c.keys, c.wanted = c.keyBuf[:0], c.wantedBuf[:0]
	return c
}

// kind says what made the change, in its record.
func (c *change) kind(k RecordKind) { c.rec[1] = byte(k) }

func (c *change) set(key, value []byte) {
	c.rec = appendOp(c.rec, opSet, key, value)
	c.noteKey(key)
}

func (c *change) del(key []byte) {
	c.rec = appendOp(c.rec, opDelete, key, nil)
	c.noteKey(key)
}

func (c *change) delRange(start, end []byte) {
	c.rec = appendOp(c.rec, opDeleteRange, start, end)
	c.hasRange = true
}

// noteKey remembers the hash of a written key the queue's index takes.
func (c *change) noteKey(key []byte) {
	if h, ok := c.l.pipe.keyHash(key); ok {
		c.keys = append(c.keys, h)
	}
}

func (c *change) put(key []byte, v any) {
	if c.err != nil {
		return
	}
	raw, err := json.Marshal(v)
	if err != nil {
		c.err = fmt.Errorf("ledger: encode %s: %w", key, err)
		return
	}
	c.set(key, raw)
}

func (c *change) index(key []byte) { c.set(key, nil) }

// putTxn writes a transaction record in its stored form (txnrecord.go).
func (c *change) putTxn(t *model.Transaction) {
	if c.err != nil {
		return
	}
	key := keyspace.TxnKey(t.ID)
	at := c.openValue(opSet, key)
	var err error
	if c.rec, err = AppendTransaction(c.rec, t); err != nil {
		c.rec = c.rec[:opStart(at, key)]
		c.err = err
		return
	}
	c.closeValue(at)
	c.noteKey(key)
}

// event records a state change's event in the same batch as the change,
// its data as JSON.
func (c *change) event(typ string, data any) string {
	if c.err != nil || c.l.skipEvents {
		return ""
	}
	var buf [eventScratchBytes]byte
	raw, err := eventlog.AppendJSON(buf[:0], model.Ms(c.now), typ, data)
	if err != nil {
		c.err = err
		return ""
	}
	return c.record(typ, raw)
}

// txnEvent records a transaction event, in the compact form every
// authorization's event takes (see package eventlog).
func (c *change) txnEvent(typ string, t *model.Transaction) string {
	if c.l.skipEvents {
		return ""
	}
	p := txnEventData(t)
	id, at := c.openEvent()
	c.rec = eventlog.AppendTxn(c.rec, model.Ms(c.now), typ, &p)
	c.closeEvent(typ, id, at)
	return id
}

// record writes an encoded event. Webhook delivery reads it from the
// log; when the event reader wants it, it is also kept in memory for the
// reader (logevents.go) and the change's waiter announces the record.
func (c *change) record(typ string, raw []byte) string {
	id := c.l.ids.New(model.PrefixEvent, c.now)
	// The index of events by type is derived from the event when it is
	// projected (projectRecord); the record carries no key for it.
	c.set(keyspace.EventKey(id), raw)
	c.noteWanted(typ, id, len(raw))
	return id
}

// noteWanted keeps, for the event reader, the event just appended to the
// record (rawLen bytes, at its end), if the reader wants its type.
func (c *change) noteWanted(typ, id string, rawLen int) {
	if r := c.l.readerOf(); r != nil && r.Wants(typ) {
		c.wanted = append(c.wanted, wantedEvent{id: id, end: len(c.rec), len: rawLen})
	}
}

// apply appends the change's record to the decision log (ordered, not
// yet durable). The caller holds the shard lock. result is what the
// operation returns; when ctx carries an idempotency key the rendered
// response is recorded with it in the same record, so a retry sees
// exactly what the first call said.
func (c *change) apply(ctx context.Context, result any) error {
	if c.err != nil {
		return c.err
	}
	if idem := idemFrom(ctx); idem != nil {
		if err := idem.record(c, result); err != nil {
			return err
		}
	}
	lsn, err := c.l.appendRecord(c.rec, c.keys, c.hasRange, c.wanted)
	if err != nil {
		return err
	}
	c.lsn = lsn
	return nil
}

// wait blocks until the change is durable, then tells the event reader
// when the change recorded an event it wants.
func (c *change) wait() error {
	if err := c.l.dlog.WaitDurable(c.lsn); err != nil {
		return err
	}
	if len(c.wanted) > 0 || c.announce {
		if r := c.l.readerOf(); r != nil {
			r.Notify(c.lsn)
		}
	}
	return nil
}

// commit is apply and wait for changes that need no lock ordering.
func (c *change) commit(ctx context.Context, result any) error {
	if err := c.apply(ctx, result); err != nil {
		return err
	}
	return c.wait()
}

func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return fmt.Sprintf("%x", h[:])
}

// holdShard takes over the lock the caller holds on s and returns a func
// that unlocks it once: an
// operation calls it before waiting for its sync, so the shard's next
// decision is not held up by this one's fsync (the WAL order was fixed
// when the change was applied under the lock), and defers it for every
// other return.
func holdShard(s *shard) (release func()) {
	held := true
	return func() {
		if held {
			held = false
			s.mu.Unlock()
		}
	}
}
