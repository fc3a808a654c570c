package moovhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583-connection/server"
	"github.com/moov-io/iso8583/network"

	"github.com/ledgersim/ledgersim/iso"
)

// RequestTimeout bounds the ledger's work on one message.
const RequestTimeout = 5 * time.Second

// echoFields are the data elements a reply copies from its request, as the
// profile says.
var echoFields = [...]int{2, 3, 4, 7, 11, 37, 41, 42, 49}

// Server is an ISO 8583 listener built the way the moov-io libraries
// suggest: iso8583-connection's server accepts connections and reads
// frames, iso8583 unpacks each message with the project's spec
// (iso.Spec(), so the wire is byte for byte ledgersim's), and every message
// is handled in its own goroutine (iso8583-connection starts one per
// inbound message) that calls the Ledger and sends the reply with
// Connection.Reply. Replies go out in whatever order they are ready;
// clients match them by DE 11 and DE 37.
type Server struct {
	srv    *server.Server
	spec   *iso8583.MessageSpec
	ledger Ledger
	ctx    context.Context
	cancel context.CancelFunc

	handled    atomic.Int64
	replyErrs  atomic.Int64
	connErrors atomic.Int64
}

// Stats counts what a Server did.
type Stats struct {
	Handled     int64 // messages answered (the reply was handed to the connection)
	ReplyErrors int64 // replies that could not be built or sent
	ConnErrors  int64 // read, unpack and connection errors reported by iso8583-connection
}

// lengthFuncs returns the length-header reader and writer of a framing,
// built on moov-io's network headers.
func lengthFuncs(f iso.Framing) (connection.MessageLengthReader, connection.MessageLengthWriter, error) {
	switch f {
	case iso.Binary2:
		read := func(r io.Reader) (int, error) {
			h := network.NewBinary2BytesHeader()
			if _, err := h.ReadFrom(r); err != nil {
				return 0, err
			}
			return h.Length(), nil
		}
		write := func(w io.Writer, n int) (int, error) {
			h := network.NewBinary2BytesHeader()
			if err := h.SetLength(n); err != nil {
				return 0, err
			}
			return h.WriteTo(w)
		}
		return read, write, nil
	case iso.ASCII4:
		read := func(r io.Reader) (int, error) {
			h := network.NewASCII4BytesHeader()
			if _, err := h.ReadFrom(r); err != nil {
				return 0, err
			}
			return h.Length(), nil
		}
		write := func(w io.Writer, n int) (int, error) {
			if n > 9999 {
				return 0, fmt.Errorf("moovhost: message of %d bytes is too long for a 4-digit header", n)
			}
			h := network.NewASCII4BytesHeader()
			h.SetLength(n)
			return h.WriteTo(w)
		}
		return read, write, nil
	}
	return nil, nil, fmt.Errorf("moovhost: unknown framing %d", uint8(f))
}

// Listen starts a Server on addr (":0" for any free port) that answers
// from l.
func Listen(addr string, framing iso.Framing, l Ledger) (*Server, error) {
	if l == nil {
		return nil, errors.New("moovhost: no ledger")
	}
	read, write, err := lengthFuncs(framing)
	if err != nil {
		return nil, err
	}
	s := &Server{spec: iso.Spec(), ledger: l}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.srv = server.New(s.spec, read, write,
		connection.InboundMessageHandler(s.handle),
		connection.ErrorHandler(func(error) { s.connErrors.Add(1) }),
		// The generator may leave a connection quiet between trials.
		connection.ReadTimeout(24*time.Hour),
		connection.IdleTime(24*time.Hour),
	)
	if err := s.srv.Start(addr); err != nil {
		s.cancel()
		return nil, fmt.Errorf("moovhost: %w", err)
	}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.srv.Addr }

// Close stops accepting, closes every connection and waits for them.
func (s *Server) Close() {
	s.cancel()
	s.srv.Close()
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	return Stats{Handled: s.handled.Load(), ReplyErrors: s.replyErrs.Load(), ConnErrors: s.connErrors.Load()}
}

// handle answers one inbound message; iso8583-connection calls it in a
// goroutine of its own.
func (s *Server) handle(c *connection.Connection, m *iso8583.Message) {
	reply, err := s.answer(m)
	if err == nil && reply != nil {
		err = c.Reply(reply)
	}
	if err != nil {
		s.replyErrs.Add(1)
		return
	}
	if reply != nil {
		s.handled.Add(1)
	}
}

