package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledgersim/ledgersim/iso"
)

// Tuning constants of the generator.
const (
	// outBufferBytes is the initial room of a connection's queue of built
	// requests: a few hundred, all due in one tick, go out in one write.
	outBufferBytes = 64 << 10
	// maxQueuedBytes bounds a connection's unwritten requests: beyond it
	// the server is not reading, and requests falling due wait (and time
	// out unsent) instead of piling up in memory.
	maxQueuedBytes = 256 << 10
	// indexInitialEntries sizes each connection's reply index for the
	// requests usually in flight; it grows when more are. A table sized
	// for the whole window would spread a few dozen live keys over
	// megabytes, and every lookup would miss the cache.
	indexInitialEntries = 1024
	// readBufferBytes is the reader's buffer: one read system call takes
	// in every reply the kernel holds, up to a few hundred.
	readBufferBytes = 64 << 10
	// maxReplyBytes bounds one reply frame, as the server's own reader
	// bounds requests.
	maxReplyBytes = 8192
	// poolSize bounds the recent approvals (for clearings and reversals)
	// and answered authorizations (for repeats) each connection keeps.
	poolSize = 1024
	// Reconnection backoff after a connection breaks.
	redialMin = 50 * time.Millisecond
	redialMax = time.Second
	// runIDBytes is the RRN prefix that identifies a run; the other six
	// RRN characters count its messages in base 36.
	runIDBytes = 6
)

// Amounts of generated messages, in cents.
const (
	authAmountMinCents   = 100   // $1
	authAmountMaxCents   = 5_000 // $50
	refundAmountMaxCents = 2_000
	intentSpreadCents    = 300 // intent purchases land within ±$3 of the declared amount
)

// Slot states.
const (
	slotFree uint8 = iota
	slotInFlight
	slotDone     // answered (or lost with its connection)
	slotTimedOut // counted as a timeout; its key stays findable for a late reply until the slot is reused
)

// msgKey is how replies are matched: DE 11 and DE 37.
type msgKey struct {
	stan uint32
	rrn  [12]byte
}

type slot struct {
	key      msgKey
	state    uint8
	kind     Kind
	meas     bool    // counted in the totals: due in the measured period (a timeout reversal: its original was)
	origCode [2]byte // a repeat's expected code: its original's
	dueNs    int64
	sentNs   int64
	p        msgParams
}

// pendingReversal is the 0400 owed for a request that timed out, waiting
// for the clock to send it.
type pendingReversal struct {
	p    msgParams // without its STAN, which the clock numbers
	meas bool      // the original was measured
}

// repeatable is an answered 0100 that may be sent again as an 0101.
type repeatable struct {
	p    msgParams
	code [2]byte
}

// ring is a bounded FIFO that drops its oldest entry when full.
type ring[T any] struct {
	buf  []T
	head int
	n    int
}

func (r *ring[T]) push(v T) {
	if r.n == len(r.buf) {
		r.buf[r.head] = v
		r.head = (r.head + 1) % len(r.buf)
		return
	}
	r.buf[(r.head+r.n)%len(r.buf)] = v
	r.n++
}

func (r *ring[T]) pop() (T, bool) {
	var zero T
	if r.n == 0 {
		return zero, false
	}
	v := r.buf[r.head]
	r.buf[r.head] = zero
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return v, true
}

// approvalRec is an Approval as kept during the run: fixed-size, so that
// recording one costs no allocation beyond the slice's growth.
type approvalRec struct {
	key    msgKey
	card   int32
	amount int64
	auth   [6]byte
	kind   Kind
	late   bool
	warmup bool
}

// totals are a connection's counters for the measured period.
type totals struct {
	stats
	lag Histogram // due to sent
	svc Histogram // sent to reply
}

// dialResult is a reconnection attempt's outcome.
type dialResult struct {
	nc  net.Conn
	err error
}

// conn is one TCP connection and its reader. The clock goroutine owns the
// fields marked "clock"; everything under mu is shared with the reader
// goroutine and the runner's reaper.
type conn struct {
	r  *runner
	id int

	// clock
	rng        *rand.Rand
	sched      *schedule
	seq        uint64
	tf         timeFields
	out        []byte // built requests; out[outOff:] is not yet written
	outOff     int
	nc         net.Conn
	w          rawWriter
	done       chan struct{} // closed when the current reader has exited
	dialing    bool          // a reconnection attempt is under way
	dialed     chan dialResult
	nextDialNs int64
	backoff    time.Duration

	broken atomic.Bool // the current connection failed; the clock reconnects

	mu         sync.Mutex
	slots      []slot
	head, tail uint64 // window: slots[head..tail) in send order
	index      map[msgKey]uint32
	iv, spare  *stats
	tot        *totals
	approved   ring[msgParams]
	repeats    ring[repeatable]
	reversals  ring[pendingReversal] // owed for timeouts, not sent yet
	revDropped int64                 // owed reversals pushed out of a full reversals ring
	approvals  []approvalRec
	dropped    int64
	reconnects int64
	fallbacks  int64
}

