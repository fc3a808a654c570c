package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583/network"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/server"
)

// The end-to-end tests of the ISO 8583 host talk to a real server over
// loopback TCP through moov-io's iso8583-connection client (an independent
// implementation of the framing and the request/reply matching), and
// provision and inspect everything through the HTTP API.

// isoHangTimeout only keeps a broken build from hanging the suite; no test
// asserts how fast a reply comes back.
const isoHangTimeout = 30 * time.Second

// isoDE7 is the transmission date and time of the originals the tests send;
// follow-ups carry isoDE7Later.
const (
	isoDE7      = "1121095500"
	isoDE7Later = "1121101500"
)

// isoEchoFields are the data elements every reply copies from its request.
var isoEchoFields = []int{2, 3, 4, 7, 11, 37, 41, 42, 49}

func isoLengthReader(r io.Reader) (int, error) {
	h := network.NewBinary2BytesHeader()
	if _, err := h.ReadFrom(r); err != nil {
		return 0, err
	}
	return h.Length(), nil
}

func isoLengthWriter(w io.Writer, n int) (int, error) {
	h := network.NewBinary2BytesHeader()
	if err := h.SetLength(n); err != nil {
		return 0, err
	}
	return h.WriteTo(w)
}

// stanRRNMatcher matches a reply to its request by DE 11 and DE 37 together,
// as the profile tells clients to.
type stanRRNMatcher struct{}

func (stanRRNMatcher) GenerateRequestID(m *iso8583.Message) (string, error) {
	stan, err := m.GetString(11)
	if err != nil {
		return "", err
	}
	if stan == "" {
		return "", errors.New("message without DE 11")
	}
	rrn, err := m.GetString(37)
	if err != nil {
		return "", err
	}
	return stan + "|" + rrn, nil
}

// isoFields is a message's data elements by number, each as it is set on
// the moov-io message (fixed fields at their full length).
type isoFields map[int]string

// with returns a copy of f with the field set; "" removes it.
func (f isoFields) with(id int, v string) isoFields {
	out := make(isoFields, len(f)+1)
	for k, x := range f {
		out[k] = x
	}
	if v == "" {
		delete(out, id)
	} else {
		out[id] = v
	}
	return out
}

func isoAmount(cents int64) string { return fmt.Sprintf("%012d", cents) }

func isoDE43(name, city, country string) string {
	return fmt.Sprintf("%-25s%-13s%-2s", name, city, country)
}

func isoDE48(cvv string) string { return fmt.Sprintf("R92%02d%s", len(cvv), cvv) }

// isoDE90 names an original by its MTI, STAN and DE 7.
func isoDE90(mti, stan, de7 string) string { return mti + stan + de7 + strings.Repeat("0", 22) }

// isoDE95 is a replacement amount (the amount that remains).
func isoDE95(cents int64) string { return isoAmount(cents) + strings.Repeat("0", 30) }

// isoCard is what the network knows of a card.
type isoCard struct {
	ID, AgentID, UserID string
	PAN, CVV, Expiry    string // Expiry is DE 14, YYMM
}

// isoReply is a reply with the request it answers.
type isoReply struct {
	Req, Msg *iso8583.Message
	MTI      string
	Code     string // DE 39
	AuthCode string // DE 38
	wire     map[int]string
}

// has reports whether the reply carries the data element.
func (r *isoReply) has(id int) bool { _, ok := r.wire[id]; return ok }

// balance decodes DE 54's available-balance amount (amount type 02).
func (r *isoReply) balance() (int64, bool) {
	v, err := r.Msg.GetString(54)
	if err != nil || v == "" {
		return 0, false
	}
	for len(v) >= 20 {
		block := v[:20]
		v = v[20:]
		if block[2:4] != "02" {
			continue
		}
		n, err := strconv.ParseInt(block[8:20], 10, 64)
		if err != nil {
			return 0, false
		}
		if block[7] == 'D' {
			n = -n
		}
		return n, true
	}
	return 0, false
}

