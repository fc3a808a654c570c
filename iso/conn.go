package iso

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// A connection is served by two goroutines and the hand-off between them
// is per read, not per message:
//
//   - the reader (conn.serve, then readLoop) reads, takes every complete
//     frame the read delivered, decodes them, hands the ones that need a
//     decision to the Handler in one HandleBatch call, encodes every reply
//     back to back into the batch's output buffer, and queues the batch;
//   - the writer (writeLoop, started with the first batch) takes every
//     batch queued, waits for each reply's Response.Durable in request
//     order (the first wait usually covers the rest: decisions on one
//     connection become durable in the order they were taken), and writes
//     all their replies in one system call.
//
// While the writer waits for a sync the reader goes on reading and
// deciding, so the next sync covers everything that arrived meanwhile. A
// read deadline is set once per read and a write deadline once per write.

// batch is the requests one read delivered, from their frames to their
// encoded replies. Batches go from the reader to the writer and back to
// the reader for reuse; their buffers grow to what the connection needs.
type batch struct {
	read   time.Time // when the read that brought the frames returned
	frames []byte    // a copy of the frames, back to back; jobs alias it
	spans  []int     // offset and length in frames of each frame
	tpdus  []TPDU    // the TPDU of each frame, with Binary2TPDU framing
	jobs   []job
	// out holds the replies, each with its length header, back to back:
	// what the writer sends.
	out []byte
	// faulted is set when a reply of the batch carries a Fault: the
	// writer then writes it reply by reply (writeFaulted).
	faulted bool
	// Scratch for the Handler call.
	reqs  []*Request
	resps []Response
	idx   []int // the job of each reqs entry
}

// spareBatchesMax bounds the batches a connection keeps for reuse.
const spareBatchesMax = 4

func (b *batch) reset() {
	b.frames, b.spans, b.tpdus, b.out = b.frames[:0], b.spans[:0], b.tpdus[:0], b.out[:0]
	for i := range b.jobs {
		// Drop what the previous use referred to (strings, a Durable),
		// so a reused batch keeps nothing of it alive.
		b.jobs[i] = job{out: b.jobs[i].out[:0]}
	}
	b.jobs = b.jobs[:0]
}

// add copies a frame into the batch.
func (b *batch) add(frame []byte) {
	b.spans = append(b.spans, len(b.frames), len(frame))
	b.frames = append(b.frames, frame...)
}

// conn is one client connection.
type conn struct {
	srv    *Server
	nc     net.Conn
	fr     *FrameReader
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	stopped    bool     // Shutdown asked the reader to stop (guards the read deadline)
	aborted    bool     // torn down: nothing more is read or written
	queue      []*batch // decided, not yet taken by the writer
	spare      []*batch // written, ready for reuse
	inFlight   int      // requests read whose replies are not written yet
	readerDone bool     // the reader queues nothing more
	writing    bool     // the writer has been started
	work       sync.Cond
	room       sync.Cond
	writerDone chan struct{}

	closeOnce sync.Once
}

func (s *Server) newConn(nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		srv:        s,
		nc:         nc,
		fr:         newConnFrameReader(nc, s.cfg.Framing, s.cfg.MaxFrameBytes),
		ctx:        ctx,
		cancel:     cancel,
		writerDone: make(chan struct{}),
	}
	c.work.L, c.room.L = &c.mu, &c.mu
	return c
}

// errStopped is returned by conn.read once Shutdown has stopped reading.
var errStopped = errors.New("iso: connection stopped reading")

// errBadMTI stops the reader at a frame that cannot be answered.
var errBadMTI = errors.New("iso: frame without an MTI that can be answered")

// aLongTimeAgo is a deadline in the past, used to wake a blocked Read.
var aLongTimeAgo = time.Unix(1, 0)

// stopReading makes the reader stop after the frames it has already
// buffered, without closing the connection, so replies can still be written.
// The mutex guarantees that once it has run no read waits again: either
// the deadline it set in the past is still in force, or read sees stopped.
func (c *conn) stopReading() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	_ = c.nc.SetReadDeadline(aLongTimeAgo)
}

