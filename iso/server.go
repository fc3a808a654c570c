package iso

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
)

// Handler decides requests. HandleBatch is called from each connection's
// reader with every request that one read from the network delivered, in
// the order they arrived, and concurrently for different connections: it
// sets out[i] to the decision on reqs[i] for every i (len(out) ==
// len(reqs)). Deciding a read's requests together lets a handler record
// their decisions as one batch (one append, one sync) rather than one by
// one.
//
// While HandleBatch runs its connection reads nothing more, so it should
// not block: a decision that must be synced to disk before it is told is
// returned at once with Response.Durable set, and the server waits for it
// on the connection's writer. HandleBatch is only given supported,
// well-formed requests other than 0800. The context is cancelled when the
// connection is torn down before its replies could be written (a write
// failure, or Shutdown's deadline); the handler may still finish its work,
// but its replies will not be delivered. A Request and its Raw bytes are
// only valid until HandleBatch returns; its strings are the handler's to
// keep.
//
// If HandleBatch panics, the requests of the batch it left without a
// Code are answered "96" (the panic is logged with its type and stack,
// never its value); the connection lives on.
type Handler interface {
	HandleBatch(ctx context.Context, reqs []*Request, out []Response)
}

// RequestHandler decides one request at a time; PerRequest turns it into
// a Handler.
type RequestHandler interface {
	HandleISO(ctx context.Context, req *Request) Response
}

// PerRequest returns a Handler that decides each request of a batch with
// h, one after another in order. A panic in h answers that request "96"
// and goes on with the next.
func PerRequest(h RequestHandler) Handler { return perRequest{h} }

type perRequest struct{ h RequestHandler }

func (p perRequest) HandleBatch(ctx context.Context, reqs []*Request, out []Response) {
	for i, r := range reqs {
		out[i] = p.one(ctx, r)
	}
}

func (p perRequest) one(ctx context.Context, r *Request) (resp Response) {
	defer func() {
		if v := recover(); v != nil {
			resp = Response{Code: "96", panicked: &handlerPanic{typ: fmt.Sprintf("%T", v), stack: debug.Stack()}}
		}
	}()
	return p.h.HandleISO(ctx, r)
}

// handlerPanic is what the server logs of a handler's panic: never its
// value, which may hold request data.
type handlerPanic struct {
	typ   string
	stack []byte
}

// Observer receives counts for metrics; every method must be cheap, because
// it runs on the connection's goroutines, and safe for concurrent use.
type Observer interface {
	// Message is called once per reply written to the network (once for
	// a reply a fault sends twice, never for one it leaves out). mti is the
	// request MTI for the message types the profile supports and "other"
	// for the rest, so that a metric label stays bounded; code is DE 39;
	// elapsed runs from the moment the read that brought the request
	// returned to the moment its reply was written.
	Message(mti, code string, elapsed time.Duration)
	// ConnOpened and ConnClosed bracket every accepted connection.
	ConnOpened()
	ConnClosed()
	// ConnRefused is called for every connection closed at once because
	// MaxConns connections were already open.
	ConnRefused()
	// FrameError is called once for every connection closed because of
	// what the peer sent, did not send, or did not read: one of
	// CloseReasons.
	FrameError(reason string)
	// InFlight is called with +n when n requests are read and -n when
	// their replies have been written (or dropped with the connection).
	InFlight(delta int)
}

// Reasons passed to Observer.FrameError: why a connection was closed
// because of its peer.
const (
	ReasonOversize     = "oversize"      // length header above MaxFrameBytes
	ReasonBadLength    = "bad_length"    // zero length, a TPDU and no message, or an ASCII4 header that is not 4 digits
	ReasonShortTPDU    = "short_tpdu"    // a binary2-tpdu length shorter than the 5-byte TPDU
	ReasonBadMTI       = "bad_mti"       // the first 4 bytes are not an MTI that can be answered
	ReasonTruncated    = "truncated"     // the peer closed the connection inside a frame
	ReasonReadTimeout  = "read_timeout"  // nothing arrived for ReadIdleTimeout
	ReasonFrameTimeout = "frame_timeout" // a frame begun was not complete within FrameTimeout
	ReasonWriteTimeout = "write_timeout" // the peer did not take its replies within WriteTimeout
)

// CloseReasons returns every reason Observer.FrameError may be given, so a
// metric can have all its label values from the start.
func CloseReasons() []string {
	return []string{ReasonOversize, ReasonBadLength, ReasonBadMTI, ReasonTruncated, ReasonReadTimeout,
		ReasonFrameTimeout, ReasonWriteTimeout, ReasonShortTPDU}
}

