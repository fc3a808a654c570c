package loadtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledgersim/ledgersim/iso"
)

// sinkBase is the listener and connection bookkeeping the sinks share.
type sinkBase struct {
	ln       net.Listener
	framing  iso.Framing
	received atomic.Int64
	done     chan struct{}

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func (b *sinkBase) listen(addr string, framing iso.Framing) error {
	if !framing.Valid() {
		return fmt.Errorf("loadtest: sink: unknown framing %d", uint8(framing))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("loadtest: sink: %w", err)
	}
	b.ln, b.framing = ln, framing
	b.conns = map[net.Conn]struct{}{}
	b.done = make(chan struct{})
	return nil
}

// serve accepts connections until Close and runs handle for each one in its
// own goroutine.
func (b *sinkBase) serve(handle func(net.Conn)) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		backoff := 5 * time.Millisecond
		for {
			nc, err := b.ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// A temporary failure (out of file descriptors):
				// back off rather than spin.
				time.Sleep(backoff)
				backoff = min(2*backoff, time.Second)
				continue
			}
			backoff = 5 * time.Millisecond
			b.mu.Lock()
			if b.closed {
				b.mu.Unlock()
				nc.Close()
				return
			}
			b.conns[nc] = struct{}{}
			b.wg.Add(1)
			b.mu.Unlock()
			go func() {
				defer b.wg.Done()
				defer func() {
					b.mu.Lock()
					delete(b.conns, nc)
					b.mu.Unlock()
					nc.Close()
				}()
				handle(nc)
			}()
		}
	}()
}

// Addr is the address the sink listens on, host:port.
func (b *sinkBase) Addr() string { return b.ln.Addr().String() }

// Received is the number of requests read so far.
func (b *sinkBase) Received() int64 { return b.received.Load() }

// Close stops accepting, closes every connection and waits for the sink's
// goroutines.
func (b *sinkBase) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	err := b.ln.Close()
	for nc := range b.conns {
		nc.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
	return err
}

// flushReader flushes the writer's pending replies before every read from
// the connection: the replies to everything read so far go out in one
// write, just before the sink would wait for more requests.
type flushReader struct {
	r io.Reader
	w *bufio.Writer
}

func (f flushReader) Read(p []byte) (int, error) {
	if f.w.Buffered() > 0 {
		if err := f.w.Flush(); err != nil {
			return 0, err
		}
	}
	return f.r.Read(p)
}

// EchoSink is a zero-work ISO 8583 host: it answers every request at once
// with the response MTI, DE 11 and DE 37 copied, an approval code in DE 38
// (for 0100, 0101 and 0200) and DE 39 "00"; with iso.Binary2TPDU framing
// each reply carries its request's TPDU, destination and source swapped. It stands in for a server of
// infinite speed, to measure what the generator itself can offer.
//
// Each connection is served by one goroutine that reads pipelined requests
// in large chunks and writes their replies in one system call per chunk.
type EchoSink struct{ sinkBase }

// NewEchoSink listens on addr (":0" for any free port) and serves until
// Close.
func NewEchoSink(addr string, framing iso.Framing) (*EchoSink, error) {
	s := &EchoSink{}
	if err := s.listen(addr, framing); err != nil {
		return nil, err
	}
	s.serve(s.handle)
	return s, nil
}

func (s *EchoSink) handle(nc net.Conn) {
	bw := bufio.NewWriterSize(nc, 64<<10)
	fr := iso.NewFrameReader(flushReader{nc, bw}, s.framing, 0)
	msg := make([]byte, 0, 128)
	out := make([]byte, 0, 160)
	for {
		frame, err := fr.Next()
		if err != nil {
			return
		}
		s.received.Add(1)
		msg = echoReply(msg[:0], frame)
		out = appendFrame(out[:0], s.framing, fr.TPDU(), msg)
		if _, err := bw.Write(out); err != nil {
			return
		}
	}
}

