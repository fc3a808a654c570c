package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/decisionlog"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
)

// Limits on endpoint fields.
const (
	MaxURLBytes         = 2048
	MaxDescriptionBytes = 1000
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// Service keeps the endpoints and runs the dispatcher.
type Service struct {
	cfg    Config
	db     *store.DB
	src    EventLog
	clk    clock.Clock
	log    *slog.Logger
	ids    model.IDGen
	client Doer
	// fast and dialer are the default client and its connections (nil when
	// Config.Client was given); Close closes the connections, which ends
	// the attempts in flight.
	fast   *fasthttp.Client
	dialer *dialer

	// ctx ends when the Service is closed; dials and the goroutines use it.
	ctx    context.Context
	cancel context.CancelFunc

	// mu guards the fields below, and serializes every write of this
	// package's records, so that an API change and an attempt's outcome
	// never overwrite each other. Batches are applied under mu (which
	// orders them) and waited for outside it.
	mu        sync.Mutex
	eps       map[string]*epState
	order     []string // endpoint IDs, ascending
	rr        int      // where the next pass starts in order, for fairness
	buffered  int      // queue records held in memory, all endpoints
	highWater int      // the most buffered ever held
	epHigh    int      // the most held for one endpoint
	inflight  int      // attempts started and not yet recorded
	closed    bool
	// held are the event IDs of the batch fanout applied and is waiting
	// to see synced; fill leaves their queue records alone.
	held map[string]bool

	// resMu guards pending: the outcomes of attempts that ended, waiting
	// for the recorder, which writes all of them in one batch.
	resMu      sync.Mutex
	pending    []result
	recordWake chan struct{}

	// cursor is the LSN of the last decision record fan-out has read
	// (under mu: an endpoint enabled when none was moves it to the durable
	// LSN, so that it gets only what happens from then on). saved is the
	// cursor as the store holds it durably (m/whlsn), what the log must be
	// kept from.
	cursor decisionlog.LSN
	saved  atomic.Uint64
	// fannedOut, when set (tests), is told the cursor of each fan-out
	// batch once it is synced, on the fan-out goroutine.
	fannedOut func(decisionlog.LSN)

	// subs is what the enabled endpoints subscribe to, for Wants. It is
	// replaced (under mu) whenever an endpoint changes.
	subs atomic.Pointer[subscriptions]

	// queueDepth counts the durable queue records (deliveries still to
	// make), all endpoints together: counted on load, then moved by every
	// batch that adds or removes one, once applied.
	queueDepth atomic.Int64

	// logDirty says fan-out must read the log again (Notify, Kick);
	// fanBusy that it is reading it.
	logDirty atomic.Bool
	fanBusy  atomic.Bool
	fanWake  chan struct{}
	wake     chan struct{}
	settle   chan chan struct{}
	done     chan struct{}
	fanDone  chan struct{}
	recDone  chan struct{}
	// jobs hands attempts to idle workers (see start); nworkers, guarded
	// by mu, is how many there are, at most MaxInFlight. workers counts
	// them for Close.
	jobs     chan job
	nworkers int
	workers  sync.WaitGroup
}

// epState is an endpoint and its dispatch state.
type epState struct {
	ep      Endpoint
	deleted bool
	// window is the head of the endpoint's queue, in event order: at most
	// MaxBufferedPerEndpoint records. complete says it holds the whole
	// queue. loaded says it is valid: every queue record whose event ID is
	// at most through is in it, so the store is read from after through
	// when it runs low; when loaded is false it is read again from the
	// start once nothing of the endpoint is in flight.
	window   []*queued
	complete bool
	loaded   bool
	through  string
	// busy counts the endpoint's attempts started and not yet recorded;
	// failed says its latest recorded attempt failed.
	busy   int
	failed bool
	// logCount is the number of delivery-log records; every record up to
	// logFloor was pruned.
	logCount int
	logFloor string
}

// New opens the Service on cfg.Store, reads its cursor in the decision
// log (delivering what the outbox markers of a store written before
// delivery tailed the log still hold), and starts its dispatcher.
func New(cfg Config) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{
		cfg: cfg, db: cfg.Store, src: cfg.Log, clk: cfg.Clock, log: cfg.Logger,
		eps:        map[string]*epState{},
		wake:       make(chan struct{}, 1),
		fanWake:    make(chan struct{}, 1),
		fanDone:    make(chan struct{}),
		recordWake: make(chan struct{}, 1),
		settle:     make(chan chan struct{}),
		done:       make(chan struct{}),
		recDone:    make(chan struct{}),
		jobs:       make(chan job),
	}
	// The context exists before the client, whose dials run under it.
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.client = cfg.Client
	if s.client == nil {
		s.dialer = newDialer(s.ctx)
		s.fast = newClient(&s.cfg, s.dialer)
		s.client = s.fast
	}
	if err := s.load(); err != nil {
		s.cancel()
		return nil, err
	}
	s.refreshSubs()
	// The log from the cursor, and an old store's outbox, are fanned out
	// before New returns, so that they cannot interleave with what the
	// caller does next.
	if err := s.openCursor(); err != nil {
		s.cancel()
		return nil, err
	}
	if err := s.tailLog(); err != nil {
		s.log.Error("webhook: reading the decision log", "err", err)
		s.logDirty.Store(true)
	}
	go s.run()
	go s.fanout()
	go s.recorder()
	return s, nil
}