// runner is one run.
type runner struct {
	cfg       Config
	progress  io.Writer
	base      time.Time // the run's zero; due times are offsets from it
	measureNs int64     // end of warmup
	endNs     int64     // end of the schedule
	stopNs    atomic.Int64
	reapEvery time.Duration

	cards       []cardWire
	cardSets    []*templateSet
	intentCards []int32
	table       [100]Kind
	runID       [runIDBytes]byte
	conns       []*conn

	approvalsLeft atomic.Int64

	// owned by the pacer until it returns
	pacerLag      Histogram
	pacerLagMaxAt int64 // due time of the wake-up that was latest

	// owned by the reporter, then by Run after it stops
	nextSec  int64
	series   []SecondStats
	secAgg   stats
	cpuStart *cpuReading // at the start of the measured period
}

// cpuReading is the generator's and the server's CPU time at one moment.
type cpuReading struct {
	atNs     int64
	gen, srv time.Duration
	genErr   error
	srvErr   error
}

func (r *runner) readCPU(ctx context.Context) *cpuReading {
	c := &cpuReading{}
	c.gen, c.genErr = selfCPU{}.CPU(ctx)
	if r.cfg.ServerCPU != nil {
		c.srv, c.srvErr = r.cfg.ServerCPU.CPU(ctx)
	}
	c.atNs = r.now()
	return c
}

func (r *runner) now() int64 { return int64(time.Since(r.base)) }

var lastRunSec atomic.Int64

// newRunID derives an RRN prefix from the clock, never handing out the
// same one twice in a process (Max runs trials back to back).
func newRunID() [runIDBytes]byte {
	sec := time.Now().Unix()
	for {
		last := lastRunSec.Load()
		s := max(sec, last+1)
		if lastRunSec.CompareAndSwap(last, s) {
			sec = s
			break
		}
	}
	var id [runIDBytes]byte
	putBase36(id[:], uint64(sec))
	return id
}

const base36Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// putBase36 writes the lowest len(dst) base-36 digits of v.
func putBase36(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = base36Digits[v%36]
		v /= 36
	}
}

// Run drives one open-loop run against cfg.Target and returns its result.
// It writes a progress line per second to progress (nil for none).
//
// Requests fall due on a schedule fixed by Rate, Arrivals and Seed, and
// every latency runs from a request's due time, not from when it was sent:
// if the generator falls behind (because the server pushes back, or a
// connection's window is full), the late requests are sent at once and
// their lateness is part of their latency. A server that stalls therefore
// shows its stall in the percentiles, however few requests were actually
// sent during it.
//
// Run returns an error before it starts when the configuration is invalid
// or a connection cannot be opened. Connections that break during the run
// are reopened; their requests count as errors. If ctx ends early, Run
// stops sending, waits up to Timeout for outstanding replies, and returns
// the partial result with ctx's error.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if progress == nil {
		progress = io.Discard
	}
	r := &runner{
		cfg:       cfg,
		progress:  progress,
		measureNs: int64(cfg.Warmup),
		endNs:     int64(cfg.Warmup + cfg.Duration),
		reapEvery: min(max(cfg.Timeout/20, 5*time.Millisecond), 50*time.Millisecond),
	}
	if cfg.RunID != "" {
		copy(r.runID[:], cfg.RunID)
	} else {
		r.runID = newRunID()
	}
	r.approvalsLeft.Store(int64(max(cfg.MaxApprovals, 0)))
	if err := r.prepare(); err != nil {
		return nil, err
	}
	// Connect first, so the run's zero is not spent dialing; readers start
	// only after it is set, because they read it.
	for i := range r.conns {
		if err := r.conns[i].connect(); err != nil {
			for _, c := range r.conns[:i] {
				_ = c.nc.Close()
			}
			return nil, err
		}
	}
	wallStart := time.Now()
	r.base = wallStart
	r.stopNs.Store(r.endNs)
	for _, c := range r.conns {
		c.startReader()
	}

	if r.measureNs == 0 {
		r.cpuStart = r.readCPU(ctx)
	}
	stopReporter := make(chan struct{})
	reporterDone := make(chan struct{})
	go r.report(ctx, stopReporter, reporterDone)

	r.clock(ctx)
	cpuEnd := r.readCPU(context.WithoutCancel(ctx))
	if ctx.Err() != nil {
		r.stopNs.Store(min(r.endNs, r.now()))
	}
	r.drain()
	close(stopReporter)
	<-reporterDone
	now := r.now()
	for _, c := range r.conns {
		c.reap(now, true)
	}
	for r.nextSec*1e9 < now+1e9 {
		r.collect()
	}
	for _, c := range r.conns {
		c.shutdown()
	}
	res := r.result(wallStart)
	r.cpuUse(res, cpuEnd)
	return res, ctx.Err()
}

