package testenv

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledgersim/ledgersim/iso"
)

// ISOClient is a minimal pipelining ISO 8583 client for tests: it writes
// requests on one connection and delivers each reply to the waiter of its
// STAN and RRN.
type ISOClient struct {
	conn    net.Conn
	mu      sync.Mutex
	waiters map[string]chan *iso.Reply
	stan    atomic.Int64
	closed  chan struct{}
	dead    bool
}

// DialISO connects to an ISO listener with 2-byte binary framing.
func DialISO(addr string) (*ISOClient, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &ISOClient{conn: conn, waiters: map[string]chan *iso.Reply{}, closed: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func (c *ISOClient) readLoop() {
	defer func() {
		// Every request still waiting gets its channel closed, so no caller
		// waits forever on a dead connection.
		c.mu.Lock()
		for k, ch := range c.waiters {
			close(ch)
			delete(c.waiters, k)
		}
		c.dead = true
		c.mu.Unlock()
		close(c.closed)
	}()
	fr := iso.NewFrameReader(c.conn, iso.Binary2, 1<<16)
	for {
		frame, err := fr.Next()
		if err != nil {
			return
		}
		rep, err := iso.UnpackResponse(frame)
		if err != nil {
			continue
		}
		c.mu.Lock()
		ch := c.waiters[rep.STAN+"|"+rep.RRN]
		delete(c.waiters, rep.STAN+"|"+rep.RRN)
		c.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
}

// NextSTAN returns a fresh 6-digit STAN for this client.
func (c *ISOClient) NextSTAN() string { return fmt.Sprintf("%06d", c.stan.Add(1)%1000000) }

// Send writes a request and returns a channel that receives its reply; the
// channel is closed without a value if the connection ends first.
func (c *ISOClient) Send(r *iso.Request) (<-chan *iso.Reply, error) {
	raw, err := iso.PackRequest(r)
	if err != nil {
		return nil, err
	}
	ch := make(chan *iso.Reply, 1)
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return nil, fmt.Errorf("connection closed")
	}
	c.waiters[r.STAN+"|"+r.RRN] = ch
	err = iso.WriteFrame(c.conn, iso.Binary2, raw)
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// Call sends a request and waits for its reply.
func (c *ISOClient) Call(r *iso.Request, timeout time.Duration) (*iso.Reply, error) {
	ch, err := c.Send(r)
	if err != nil {
		return nil, err
	}
	select {
	case rep, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("connection closed")
		}
		return rep, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("no reply within %s", timeout)
	}
}

// Closed is closed when the connection has ended.
func (c *ISOClient) Closed() <-chan struct{} { return c.closed }

// Close closes the connection.
func (c *ISOClient) Close() error { return c.conn.Close() }

// Card is what a test needs to send card-present messages.
type Card struct {
	ID, UserID, AgentID, PAN, CVV, Expiry string // Expiry is YYMM
}

// AuthRequest builds a complete 0100 purchase for card.
func AuthRequest(card Card, stan, rrn string, cents int64, merchantID, merchant string) *iso.Request {
	now := time.Now().UTC()
	return &iso.Request{
		MTI: "0100", PAN: card.PAN, ProcessingCode: "000000", AmountCents: cents, HasAmount: true,
		TransmissionDateTime: now.Format("0102150405"), STAN: stan, LocalTime: now.Format("150405"),
		LocalDate: now.Format("0102"), Expiry: card.Expiry, MCC: "5812", POSEntryMode: "010", RRN: rrn,
		TerminalID: "TERM0001", MerchantID: merchantID, MerchantName: merchant, MerchantCity: "SAN FRANCISCO",
		MerchantCountry: "US", CurrencyCode: "840", CVV2: card.CVV, HasCVV2: card.CVV != "",
	}
}

// RawCard creates a multi-use rawPan card for agentID through the API and
// reads its credentials.
func (e *Env) RawCard(agentID string, extra map[string]any) Card {
	e.T.Helper()
	body := map[string]any{"purpose": "test", "type": "multi", "credentialExposure": "rawPan", "acknowledgeRawPanRisk": true}
	for k, v := range extra {
		body[k] = v
	}
	c := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", body)
	if c.Str("type") == "multi" {
		// A multi-use card's details need a declared intent.
		e.Must(201, "POST", "/v1/cards/"+c.Str("id")+"/intents", map[string]any{"intentId": "provision-" + c.Str("id"), "summary": "read the card for tests"})
	}
	d := e.Must(200, "POST", "/v1/cards/"+c.Str("id")+"/details", map[string]any{"summary": "test"})
	return Card{ID: c.Str("id"), UserID: c.Str("userId"), AgentID: agentID, PAN: d.Str("pan"), CVV: d.Str("cvv"),
		Expiry: d.Str("expirationYear")[2:] + d.Str("expirationMonth")}
}
