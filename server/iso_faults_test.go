package server_test

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/server"
)

// rawISO is a client connection that writes many requests in one write
// and reads the replies as they come, so a test sees exactly what the
// wire carries: a reply left out, doubled, or the connection closed.
// Messages are packed and unpacked with moov-io/iso8583.
type rawISO struct {
	t  *testing.T
	nc net.Conn
}

func (h *isoHarness) rawConn() *rawISO {
	h.t.Helper()
	nc, err := net.DialTimeout("tcp", h.Server.ISOAddr(), isoHangTimeout)
	require.NoError(h.t, err)
	require.NoError(h.t, nc.SetDeadline(time.Now().Add(isoHangTimeout)))
	h.t.Cleanup(func() { _ = nc.Close() })
	return &rawISO{t: h.t, nc: nc}
}

// write sends the requests in one write.
func (c *rawISO) write(mti string, reqs ...isoFields) {
	c.t.Helper()
	var buf []byte
	for _, f := range reqs {
		m, err := isoBuild(iso.Spec(), mti, f)
		require.NoError(c.t, err)
		b, err := m.Pack()
		require.NoError(c.t, err)
		buf = append(buf, byte(len(b)>>8), byte(len(b)))
		buf = append(buf, b...)
	}
	_, err := c.nc.Write(buf)
	require.NoError(c.t, err)
}

// rawReply is a reply's STAN and DE 39.
type rawReply struct{ STAN, Code string }

// read reads n replies, or fewer if the server closes the connection
// first; closed reports the close.
func (c *rawISO) read(n int) (replies []rawReply, closed bool) {
	c.t.Helper()
	for len(replies) < n {
		l, err := isoLengthReader(c.nc)
		if err != nil {
			var ne net.Error
			require.False(c.t, errors.As(err, &ne) && ne.Timeout(), "no reply and no close")
			return replies, true
		}
		frame := make([]byte, l)
		_, err = io.ReadFull(c.nc, frame)
		require.NoError(c.t, err)
		m := iso8583.NewMessage(iso.Spec())
		require.NoError(c.t, m.Unpack(frame))
		stan, err := m.GetString(11)
		require.NoError(c.t, err)
		code, err := m.GetString(39)
		require.NoError(c.t, err)
		replies = append(replies, rawReply{stan, code})
	}
	return replies, false
}

// quiet checks that nothing more arrives for a moment. The wait can only
// miss a reply that should not have come, never fail a correct server.
func (c *rawISO) quiet() {
	c.t.Helper()
	require.NoError(c.t, c.nc.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	one := make([]byte, 1)
	_, err := c.nc.Read(one)
	var ne net.Error
	require.True(c.t, errors.As(err, &ne) && ne.Timeout(), "nothing more arrives (err %v)", err)
	require.NoError(c.t, c.nc.SetReadDeadline(time.Now().Add(isoHangTimeout)))
}

// faultCount reads ledgersim_faults_injected_total for an action.
func (h *isoHarness) faultCount(action string) int64 {
	h.t.Helper()
	fams, err := h.Server.Registry().Gather()
	require.NoError(h.t, err)
	for _, f := range fams {
		if f.GetName() != "ledgersim_faults_injected_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == action {
				return int64(m.GetCounter().GetValue())
			}
		}
	}
	h.t.Fatalf("no ledgersim_faults_injected_total{action=%q}", action)
	return 0
}