func (c *conn) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// abort tears the connection down at once: handlers see their context
// cancelled, the reader stops, and the writer writes nothing more.
func (c *conn) abort() {
	c.mu.Lock()
	c.aborted = true
	c.mu.Unlock()
	c.work.Broadcast()
	c.room.Broadcast()
	c.cancel()
	c.closeOnce.Do(func() { _ = c.nc.Close() })
}

// serve runs the reader on the accepting goroutine's behalf and then drains:
// once reading stops for any reason, every request already read is decided
// and its reply written before the connection is closed.
func (c *conn) serve() {
	s := c.srv
	s.obs.ConnOpened()
	// Deferred calls run last first: the connection is reported closed
	// before untrackConn lets Shutdown return, so an Observer never sees
	// a connection still open after Shutdown.
	defer s.untrackConn(c)
	defer s.obs.ConnClosed()

	c.readLoop()
	c.mu.Lock()
	c.readerDone = true
	writing := c.writing
	c.mu.Unlock()
	c.work.Signal()
	if writing {
		<-c.writerDone
	}
	c.cancel()
	c.closeOnce.Do(func() { _ = c.nc.Close() })
}

// readLoop reads and decides until the peer stops, breaks the protocol or
// times out, or Shutdown stops it.
func (c *conn) readLoop() {
	s := c.srv
	var lastRead time.Time     // when the last read that brought bytes returned
	var resumed time.Time      // when the reader last stopped waiting for room
	var partialSince time.Time // when the first byte of the frame under way arrived
	for {
		room, waited := c.waitRoom()
		if room == 0 {
			return // aborted
		}
		if waited {
			// Time spent not reading, because replies were not
			// written yet, does not count against a frame under way.
			resumed = time.Now()
		}
		b, err := c.take(room)
		if b != nil {
			partialSince = time.Time{}
			b.read = lastRead
			s.obs.InFlight(len(b.jobs))
			if eerr := s.decideBatch(c.ctx, b); eerr != nil {
				// Only a reply MTI moov-io cannot pack gets here,
				// and take has already checked the MTI, so this is
				// a bug; closing is the only answer left.
				s.log.Error("iso: cannot pack reply; closing connection", "remote", c.nc.RemoteAddr().String(), "err", eerr)
				s.obs.InFlight(-len(b.jobs))
				c.abort()
				return
			}
			taken := len(b.jobs)
			c.send(b) // b is the writer's now
			if taken == room && err == nil {
				continue // more may be complete: wait for room first
			}
		}
		if err != nil {
			c.readFailed(err, false)
			return
		}
		// Nothing complete is buffered: read. A frame under way must be
		// complete FrameTimeout after its first byte, however steadily
		// the rest trickles in; between frames only silence counts.
		now := time.Now()
		deadline := now.Add(s.cfg.ReadIdleTimeout)
		inFrame := c.fr.pending() > 0
		if inFrame {
			if partialSince.IsZero() {
				partialSince = lastRead
			}
			if partialSince.Before(resumed) {
				partialSince = resumed
			}
			if fd := partialSince.Add(s.cfg.FrameTimeout); fd.Before(deadline) {
				deadline = fd
			} else {
				inFrame = false // the idle deadline comes first
			}
		}
		if err := c.read(deadline); err != nil {
			c.readFailed(err, inFrame)
			return
		}
		lastRead = time.Now()
	}
}

// read sets the read deadline and reads once into the frame reader.
func (c *conn) read(deadline time.Time) error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return errStopped
	}
	err := c.nc.SetReadDeadline(deadline)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.fr.readOnce()
}

// waitRoom waits until fewer than MaxInFlightPerConn requests are in
// flight and returns how many more may be read, 0 once the connection is
// aborted, and whether it had to wait.
func (c *conn) waitRoom() (room int, waited bool) {
	limit := c.srv.cfg.MaxInFlightPerConn
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.inFlight >= limit && !c.aborted {
		c.room.Wait()
		waited = true
	}
	if c.aborted {
		return 0, waited
	}
	return limit - c.inFlight, waited
}

