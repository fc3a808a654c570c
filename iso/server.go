package iso

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
)

// Handler decides one request. It is called from each connection's reader,
// for one request after another in the order they arrived, and
// concurrently for different connections. While it runs, its connection
// reads nothing more, so it should not block: a decision that must be
// synced to disk before it is told returns at once with Response.Durable
// set. It is only called for supported, well-formed requests other than
// 0800. The context is cancelled when the connection is torn down before
// its replies could be written (a write failure, or Shutdown's deadline);
// the handler may still finish its work, but its reply will not be
// delivered.
type Handler interface {
	HandleISO(ctx context.Context, req *Request) Response
}

// Observer receives counts for metrics; every method must be cheap, because
// it runs on the connection's goroutines, and safe for concurrent use.
type Observer interface {
	// Message is called once per reply written to the network. mti is the
	// request MTI for the message types the profile supports and "other"
	// for the rest, so that a metric label stays bounded; code is DE 39;
	// elapsed runs from the moment the request was read to the moment its
	// reply was flushed.
	Message(mti, code string, elapsed time.Duration)
	// ConnOpened and ConnClosed bracket every accepted connection.
	ConnOpened()
	ConnClosed()
	// FrameError is called once for every connection closed because of
	// what the peer sent or did not send: "oversize", "bad_length",
	// "bad_mti", "truncated" or "read_timeout".
	FrameError(reason string)
	// InFlight is called with +1 when a request is read and -1 when its
	// reply has been handed to the connection's writer.
	InFlight(delta int)
}

// Frame error reasons passed to Observer.FrameError.
const (
	ReasonOversize    = "oversize"     // length header above MaxFrameBytes
	ReasonBadLength   = "bad_length"   // zero length, or an ASCII4 header that is not 4 digits
	ReasonBadMTI      = "bad_mti"      // the first 4 bytes are not an MTI that can be answered
	ReasonTruncated   = "truncated"    // the peer closed the connection inside a frame
	ReasonReadTimeout = "read_timeout" // nothing arrived for ReadIdleTimeout
)

// Defaults for Config fields left at their zero value.
const (
	DefaultAddr               = ":8583"
	DefaultMaxFrameBytes      = 8192
	DefaultMaxInFlightPerConn = 1024
	DefaultReadIdleTimeout    = 5 * time.Minute
	DefaultWriteTimeout       = 10 * time.Second
)

// minFrameBytesMax is the smallest MaxFrameBytes accepted: below it even a
// minimal authorization request could not be received.
const minFrameBytesMax = 64

// Config configures a Server. The zero value is usable: every field left at
// its zero value takes the default named in its comment.
type Config struct {
	// Addr is the TCP address ListenAndServe listens on.
	// Default ":8583".
	Addr string
	// Framing selects the length header. Default Binary2 (2-byte unsigned
	// big-endian); ASCII4 is 4 ASCII digits.
	Framing Framing
	// MaxFrameBytes is the largest message accepted, in bytes, length
	// header excluded. A longer frame closes the connection. Default
	// 8192; it must be at least 64 and at most 65535 for Binary2 or 9999
	// for ASCII4.
	MaxFrameBytes int
	// MaxInFlightPerConn bounds the requests of one connection that have
	// been read but whose replies have not been handed to the writer yet.
	// At the bound the connection stops reading until a reply is written,
	// which pushes back on a client that pipelines faster than it is
	// answered. Default 1024.
	MaxInFlightPerConn int
	// ReadIdleTimeout closes a connection that sends nothing for this long.
	// Default 5 minutes.
	ReadIdleTimeout time.Duration
	// WriteTimeout bounds each write of replies to a connection; a client
	// that does not read for this long is disconnected. Default 10 seconds.
	WriteTimeout time.Duration
	// Logger receives connection-level events. It never receives a PAN, a
	// CVV2 or message bytes. Default slog.Default().
	Logger *slog.Logger
	// Observer receives metrics. Default none.
	Observer Observer
	// Codec selects how messages are decoded and replies encoded:
	// CodecFast (the default) uses a table compiled from Spec() and writes
	// replies without allocating; CodecMoov uses moov-io/iso8583 for every
	// message. Both give the same decisions and the same reply bytes (the
	// package's oracle tests and fuzz targets hold them to it); CodecMoov
	// is the reference, and a way back should they ever disagree.
	Codec string
}