// load reads the endpoints and counts their delivery logs.
func (s *Service) load() error {
	var decodeErr error
	err := s.db.Scan([]byte(pEndpoint), "", false, func(_, v []byte) bool {
		var ep Endpoint
		if err := json.Unmarshal(v, &ep); err != nil {
			decodeErr = fmt.Errorf("webhook: corrupt endpoint record: %w", err)
			return false
		}
		// An endpoint that was resting after a failure starts at one
		// attempt at a time.
		s.eps[ep.ID] = &epState{ep: ep, failed: ep.PausedUntil != 0}
		s.order = append(s.order, ep.ID)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return err
	}
	for _, st := range s.eps {
		n := 0
		if err := s.db.Scan(logPrefix(st.ep.ID), "", false, func(_, _ []byte) bool { n++; return true }); err != nil {
			return err
		}
		st.logCount = n
	}
	var queued int64
	if err := s.db.Scan([]byte(pQueue), "", false, func(_, _ []byte) bool { queued++; return true }); err != nil {
		return err
	}
	s.queueDepth.Store(queued)
	return nil
}

// QueueDepth is the number of deliveries still to make, all endpoints
// together (what the durable queue holds).
func (s *Service) QueueDepth() int64 { return s.queueDepth.Load() }

// Close stops the dispatcher and abandons the attempts in flight without
// recording them (they are made again after a restart). With the default
// client it returns at once; with Config.Client it waits for the attempts
// in flight to end. Call it before closing the store. Close is idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	if s.dialer != nil {
		// fasthttp cannot cancel a request: closing its connection is what
		// ends an attempt in flight, at once rather than at its deadline.
		// Its outcome is not recorded (record sees closed), so the queue
		// record stays and the attempt is made again after restart.
		s.dialer.closeAll()
	}
	<-s.done
	<-s.fanDone
	<-s.recDone
	s.workers.Wait()
	if s.fast != nil {
		// Drop the closed connections from the pool, so that fasthttp's
		// cleaners find nothing left and stop.
		s.fast.CloseIdleConnections()
	}
	return nil
}

// Notify tells fan-out that the decision record lsn, which has an event
// an endpoint wants, is durable. It has the shape of
// ledger.EventReader.Notify and never blocks: fan-out reads the log from
// its cursor up to what is durable then.
func (s *Service) Notify(lsn decisionlog.LSN) {
	_ = lsn // fan-out reads up to the log's durable LSN, which is at least lsn
	s.logDirty.Store(true)
	select {
	case s.fanWake <- struct{}{}:
	default:
	}
}

// subscriptions is the union of what the enabled endpoints subscribe to.
type subscriptions struct {
	any   bool // an endpoint is enabled
	all   bool
	types map[string]bool
}

// refreshSubs recomputes the subscriptions. The caller holds mu.
func (s *Service) refreshSubs() {
	sub := &subscriptions{types: map[string]bool{}}
	for _, st := range s.eps {
		if st.ep.Status != StatusEnabled {
			continue
		}
		sub.any = true
		if len(st.ep.Events) == 0 {
			sub.all = true
		}
		for _, t := range st.ep.Events {
			sub.types[t] = true
		}
	}
	s.subs.Store(sub)
}