// prepare builds the per-card wire data, the templates, the kind table
// and the connections.
func (r *runner) prepare() error {
	cfg := &r.cfg
	r.cards = make([]cardWire, len(cfg.Cards))
	r.cardSets = make([]*templateSet, len(cfg.Cards))
	sets := map[layoutKey]*templateSet{}
	for i := range cfg.Cards {
		w, err := newCardWire(&cfg.Cards[i])
		if err != nil {
			return err
		}
		r.cards[i] = w
		set, ok := sets[w.layout]
		if !ok {
			s, err := buildTemplates(w.layout, cfg.Framing)
			if err != nil {
				return err
			}
			set = &s
			sets[w.layout] = set
		}
		r.cardSets[i] = set
		if cfg.Cards[i].IntentID != "" && cfg.Cards[i].IntentAmountCents > 0 {
			r.intentCards = append(r.intentCards, int32(i))
		}
	}
	r.table = cfg.Mix.table(len(r.intentCards) > 0)
	r.conns = make([]*conn, cfg.Conns)
	for i := range r.conns {
		// Each connection has its own random stream, derived from the
		// seed and its index, so that the load does not depend on how
		// the goroutines happen to interleave.
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1))
		c := &conn{
			r:       r,
			id:      i,
			rng:     rng,
			out:     make([]byte, 0, outBufferBytes),
			dialed:  make(chan dialResult, 1),
			backoff: redialMin,
			slots:   make([]slot, cfg.MaxInFlightPerConn),
			index:   make(map[msgKey]uint32, min(cfg.MaxInFlightPerConn, indexInitialEntries)),
			iv:      &stats{},
			spare:   &stats{},
			tot:     &totals{},
		}
		c.sched = c.newSchedule()
		c.approved.buf = make([]msgParams, poolSize)
		c.repeats.buf = make([]repeatable, poolSize)
		c.reversals.buf = make([]pendingReversal, poolSize)
		r.conns[i] = c
	}
	return nil
}

// newSchedule returns the connection's schedule. Its random stream is
// separate from the one that draws kinds and cards, so the pacer can run
// an identical copy.
func (c *conn) newSchedule() *schedule {
	cfg := &c.r.cfg
	return newSchedule(cfg.Arrivals, cfg.Rate, c.id, cfg.Conns, rand.New(rand.NewPCG(cfg.Seed, uint64(c.id)+1<<32)))
}

// dialTarget opens a TCP connection to the target.
func (r *runner) dialTarget() (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", r.cfg.Target, r.cfg.DialTimeout)
	if err != nil {
		return nil, fmt.Errorf("loadtest: connect to %s: %w", r.cfg.Target, err)
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		// Requests are gathered per tick already; Nagle's algorithm would
		// only hold the next tick's back until this one's replies came.
		_ = tc.SetNoDelay(true)
		if r.cfg.sendBufferBytes > 0 {
			_ = tc.SetWriteBuffer(r.cfg.sendBufferBytes)
		}
	}
	return nc, nil
}

// connect opens the TCP connection, waiting for it.
func (c *conn) connect() error {
	nc, err := c.r.dialTarget()
	if err != nil {
		return err
	}
	c.install(nc)
	return nil
}

func (c *conn) install(nc net.Conn) {
	c.nc = nc
	c.w = newRawWriter(nc)
	c.out, c.outOff = c.out[:0], 0
	c.broken.Store(false)
}

// startReader starts the reader goroutine of the connection just opened.
func (c *conn) startReader() {
	c.done = make(chan struct{})
	go c.readLoop(c.nc, c.done)
}

// close closes the connection and waits for its reader. Requests
// registered after the reader gave up, and bytes never written, are failed
// here.
func (c *conn) close() {
	if c.nc == nil {
		return
	}
	_ = c.nc.Close()
	<-c.done
	c.nc = nil
	c.out, c.outOff = c.out[:0], 0
	c.lost()
}

// shutdown closes the connection at the end of a run, and one a
// reconnection attempt still under way may yet open.
func (c *conn) shutdown() {
	c.close()
	if c.dialing {
		if d := <-c.dialed; d.nc != nil {
			_ = d.nc.Close()
		}
		c.dialing = false
	}
}

// redial drives reconnection without waiting: it starts an attempt when
// the backoff allows, and installs its connection once it has one. Until
// then requests falling due on this connection fail as unsent; the other
// connections go on.
func (c *conn) redial(now int64) {
	if c.dialing {
		select {
		case d := <-c.dialed:
			c.dialing = false
			if d.err != nil {
				c.nextDialNs = now + int64(c.backoff)
				c.backoff = min(2*c.backoff, redialMax)
				return
			}
			c.install(d.nc)
			c.startReader()
			c.backoff = redialMin
			c.mu.Lock()
			c.reconnects++
			c.mu.Unlock()
		default:
		}
		return
	}
	if now >= c.nextDialNs {
		c.dialing = true
		go func() {
			nc, err := c.r.dialTarget()
			c.dialed <- dialResult{nc, err}
		}()
	}
}

// queued reports whether built requests wait for the kernel to take them.
func (c *conn) queued() bool { return c.outOff < len(c.out) }

// sendDue is the clock's work on one connection at a wake-up: every
// request due by now is registered in the window and built onto the
// connection's queue under one lock, and the queue goes out in one write.
func (c *conn) sendDue(now int64) {
	r := c.r
	if c.broken.Load() {
		c.close()
	}
	if c.nc == nil {
		c.redial(now)
		if c.nc == nil {
			c.failUnsent(now)
			return
		}
	}
	if c.outOff > 0 {
		n := copy(c.out, c.out[c.outOff:])
		c.out, c.outOff = c.out[:n], 0
	}
	c.mu.Lock()
	c.sendReversalsLocked(now)
	for {
		due := c.sched.peek()
		if due > now || due >= r.endNs {
			break
		}
		if !c.registerLocked(due, now, len(c.out) < maxQueuedBytes) {
			break
		}
		c.sched.advance()
	}
	c.mu.Unlock()
	c.writeOut()
}