// take moves up to limit complete frames out of the read buffer into a
// batch; it returns nil when there are none. An error is what stopped it
// (a bad header, or a frame whose MTI cannot be answered): the frames
// before it are in the batch and are answered.
func (c *conn) take(limit int) (*batch, error) {
	var b *batch
	var err error
	for n := 0; n < limit; n++ {
		frame, ok, ferr := c.fr.buffered()
		if ferr != nil {
			err = ferr
			break
		}
		if !ok {
			break
		}
		if !validMTI(frame) {
			err = errBadMTI
			break
		}
		if _, _, ok := replyMTI(mtiString(frame[:4])); !ok {
			err = errBadMTI
			break
		}
		if b == nil {
			b = c.getBatch()
		}
		b.add(frame)
		if c.fr.framing.TPDUBytes() > 0 {
			b.tpdus = append(b.tpdus, c.fr.TPDU())
		}
	}
	if b == nil {
		return nil, err
	}
	n := len(b.spans) / 2
	if cap(b.jobs) < n {
		b.jobs = append(b.jobs[:cap(b.jobs)], make([]job, n-cap(b.jobs))...)
	}
	b.jobs = b.jobs[:n]
	for i := range b.jobs {
		off, l := b.spans[2*i], b.spans[2*i+1]
		b.jobs[i].frame = b.frames[off : off+l : off+l]
		if i < len(b.tpdus) {
			b.jobs[i].tpdu = b.tpdus[i].Reply()
		}
	}
	return b, err
}

func (c *conn) getBatch() *batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.spare); n > 0 {
		b := c.spare[n-1]
		c.spare[n-1] = nil
		c.spare = c.spare[:n-1]
		return b
	}
	return new(batch)
}

// send queues a decided batch for the writer, starting the writer with
// the connection's first batch.
func (c *conn) send(b *batch) {
	c.mu.Lock()
	c.queue = append(c.queue, b)
	c.inFlight += len(b.jobs)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	} else {
		c.work.Signal()
	}
}

// readFailed sorts out why reading stopped. Only what the peer did wrong is
// a protocol close; a clean close, Shutdown, or a broken connection is not.
// inFrame says the deadline that expired was the frame's.
func (c *conn) readFailed(err error, inFrame bool) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		if c.fr.pending() > 0 {
			c.protocolClose(ReasonTruncated)
		}
	case errors.Is(err, errStopped), errors.Is(err, net.ErrClosed):
	case errors.Is(err, errBadMTI):
		c.protocolClose(ReasonBadMTI)
	case errors.Is(err, ErrFrameTooLarge):
		c.protocolClose(ReasonOversize)
	case errors.Is(err, ErrFrameEmpty), errors.Is(err, ErrBadLengthHeader):
		c.protocolClose(ReasonBadLength)
	case errors.Is(err, ErrShortTPDU):
		c.protocolClose(ReasonShortTPDU)
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		switch {
		case c.isStopped():
		case inFrame:
			c.protocolClose(ReasonFrameTimeout)
		default:
			c.protocolClose(ReasonReadTimeout)
		}
	default:
		c.srv.log.Debug("iso: read failed", "remote", c.nc.RemoteAddr().String(), "err", err)
	}
}

// protocolClose counts and logs (rate-limited) a connection closed because
// of its peer.
func (c *conn) protocolClose(reason string) {
	c.srv.obs.FrameError(reason)
	c.srv.closes.note("iso: closing connection", reason, c.nc.RemoteAddr().String())
}