// Defaults for Config fields left at their zero value.
const (
	DefaultAddr               = ":8583"
	DefaultMaxFrameBytes      = 8192
	DefaultMaxInFlightPerConn = 1024
	DefaultReadIdleTimeout    = 5 * time.Minute
	DefaultFrameTimeout       = 10 * time.Second
	DefaultWriteTimeout       = 10 * time.Second
	DefaultMaxConns           = 1000
	DefaultCloseLogInterval   = time.Minute
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
	// big-endian); ASCII4 is 4 ASCII digits, Binary4 4 bytes big-endian,
	// and Binary2TPDU 2 bytes followed by a 5-byte TPDU that replies echo
	// with destination and source swapped.
	Framing Framing
	// MaxFrameBytes is the largest message accepted, in bytes, length
	// header excluded (a TPDU included). A longer frame closes the
	// connection. Default 8192; it must be at least 64 and at most 65535
	// for Binary2 and Binary2TPDU, 9999 for ASCII4 or 1 MiB for Binary4.
	MaxFrameBytes int
	// MaxInFlightPerConn bounds the requests of one connection that have
	// been read but whose replies have not been written yet. At the bound
	// the connection stops reading until replies are written, which
	// pushes back on a client that pipelines faster than it is answered.
	// Default 1024.
	MaxInFlightPerConn int
	// MaxConns bounds the connections open at once, all listeners
	// together. A connection accepted beyond it is closed at once, before
	// anything is read (the client sees the connection end), counted
	// (Observer.ConnRefused) and logged, at most once per
	// CloseLogInterval. Default 1000.
	MaxConns int
	// ReadIdleTimeout closes a connection that sends nothing for this long.
	// Default 5 minutes.
	ReadIdleTimeout time.Duration
	// FrameTimeout closes a connection whose frame is not complete this
	// long after its first byte arrived, however steadily the rest
	// trickles in, so a slow sender cannot hold a connection open.
	// Default 10 seconds.
	FrameTimeout time.Duration
	// WriteTimeout bounds each write of replies to a connection; a client
	// that does not read for this long is disconnected. Default 10 seconds.
	WriteTimeout time.Duration
	// CloseLogInterval is how often each reason for closing connections
	// (CloseReasons, and refusals at MaxConns) is logged at most: the
	// first occurrence is logged at once, later ones within the interval
	// are only counted, and the next line says how many were left out.
	// Every occurrence is counted by the Observer. Default 1 minute.
	CloseLogInterval time.Duration
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
	if c.FrameTimeout == 0 {
		c.FrameTimeout = DefaultFrameTimeout
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.CloseLogInterval == 0 {
		c.CloseLogInterval = DefaultCloseLogInterval
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
	if !c.Framing.Valid() {
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
	if c.FrameTimeout < 0 {
		return fmt.Errorf("iso: config: FrameTimeout %v must be positive", c.FrameTimeout)
	}
	if c.MaxConns < 1 {
		return fmt.Errorf("iso: config: MaxConns %d must be positive", c.MaxConns)
	}
	if c.CloseLogInterval < 0 {
		return fmt.Errorf("iso: config: CloseLogInterval %v must be positive", c.CloseLogInterval)
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
func (nopObserver) ConnRefused()                          {}
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
	// closes rate-limits the log lines about closed and refused
	// connections.
	closes *closeLog
	// arenas holds *stringArenas for Request.detach. A pool rather than
	// one per connection, so an idle connection holds none and a busy one
	// shares the chunks sync.Pool's per-P caches keep warm.
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
		closes:    newCloseLog(cfg.Logger, cfg.CloseLogInterval),
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
// from 5 ms up to 1 s instead of ending the server. A connection accepted
// while MaxConns are open is closed at once.
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
		switch s.trackConn(c) {
		case trackClosed:
			_ = nc.Close()
			return ErrServerClosed
		case trackFull:
			_ = nc.Close()
			s.obs.ConnRefused()
			s.closes.note("iso: refusing connection: MaxConns connections are open", "max_conns",
				nc.RemoteAddr().String(), "max_conns", s.cfg.MaxConns)
			continue
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

// trackConn results.
const (
	trackOK     = iota
	trackClosed // Shutdown has begun
	trackFull   // MaxConns connections are open
)

// trackConn registers a new connection unless Shutdown has begun or
// MaxConns are open. The WaitGroup is only added to under the mutex and
// before shuttingDown is set, so Shutdown's Wait never races with an Add.
func (s *Server) trackConn(c *conn) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown {
		return trackClosed
	}
	if len(s.conns) >= s.cfg.MaxConns {
		return trackFull
	}
	s.conns[c] = struct{}{}
	s.connsWG.Add(1)
	return trackOK
}

func (s *Server) untrackConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.connsWG.Done()
}

// job is one request on its way through the server: its frame, its
// decoded form and the reply decided for it. A connection's jobs live in
// its batches (conn.go) and are reused with them.
type job struct {
	frame []byte // aliases the batch's copy of the frames of one read
	tpdu  TPDU   // the reply's TPDU, with Binary2TPDU framing
	d     decoded
	p     replyParts
	label string // the request MTI label for Observer.Message
	out   []byte // the encoded reply, for encodeReply's callers
	// at and end are the span of its reply in its batch's out: empty
	// when a fault leaves the reply out, two replies when it doubles it.
	at, end int
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

// appendReply appends the encoded reply to j, as p decides it, to dst with
// the configured codec.
func (s *Server) appendReply(dst []byte, j *job, p replyParts) ([]byte, error) {
	if s.fast != nil {
		if b, ok := s.fast.appendReply(dst, &j.d, p); ok {
			return b, nil
		}
	}
	b, err := buildReply(s.spec, &j.d, p)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// encodeReply encodes the reply to j into j.out (reused across calls).
func (s *Server) encodeReply(j *job, p replyParts) ([]byte, error) {
	b, err := s.appendReply(j.out[:0], j, p)
	if err == nil {
		j.out = b
	}
	return b, err
}

// prepare decodes a request and decides whatever the server answers by
// itself, without any I/O: an unsupported MTI, a format error, an 0800.
// It reports whether the request goes to the Handler; the reply parts are
// then completed by finish.
func (s *Server) prepare(j *job) bool {
	d := &j.d
	s.decodeJob(j)
	mti := d.req.MTI
	reply, supported, _ := replyMTI(mti)
	j.p = replyParts{mti: reply}
	j.label = mti
	if !supported {
		j.p.code = "12"
		j.label = "other"
		return false
	}
	if d.err != nil {
		s.log.Debug("iso: format error", "mti", mti, "field", d.err.Field, "reason", d.err.Reason)
		j.p.code = "30"
		j.p.network = mti == "0800"
		return false
	}
	if mti == "0800" {
		j.p.network = true
		switch d.req.NetworkCode {
		case "001", "002", "301": // sign-on, sign-off, echo test
			j.p.code = "00"
		case "":
			s.log.Debug("iso: format error", "mti", mti, "field", 70, "reason", "missing")
			j.p.code = "30"
		default:
			j.p.code = "12"
		}
		return false
	}
	if id, ok := missingField(mti, &d.present); ok {
		s.log.Debug("iso: format error", "mti", mti, "field", id, "reason", "missing")
		j.p.code = "30"
		return false
	}
	return true
}

// finish completes the reply to a request the Handler decided. A response
// the profile cannot carry becomes a "96"; its Durable is kept, so what
// the handler recorded is still waited for.
func (s *Server) finish(j *job, resp Response) {
	mti := j.d.req.MTI
	switch {
	case resp.panicked != nil:
		s.log.Error("iso: handler panicked; answering 96", "mti", mti,
			"panic_type", resp.panicked.typ, "stack", string(resp.panicked.stack))
		resp = Response{Code: "96", Durable: resp.Durable}
	case !validCode(resp.Code):
		s.log.Error("iso: handler returned an invalid response code; answering 96", "mti", mti)
		resp = Response{Code: "96", Durable: resp.Durable}
	case resp.AuthCode != "" && !validAuthCode(resp.AuthCode):
		s.log.Error("iso: handler returned an invalid approval code; answering 96", "mti", mti)
		resp = Response{Code: "96", Durable: resp.Durable}
	}
	j.p.code = resp.Code
	j.p.resp = resp
}

// decide works out the reply to one request, as a batch of one would get
// it. It returns the request MTI label for metrics.
func (s *Server) decide(ctx context.Context, j *job) (string, replyParts) {
	if s.prepare(j) {
		if s.fast != nil {
			s.detach(&j.d.req)
		}
		reqs := []*Request{&j.d.req}
		out := make([]Response, 1)
		s.callHandler(ctx, reqs, out)
		s.finish(j, out[0])
	}
	return j.label, j.p
}

// detach copies the strings of a fast-decoded Request out of its frame
// before a Handler sees it (see arena.go).
func (s *Server) detach(r *Request) {
	a := s.getArenas()
	r.detach(a)
	s.arenas.Put(a)
}

func (s *Server) getArenas() *stringArenas {
	if a, ok := s.arenas.Get().(*stringArenas); ok {
		return a
	}
	return new(stringArenas)
}

// callHandler calls the Handler and turns a panic into a "96" for every
// request it had not answered, as net/http does for its handlers, so one
// bad request cannot take down every connection. The panic value is not
// logged because it may hold request data; its type and the stack are.
func (s *Server) callHandler(ctx context.Context, reqs []*Request, out []Response) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("iso: handler panicked; answering 96", "requests", len(reqs),
				"panic_type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
			for i := range out {
				if out[i].Code == "" {
					out[i] = Response{Code: "96", Durable: out[i].Durable}
				}
			}
		}
	}()
	s.h.HandleBatch(ctx, reqs, out)
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