// writeOut hands the queue to the kernel, as much as it takes without
// waiting; the rest is tried again at the next tick.
func (c *conn) writeOut() {
	for c.queued() {
		n, err := c.w.write(c.out[c.outOff:])
		c.outOff += n
		if err == errWouldBlock {
			return
		}
		if err != nil {
			// The reader sees the closed connection and fails what was
			// in flight; the clock reconnects.
			c.broken.Store(true)
			_ = c.nc.Close()
			return
		}
	}
	c.out, c.outOff = c.out[:0], 0
}

// sendReversalsLocked registers and builds the reversals owed for
// timeouts, as far as the window and the queue have room; they go out in
// the tick's one write. It reports whether it sent any. Called on the
// clock's goroutine with mu held.
func (c *conn) sendReversalsLocked(now int64) bool {
	sent := false
	for c.reversals.n > 0 && len(c.out) < maxQueuedBytes && c.tail-c.head < uint64(len(c.slots)) {
		pr, _ := c.reversals.pop()
		pos := uint32(c.tail % uint64(len(c.slots)))
		s := &c.slots[pos]
		if s.state == slotTimedOut {
			delete(c.index, s.key)
		}
		s.kind, s.p, s.meas, s.origCode = KindTimeoutReversal, pr.p, pr.meas, [2]byte{}
		s.p.stan, _ = c.newRef()
		s.p.unixSec = c.r.base.Unix() + (int64(c.r.base.Nanosecond())+now)/1e9
		s.key = msgKey{s.p.stan, s.p.rrn}
		s.state = slotInFlight
		s.dueNs, s.sentNs = now, now
		c.index[s.key] = pos
		c.tail++
		c.iv.kinds[s.kind].offered++
		c.iv.kinds[s.kind].sent++
		if s.meas {
			c.tot.kinds[s.kind].offered++
			c.tot.kinds[s.kind].sent++
		}
		c.out = build(c.out, c.r.cardSets[s.p.card], &c.r.cards[s.p.card], &s.p, &c.tf)
		sent = true
	}
	return sent
}

// sendReversals sends the reversals owed, after the schedule has ended
// (the clock no longer runs; the caller owns its fields). It reports
// whether it sent any.
func (c *conn) sendReversals(now int64) bool {
	if c.nc == nil || c.broken.Load() {
		return false
	}
	c.mu.Lock()
	sent := c.sendReversalsLocked(now)
	c.mu.Unlock()
	c.writeOut()
	return sent
}

// oweReversal queues the 0400 an acquirer sends for a request left
// unanswered: it names the original by DE 90 (MTI, STAN, DE 7) and carries
// its PAN, processing code, amount and RRN. Called with mu held.
func (c *conn) oweReversal(s *slot) {
	p := msgParams{mti: mti0400, card: s.p.card, refund: s.p.refund, amountCents: s.p.amountCents, rrn: s.p.rrn,
		orig90: true, origMTI: s.p.mti, origSTAN: s.p.stan, origSec: s.p.unixSec}
	if c.reversals.n == len(c.reversals.buf) {
		c.revDropped++
	}
	c.reversals.push(pendingReversal{p: p, meas: s.meas})
}

// failUnsent counts every request due by now as an error: there is no
// connection to send it on.
func (c *conn) failUnsent(now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for due := c.sched.peek(); due <= now && due < c.r.endNs; due = c.sched.peek() {
		k := c.r.table[c.rng.IntN(100)]
		c.iv.kinds[k].offered++
		c.iv.kinds[k].errors++
		c.iv.errUnsent++
		if c.r.measured(due) {
			c.tot.kinds[k].offered++
			c.tot.kinds[k].errors++
			c.tot.errUnsent++
		}
		c.sched.advance()
	}
}

func (r *runner) measured(dueNs int64) bool { return dueNs >= r.measureNs && dueNs < r.endNs }

// registerLocked handles the request due at due: it counts it as a
// timeout if it can only be sent after its timeout, or registers it in the
// window and builds it onto the queue. It returns false, without consuming
// the request, when the window is full or the queue has no room. Called
// with mu held.
func (c *conn) registerLocked(due, now int64, room bool) bool {
	r := c.r
	if now-due >= int64(r.cfg.Timeout) {
		k := r.table[c.rng.IntN(100)]
		c.iv.kinds[k].offered++
		c.iv.kinds[k].timeouts++
		c.iv.timeoutsUnsent++
		if r.measured(due) {
			c.tot.kinds[k].offered++
			c.tot.kinds[k].timeouts++
			c.tot.timeoutsUnsent++
		}
		return true
	}
	if !room || c.tail-c.head == uint64(len(c.slots)) {
		return false
	}
	pos := uint32(c.tail % uint64(len(c.slots)))
	s := &c.slots[pos]
	if s.state == slotTimedOut {
		delete(c.index, s.key)
	}
	c.next(s, now)
	s.state = slotInFlight
	s.meas = r.measured(due)
	s.dueNs, s.sentNs = due, now
	c.index[s.key] = pos
	c.tail++
	lag := now - due
	c.iv.kinds[s.kind].offered++
	c.iv.kinds[s.kind].sent++
	c.iv.lagMaxNs = max(c.iv.lagMaxNs, lag)
	if r.measured(due) {
		c.tot.kinds[s.kind].offered++
		c.tot.kinds[s.kind].sent++
		c.tot.lag.Record(time.Duration(lag))
		c.tot.lagMaxNs = max(c.tot.lagMaxNs, lag)
	}
	c.out = build(c.out, r.cardSets[s.p.card], &r.cards[s.p.card], &s.p, &c.tf)
	return true
}