// decideBatch decodes every request of b, has the Handler decide those
// that need it in one call, and encodes every reply into b.out, each
// behind its length header. An error means a reply could not be encoded.
func (s *Server) decideBatch(ctx context.Context, b *batch) error {
	b.reqs, b.idx = b.reqs[:0], b.idx[:0]
	var arenas *stringArenas
	for i := range b.jobs {
		j := &b.jobs[i]
		if !s.prepare(j) {
			continue
		}
		if s.fast != nil {
			if arenas == nil {
				arenas = s.getArenas()
			}
			j.d.req.detach(arenas)
		}
		b.reqs = append(b.reqs, &j.d.req)
		b.idx = append(b.idx, i)
	}
	if arenas != nil {
		s.arenas.Put(arenas)
	}
	if n := len(b.reqs); n > 0 {
		if cap(b.resps) < n {
			b.resps = make([]Response, n)
		}
		b.resps = b.resps[:n]
		s.callHandler(ctx, b.reqs, b.resps)
		for k, i := range b.idx {
			s.finish(&b.jobs[i], b.resps[k])
		}
		clear(b.resps)
		clear(b.reqs)
	}
	return s.encodeBatch(b)
}

// encodeBatch writes every reply of b, each behind its length header
// (and its TPDU, with Binary2TPDU framing), into b.out.
func (s *Server) encodeBatch(b *batch) error {
	f := s.cfg.Framing
	lb, tb := f.headerBytes(), f.TPDUBytes()
	hb := lb + tb
	var zero [4 + TPDUSize]byte
	b.out = b.out[:0]
	b.faulted = false
	for i := range b.jobs {
		j := &b.jobs[i]
		at := len(b.out)
		j.at, j.end = at, at
		fault := j.p.resp.Fault.Action
		if fault != FaultNone {
			b.faulted = true
			if fault == FaultNoReply || fault == FaultClose {
				continue
			}
		}
		b.out = append(b.out, zero[:hb]...)
		var err error
		if b.out, err = s.appendReply(b.out, j, j.p); err != nil {
			return err
		}
		n := len(b.out) - at - lb // the TPDU counts
		if n > f.maxMessageBytes() {
			return ErrFrameTooLarge // a reply is far smaller than the request it answers
		}
		f.putHeader(b.out[at:at+lb], n)
		copy(b.out[at+lb:at+hb], j.tpdu[:tb])
		if fault == FaultDuplicate {
			b.out = append(b.out, b.out[at:]...)
		}
		j.end = len(b.out)
	}
	return nil
}

// settle waits until every decision of b is durable, in request order. A
// reply whose decision could not be made durable becomes a "96", and the
// batch's replies are encoded again.
func (s *Server) settle(b *batch) error {
	again := false
	for i := range b.jobs {
		j := &b.jobs[i]
		w := j.p.resp.Durable
		if w == nil {
			continue
		}
		j.p.resp.Durable = nil
		if err := w.Wait(); err != nil {
			s.log.Error("iso: decision not durable; answering 96", "mti", j.label, "err", err)
			j.p = replyParts{mti: j.p.mti, code: "96"}
			again = true
		}
	}
	if again {
		return s.encodeBatch(b)
	}
	return nil
}

// writeLoop writes the replies of every batch queued, once their
// decisions are durable, in one system call per round. It runs until the
// reader is done and the queue is empty. After a failed write it keeps
// taking batches, waiting for their decisions (a Durable must be waited
// for) and dropping their replies, so the reader never waits on a dead
// connection.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	s := c.srv
	var work []*batch
	var bufs [][]byte
	failed := false
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.readerDone && !c.aborted {
			c.work.Wait()
		}
		if len(c.queue) == 0 {
			c.mu.Unlock()
			return
		}
		work, c.queue = c.queue, work[:0]
		failed = failed || c.aborted
		c.mu.Unlock()

		n := 0
		bufs = bufs[:0]
		ready := 0 // work[ready:] are the batches in bufs
		for k, b := range work {
			if err := s.settle(b); err != nil {
				s.log.Error("iso: cannot pack reply; closing connection", "remote", c.nc.RemoteAddr().String(), "err", err)
				failed = true
				c.abort()
			}
			n += len(b.jobs)
			if !b.faulted {
				bufs = append(bufs, b.out)
				continue
			}
			// A batch with faults is written reply by reply, after
			// everything before it.
			failed = c.flush(bufs, work[ready:k], failed)
			clear(bufs)
			bufs, ready = bufs[:0], k+1
			if !failed {
				failed = c.writeFaulted(b)
			}
		}
		failed = c.flush(bufs, work[ready:], failed)
		clear(bufs)
		for _, b := range work {
			b.reset()
		}
		c.mu.Lock()
		c.inFlight -= n
		for _, b := range work {
			if len(c.spare) < spareBatchesMax {
				c.spare = append(c.spare, b)
			}
		}
		c.mu.Unlock()
		clear(work)
		c.room.Signal()
		s.obs.InFlight(-n)
	}
}