// Codec names for Config.Codec.
const (
	CodecFast = "fast"
	CodecMoov = "moov"
)

// withDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if c.MaxInFlightPerConn == 0 {
		c.MaxInFlightPerConn = DefaultMaxInFlightPerConn
	}
	if c.ReadIdleTimeout == 0 {
		c.ReadIdleTimeout = DefaultReadIdleTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	if c.Codec == "" {
		c.Codec = CodecFast
	}
	return c
}

// validate rejects a configuration that cannot work, after withDefaults.
func (c Config) validate() error {
	if !c.Framing.valid() {
		return fmt.Errorf("iso: config: unknown Framing %d", uint8(c.Framing))
	}
	if c.MaxFrameBytes < minFrameBytesMax || c.MaxFrameBytes > c.Framing.maxMessageBytes() {
		return fmt.Errorf("iso: config: MaxFrameBytes %d out of range [%d, %d] for %s framing",
			c.MaxFrameBytes, minFrameBytesMax, c.Framing.maxMessageBytes(), c.Framing)
	}
	if c.MaxInFlightPerConn < 1 {
		return fmt.Errorf("iso: config: MaxInFlightPerConn %d must be positive", c.MaxInFlightPerConn)
	}
	if c.ReadIdleTimeout < 0 {
		return fmt.Errorf("iso: config: ReadIdleTimeout %v must be positive", c.ReadIdleTimeout)
	}
	if c.WriteTimeout < 0 {
		return fmt.Errorf("iso: config: WriteTimeout %v must be positive", c.WriteTimeout)
	}
	if c.Codec != CodecFast && c.Codec != CodecMoov {
		return fmt.Errorf("iso: config: unknown Codec %q (want %q or %q)", c.Codec, CodecFast, CodecMoov)
	}
	return nil
}

type nopObserver struct{}

func (nopObserver) Message(string, string, time.Duration) {}
func (nopObserver) ConnOpened()                           {}
func (nopObserver) ConnClosed()                           {}
func (nopObserver) FrameError(string)                     {}
func (nopObserver) InFlight(int)                          {}

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown.
var ErrServerClosed = errors.New("iso: server closed")

// Server accepts ISO 8583 connections and answers their requests with a
// Handler. Its methods are safe for concurrent use.
type Server struct {
	cfg  Config
	h    Handler
	spec *iso8583.MessageSpec
	fast *fastCodec // nil with CodecMoov
	log  *slog.Logger
	obs  Observer
	jobs sync.Pool // *job
	// arenas holds *stringArenas for Request.detach. A pool rather than
	// one per connection because requests are decided on their own
	// goroutines; sync.Pool's per-P caches keep it uncontended.
	arenas sync.Pool

	mu           sync.Mutex
	listeners    map[net.Listener]struct{}
	addr         net.Addr
	conns        map[*conn]struct{}
	shuttingDown bool
	done         chan struct{} // closed when Shutdown begins
	connsWG      sync.WaitGroup
}

// NewServer checks cfg, fills in its defaults, and returns a server that
// answers requests with h.
func NewServer(cfg Config, h Handler) (*Server, error) {
	if h == nil {
		return nil, errors.New("iso: NewServer: nil Handler")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var fast *fastCodec
	if cfg.Codec == CodecFast {
		fast = defaultFastCodec()
	}
	return &Server{
		cfg:       cfg,
		h:         h,
		spec:      Spec(),
		fast:      fast,
		log:       cfg.Logger,
		obs:       cfg.Observer,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		done:      make(chan struct{}),
	}, nil
}

// ListenAndServe listens on Config.Addr and calls Serve.
func (s *Server) ListenAndServe() error {
	if s.isShuttingDown() {
		return ErrServerClosed
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("iso: listen: %w", err)
	}
	return s.Serve(ln)
}

// Addr returns the address of the listener Serve was given, or nil before
// Serve has started.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Serve accepts connections on ln and serves each in its own goroutines. It
// closes ln when it returns. After Shutdown it returns ErrServerClosed; any
// other error is the listener's. As in net/http, temporary accept errors
// (for example running out of file descriptors) are retried with a backoff
// from 5 ms up to 1 s instead of ending the server.
func (s *Server) Serve(ln net.Listener) error {
	if !s.trackListener(ln) {
		_ = ln.Close()
		return ErrServerClosed
	}
	defer s.untrackListener(ln)

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isShuttingDown() {
				return ErrServerClosed
			}
			// net.Error's Temporary is deprecated for general use, but
			// it is still how accept reports EMFILE and ECONNABORTED,
			// and net/http's Serve relies on it the same way.
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				if delay == 0 {
					delay = 5 * time.Millisecond
				} else {
					delay = min(2*delay, time.Second)
				}
				s.log.Warn("iso: accept failed; retrying", "err", err, "retry_in", delay)
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-s.done:
					t.Stop()
					return ErrServerClosed
				}
				continue
			}
			return fmt.Errorf("iso: accept: %w", err)
		}
		delay = 0
		c := s.newConn(nc)
		if !s.trackConn(c) {
			_ = nc.Close()
			return ErrServerClosed
		}
		go c.serve()
	}
}