// next draws the kind, card and amounts of a new request into s. It runs
// under mu because clearings, reversals and repeats take their originals
// from pools the reader fills.
func (c *conn) next(s *slot, now int64) {
	r := c.r
	k := r.table[c.rng.IntN(100)]
	p := msgParams{unixSec: r.base.Unix() + (int64(r.base.Nanosecond())+now)/1e9}
	s.origCode = [2]byte{}
	switch k {
	case KindClear, KindReversal:
		orig, ok := c.approved.pop()
		if !ok {
			c.fallbacks++
			k = KindAuth
			break
		}
		p.card, p.amountCents, p.rrn, p.auth = orig.card, orig.amountCents, orig.rrn, orig.auth
		if k == KindClear {
			p.mti = [4]byte{'0', '2', '2', '0'}
			// One capture in five is partial: the rest of the hold is
			// released.
			if c.rng.IntN(5) == 0 {
				p.amountCents = max(1, p.amountCents*3/4)
			}
		} else {
			p.mti = [4]byte{'0', '4', '0', '0'}
			// One reversal in three is partial: DE 95 carries the
			// amount that remains.
			if c.rng.IntN(3) == 0 {
				p.partial = true
				p.replaceCents = p.amountCents / 2
			}
		}
		p.stan, _ = c.newRef()
		s.kind, s.p = k, p
		s.key = msgKey{p.stan, p.rrn}
		return
	case KindReversalAdvice:
		orig, ok := c.approved.pop()
		if !ok {
			c.fallbacks++
			k = KindAuth
			break
		}
		p.card, p.amountCents, p.rrn, p.auth = orig.card, orig.amountCents, orig.rrn, orig.auth
		p.mti = mti0420
		p.stan, _ = c.newRef()
		s.kind, s.p = k, p
		s.key = msgKey{p.stan, p.rrn}
		return
	case KindRepeat:
		orig, ok := c.repeats.pop()
		if !ok {
			c.fallbacks++
			k = KindAuth
			break
		}
		p = orig.p
		p.mti = [4]byte{'0', '1', '0', '1'}
		s.kind, s.p, s.origCode = k, p, orig.code
		s.key = msgKey{p.stan, p.rrn}
		return
	case KindEcho:
		// Keyed by STAN alone: the 0810 does not echo DE 37.
		p.mti = mti0800
		p.stan, _ = c.newRef()
		s.kind, s.p = k, p
		s.key = msgKey{stan: p.stan}
		return
	case KindIncrement:
		// An increment of an approval still open: the approval stays
		// available for its clearing or reversal.
		orig, ok := c.approved.pop()
		if !ok {
			c.fallbacks++
			k = KindAuth
			break
		}
		c.approved.push(orig)
		p.card, p.orig90 = orig.card, true
		p.origMTI, p.origSTAN, p.origSec = orig.mti, orig.stan, orig.unixSec
	}
	p.mti = mti0100
	switch k {
	case KindAdvice:
		p.mti = mti0120
	case KindFinancial:
		p.mti = mti0200
	case KindPartial:
		p.partialOK = true
	}
	switch k {
	case KindIntent:
		p.card = r.intentCards[c.rng.IntN(len(r.intentCards))]
	case KindIncrement:
		// the original's card
	default:
		p.card = int32(c.rng.IntN(len(r.cards)))
	}
	card := &r.cfg.Cards[p.card]
	authAmount := func() int64 {
		return min(authAmountMinCents+c.rng.Int64N(authAmountMaxCents-authAmountMinCents+1), card.MaxAmountCents)
	}
	switch k {
	case KindAuth, KindPartial, KindAdvice, KindFinancial:
		p.amountCents = authAmount()
	case KindIncrement:
		// A tip or a longer stay: a fifth of a purchase at most.
		p.amountCents = max(1, authAmount()/5)
	case KindIntent:
		p.amountCents = max(1, card.IntentAmountCents+c.rng.Int64N(2*intentSpreadCents+1)-intentSpreadCents)
	case KindRefund:
		p.refund = true
		p.amountCents = authAmountMinCents + c.rng.Int64N(refundAmountMaxCents-authAmountMinCents+1)
	case KindDeclineExpiry:
		p.badExpiry = true
		p.amountCents = authAmount()
	case KindDeclineLimit:
		p.amountCents = card.MaxAmountCents + 1 + c.rng.Int64N(10_000)
	}
	var g uint64
	p.stan, g = c.newRef()
	copy(p.rrn[:runIDBytes], r.runID[:])
	putBase36(p.rrn[runIDBytes:], g)
	s.kind, s.p = k, p
	s.key = msgKey{p.stan, p.rrn}
}

// newRef numbers a new message: it returns its STAN and the run-wide
// message number its RRN is made of. Connection i of n numbers its messages
// i, i+n, i+2n, ..., so connections never collide without sharing a
// counter. STANs are 6 digits and wrap; the RRN, which does not, keeps
// every key unique.
func (c *conn) newRef() (stan uint32, g uint64) {
	g = c.seq*uint64(len(c.r.conns)) + uint64(c.id)
	c.seq++
	return uint32(g%999_999) + 1, g
}

// advance moves the window's start past answered and timed-out requests.
// Called with mu held.
func (c *conn) advance() {
	for c.head < c.tail && c.slots[c.head%uint64(len(c.slots))].state != slotInFlight {
		c.head++
	}
}