// isoPacked returns each data element as it is on the wire (with its
// length prefix for variable fields), so echoes compare byte for byte.
func isoPacked(m *iso8583.Message) (map[int]string, error) {
	out := map[int]string{}
	for id, f := range m.GetFields() {
		if id < 2 {
			continue
		}
		b, err := f.Pack()
		if err != nil {
			return nil, fmt.Errorf("pack DE %d: %w", id, err)
		}
		out[id] = string(b)
	}
	return out, nil
}

// isoBuild makes a moov-io message with the given spec.
func isoBuild(spec *iso8583.MessageSpec, mti string, f isoFields) (*iso8583.Message, error) {
	m := iso8583.NewMessage(spec)
	m.MTI(mti)
	for id, v := range f {
		if err := m.Field(id, v); err != nil {
			return nil, fmt.Errorf("DE %d: %w", id, err)
		}
	}
	return m, nil
}

// isoExchange sends one request and waits for its reply. It is safe to call
// from many goroutines on one connection: the client pipelines them.
func isoExchange(c *connection.Connection, mti string, f isoFields) (*isoReply, error) {
	req, err := isoBuild(iso.Spec(), mti, f)
	if err != nil {
		return nil, err
	}
	return isoExchangeMsg(c, req)
}

func isoExchangeMsg(c *connection.Connection, req *iso8583.Message) (*isoReply, error) {
	msg, err := c.Send(req)
	if err != nil {
		return nil, err
	}
	r := &isoReply{Req: req, Msg: msg}
	if r.MTI, err = msg.GetMTI(); err != nil {
		return nil, err
	}
	if r.wire, err = isoPacked(msg); err != nil {
		return nil, err
	}
	if r.Code, err = msg.GetString(39); err != nil {
		return nil, err
	}
	if r.AuthCode, err = msg.GetString(38); err != nil {
		return nil, err
	}
	return r, nil
}

// isoHarness is a running server, an ISO connection to it and helpers to
// provision through the HTTP API.
type isoHarness struct {
	*testenv.Env
	t      *testing.T
	conn   *connection.Connection
	seq    atomic.Int64
	emails atomic.Int64
}

func startISO(t *testing.T, cfg server.Config) *isoHarness {
	t.Helper()
	h := &isoHarness{Env: testenv.Start(t, cfg), t: t}
	h.conn = h.dial()
	return h
}

// dial opens another client connection to the server's ISO port.
func (h *isoHarness) dial() *connection.Connection {
	h.t.Helper()
	c, err := connection.New(h.Server.ISOAddr(), iso.Spec(), isoLengthReader, isoLengthWriter,
		connection.SendTimeout(isoHangTimeout), connection.ConnectTimeout(isoHangTimeout),
		connection.SetRequestIDGenerator(stanRRNMatcher{}))
	require.NoError(h.t, err)
	require.NoError(h.t, c.Connect())
	h.t.Cleanup(func() { _ = c.Close() })
	return c
}

// restart stops the server, starts it again on the same data directory and
// reconnects.
func (h *isoHarness) restart() {
	h.t.Helper()
	_ = h.conn.Close()
	h.Restart()
	h.conn = h.dial()
}

// send sends a request on the harness connection and waits for its reply.
func (h *isoHarness) send(mti string, f isoFields) *isoReply {
	h.t.Helper()
	r, err := isoExchange(h.conn, mti, f)
	require.NoError(h.t, err, "send %s", mti)
	return r
}

// requireReply checks the reply MTI, the response code and the echoed
// fields; a decline must not carry DE 38.
func (h *isoHarness) requireReply(r *isoReply, mti, code string) {
	h.t.Helper()
	require.Equal(h.t, mti, r.MTI, "reply MTI")
	require.Equal(h.t, code, r.Code, "DE 39 of the %s", r.MTI)
	req, err := isoPacked(r.Req)
	require.NoError(h.t, err)
	for _, id := range isoEchoFields {
		if id == 4 && code == "10" {
			continue // a partial approval carries the approved amount
		}
		if v, ok := req[id]; ok {
			require.Equal(h.t, v, r.wire[id], "DE %d is echoed byte for byte", id)
		} else {
			require.False(h.t, r.has(id), "DE %d was not sent, so it is not echoed", id)
		}
	}
	if code != "00" && code != "10" {
		require.False(h.t, r.has(38), "a decline carries no DE 38")
	}
}