// Shutdown stops the server gracefully: it closes the listeners, stops
// reading new frames on every connection, lets every request already read
// be decided and its reply written, and then closes the connections. If ctx
// ends first, the remaining connections are closed at once (their handlers'
// contexts are cancelled and unwritten replies are lost) and ctx's error is
// returned. Frames that were already in the server's read buffer when
// Shutdown began count as read and are answered.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.shuttingDown {
		s.shuttingDown = true
		close(s.done)
	}
	for ln := range s.listeners {
		_ = ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	for _, c := range conns {
		c.stopReading()
	}
	drained := make(chan struct{})
	go func() {
		s.connsWG.Wait()
		close(drained)
	}()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		for _, c := range conns {
			c.abort()
		}
		return ctx.Err()
	}
}

func (s *Server) isShuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shuttingDown
}

func (s *Server) trackListener(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown {
		return false
	}
	s.listeners[ln] = struct{}{}
	if s.addr == nil {
		s.addr = ln.Addr()
	}
	return true
}

func (s *Server) untrackListener(ln net.Listener) {
	_ = ln.Close()
	s.mu.Lock()
	delete(s.listeners, ln)
	s.mu.Unlock()
}

// trackConn registers a new connection unless Shutdown has begun. The
// WaitGroup is only added to under the mutex and before shuttingDown is set,
// so Shutdown's Wait never races with an Add.
func (s *Server) trackConn(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown {
		return false
	}
	s.conns[c] = struct{}{}
	s.connsWG.Add(1)
	return true
}

func (s *Server) untrackConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.connsWG.Done()
}

// job is one request on its way through the server: a private copy of the
// frame, its decoded form and the buffer its reply is encoded into. Jobs
// are pooled so a busy connection allocates neither frame nor reply
// buffers, nor Requests, per request. A job goes back to the pool when the
// writer has copied its reply into the connection's write buffer, which is
// after the Handler has returned, so the Request it was given (and Raw,
// which aliases frame) is reused only after HandleISO returns, as the
// Handler contract says.
type job struct {
	frame []byte
	d     decoded
	out   []byte // the encoded reply (fast codec)
	start time.Time
}

// jobFrameBytesMax keeps pooled jobs from holding on to unusually large
// frame buffers.
const jobFrameBytesMax = 16 << 10

func (s *Server) getJob(frame []byte) *job {
	j, _ := s.jobs.Get().(*job)
	if j == nil {
		j = &job{}
	}
	j.frame = append(j.frame[:0], frame...)
	return j
}

func (s *Server) putJob(j *job) {
	if cap(j.frame) > jobFrameBytesMax || cap(j.out) > jobFrameBytesMax {
		return
	}
	j.d.reset(nil)
	s.jobs.Put(j)
}

// outFrame is one packed reply queued for a connection's writer.
type outFrame struct {
	msg   []byte
	job   *job   // returned to the pool once msg (which may alias it) is written
	mti   string // the request MTI label for Observer.Message
	code  string
	start time.Time
	// durable is the handler's Response.Durable, waited for before the
	// reply goes to the writer; replyMTI is what a "96" in its place
	// would be sent as.
	durable  interface{ Wait() error }
	replyMTI string
}

// pendingFlushMax bounds how many replies may sit in the write buffer before
// it is flushed even though more replies are queued, so a connection under
// constant load still sends its replies promptly.
const pendingFlushMax = 256

// writeBufferBytes is the size of a connection's write buffer.
const writeBufferBytes = 16 << 10