// readLoop is the reader goroutine of one connection. Each read takes in
// every reply the kernel holds, and all of them are matched and recorded
// under one lock with one clock reading: under load a read brings dozens.
func (c *conn) readLoop(nc net.Conn, done chan struct{}) {
	defer close(done)
	hb := c.r.cfg.Framing.LengthBytes()
	buf := make([]byte, readBufferBytes)
	start, end := 0, 0
	var rv replyView
	for {
		if start == end {
			start, end = 0, 0
		} else if len(buf)-end < maxReplyBytes+hb {
			end = copy(buf, buf[start:end])
			start = 0
		}
		n, err := nc.Read(buf[end:])
		end += n
		if n > 0 {
			now := c.r.now()
			c.mu.Lock()
			var bad bool
			start, bad = c.onRepliesLocked(buf[:end], start, hb, &rv, now)
			c.advance()
			c.mu.Unlock()
			if bad {
				err = iso.ErrBadLengthHeader
			}
		}
		if err != nil {
			c.lost()
			c.broken.Store(true)
			_ = nc.Close()
			return
		}
	}
}

// onRepliesLocked handles every complete frame in buf from start on and
// returns where the first incomplete one begins; bad reports a length
// header no reply can have, after which the stream cannot be followed.
// Called with mu held.
func (c *conn) onRepliesLocked(buf []byte, start, hb int, rv *replyView, now int64) (next int, bad bool) {
	f := c.r.cfg.Framing
	tb := f.TPDUBytes()
	for len(buf)-start >= hb {
		n, err := f.FrameLength(buf[start : start+hb])
		if err != nil || n <= tb || n > maxReplyBytes {
			return start, true
		}
		if len(buf)-start < hb+n {
			break
		}
		tpdu := buf[start+hb : start+hb+tb]
		frame := buf[start+hb+tb : start+hb+n]
		start += hb + n
		if tb > 0 && !bytes.Equal(tpdu, replyTPDU[:]) {
			// Not the TPDU of a reply to this generator: the host
			// mixed up its framing, which the run must show.
			c.iv.decodeErrors++
			if c.r.measured(now) {
				c.tot.decodeErrors++
			}
			continue
		}
		if !parseReply(frame, rv) {
			rep, err := iso.UnpackResponse(frame)
			if err != nil {
				c.iv.decodeErrors++
				if c.r.measured(now) {
					c.tot.decodeErrors++
				}
				continue
			}
			replyFromUnpacked(rep, rv)
		}
		c.onReplyLocked(rv, now)
	}
	return start, false
}

// replyTPDU is the TPDU of every reply with iso.Binary2TPDU framing: the
// generator's requests carry iso.DefaultTPDU (buildTemplates writes them
// with iso.WriteFrame).
var replyTPDU = iso.DefaultTPDU.Reply()

// lost fails every request in flight on a connection that broke: their
// replies can no longer arrive.
func (c *conn) lost() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := c.head; i < c.tail; i++ {
		s := &c.slots[i%uint64(len(c.slots))]
		if s.state != slotInFlight {
			continue
		}
		s.state = slotDone
		c.iv.kinds[s.kind].errors++
		c.iv.errConnLost++
		if s.meas {
			c.tot.kinds[s.kind].errors++
			c.tot.errConnLost++
		}
	}
	clear(c.index)
	for i := range c.slots {
		if c.slots[i].state == slotTimedOut {
			c.slots[i].state = slotDone
		}
	}
	c.advance()
}

// onReplyLocked matches a reply to its request and records it. Called
// with mu held.
func (c *conn) onReplyLocked(rv *replyView, now int64) {
	r := c.r
	if !rv.keyOK {
		c.iv.unmatched++
		if r.measured(now) {
			c.tot.unmatched++
		}
		return
	}
	key := msgKey{rv.stan, rv.rrn}
	pos, ok := c.index[key]
	if !ok {
		c.iv.unmatched++
		if r.measured(now) {
			c.tot.unmatched++
		}
		return
	}
	delete(c.index, key)
	s := &c.slots[pos]
	code := codeNone
	if rv.codeOK {
		code = codeIndex(rv.code)
	}
	approved := rv.codeOK && rv.code == [2]byte{'0', '0'}
	if s.state == slotTimedOut {
		s.state = slotDone
		c.iv.late++
		if s.meas {
			c.tot.late++
		}
		if approved && rv.mti == [4]byte{'0', '1', '1', '0'} {
			c.recordApproval(s, rv, true)
		}
		return
	}
	s.state = slotDone
	lat := time.Duration(now - s.dueNs)
	expected := [2]byte{'0', '0'}
	switch s.kind {
	case KindRepeat:
		expected = s.origCode
	case KindDeclineExpiry:
		expected = [2]byte{'5', '4'}
	case KindDeclineLimit:
		expected = [2]byte{'6', '1'}
	}
	unexpected := !rv.codeOK || rv.code != expected
	switch {
	case s.kind == KindPartial && rv.code == [2]byte{'1', '0'}:
		unexpected = false // a partial approval
	case s.kind == KindTimeoutReversal && rv.code == [2]byte{'2', '5'}:
		unexpected = false // the original was declined: nothing to reverse
	}
	record := func(st *stats) {
		kc := &st.kinds[s.kind]
		kc.replies++
		if code != codeNone {
			kc.codes[code]++
		}
		if unexpected {
			kc.unexpected++
		}
		if s.kind != KindTimeoutReversal {
			st.lat.Record(lat)
		}
	}
	record(c.iv)
	if s.meas {
		record(&c.tot.stats)
		if s.kind != KindTimeoutReversal {
			c.tot.svc.Record(time.Duration(now - s.sentNs))
		}
	}
	if approved && rv.mti == [4]byte{'0', '1', '1', '0'} {
		c.recordApproval(s, rv, false)
	}
	if s.p.mti == [4]byte{'0', '1', '0', '0'} && rv.codeOK {
		c.repeats.push(repeatable{p: s.p, code: rv.code})
		if approved && rv.hasAuth && (s.kind == KindAuth || s.kind == KindIntent || s.kind == KindPartial) {
			p := s.p
			p.auth = rv.auth
			c.approved.push(p)
		}
	}
}