// requireApproved is requireReply for an approval that carries a
// 6-character approval code in DE 38.
func (h *isoHarness) requireApproved(r *isoReply, mti string) {
	h.t.Helper()
	h.requireReply(r, mti, "00")
	require.Len(h.t, r.AuthCode, 6, "an approval carries DE 38")
}

// next returns a fresh STAN and RRN.
func (h *isoHarness) next() (stan, rrn string) {
	n := h.seq.Add(1)
	return fmt.Sprintf("%06d", n%1_000_000), fmt.Sprintf("53250%07d", n)
}

// purchase is a complete 0100 purchase of amount on card at the default
// merchant, with the card's CVV2.
func (h *isoHarness) purchase(c isoCard, amount int64) isoFields {
	stan, rrn := h.next()
	return isoFields{
		2: c.PAN, 3: "000000", 4: isoAmount(amount), 7: isoDE7, 11: stan, 12: "095500", 13: "1121",
		14: c.Expiry, 18: "5411", 22: "051", 32: "123456", 37: rrn, 41: "TERM0001",
		42: "MERCHANT0000001", 43: isoDE43("ACME GROCERY", "SPRINGFIELD", "US"), 48: isoDE48(c.CVV), 49: "840",
	}
}

// at moves a request to another merchant (DE 42 and the DE 43 name).
func (f isoFields) at(merchantID, name string) isoFields {
	return f.with(42, fmt.Sprintf("%-15s", merchantID)).with(43, isoDE43(name, "SPRINGFIELD", "US"))
}

// followUp is a clearing or a reversal of orig for amount: a new STAN and
// DE 7, orig's RRN, and DE 90 naming orig by its STAN and DE 7.
func (h *isoHarness) followUp(orig isoFields, amount int64) isoFields {
	stan, _ := h.next()
	f := isoFields{
		3: orig[3], 4: isoAmount(amount), 7: isoDE7Later, 11: stan, 37: orig[37], 41: orig[41],
		42: orig[42], 43: orig[43], 49: "840", 90: isoDE90("0100", orig[11], orig[7]),
	}
	if orig[2] != "" {
		f[2] = orig[2]
	}
	return f
}

// newAgent creates an approved user funded with cents and an agent.
func (h *isoHarness) newAgent(cents int64) (userID, agentID string) {
	h.t.Helper()
	n := h.emails.Add(1)
	userID, agentID, _ = h.Funded(fmt.Sprintf("iso-%d-%d@example.com", time.Now().UnixNano(), n), cents)
	return userID, agentID
}

// newCard issues a rawPan card (multi-use unless extra says otherwise) and
// reads its credentials.
func (h *isoHarness) newCard(agentID string, extra map[string]any) isoCard {
	h.t.Helper()
	body := map[string]any{"purpose": "iso e2e", "type": "multi", "credentialExposure": "rawPan", "acknowledgeRawPanRisk": true}
	for k, v := range extra {
		body[k] = v
	}
	c := h.Must(201, "POST", "/v1/agents/"+agentID+"/cards", body)
	if body["type"] == "multi" {
		h.declareIntent(c.Str("id"))
	}
	d := h.Must(200, "POST", "/v1/cards/"+c.Str("id")+"/details", map[string]any{"summary": "iso e2e"})
	require.Len(h.t, d.Str("expirationYear"), 4)
	return isoCard{ID: c.Str("id"), AgentID: agentID, UserID: c.Str("userId"), PAN: d.Str("pan"), CVV: d.Str("cvv"),
		Expiry: d.Str("expirationYear")[2:] + d.Str("expirationMonth")}
}

// declareIntent declares a pending intent on a multi-use card, which its
// details call requires.
func (h *isoHarness) declareIntent(cardID string) {
	h.t.Helper()
	intentID := fmt.Sprintf("iso-e2e-%d", h.emails.Add(1))
	h.Must(201, "POST", "/v1/cards/"+cardID+"/intents", map[string]any{"intentId": intentID, "summary": "iso e2e"})
}

// fundedCard is a new user with cents, an agent and one card.
func (h *isoHarness) fundedCard(cents int64, extra map[string]any) isoCard {
	h.t.Helper()
	_, agentID := h.newAgent(cents)
	return h.newCard(agentID, extra)
}