// conn is one client connection. Three goroutines work on it: the reader
// (serve), which decodes and decides each request in turn; the waiter
// (waitLoop), which waits for each decision to be durable, in order; and
// the writer (writeLoop). Replies flow from the reader to the waiter over
// the decided channel and from the waiter to the writer over the replies
// channel; slots bounds how many requests are between being read and
// being written, and so also how full either channel can get. Decisions
// on one connection are applied in the order of its requests, so they
// become durable in that order too, and waiting in order holds no reply
// back behind a later one.
type conn struct {
	srv    *Server
	nc     net.Conn
	ctx    context.Context
	cancel context.CancelFunc

	slots      chan struct{} // one token per request in flight
	decided    chan outFrame // capacity MaxInFlightPerConn, so sends never block
	replies    chan outFrame // likewise
	producers  sync.WaitGroup
	writerDone chan struct{}

	mu      sync.Mutex // orders stopReading against the read deadline
	stopped bool       // Shutdown asked the reader to stop

	closeOnce sync.Once
}

func (s *Server) newConn(nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{
		srv:        s,
		nc:         nc,
		ctx:        ctx,
		cancel:     cancel,
		slots:      make(chan struct{}, s.cfg.MaxInFlightPerConn),
		decided:    make(chan outFrame, s.cfg.MaxInFlightPerConn),
		replies:    make(chan outFrame, s.cfg.MaxInFlightPerConn),
		writerDone: make(chan struct{}),
	}
}

// errStopped is returned by conn.Read once Shutdown has stopped reading.
var errStopped = errors.New("iso: connection stopped reading")

// aLongTimeAgo is a deadline in the past, used to wake a blocked Read.
var aLongTimeAgo = time.Unix(1, 0)

// Read refreshes the idle deadline before every read system call, so the
// timeout measures silence rather than the age of the connection. The
// mutex guarantees that once stopReading has run, no Read waits again: either
// the deadline it set in the past is still in force, or Read sees stopped.
func (c *conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return 0, errStopped
	}
	err := c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.ReadIdleTimeout))
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.nc.Read(p)
}

// stopReading makes the reader stop after the frames it has already
// buffered, without closing the connection, so replies can still be written.
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
// cancelled and the writer's next write fails.
func (c *conn) abort() {
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

	go c.writeLoop()
	go c.waitLoop()
	c.readLoop()
	// readLoop has returned, so no more producers can be added.
	c.producers.Wait()
	close(c.decided) // the waiter then closes replies
	<-c.writerDone
	c.cancel()
	c.closeOnce.Do(func() { _ = c.nc.Close() })
}

func (c *conn) readLoop() {
	s := c.srv
	fr := NewFrameReader(c, s.cfg.Framing, s.cfg.MaxFrameBytes)
	for {
		frame, err := fr.Next()
		if err != nil {
			c.readFailed(err)
			return
		}
		if !validMTI(frame) {
			c.frameError(ReasonBadMTI)
			return
		}
		if _, _, ok := replyMTI(mtiString(frame[:4])); !ok {
			c.frameError(ReasonBadMTI)
			return
		}
		j := s.getJob(frame)
		j.start = time.Now()
		select {
		case c.slots <- struct{}{}:
		case <-c.ctx.Done():
			s.putJob(j)
			return
		}
		s.obs.InFlight(1)
		c.producers.Add(1)
		c.process(j)
	}
}

// readFailed sorts out why reading stopped. Only what the peer did wrong is
// a frame error; a clean close, Shutdown, or a broken connection is not.
func (c *conn) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, errStopped), errors.Is(err, net.ErrClosed):
	case errors.Is(err, ErrFrameTooLarge):
		c.frameError(ReasonOversize)
	case errors.Is(err, ErrFrameEmpty), errors.Is(err, ErrBadLengthHeader):
		c.frameError(ReasonBadLength)
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.frameError(ReasonTruncated)
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		if !c.isStopped() {
			c.frameError(ReasonReadTimeout)
		}
	default:
		c.srv.log.Debug("iso: read failed", "remote", c.nc.RemoteAddr().String(), "err", err)
	}
}

func (c *conn) frameError(reason string) {
	c.srv.obs.FrameError(reason)
	c.srv.log.Warn("iso: closing connection", "remote", c.nc.RemoteAddr().String(), "reason", reason)
}