// recordApproval keeps an approved 0110 for Result.Approvals. Called with
// mu held.
func (c *conn) recordApproval(s *slot, rv *replyView, late bool) {
	if c.r.approvalsLeft.Add(-1) < 0 {
		c.dropped++
		return
	}
	c.approvals = append(c.approvals, approvalRec{
		key: s.key, card: s.p.card, amount: s.p.amountCents, auth: rv.auth, kind: s.kind,
		late: late, warmup: s.dueNs < c.r.measureNs,
	})
}

// reap counts requests unanswered Timeout after their due time as
// timeouts; with force, everything still in flight.
func (c *conn) reap(now int64, force bool) {
	timeout := int64(c.r.cfg.Timeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := c.head; i < c.tail; i++ {
		s := &c.slots[i%uint64(len(c.slots))]
		if s.state != slotInFlight {
			continue
		}
		// Requests are sent in due order, so the first one that has
		// not timed out ends the scan.
		if !force && now-s.dueNs < timeout {
			break
		}
		s.state = slotTimedOut
		c.iv.kinds[s.kind].timeouts++
		if s.meas {
			c.tot.kinds[s.kind].timeouts++
		}
		if s.kind.reversible() {
			c.oweReversal(s)
		}
	}
	c.advance()
}

// inFlight reports how many requests the connection waits for.
func (c *conn) inFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for i := c.head; i < c.tail; i++ {
		if c.slots[i%uint64(len(c.slots))].state == slotInFlight {
			n++
		}
	}
	return n
}

// drain waits until every connection has its replies or Timeout has
// passed since the last request could have been sent. Meanwhile it sends
// the reversals owed for requests that time out (the clock has stopped),
// and waits for their replies too.
func (r *runner) drain() {
	deadline := r.now() + int64(r.cfg.Timeout) + int64(r.reapEvery)
	for now := r.now(); now < deadline; now = r.now() {
		pending := 0
		for _, c := range r.conns {
			if c.sendReversals(now) {
				deadline = max(deadline, now+int64(r.cfg.Timeout)+int64(r.reapEvery))
			}
			pending += c.inFlight() + c.owed()
		}
		if pending == 0 {
			return
		}
		time.Sleep(r.reapEvery)
	}
}

// owed reports how many reversals wait to be sent.
func (c *conn) owed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reversals.n
}

// report is the reaper and reporter goroutine: it times requests out and,
// once a second, gathers the connections' counters into the series and a
// progress line.
func (r *runner) report(ctx context.Context, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(r.reapEvery)
	defer t.Stop()
	r.nextSec = 1
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := r.now()
		for _, c := range r.conns {
			c.reap(now, false)
		}
		for now >= r.nextSec*1e9 {
			r.collect()
		}
		if r.cpuStart == nil && now >= r.measureNs && now < r.endNs {
			r.cpuStart = r.readCPU(ctx)
		}
	}
}

// cpuUse fills the result's CPU figures from the readings at the start of
// the measured period and at the end of the schedule.
func (r *runner) cpuUse(res *Result, end *cpuReading) {
	start := r.cpuStart
	if start == nil || end.atNs <= start.atNs {
		return
	}
	use := func(src string, a, b time.Duration, errA, errB error) CPUUse {
		u := CPUUse{Source: src}
		if err := errors.Join(errA, errB); err != nil {
			u.Error = err.Error()
			return u
		}
		u.Seconds = (b - a).Seconds()
		u.Cores = u.Seconds / (float64(end.atNs-start.atNs) / 1e9)
		if res.Sent > 0 {
			u.MicrosPerMessage = u.Seconds * 1e6 / float64(res.Sent)
		}
		return u
	}
	res.GeneratorCPU = use(selfCPU{}.String(), start.gen, end.gen, start.genErr, end.genErr)
	if r.cfg.ServerCPU != nil {
		res.ServerCPU = use(r.cfg.ServerCPU.String(), start.srv, end.srv, start.srvErr, end.srvErr)
	}
}