// answer builds the reply to m, or nil for a message that gets none (a
// response, or one without a readable MTI).
func (s *Server) answer(m *iso8583.Message) (*iso8583.Message, error) {
	mti, _ := m.GetMTI()
	var replyMTI string
	switch mti {
	case "0100", "0101":
		replyMTI = "0110"
	case "0220":
		replyMTI = "0230"
	case "0400", "0401":
		replyMTI = "0410"
	case "0800":
		replyMTI = "0810"
	default:
		if len(mti) != 4 || mti[2] < '0' || mti[2] > '8' || (mti[2]-'0')%2 == 1 {
			return nil, nil
		}
		b := []byte(mti)
		b[2]++
		if (b[3]-'0')%2 == 1 {
			b[3]--
		}
		return s.reply(m, string(b), Answer{Code: CodeInvalidTxn})
	}
	if mti == "0800" {
		return s.reply(m, replyMTI, Answer{Code: CodeApproved})
	}
	r, ok := parseRequest(m, mti)
	if !ok {
		return s.reply(m, replyMTI, Answer{Code: CodeFormatError})
	}
	ctx, cancel := context.WithTimeout(s.ctx, RequestTimeout)
	defer cancel()
	var a Answer
	switch mti {
	case "0100", "0101":
		switch {
		case r.ProcessingCode[:2] != "00" && !r.Refund():
			a = Answer{Code: CodeInvalidTxn}
		default:
			a = s.ledger.Authorize(ctx, r)
		}
	case "0220":
		a = s.ledger.Capture(ctx, r)
	default:
		a = s.ledger.Reverse(ctx, r)
	}
	return s.reply(m, replyMTI, a)
}

// reply builds the reply message: the echoed fields, DE 38 on an approval
// that has one, and DE 39.
func (s *Server) reply(m *iso8583.Message, mti string, a Answer) (*iso8583.Message, error) {
	out := iso8583.NewMessage(s.spec)
	out.MTI(mti)
	for _, id := range echoFields {
		if m.GetField(id) == nil {
			continue
		}
		v, err := m.GetString(id)
		if err != nil {
			continue
		}
		if err := out.Field(id, v); err != nil {
			return nil, err
		}
	}
	if mti == "0810" {
		if v, _ := m.GetString(70); v != "" {
			if err := out.Field(70, v); err != nil {
				return nil, err
			}
		}
	}
	if a.Code == CodeApproved && a.AuthCode != "" {
		if err := out.Field(38, a.AuthCode); err != nil {
			return nil, err
		}
	}
	if err := out.Field(39, a.Code); err != nil {
		return nil, err
	}
	return out, nil
}

// parseRequest reads the fields the rules need. It reports false when a
// required field is missing or malformed (format error, 30).
func parseRequest(m *iso8583.Message, mti string) (*Request, bool) {
	get := func(id int) string { v, _ := m.GetString(id); return v }
	r := &Request{
		MTI:      mti,
		PAN:      get(2),
		Expiry:   get(14),
		RRN:      get(37),
		AuthCode: get(38),
		Currency: get(49),
	}
	// DE 3 is numeric in the spec: moov-io drops its leading zeros.
	pc := get(3)
	if len(pc) > 6 {
		return nil, false
	}
	r.ProcessingCode = zeroPad(pc, 6)
	r.STAN = get(11)
	if r.PAN == "" || r.STAN == "" || r.RRN == "" || m.GetField(3) == nil || m.GetField(4) == nil {
		return nil, false
	}
	// DE 4 is padded with zeros, which moov-io removes: "" is 0.
	if amt := get(4); amt != "" {
		n, err := strconv.ParseInt(amt, 10, 64)
		if err != nil || n < 0 {
			return nil, false
		}
		r.AmountCents = n
	}
	if v := get(48); v != "" {
		cvv, has, ok := parseDE48(v)
		if !ok {
			return nil, false
		}
		r.CVV, r.HasCVV = cvv, has
	}
	if v := get(95); v != "" {
		if len(v) < 12 {
			return nil, false
		}
		n, err := strconv.ParseInt(v[:12], 10, 64)
		if err != nil || n < 0 {
			return nil, false
		}
		r.ReplacementCents, r.HasReplacement = n, true
	}
	if (mti == "0220" || mti == "0400" || mti == "0401") && r.AuthCode == "" {
		return nil, false
	}
	return r, true
}

func zeroPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// parseDE48 finds sub-element 92 (the CVV2) in DE 48: a transaction
// category code character, then sub-elements of a 2-digit tag, a 2-digit
// length and the value.
func parseDE48(v string) (cvv string, has, ok bool) {
	rest := v[1:]
	for len(rest) > 0 {
		if len(rest) < 4 {
			return "", false, false
		}
		n, err := strconv.Atoi(rest[2:4])
		if err != nil || n < 0 || len(rest) < 4+n {
			return "", false, false
		}
		if rest[:2] == "92" && !has {
			cvv, has = rest[4:4+n], true
		}
		rest = rest[4+n:]
	}
	return cvv, has, true
}