// Wants reports whether an enabled endpoint subscribes to events of type
// typ. It is ledger.EventReader.Wants: the ledger neither keeps an event
// for fan-out nor announces it when no one would receive it, so that a
// server without endpoints pays nothing for delivery. An endpoint
// receives the events that happen while it is enabled (as Update says);
// what happened before it was created or enabled is not queued for it.
// It never blocks and does not allocate.
func (s *Service) Wants(typ string) bool {
	sub := s.subs.Load()
	return sub != nil && (sub.all || sub.types[typ])
}

// Kick makes the dispatcher look for work now: events in the log, and
// deliveries that became due (for example after a virtual clock was
// advanced). It never blocks.
func (s *Service) Kick() {
	s.Notify(0)
	s.poke()
}

// Settle kicks the dispatcher and waits until it is idle: the log is read
// up to what was durable, nothing is in flight and nothing is due at the
// clock's current time. It is meant for tests and tools that drive a virtual clock.
func (s *Service) Settle(ctx context.Context) error {
	s.Kick()
	w := make(chan struct{})
	select {
	case s.settle <- w:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrClosed
	}
	select {
	case <-w:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrClosed
	}
}

// Stats is a snapshot of the dispatcher's memory use.
type Stats struct {
	Endpoints int
	// Buffered is the number of queue records held in memory now, and
	// BufferedHighWater the most ever held; both are at most
	// Config.MaxBuffered.
	Buffered          int
	BufferedHighWater int
	// EndpointHighWater is the most records ever held for one endpoint, at
	// most Config.MaxBufferedPerEndpoint.
	EndpointHighWater int
	// InFlight is the number of attempts started and not yet recorded, at
	// most Config.MaxInFlight.
	InFlight int
}

// Stats returns a snapshot of the dispatcher's state.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Endpoints: len(s.eps), Buffered: s.buffered, BufferedHighWater: s.highWater,
		EndpointHighWater: s.epHigh, InFlight: s.inflight}
}

// Also, when given to an operation, is called with the operation's batch
// and its result (the Endpoint, or the Envelope of a test event) before the
// batch is applied, so the caller can store something atomically with the
// change. The API stores an Idempotency-Key's response this way.
type Also func(b *store.Batch, result any) error

// CreateInput is a new endpoint.
type CreateInput struct {
	URL         string
	Description string
	Events      []string // empty: every event
}

// UpdateInput changes an endpoint; nil fields are left alone.
type UpdateInput struct {
	URL         *string
	Description *string
	Events      *[]string // empty: every event
	Status      *string
}