// flush writes bufs, the replies of batches, unless an earlier write
// failed, and reports them to the Observer. It returns whether writing has
// failed.
func (c *conn) flush(bufs [][]byte, batches []*batch, failed bool) bool {
	if failed || len(bufs) == 0 {
		return failed
	}
	if err := c.write(bufs); err != nil {
		c.writeFailed(err)
		return true
	}
	now := time.Now()
	for _, b := range batches {
		c.observe(b, 0, len(b.jobs), now)
	}
	return false
}

// observe reports the replies of b.jobs[from:to] written at now.
func (c *conn) observe(b *batch, from, to int, now time.Time) {
	elapsed := now.Sub(b.read)
	for i := from; i < to; i++ {
		j := &b.jobs[i]
		if j.end > j.at {
			c.srv.obs.Message(j.label, j.p.code, elapsed)
		}
	}
}

// writeFaulted writes the replies of a batch that carries faults: up to
// each delayed reply, then a wait until it is due; up to a closing fault,
// then the connection is closed. Left-out and doubled replies are already
// so in b.out. It returns whether writing has ended (a failed write, a
// close, or the connection torn down while waiting).
func (c *conn) writeFaulted(b *batch) bool {
	pos, from := 0, 0 // b.out[pos:] and b.jobs[from:] are not written yet
	for i := range b.jobs {
		j := &b.jobs[i]
		fault := j.p.resp.Fault
		if fault.Action != FaultDelay && fault.Action != FaultClose {
			continue
		}
		if j.at > pos {
			if err := c.write([][]byte{b.out[pos:j.at]}); err != nil {
				c.writeFailed(err)
				return true
			}
			c.observe(b, from, i, time.Now())
		}
		pos, from = j.at, i
		if fault.Action == FaultClose {
			c.srv.log.Debug("iso: closing connection on a fault rule", "remote", c.nc.RemoteAddr().String())
			c.abort()
			return true
		}
		if !c.sleepUntil(b.read.Add(fault.Delay)) {
			return true
		}
	}
	if len(b.out) > pos {
		if err := c.write([][]byte{b.out[pos:]}); err != nil {
			c.writeFailed(err)
			return true
		}
	}
	c.observe(b, from, len(b.jobs), time.Now())
	return false
}

// sleepUntil waits until t, or until the connection is torn down; it
// reports whether t came.
func (c *conn) sleepUntil(t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// write sends bufs in one system call (writev when there are several)
// under one deadline.
func (c *conn) write(bufs [][]byte) error {
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout)); err != nil {
		return err
	}
	if len(bufs) == 1 {
		_, err := c.nc.Write(bufs[0])
		return err
	}
	nb := net.Buffers(bufs)
	_, err := nb.WriteTo(c.nc)
	return err
}

// writeFailed closes the connection after a failed write; a peer that did
// not take its replies within WriteTimeout is a protocol close.
func (c *conn) writeFailed(err error) {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		c.protocolClose(ReasonWriteTimeout)
	} else {
		c.srv.log.Debug("iso: write failed; closing connection", "remote", c.nc.RemoteAddr().String(), "err", err)
	}
	c.abort()
}