// TestISOFaultInjection puts one rule on card A for one request (count 1)
// and sends, in one write, a purchase on A, one on card B and another on
// A. Only the first is faulted; the wire shows it, and the ledger shows
// every decision recorded as usual (for respond: declined with the rule's
// code and reason fault_injected).
func TestISOFaultInjection(t *testing.T) {
	h := startISO(t, server.Config{})
	tests := []struct {
		action string
		extra  map[string]any
		// want lists the replies by request (a1, b, a2) in order, with
		// DE 39; closed means the connection is closed after them.
		want       func(a1, b, a2 string) []rawReply
		closed     bool
		a1Status   string
		a1Reason   string
		a1Response string
	}{
		{"delay", map[string]any{"delayMs": 30}, func(a1, b, a2 string) []rawReply {
			return []rawReply{{a1, "00"}, {b, "00"}, {a2, "00"}}
		}, false, "authorized", "", "00"},
		{"noReply", nil, func(a1, b, a2 string) []rawReply {
			return []rawReply{{b, "00"}, {a2, "00"}}
		}, false, "authorized", "", "00"},
		{"duplicateReply", nil, func(a1, b, a2 string) []rawReply {
			return []rawReply{{a1, "00"}, {a1, "00"}, {b, "00"}, {a2, "00"}}
		}, false, "authorized", "", "00"},
		{"respond", map[string]any{"responseCode": "91"}, func(a1, b, a2 string) []rawReply {
			return []rawReply{{a1, "91"}, {b, "00"}, {a2, "00"}}
		}, false, "declined", "fault_injected", "91"},
		{"closeConnection", nil, func(a1, b, a2 string) []rawReply { return nil }, true, "authorized", "", "00"},
	}
	for _, tc := range tests {
		h.run(t, tc.action, func(t *testing.T) {
			_, agentID := h.newAgent(100_000)
			a, b := h.newCard(agentID, nil), h.newCard(agentID, nil)
			body := map[string]any{"cardId": a.ID, "mti": "0100", "action": tc.action, "count": 1}
			for k, v := range tc.extra {
				body[k] = v
			}
			rule := h.Must(201, "POST", "/v1/simulate/faults", body)
			before := h.faultCount(tc.action)

			a1, rb, a2 := h.purchase(a, 1_000), h.purchase(b, 1_000), h.purchase(a, 2_000)
			c := h.rawConn()
			if tc.closed {
				// Alone, so that nothing else is read before the close.
				c.write("0100", a1)
				got, closed := c.read(1)
				require.Empty(t, got)
				require.True(t, closed, "the connection is closed instead of replying")
				c = h.rawConn()
				c.write("0100", rb, a2)
			} else {
				c.write("0100", a1, rb, a2)
			}
			want := tc.want(a1[11], rb[11], a2[11])
			if tc.closed {
				want = []rawReply{{rb[11], "00"}, {a2[11], "00"}}
			}
			got, closed := c.read(len(want))
			require.False(t, closed)
			require.Equal(t, want, got)
			c.quiet()

			txns := h.txns("cardId=" + a.ID)
			require.Len(t, txns, 2, "both of A's purchases are recorded")
			first := txns[1] // newest first
			require.EqualValues(t, 1_000, isoNum(first, "amount"))
			require.Equal(t, tc.a1Status, isoStr(first, "status"))
			require.Equal(t, tc.a1Reason, isoStr(first, "declinedReason"))
			require.Equal(t, tc.a1Response, isoStr(first, "responseCode"))
			require.Equal(t, "authorized", isoStr(txns[0], "status"), "count 1: the second purchase is not faulted")

			list := h.Must(200, "GET", "/v1/simulate/faults", nil).Data()
			var matched int64 = -1
			for _, r := range list {
				if r["id"] == rule.Str("id") {
					matched = isoNum(r, "matched")
				}
			}
			require.EqualValues(t, 1, matched, "the rule's matched count")
			require.Equal(t, before+1, h.faultCount(tc.action))
			h.Must(200, "DELETE", "/v1/simulate/faults/"+rule.Str("id"), nil)
		})
	}
}

// TestISOFaultsFromFile: --faults loads rules at start, and a bad file
// stops the start with an error that names the rule and the field.
func TestISOFaultsFromFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`[{"action":"noReply"},{"action":"delay","delayMs":-1}]`), 0o600))
	_, err := server.Start(server.Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", ISOAddr: "127.0.0.1:0",
		APIKey: "lk_test_faults_file_0123456789", FaultsFile: bad})
	require.ErrorContains(t, err, "rule 1: delayMs")

	good := filepath.Join(dir, "faults.json")
	require.NoError(t, os.WriteFile(good, []byte(`[{"mti":"0100","last4":"0000","action":"respond","responseCode":"05"},{"mti":"0200","action":"noReply"}]`), 0o600))
	h := startISO(t, server.Config{FaultsFile: good})
	list := h.Must(200, "GET", "/v1/simulate/faults", nil).Data()
	require.Len(t, list, 2)
	require.Equal(t, "respond", list[0]["action"])
	require.Equal(t, "noReply", list[1]["action"])

	// Rules live in memory: a restart without the flag has none.
	h.Env.Cfg.FaultsFile = ""
	h.restart()
	require.Empty(t, h.Must(200, "GET", "/v1/simulate/faults", nil).Data())
}

// TestISOFaultRespondOnFollowUpsAndREST: a respond rule answers a reversal
// with its code and applies nothing (the authorization stays open until a
// reversal gets through), and the REST simulate endpoints are never
// faulted.
func TestISOFaultRespondOnFollowUpsAndREST(t *testing.T) {
	h := startISO(t, server.Config{})
	card := h.fundedCard(100_000, nil)
	auth := h.purchase(card, 2_500)
	h.requireApproved(h.send("0100", auth), "0110")
	txnID := isoStr(h.lastTxn(card.ID), "id")

	rule := h.Must(201, "POST", "/v1/simulate/faults", map[string]any{"mti": "0400", "action": "respond", "responseCode": "96"})
	h.requireReply(h.send("0400", h.followUp(auth, 2_500)), "0410", "96")
	require.Equal(t, "authorized", isoStr(h.txn(txnID), "status"), "a refused reversal applies nothing")

	// A rule that matches everything leaves the REST path alone.
	all := h.Must(201, "POST", "/v1/simulate/faults", map[string]any{"action": "respond", "responseCode": "91"})
	fresh := h.fundedCard(10_000, nil)
	rest := h.Must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": fresh.ID, "amount": 100})
	require.Equal(t, true, rest.JSON["approved"], "%s", rest.Body)

	h.Must(200, "DELETE", "/v1/simulate/faults/"+rule.Str("id"), nil)
	h.Must(200, "DELETE", "/v1/simulate/faults/"+all.Str("id"), nil)
	h.requireReply(h.send("0400", h.followUp(auth, 2_500)), "0410", "00")
	require.Equal(t, "reversed", isoStr(h.txn(txnID), "status"))
}