// StallSink answers like EchoSink, but its replies can be held back: after
// Stall(d) it keeps reading requests and queueing their replies, and writes
// nothing until d has passed; then the queued replies go out in order. A
// long enough stall is a host that never answers. It exists for tests of
// latency accounting and timeouts.
//
// Each connection has a reader and a writer goroutine.
type StallSink struct {
	sinkBase
	stallUntil atomic.Int64 // unix nanoseconds
	// reverseBatch, when above 1, writes replies in reverse order within
	// groups of this many (tests of out-of-order matching); reversed
	// counts the groups of two or more so reversed.
	reverseBatch int
	reversed     atomic.Int64
}

// NewStallSink listens on addr (":0" for any free port) and serves until
// Close.
func NewStallSink(addr string, framing iso.Framing) (*StallSink, error) {
	return newStallSink(addr, framing, 0)
}

func newStallSink(addr string, framing iso.Framing, reverseBatch int) (*StallSink, error) {
	s := &StallSink{reverseBatch: reverseBatch}
	if err := s.listen(addr, framing); err != nil {
		return nil, err
	}
	s.serve(s.handle)
	return s, nil
}

// Stall holds back every reply, on every connection, until d from now.
// Stall(0) ends a stall early.
func (s *StallSink) Stall(d time.Duration) {
	s.stallUntil.Store(time.Now().Add(d).UnixNano())
}

// waitStall returns once no stall is in force, or false when the sink is
// closing.
func (s *StallSink) waitStall() bool {
	for {
		d := time.Duration(s.stallUntil.Load() - time.Now().UnixNano())
		if d <= 0 {
			return true
		}
		t := time.NewTimer(min(d, 10*time.Millisecond))
		select {
		case <-s.done:
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// stallQueue carries one connection's replies from its reader to its
// writer.
type stallQueue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	pending [][]byte
	closed  bool
}

func (s *StallSink) handle(nc net.Conn) {
	q := &stallQueue{}
	q.cond = sync.NewCond(&q.mu)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop(nc, q)
	}()
	fr := iso.NewFrameReader(nc, s.framing, 0)
	for {
		frame, err := fr.Next()
		if err != nil {
			break
		}
		s.received.Add(1)
		reply := appendFrame(nil, s.framing, fr.TPDU(), echoReply(nil, frame))
		q.mu.Lock()
		q.pending = append(q.pending, reply)
		q.mu.Unlock()
		q.cond.Signal()
	}
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Signal()
	nc.Close()
	<-writerDone
}

func (s *StallSink) take(q *stallQueue) ([][]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.pending) == 0 && !q.closed {
		q.cond.Wait()
	}
	batch := q.pending
	q.pending = nil
	return batch, len(batch) > 0 || !q.closed
}

func (s *StallSink) writeLoop(nc net.Conn, q *stallQueue) {
	bw := bufio.NewWriterSize(nc, 64<<10)
	for {
		batch, ok := s.take(q)
		if !ok {
			return
		}
		if s.reverseBatch > 1 {
			batch = s.gather(q, batch)
		}
		if !s.waitStall() {
			return
		}
		for _, b := range batch {
			if _, err := bw.Write(b); err != nil {
				return
			}
		}
		if err := bw.Flush(); err != nil {
			return
		}
	}
}

// gather waits briefly for a full group of replies and reverses each group,
// so that replies overtake each other as they do on a real host.
func (s *StallSink) gather(q *stallQueue, batch [][]byte) [][]byte {
	deadline := time.Now().Add(20 * time.Millisecond)
	for len(batch)%s.reverseBatch != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		q.mu.Lock()
		batch = append(batch, q.pending...)
		q.pending = nil
		q.mu.Unlock()
	}
	for i := 0; i < len(batch); i += s.reverseBatch {
		g := batch[i:min(i+s.reverseBatch, len(batch))]
		if len(g) > 1 {
			s.reversed.Add(1)
		}
		for a, b := 0, len(g)-1; a < b; a, b = a+1, b-1 {
			g[a], g[b] = g[b], g[a]
		}
	}
	return batch
}