type isoBalance struct{ Available, Pending, Settled int64 }

func (h *isoHarness) balance(userID string) isoBalance {
	h.t.Helper()
	b := h.Must(200, "GET", "/v1/balances/"+userID, nil)
	return isoBalance{b.Num("available"), b.Num("pending"), b.Num("settled")}
}

// txns lists every transaction the query selects, following the cursor.
func (h *isoHarness) txns(query string) []map[string]any {
	h.t.Helper()
	var all []map[string]any
	cursor := ""
	for {
		path := "/v1/transactions?limit=100&" + query
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := h.Must(200, "GET", path, nil)
		all = append(all, r.Data()...)
		if r.JSON["hasMore"] != true {
			return all
		}
		cursor = r.Str("cursor")
	}
}

// lastTxn is the newest transaction of a card.
func (h *isoHarness) lastTxn(cardID string) map[string]any {
	h.t.Helper()
	d := h.Must(200, "GET", "/v1/transactions?limit=1&cardId="+cardID, nil).Data()
	require.NotEmpty(h.t, d, "card %s has transactions", cardID)
	return d[0]
}

func (h *isoHarness) txn(id string) map[string]any {
	h.t.Helper()
	return h.Must(200, "GET", "/v1/transactions/"+id, nil).JSON
}

func (h *isoHarness) cardStatus(cardID string) string {
	h.t.Helper()
	return h.Must(200, "GET", "/v1/cards/"+cardID, nil).Str("status")
}

// now is the server's clock.
func (h *isoHarness) now() time.Time {
	h.t.Helper()
	return time.UnixMilli(h.Must(200, "GET", "/v1/simulate/clock", nil).Num("now")).UTC()
}

// advance moves the virtual clock (and runs what the new time makes due).
func (h *isoHarness) advance(d time.Duration) time.Time {
	h.t.Helper()
	minutes := int64((d + time.Minute - 1) / time.Minute)
	r := h.Must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": minutes})
	return time.UnixMilli(r.Num("now")).UTC()
}

// events returns the recorded events of a type, oldest first, found
// through the ledger's index by type and read from the store.
func (h *isoHarness) events(typ string) []model.Event {
	h.t.Helper()
	db := h.Server.Ledger().Store()
	ids := h.Server.Ledger().EventIDsByType(typ, "", math.MaxInt32)
	slices.Reverse(ids)
	out := make([]model.Event, 0, len(ids))
	for _, id := range ids {
		raw, err := db.Get(keyspace.EventKey(id))
		require.NoError(h.t, err)
		rec, err := eventlog.Decode(id, raw)
		require.NoError(h.t, err)
		var data any
		require.NoError(h.t, json.Unmarshal(rec.Data, &data))
		out = append(out, model.Event{ID: rec.ID, Type: rec.Type, CreatedAt: rec.CreatedAt, Data: data})
	}
	return out
}

// eventsFor returns the events of a type whose data names the value under
// key (e.g. "cardId").
func (h *isoHarness) eventsFor(typ, key, value string) []map[string]any {
	h.t.Helper()
	var out []map[string]any
	for _, ev := range h.events(typ) {
		raw, err := json.Marshal(ev.Data)
		require.NoError(h.t, err)
		var data map[string]any
		require.NoError(h.t, json.Unmarshal(raw, &data))
		if data[key] == value {
			out = append(out, data)
		}
	}
	return out
}

// num reads a JSON number field of a decoded object.
func isoNum(m map[string]any, k string) int64 {
	f, _ := m[k].(float64)
	return int64(f)
}

// str reads a JSON string field of a decoded object ("" when null).
func isoStr(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// run is t.Run for subtests that share the harness: while the subtest runs,
// the harness (and its HTTP client) report to the subtest, so a failed
// check stops the subtest that made it. Subtests must not be parallel.
func (h *isoHarness) run(t *testing.T, name string, f func(t *testing.T)) bool {
	return t.Run(name, func(st *testing.T) {
		pt, pe := h.t, h.Env.T
		h.t, h.Env.T = st, st
		defer func() { h.t, h.Env.T = pt, pe }()
		f(st)
	})
}