// ValidateURL checks an endpoint URL: absolute http or https with a host,
// at most MaxURLBytes.
func ValidateURL(raw string) error {
	bad := func(msg string) error { return &InputError{Param: "url", Message: msg} }
	if len(raw) > MaxURLBytes {
		return bad(fmt.Sprintf("must be at most %d characters", MaxURLBytes))
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return bad("must be an absolute http or https URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("must use http or https")
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return bad("must not contain whitespace")
	}
	return nil
}

// NormalizeEvents checks a subscription list against EventTypes and removes
// duplicates, keeping the first occurrence's order.
func NormalizeEvents(events []string) ([]string, error) {
	out := make([]string, 0, len(events))
	for _, t := range events {
		if !KnownEventType(t) {
			return nil, &InputError{Param: "events", Message: fmt.Sprintf("%q is not an event type", t)}
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func newSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// Create registers an endpoint, enabled, with a new secret. The returned
// Endpoint carries the secret; it is durable when Create returns.
func (s *Service) Create(in CreateInput, also Also) (Endpoint, error) {
	if err := ValidateURL(in.URL); err != nil {
		return Endpoint{}, err
	}
	if len(in.Description) > MaxDescriptionBytes {
		return Endpoint{}, &InputError{Param: "description", Message: fmt.Sprintf("must be at most %d characters", MaxDescriptionBytes)}
	}
	events, err := NormalizeEvents(in.Events)
	if err != nil {
		return Endpoint{}, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Endpoint{}, ErrClosed
	}
	if len(s.eps) >= s.cfg.MaxEndpoints {
		s.mu.Unlock()
		return Endpoint{}, ErrTooMany
	}
	now := s.clk.Now()
	ep := Endpoint{ID: s.ids.New(model.PrefixWebhook, now), URL: in.URL, Description: in.Description, Events: events,
		Status: StatusEnabled, Secret: newSecret(), CreatedAt: model.Ms(now), UpdatedAt: model.Ms(now)}
	b := s.db.NewBatch()
	var skipped decisionlog.LSN
	if err := s.stage(b, also, ep, func() error {
		skipped = s.skipToNow(b)
		return b.PutJSON(endpointKey(ep.ID), ep)
	}); err != nil {
		s.mu.Unlock()
		return Endpoint{}, err
	}
	// A new endpoint has an empty queue, so its window is complete.
	s.eps[ep.ID] = &epState{ep: ep, loaded: true, complete: true}
	s.order = append(s.order, ep.ID)
	sort.Strings(s.order)
	s.refreshSubs()
	s.mu.Unlock()
	if err := b.Wait(); err != nil {
		return Endpoint{}, err
	}
	s.noteSaved(skipped)
	return ep, nil
}

// stage writes with write, then also, then applies b. On error b is
// discarded. The caller holds mu.
func (s *Service) stage(b *store.Batch, also Also, result any, write func() error) error {
	err := write()
	if err == nil && also != nil {
		err = also(b, result)
	}
	if err != nil {
		b.Discard()
		return err
	}
	return s.db.Apply(b)
}

// Get returns an endpoint (with its secrets: do not show them).
func (s *Service) Get(id string) (Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.eps[id]
	if !ok {
		return Endpoint{}, ErrNotFound
	}
	return st.ep, nil
}

// List pages through the endpoints, newest first.
func (s *Service) List(limit int, cursor string) Page[Endpoint] {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p Page[Endpoint]
	for i := len(s.order) - 1; i >= 0; i-- {
		id := s.order[i]
		if cursor != "" && id >= cursor {
			continue
		}
		if len(p.Items) == limit {
			p.HasMore = true
			break
		}
		p.Items = append(p.Items, s.eps[id].ep)
	}
	if p.HasMore {
		p.Cursor = p.Items[len(p.Items)-1].ID
	}
	return p
}

// Update changes an endpoint. Enabling a disabled endpoint resumes its
// queue (deliveries held since it was disabled go first); disabling holds
// its queue. Events that happen while an endpoint is disabled are not
// queued for it.
func (s *Service) Update(id string, in UpdateInput) (Endpoint, error) {
	if in.URL != nil {
		if err := ValidateURL(*in.URL); err != nil {
			return Endpoint{}, err
		}
	}
	if in.Description != nil && len(*in.Description) > MaxDescriptionBytes {
		return Endpoint{}, &InputError{Param: "description", Message: fmt.Sprintf("must be at most %d characters", MaxDescriptionBytes)}
	}
	var events []string
	if in.Events != nil {
		var err error
		if events, err = NormalizeEvents(*in.Events); err != nil {
			return Endpoint{}, err
		}
	}
	if in.Status != nil && *in.Status != StatusEnabled && *in.Status != StatusDisabled {
		return Endpoint{}, &InputError{Param: "status", Message: "must be enabled or disabled"}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Endpoint{}, ErrClosed
	}
	st, ok := s.eps[id]
	if !ok {
		s.mu.Unlock()
		return Endpoint{}, ErrNotFound
	}
	ep := st.ep
	ep.Events = slices.Clone(ep.Events)
	if in.URL != nil {
		ep.URL = *in.URL
	}
	if in.Description != nil {
		ep.Description = *in.Description
	}
	if in.Events != nil {
		ep.Events = events
	}
	enabling := false
	if in.Status != nil && *in.Status != ep.Status {
		enabling = *in.Status == StatusEnabled
		ep.Status = *in.Status
		ep.DisabledReason = ""
		ep.PausedUntil = 0
	}
	if reflect.DeepEqual(ep, st.ep) {
		// A patch that changes nothing writes nothing, updatedAt included.
		s.mu.Unlock()
		return ep, nil
	}
	ep.UpdatedAt = model.Ms(s.clk.Now())
	b := s.db.NewBatch()
	var skipped decisionlog.LSN
	if err := s.stage(b, nil, ep, func() error {
		if enabling {
			skipped = s.skipToNow(b)
		}
		return b.PutJSON(endpointKey(ep.ID), ep)
	}); err != nil {
		s.mu.Unlock()
		return Endpoint{}, err
	}
	st.ep = ep
	s.refreshSubs()
	s.mu.Unlock()
	if err := b.Wait(); err != nil {
		return Endpoint{}, err
	}
	s.noteSaved(skipped)
	if enabling {
		s.Kick()
	}
	return ep, nil
}

// Delete removes an endpoint with its queue and its delivery log. An
// attempt in flight finishes but is not recorded.
func (s *Service) Delete(id string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	st, ok := s.eps[id]
	if !ok {
		s.mu.Unlock()
		return ErrNotFound
	}
	b := s.db.NewBatch()
	var dropped int64
	err := s.stage(b, nil, nil, func() error {
		b.Delete(endpointKey(id))
		for _, prefix := range [][]byte{queuePrefix(id), logPrefix(id)} {
			isQueue := bytes.Equal(prefix, queuePrefix(id))
			if err := s.db.Scan(prefix, "", false, func(k, _ []byte) bool {
				b.Delete(k)
				if isQueue {
					dropped++
				}
				return true
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.queueDepth.Add(-dropped)
	st.deleted = true
	s.buffered -= len(st.window)
	st.window = nil
	delete(s.eps, id)
	if i, found := slices.BinarySearch(s.order, id); found {
		s.order = slices.Delete(s.order, i, i+1)
	}
	s.refreshSubs()
	s.mu.Unlock()
	return b.Wait()
}

// RotateSecret gives the endpoint a new secret. The previous one keeps
// signing (as a second v1 value, after the new one) for
// Config.RotationOverlap; a rotation within the overlap drops the oldest.
// The returned Endpoint carries the new secret.
func (s *Service) RotateSecret(id string, also Also) (Endpoint, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Endpoint{}, ErrClosed
	}
	st, ok := s.eps[id]
	if !ok {
		s.mu.Unlock()
		return Endpoint{}, ErrNotFound
	}
	now := s.clk.Now()
	ep := st.ep
	ep.PreviousSecret = ep.Secret
	ep.PreviousSecretExpiresAt = model.Ms(now.Add(s.cfg.RotationOverlap))
	ep.Secret = newSecret()
	ep.UpdatedAt = model.Ms(now)
	b := s.db.NewBatch()
	if err := s.stage(b, also, ep, func() error { return b.PutJSON(endpointKey(ep.ID), ep) }); err != nil {
		s.mu.Unlock()
		return Endpoint{}, err
	}
	st.ep = ep
	s.mu.Unlock()
	return ep, b.Wait()
}

// SendTest queues a webhook.test event for this endpoint only. It is
// delivered like any event (in order, signed, retried) but is not kept in
// the event log.
func (s *Service) SendTest(id string, also Also) (Envelope, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Envelope{}, ErrClosed
	}
	st, ok := s.eps[id]
	if !ok {
		s.mu.Unlock()
		return Envelope{}, ErrNotFound
	}
	if st.ep.Status != StatusEnabled {
		s.mu.Unlock()
		return Envelope{}, ErrDisabled
	}
	now := s.clk.Now()
	data, _ := json.Marshal(map[string]string{"webhookId": id, "message": "A test event sent from ledgersim."})
	env := Envelope{ID: s.ids.New(model.PrefixEvent, now), Object: "event", Type: EventTest, CreatedAt: model.Ms(now), Data: data}
	body, err := json.Marshal(env)
	if err != nil {
		s.mu.Unlock()
		return Envelope{}, err
	}
	q := &queued{WebhookID: id, EventID: env.ID, EventType: EventTest, Body: body, NextAttemptAt: model.Ms(now), EnqueuedAt: model.Ms(now)}
	b := s.db.NewBatch()
	if err := s.stage(b, also, env, func() error { b.Put(queueKey(id, env.ID), q.appendRecord(nil)); return nil }); err != nil {
		s.mu.Unlock()
		return Envelope{}, err
	}
	s.queueDepth.Add(1)
	s.offer(st, []*queued{q})
	s.mu.Unlock()
	if err := b.Wait(); err != nil {
		return Envelope{}, err
	}
	s.Kick()
	return env, nil
}

// Deliveries pages through an endpoint's delivery log, newest first.
func (s *Service) Deliveries(id string, limit int, cursor string) (Page[Delivery], error) {
	if _, err := s.Get(id); err != nil {
		return Page[Delivery]{}, err
	}
	var p Page[Delivery]
	var decodeErr error
	err := s.db.Scan(logPrefix(id), cursor, true, func(_, v []byte) bool {
		if len(p.Items) == limit {
			p.HasMore = true
			return false
		}
		var d Delivery
		if err := json.Unmarshal(v, &d); err != nil {
			decodeErr = fmt.Errorf("webhook: corrupt delivery record: %w", err)
			return false
		}
		p.Items = append(p.Items, d)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if p.HasMore {
		p.Cursor = p.Items[len(p.Items)-1].ID
	}
	return p, err
}