// process decides one request and queues its reply for the waiter. It
// runs on the reader: a decision's disk sync is waited for by the waiter,
// so it never holds up the requests pipelined behind it.
func (c *conn) process(j *job) {
	defer c.producers.Done()
	s := c.srv
	reqMTI, p := s.decide(c.ctx, j)
	msg, err := s.encodeReply(j, p)
	if err != nil {
		// Only a reply MTI moov-io cannot pack gets here, and readLoop
		// has already checked the MTI, so this is a bug; closing is the
		// only answer left.
		s.log.Error("iso: cannot pack reply; closing connection", "remote", c.nc.RemoteAddr().String(), "err", err)
		c.abort()
	}
	// The writer returns j to the pool after copying msg, which with the
	// fast codec is j.out.
	c.decided <- outFrame{msg: msg, job: j, mti: reqMTI, code: p.code, start: j.start, durable: p.resp.Durable, replyMTI: p.mti}
}

// waitLoop passes the reader's replies on to the writer, each once its
// decision is durable. A reply whose decision could not be made durable
// is replaced by a "96". It closes replies once decided is closed and
// drained.
func (c *conn) waitLoop() {
	defer close(c.replies)
	s := c.srv
	for of := range c.decided {
		if of.durable != nil {
			if err := of.durable.Wait(); err != nil {
				s.log.Error("iso: decision not durable; answering 96", "mti", of.mti, "err", err)
				of.code = "96"
				msg, perr := s.encodeReply(of.job, replyParts{mti: of.replyMTI, code: "96"})
				if perr != nil {
					// readLoop checked the MTI, so this cannot happen;
					// sending nothing is the only safe answer left.
					s.log.Error("iso: cannot pack reply; closing connection", "remote", c.nc.RemoteAddr().String(), "err", perr)
					c.abort()
					msg = nil
				}
				of.msg = msg
			}
			of.durable = nil
		}
		c.replies <- of
	}
}

// decodeJob decodes j.frame into j.d with the configured codec. With the
// fast codec the strings in j.d alias j.frame until detach.
func (s *Server) decodeJob(j *job) {
	if s.fast != nil {
		s.fast.decode(j.frame, &j.d)
		return
	}
	decodeRequest(s.spec, j.frame, &j.d)
}

// encodeReply encodes the reply to j with the configured codec; the fast
// one writes it into j.out.
func (s *Server) encodeReply(j *job, p replyParts) ([]byte, error) {
	if s.fast != nil {
		if b, ok := s.fast.appendReply(j.out[:0], &j.d, p); ok {
			j.out = b // keep the buffer, grown or not, for the job's next use
			return b, nil
		}
	}
	return buildReply(s.spec, &j.d, p)
}

// detach copies the strings of a fast-decoded Request out of its frame
// before a Handler sees it (see arena.go).
func (s *Server) detach(r *Request) {
	a, _ := s.arenas.Get().(*stringArenas)
	if a == nil {
		a = new(stringArenas)
	}
	r.detach(a)
	s.arenas.Put(a)
}

// decide decodes a request and works out its reply without any I/O of its
// own: everything the profile answers by itself is answered here, and the
// rest goes to the Handler. It returns the request MTI label for metrics.
func (s *Server) decide(ctx context.Context, j *job) (string, replyParts) {
	d := &j.d
	s.decodeJob(j)
	mti := d.req.MTI
	reply, supported, _ := replyMTI(mti)
	p := replyParts{mti: reply}
	if !supported {
		p.code = "12"
		return "other", p
	}
	if d.err != nil {
		s.log.Debug("iso: format error", "mti", mti, "field", d.err.Field, "reason", d.err.Reason)
		p.code = "30"
		p.network = mti == "0800"
		return mti, p
	}
	if mti == "0800" {
		p.network = true
		switch d.req.NetworkCode {
		case "001", "002", "301": // sign-on, sign-off, echo test
			p.code = "00"
		case "":
			s.log.Debug("iso: format error", "mti", mti, "field", 70, "reason", "missing")
			p.code = "30"
		default:
			p.code = "12"
		}
		return mti, p
	}
	if id, ok := missingField(mti, &d.present); ok {
		s.log.Debug("iso: format error", "mti", mti, "field", id, "reason", "missing")
		p.code = "30"
		return mti, p
	}
	if s.fast != nil {
		s.detach(&d.req)
	}
	resp := s.callHandler(ctx, &d.req)
	switch {
	case !validCode(resp.Code):
		s.log.Error("iso: handler returned an invalid response code; answering 96", "mti", mti)
		resp = Response{Code: "96"}
	case resp.AuthCode != "" && !validAuthCode(resp.AuthCode):
		s.log.Error("iso: handler returned an invalid approval code; answering 96", "mti", mti)
		resp = Response{Code: "96"}
	}
	p.code = resp.Code
	p.resp = resp
	return mti, p
}

