package server_test

import (
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/server"
)

// isoReplyMTI is the reply MTI of each request MTI the tests send.
var isoReplyMTI = map[string]string{
	"0100": "0110", "0101": "0110", "0120": "0130", "0200": "0210", "0220": "0230",
	"0400": "0410", "0401": "0410", "0420": "0430", "0421": "0430", "0300": "0310", "0800": "0810",
}

func isoLuhnDigit(payload string) byte {
	sum, double := 0, true
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// unissuedPAN is a Luhn-valid PAN in the card's BIN that was not issued.
func unissuedPAN(c isoCard) string {
	b := []byte(c.PAN[:len(c.PAN)-1])
	b[8] = '0' + (b[8]-'0'+1)%10
	return string(b) + string(isoLuhnDigit(string(b)))
}

// badLuhnPAN is the card's PAN with a wrong check digit.
func badLuhnPAN(c isoCard) string {
	b := []byte(c.PAN)
	b[len(b)-1] = '0' + (b[len(b)-1]-'0'+1)%10
	return string(b)
}

// otherExpiry is a DE 14 that is not the card's.
func otherExpiry(c isoCard) string {
	b := []byte(c.Expiry)
	b[1] = '0' + (b[1]-'0'+1)%10
	return string(b)
}

// wrongCVV is a CVV2 that is not the card's.
func wrongCVV(c isoCard) string {
	b := []byte(c.CVV)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

func TestISONetworkManagement(t *testing.T) {
	h := startISO(t, server.Config{})
	tests := []struct {
		name, de70, code string
	}{
		{"sign-on", "001", "00"},
		{"echo test", "301", "00"},
		{"sign-off", "002", "00"},
		{"echo after sign-off: the connection stays usable", "301", "00"},
		{"unknown network management code", "999", "12"},
	}
	for _, tc := range tests {
		h.run(t, tc.name, func(t *testing.T) {
			stan, _ := h.next()
			r := h.send("0800", isoFields{7: isoDE7, 11: stan, 70: tc.de70})
			require.Equal(t, "0810", r.MTI)
			require.Equal(t, tc.code, r.Code)
			require.Equal(t, isoDE7, r.wire[7])
			require.Equal(t, stan, r.wire[11])
			require.Equal(t, tc.de70, r.wire[70])
			for id := range r.wire {
				require.Contains(t, []int{7, 11, 39, 70}, id, "an 0810 carries DE 7, 11, 39 and 70 only")
			}
		})
	}
	// Signing on is not needed before financial messages, and signing off
	// does not stop them.
	c := h.fundedCard(10_000, nil)
	h.requireApproved(h.send("0100", h.purchase(c, 100)), "0110")
}

// TestISOMessageTypes sends every request MTI of the profile and checks the
// reply MTI, the echoed fields, DE 38 on approvals and DE 54 on a balance
// inquiry.
func TestISOMessageTypes(t *testing.T) {
	h := startISO(t, server.Config{})
	c := h.fundedCard(1_000_000, nil)
	authorized := func(amount int64) isoFields {
		f := h.purchase(c, amount)
		h.requireApproved(h.send("0100", f), "0110")
		return f
	}
	tests := []struct {
		name, mti string
		fields    func() isoFields
	}{
		{"0100 purchase", "0100", func() isoFields { return h.purchase(c, 1250) }},
		{"0101 repeat never seen before is decided as an 0100", "0101", func() isoFields { return h.purchase(c, 1250) }},
		{"0100 refund", "0100", func() isoFields { return h.purchase(c, 500).with(3, "200000") }},
		{"0100 account verification", "0100", func() isoFields { return h.purchase(c, 0) }},
		{"0120 advice", "0120", func() isoFields { return h.purchase(c, 700) }},
		{"0200 financial request", "0200", func() isoFields { return h.purchase(c, 900) }},
		{"0220 clearing", "0220", func() isoFields { return h.followUp(authorized(1000), 1000) }},
		{"0220 force post", "0220", func() isoFields {
			return h.followUp(h.purchase(c, 300), 300) // DE 90 names a message never sent
		}},
		{"0400 reversal", "0400", func() isoFields { return h.followUp(authorized(1000), 1000) }},
		{"0401 reversal repeat", "0401", func() isoFields { return h.followUp(authorized(1000), 1000) }},
		{"0420 reversal advice", "0420", func() isoFields { return h.followUp(authorized(1000), 1000) }},
		{"0421 reversal advice repeat", "0421", func() isoFields { return h.followUp(authorized(1000), 1000) }},
	}
	for _, tc := range tests {
		h.run(t, tc.name, func(t *testing.T) {
			r := h.send(tc.mti, tc.fields())
			h.requireApproved(r, isoReplyMTI[tc.mti])
			require.False(t, r.has(54), "only a balance inquiry reports the balance")
		})
	}
	h.run(t, "0100 balance inquiry", func(t *testing.T) {
		r := h.send("0100", h.purchase(c, 0).with(3, "310000"))
		h.requireReply(r, "0110", "00")
		require.True(t, r.has(38), "an approved inquiry carries an approval code, as every approval does")
		avail, ok := r.balance()
		require.True(t, ok, "DE 54 carries the available balance")
		require.Equal(t, h.balance(c.UserID).Available, avail)
		require.Equal(t, "0002840C"+isoAmount(avail), r.wire[54][3:], "DE 54 layout")
		// The wire page's example states this bitmap; the two must agree.
		packed, err := r.Msg.Pack()
		require.NoError(t, err)
		require.Equal(t, "722000000EC08400", string(packed[4:20]), "DE 2, 3, 4, 7, 11, 37, 38, 39, 41, 42, 49, 54")
		wire, err := os.ReadFile("../docs/iso8583-wire.md")
		require.NoError(t, err)
		documented := regexp.MustCompile("(?s)\\(balance inquiry\\).*?its bitmap is `([0-9A-F]{16})`").FindSubmatch(wire)
		require.NotNil(t, documented, "docs/iso8583-wire.md states the balance inquiry's reply bitmap")
		require.Equal(t, string(packed[4:20]), string(documented[1]))
	})
	h.run(t, "the reply to a decline echoes too", func(t *testing.T) {
		h.requireReply(h.send("0100", h.purchase(c, 100).with(49, "978")), "0110", "57")
	})
}

// codeCase provokes one response code.
type codeCase struct {
	name string
	code string
	// reason is the declinedReason of the transaction the decline records;
	// "" when the decline records none.
	reason string
	run    func(h *isoHarness) (*isoReply, isoCard)
	then   func(t *testing.T, h *isoHarness, c isoCard, r *isoReply)
}

// agentLimit sets the card's agent's spending limit.
func agentLimit(h *isoHarness, c isoCard, limit int64, freq, onExceeded string) {
	h.Must(200, "PATCH", "/v1/agents/"+c.AgentID, map[string]any{
		"spendingLimit": limit, "spendingLimitFrequency": freq, "onLimitExceeded": onExceeded})
}

// TestISOResponseCodes provokes every response code of the profile and
// checks the declinedReason each decline records.
func TestISOResponseCodes(t *testing.T) {
	h := startISO(t, server.Config{Clock: "virtual"})
	// first approves a purchase of amount and returns its fields.
	first := func(c isoCard, amount int64) isoFields {
		f := h.purchase(c, amount)
		h.requireApproved(h.send("0100", f), "0110")
		return f
	}
	noTxns := func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
		require.Empty(t, h.txns("cardId="+c.ID), "the decline records no transaction")
	}
	tests := []codeCase{
		{name: "00 approved", code: "00",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0100", h.purchase(c, 1000)), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, r *isoReply) {
				tx := h.lastTxn(c.ID)
				require.Equal(t, "authorized", tx["status"])
				require.Equal(t, r.AuthCode, tx["authorizationCode"])
				require.Equal(t, "00", tx["responseCode"])
			}},
		{name: "05 multi-use card locked to its first merchant", code: "05", reason: "blocked_merchant",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				first(c, 100)
				return h.send("0100", h.purchase(c, 100).at("MERCHANT0000002", "OTHER SHOP")), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				// The lock is DE 42 and the DE 43 name together.
				require.Equal(t, "05", h.send("0100", h.purchase(c, 100).at("MERCHANT0000001", "OTHER SHOP")).Code)
				require.Equal(t, "05", h.send("0100", h.purchase(c, 100).at("MERCHANT0000002", "ACME GROCERY")).Code)
				require.Equal(t, "00", h.send("0100", h.purchase(c, 100)).Code, "the first merchant is still fine")
			}},
		{name: "05 merchant drift with onDrift freeze freezes the card", code: "05", reason: "merchant_drift",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, map[string]any{"merchantHint": "Acme Grocery", "onDrift": "freeze"})
				first(c, 100) // the hint matches DE 43's name, case and punctuation aside
				return h.send("0100", h.purchase(c, 100).at("MERCHANT0000002", "OTHER SHOP")), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				require.Equal(t, "frozen", h.cardStatus(c.ID))
				drift := h.eventsFor("card.merchant_drift", "cardId", c.ID)
				require.Len(t, drift, 1)
				require.Equal(t, "declined", drift[0]["outcome"])
				require.Len(t, h.eventsFor("card.frozen", "cardId", c.ID), 1)
				require.Equal(t, "62", h.send("0100", h.purchase(c, 100)).Code, "a frozen card is restricted")
			}},
		{name: "12 processing code not supported", code: "12",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0100", h.purchase(c, 100).with(3, "400000")), c
			},
			then: noTxns},
		{name: "12 MTI not supported", code: "12",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0300", h.purchase(c, 100)), c
			},
			then: noTxns},
		{name: "13 clearing above the over-capture limit", code: "13",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0220", h.followUp(first(c, 1000), 1201)), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				require.Equal(t, "authorized", h.lastTxn(c.ID)["status"], "the authorization stays open")
				require.Equal(t, int64(1000), h.balance(c.UserID).Pending)
			}},
		{name: "13 partial reversal to more than the amount", code: "13",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0400", h.followUp(first(c, 1000), 1000).with(95, isoDE95(1500))), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				require.Equal(t, int64(1000), h.balance(c.UserID).Pending)
			}},
		{name: "13 refund of nothing", code: "13", reason: "invalid_amount",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0100", h.purchase(c, 0).with(3, "200000")), c
			}},
		{name: "13 refund larger than what is left of its original", code: "13",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				orig := h.purchase(c, 1000)
				h.requireApproved(h.send("0200", orig), "0210")
				refund := h.purchase(c, 600).with(3, "200000").with(90, isoDE90("0200", orig[11], orig[7]))
				h.requireApproved(h.send("0100", refund), "0110")
				return h.send("0100", h.purchase(c, 401).with(3, "200000").with(90, isoDE90("0200", orig[11], orig[7]))), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				require.Equal(t, int64(10_000-1000+600), h.balance(c.UserID).Settled)
			}},
		{name: "14 unknown PAN", code: "14",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0100", h.purchase(c, 100).with(2, unissuedPAN(c))), c
			},
			then: noTxns},
		{name: "14 Luhn failure", code: "14",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0100", h.purchase(c, 100).with(2, badLuhnPAN(c))), c
			},
			then: noTxns},
		{name: "25 reversal without an original", code: "25",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0400", h.followUp(h.purchase(c, 100), 100)), c
			},
			then: noTxns},
		{name: "25 clearing without DE 2 whose DE 90 names nothing", code: "25",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0220", h.followUp(h.purchase(c, 100), 100).with(2, "")), c
			},
			then: noTxns},
		{name: "30 required field missing", code: "30",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0100", h.purchase(c, 100).with(14, "")), c
			},
			then: noTxns},
		{name: "30 malformed field", code: "30",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0100", h.purchase(c, 100).with(4, "0000000012AB")), c
			},
			then: noTxns},
		{name: "51 insufficient funds", code: "51", reason: "insufficient_funds",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(1000, nil)
				return h.send("0100", h.purchase(c, 1001)), c
			}},
		{name: "54 DE 14 does not match", code: "54", reason: "invalid_expiry",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0100", h.purchase(c, 100).with(14, otherExpiry(c))), c
			}},
		{name: "54 card past its ttlDays", code: "54", reason: "card_expired",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, map[string]any{"ttlDays": 1})
				first(c, 100)
				h.advance(24*time.Hour + time.Minute)
				return h.send("0100", h.purchase(c, 100)), c
			}},
		{name: "57 closed card", code: "57", reason: "card_closed",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				h.Must(200, "POST", "/v1/cards/"+c.ID+"/close", nil)
				return h.send("0100", h.purchase(c, 100)), c
			}},
		{name: "57 currency other than 840", code: "57", reason: "currency_not_supported",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0100", h.purchase(c, 100).with(49, "978")), c
			}},
		{name: "61 maxAmount", code: "61", reason: "spending_limit_exceeded",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, map[string]any{"maxAmount": 500})
				first(c, 500)
				return h.send("0100", h.purchase(c, 501)), c
			}},
		{name: "61 limits.perAuth", code: "61", reason: "spending_limit_exceeded",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, map[string]any{"limits": map[string]any{"perAuth": 500}})
				first(c, 500)
				return h.send("0100", h.purchase(c, 501)), c
			}},
		{name: "61 limits.perDay", code: "61", reason: "spending_limit_exceeded",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, map[string]any{"limits": map[string]any{"perDay": 1000}})
				first(c, 600)
				return h.send("0100", h.purchase(c, 401)), c
			}},
		{name: "61 limits.perMonth", code: "61", reason: "spending_limit_exceeded",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, map[string]any{"limits": map[string]any{"perMonth": 1000}})
				first(c, 600)
				return h.send("0100", h.purchase(c, 401)), c
			}},
		{name: "61 agent spendingLimit with onLimitExceeded none", code: "61", reason: "agent_spending_limit_exceeded",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				agentLimit(h, c, 1000, "perMonth", "none")
				first(c, 600)
				return h.send("0100", h.purchase(c, 401)), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				require.Equal(t, "active", h.Must(200, "GET", "/v1/agents/"+c.AgentID, nil).Str("status"))
				require.Equal(t, "active", h.cardStatus(c.ID))
				require.Empty(t, h.eventsFor("agent.limit_exceeded", "agentId", c.AgentID))
			}},
		{name: "61 agent spendingLimit with onLimitExceeded suspend", code: "61", reason: "agent_spending_limit_exceeded",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				agentLimit(h, c, 1000, "perMonth", "suspend")
				first(c, 600)
				return h.send("0100", h.purchase(c, 401)), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				require.Equal(t, "suspended", h.Must(200, "GET", "/v1/agents/"+c.AgentID, nil).Str("status"))
				require.Equal(t, "frozen", h.cardStatus(c.ID), "suspending the agent freezes its cards")
				ev := h.eventsFor("agent.limit_exceeded", "agentId", c.AgentID)
				require.Len(t, ev, 1)
				require.Equal(t, true, ev[0]["suspended"])
				require.EqualValues(t, 401, ev[0]["amount"])
				require.EqualValues(t, 600, ev[0]["currentSpend"], "the declined amount is not counted")
				require.Len(t, h.eventsFor("agent.suspended", "agentId", c.AgentID), 1)
				require.Equal(t, "62", h.send("0100", h.purchase(c, 1)).Code)
			}},
		{name: "00 agent spendingLimit with onLimitExceeded notify approves and records agent.limit_exceeded", code: "00",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				agentLimit(h, c, 1000, "perMonth", "notify")
				first(c, 600)
				return h.send("0100", h.purchase(c, 401)), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				ev := h.eventsFor("agent.limit_exceeded", "agentId", c.AgentID)
				require.Len(t, ev, 1)
				require.EqualValues(t, 401, ev[0]["amount"])
				require.EqualValues(t, 600, ev[0]["currentSpend"], "the spend before this message, as for suspend")
				require.Equal(t, false, ev[0]["suspended"])
				require.Equal(t, "active", h.Must(200, "GET", "/v1/agents/"+c.AgentID, nil).Str("status"))
			}},
		{name: "61 agent spendingLimit perTransaction", code: "61", reason: "agent_spending_limit_exceeded",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				agentLimit(h, c, 500, "perTransaction", "none")
				first(c, 500)
				first(c, 500)
				return h.send("0100", h.purchase(c, 501)), c
			}},
		{name: "00 merchant drift with onDrift notify approves and records card.merchant_drift", code: "00",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, map[string]any{"merchantHint": "ACME GROCERY", "onDrift": "notify"})
				return h.send("0100", h.purchase(c, 100).at("MERCHANT0000002", "OTHER SHOP")), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				drift := h.eventsFor("card.merchant_drift", "cardId", c.ID)
				require.Len(t, drift, 1)
				require.Equal(t, "approved", drift[0]["outcome"])
				require.Equal(t, "active", h.cardStatus(c.ID))
			}},
		{name: "00 merchant drift with onDrift none approves silently", code: "00",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, map[string]any{"merchantHint": "ACME GROCERY", "onDrift": "none"})
				return h.send("0100", h.purchase(c, 100).at("MERCHANT0000002", "OTHER SHOP")), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				require.Empty(t, h.eventsFor("card.merchant_drift", "cardId", c.ID))
				// A hinted card does not lock to its first merchant.
				require.Equal(t, "00", h.send("0100", h.purchase(c, 100).at("MERCHANT0000003", "THIRD SHOP")).Code)
			}},
		{name: "62 frozen card", code: "62", reason: "card_frozen",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				h.Must(200, "POST", "/v1/cards/"+c.ID+"/freeze", nil)
				return h.send("0100", h.purchase(c, 100)), c
			}},
		{name: "62 agent suspended: its cards are frozen", code: "62", reason: "card_frozen",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				h.Must(200, "POST", "/v1/agents/"+c.AgentID+"/suspend", nil)
				return h.send("0100", h.purchase(c, 100)), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				h.Must(200, "POST", "/v1/agents/"+c.AgentID+"/activate", nil)
				require.Equal(t, "00", h.send("0100", h.purchase(c, 100)).Code, "reactivating the agent unfreezes the card")
			}},
		{name: "57 agent deregistered: its cards are closed", code: "57", reason: "card_closed",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				h.Must(200, "POST", "/v1/agents/"+c.AgentID+"/deregister", nil)
				return h.send("0100", h.purchase(c, 100)), c
			}},
		{name: "62 card not activated", code: "62", reason: "card_not_activated",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, map[string]any{"status": "notActivated"})
				return h.send("0100", h.purchase(c, 100)), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				h.Must(200, "POST", "/v1/cards/"+c.ID+"/activate", map[string]any{})
				require.Equal(t, "00", h.send("0100", h.purchase(c, 100)).Code, "activated, the card spends")
			}},
		{name: "62 user sent back to re-verification", code: "62", reason: "user_not_verified",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				h.Must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": c.UserID, "decision": "needsVerification"})
				return h.send("0100", h.purchase(c, 100)), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				h.Must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": c.UserID, "decision": "approved"})
				require.Equal(t, "00", h.send("0100", h.purchase(c, 100)).Code, "approved again, the card spends")
			}},
		{name: "62 user locked", code: "62", reason: "user_locked",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				h.Must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": c.UserID, "decision": "locked"})
				return h.send("0100", h.purchase(c, 100)), c
			}},
		{name: "62 user denied after a lock", code: "62", reason: "user_denied",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				h.Must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": c.UserID, "decision": "locked"})
				h.Must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": c.UserID, "decision": "denied"})
				return h.send("0100", h.purchase(c, 100)), c
			}},
		{name: "65 single-use card used twice", code: "65", reason: "card_already_used",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, map[string]any{"type": "single"})
				first(c, 100)
				return h.send("0100", h.purchase(c, 100)), c
			}},
		{name: "65 maxAuthCount reached", code: "65", reason: "auth_count_exceeded",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, map[string]any{"maxAuthCount": 2})
				first(c, 100)
				first(c, 100)
				return h.send("0100", h.purchase(c, 100)), c
			}},
		{name: "82 CVV2 does not match", code: "82", reason: "cvv_mismatch",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				return h.send("0100", h.purchase(c, 100).with(48, isoDE48(wrongCVV(c)))), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				require.Equal(t, "00", h.send("0100", h.purchase(c, 100).with(48, "")).Code, "DE 48 is optional")
			}},
		{name: "94 same STAN and RRN with another amount", code: "94",
			run: func(h *isoHarness) (*isoReply, isoCard) {
				c := h.fundedCard(10_000, nil)
				f := first(c, 1000)
				return h.send("0100", f.with(4, isoAmount(2000))), c
			},
			then: func(t *testing.T, h *isoHarness, c isoCard, _ *isoReply) {
				require.Len(t, h.txns("cardId="+c.ID), 1, "the duplicate records nothing")
				require.Equal(t, int64(1000), h.balance(c.UserID).Pending)
			}},
	}
	for _, tc := range tests {
		h.run(t, tc.name, func(t *testing.T) {
			r, c := tc.run(h)
			mti, _ := r.Req.GetMTI()
			if tc.code == "00" {
				h.requireApproved(r, isoReplyMTI[mti])
			} else {
				h.requireReply(r, isoReplyMTI[mti], tc.code)
			}
			if tc.reason != "" {
				tx := h.lastTxn(c.ID)
				require.Equal(t, "declined", tx["status"])
				require.Equal(t, tc.code, tx["responseCode"])
				require.Equal(t, tc.reason, tx["declinedReason"])
				require.Nil(t, tx["authorizationCode"])
				require.Equal(t, "iso", tx["source"])
				rrn, err := r.Req.GetString(37)
				require.NoError(t, err)
				require.Equal(t, rrn, tx["rrn"])
			}
			if tc.then != nil {
				tc.then(t, h, c, r)
			}
		})
	}
	// 96 is sent when the decision log cannot record a decision: its disk
	// fails, the log stops, and no decision after the last good sync is
	// approved. This runs on its own server over a filesystem that fails
	// on demand (the harness's server has a real disk).
	h.run(t, "96 system malfunction", server.FailedSyncAnswersNothingApproved)
}