// collect closes the current second: it swaps every connection's interval
// counters for empty ones, merges them, appends a SecondStats and writes
// the progress line. A second that reaches past the end of the schedule
// (the drain after a run, or a run whose length is not a whole number of
// seconds) is kept, marked Partial, only if anything happened in it, and
// gets no progress line.
func (r *runner) collect() {
	agg := &r.secAgg
	agg.reset()
	for _, c := range r.conns {
		c.mu.Lock()
		c.iv, c.spare = c.spare, c.iv
		c.mu.Unlock()
		agg.merge(c.spare)
		c.spare.reset()
	}
	sec := int(r.nextSec - 1)
	r.nextSec++
	offered, sent, replies, timeouts, errs := agg.sum()
	errs += agg.decodeErrors
	st := SecondStats{
		Second: sec, Warmup: int64(sec)*1e9 < r.measureNs, Partial: int64(sec+1)*1e9 > r.stopNs.Load(),
		Offered: offered, Sent: sent, Replies: replies, Timeouts: timeouts, Errors: errs,
		P50: agg.lat.Quantile(0.5), P99: agg.lat.Quantile(0.99), Max: agg.lat.Max(),
		SendLagMax: time.Duration(agg.lagMaxNs),
	}
	if st.Partial {
		if offered+sent+replies+timeouts+errs+agg.late+agg.unmatched > 0 {
			r.series = append(r.series, st)
		}
		return
	}
	r.series = append(r.series, st)
	label := ""
	if st.Warmup {
		label = " (warmup)"
	}
	fmt.Fprintf(r.progress, "%4ds offered %6d/s  sent %6d/s  achieved %6d/s  p50 %8.3fms  p99 %8.3fms  errors %d  timeouts %d%s\n",
		sec+1, offered, sent, replies, float64(st.P50)/1e6, float64(st.P99)/1e6, errs, timeouts, label)
}

// result merges the connections' totals.
func (r *runner) result(wallStart time.Time) *Result {
	cfg := &r.cfg
	var tot totals
	var reconnects, fallbacks, dropped, revUnsent int64
	var approvals []approvalRec
	for _, c := range r.conns {
		c.mu.Lock()
		tot.stats.merge(&c.tot.stats)
		tot.lag.Merge(&c.tot.lag)
		tot.svc.Merge(&c.tot.svc)
		reconnects += c.reconnects
		fallbacks += c.fallbacks
		dropped += c.dropped
		revUnsent += c.revDropped + int64(c.reversals.n)
		approvals = append(approvals, c.approvals...)
		c.mu.Unlock()
	}
	measured := float64(r.stopNs.Load()-r.measureNs) / 1e9
	if measured < 0 {
		measured = 0
	}
	res := &Result{
		Target: cfg.Target, Framing: cfg.Framing.String(), Conns: cfg.Conns, RatePerSec: cfg.Rate,
		Arrivals: cfg.Arrivals, Duration: cfg.Duration, Warmup: cfg.Warmup, Timeout: cfg.Timeout,
		Mix: cfg.Mix.String(), Seed: cfg.Seed, Cards: len(cfg.Cards), RunID: string(r.runID[:]),
		IntentsAsAuth: len(r.intentCards) == 0 && cfg.Mix.Intent > 0,
		StartedAt:     wallStart.UTC(), MeasuredSeconds: measured,
		TimeoutsUnsent: tot.timeoutsUnsent, ErrorsConnLost: tot.errConnLost, ErrorsUnsent: tot.errUnsent,
		LateReplies: tot.late, UnmatchedReplies: tot.unmatched, DecodeErrors: tot.decodeErrors,
		Reconnects: reconnects, Fallbacks: fallbacks, TimeoutReversalsUnsent: revUnsent,
		Latency: percentilesOf(&tot.lat), SendLag: percentilesOf(&tot.lag), ServiceTime: percentilesOf(&tot.svc),
		PacerLag: percentilesOf(&r.pacerLag), PacerLagMaxAt: time.Duration(r.pacerLagMaxAt),
		Histogram: &tot.lat,
		Codes:     map[string]int64{}, Kinds: map[string]KindResult{},
		Series:           r.series,
		ApprovalsDropped: dropped,
	}
	res.Offered, res.Sent, res.Replies, res.Timeouts, res.Errors = tot.sum()
	res.TimeoutReversals = tot.kinds[KindTimeoutReversal].sent
	for k := Kind(0); k < numKinds; k++ {
		kc := &tot.kinds[k]
		exp := k.expectedCode()
		if exp == "" {
			exp = "original"
		}
		kr := KindResult{Expected: exp, Offered: kc.offered, Sent: kc.sent, Replies: kc.replies,
			Timeouts: kc.timeouts, Errors: kc.errors, Unexpected: kc.unexpected, Codes: map[string]int64{}}
		for i, n := range kc.codes {
			if n != 0 {
				kr.Codes[codeName(i)] += n
				res.Codes[codeName(i)] += n
			}
		}
		res.Unexpected += kc.unexpected
		res.Kinds[k.String()] = kr
	}
	if measured > 0 {
		res.OfferedPerSec = float64(res.Offered) / measured
		res.SentPerSec = float64(res.Sent) / measured
		res.ThroughputPerSec = float64(res.Replies) / measured
	}
	if len(approvals) > 0 {
		res.Approvals = make([]Approval, len(approvals))
		for i, a := range approvals {
			card := &cfg.Cards[a.card]
			var stan [6]byte
			putDigits(stan[:], uint64(a.key.stan))
			res.Approvals[i] = Approval{STAN: string(stan[:]), RRN: string(a.key.rrn[:]), CardID: card.ID,
				Card: MaskPAN(card.PAN), AmountCents: a.amount, AuthCode: string(a.auth[:]), Kind: a.kind.String(),
				Late: a.late, Warmup: a.warmup}
		}
	}
	return res
}