// callHandler calls the Handler and turns a panic into a "96" reply, as
// net/http does for its handlers, so one bad request cannot take down every
// connection. The panic value is not logged because it may hold request
// data; its type and the stack are.
func (s *Server) callHandler(ctx context.Context, req *Request) (resp Response) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("iso: handler panicked; answering 96", "mti", req.MTI,
				"panic_type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
			resp = Response{Code: "96"}
		}
	}()
	return s.h.HandleISO(ctx, req)
}

// Required data elements, from the profile.
var (
	requiredAuth   = [...]int{2, 3, 4, 7, 11, 14, 18, 37, 41, 42, 43, 49} // 0100, 0101, 0120, 0200
	requiredFollow = [...]int{3, 4, 11, 37, 49}                           // 0220, 0400, 0401, 0420, 0421, plus DE 2 or DE 90
)

// missingField returns the first required data element absent from a
// supported request.
func missingField(mti string, present *fieldSet) (int, bool) {
	switch mti {
	case "0100", "0101", "0120", "0200":
		for _, id := range requiredAuth {
			if !present.has(id) {
				return id, true
			}
		}
	case "0220", "0400", "0401", "0420", "0421":
		for _, id := range requiredFollow {
			if !present.has(id) {
				return id, true
			}
		}
		if !present.has(2) && !present.has(90) {
			return 2, true
		}
	}
	return 0, false
}

// writeLoop writes queued replies through a buffer and flushes it whenever
// the queue runs dry, so replies decided together leave in one system call
// while a lone reply is not held back. "Dry" is checked twice, around one
// runtime.Gosched: under pipelined load the request goroutines finish a few
// hundred nanoseconds apart, and without the yield the writer would find
// the queue empty between nearly every two of them (measured over loopback:
// about 6 replies per write system call without it, about 90 with it). An
// idle connection's lone reply only waits for goroutines that are already
// runnable. It runs until the replies channel is
// closed, which serve does only after every request goroutine has finished.
// After a write error it keeps draining the queue, releasing slots, so no
// producer waits on a dead connection.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	s := c.srv
	bw := bufio.NewWriterSize(c.nc, writeBufferBytes)
	hb := s.cfg.Framing.headerBytes()
	pending := make([]outFrame, 0, 16)
	failed := false

	fail := func(err error) {
		failed = true
		pending = pending[:0]
		s.log.Debug("iso: write failed; closing connection", "remote", c.nc.RemoteAddr().String(), "err", err)
		c.abort()
	}
	flush := func() {
		if failed {
			return
		}
		// The buffer can be empty while replies are still pending: a
		// write that overflowed it went straight to the socket. Those
		// replies are out, so they are reported all the same.
		if bw.Buffered() > 0 {
			if err := c.nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil {
				fail(err)
				return
			}
			if err := bw.Flush(); err != nil {
				fail(err)
				return
			}
		}
		for _, p := range pending {
			s.obs.Message(p.mti, p.code, time.Since(p.start))
		}
		clear(pending)
		pending = pending[:0]
	}

	for {
		var of outFrame
		var ok bool
		select {
		case of, ok = <-c.replies:
		default:
			// Before flushing, give the request goroutines that are
			// about to queue a reply one chance to run, so that replies
			// decided together share a write system call.
			runtime.Gosched()
			select {
			case of, ok = <-c.replies:
			default:
				flush()
				of, ok = <-c.replies
			}
		}
		if !ok {
			flush()
			return
		}
		if !failed && of.msg != nil {
			// A write that does not fit the buffer reaches the socket,
			// so it needs a fresh deadline too.
			if bw.Available() < hb+len(of.msg) {
				if err := c.nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil {
					fail(err)
				}
			}
			if !failed {
				if err := WriteFrame(bw, s.cfg.Framing, of.msg); err != nil {
					fail(err)
				} else {
					pending = append(pending, outFrame{mti: of.mti, code: of.code, start: of.start})
				}
			}
		}
		if of.job != nil {
			// The reply has been copied into bw (or will never be
			// written), so its job, frame and buffers can be reused.
			s.putJob(of.job)
		}
		<-c.slots
		s.obs.InFlight(-1)
		if len(pending) >= pendingFlushMax {
			flush()
		}
	}
}
