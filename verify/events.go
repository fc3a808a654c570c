package verify

import (
	"bytes"
	"encoding/json"

	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// txnEvents counts the transaction.* events whose subject is one
// transaction, in event order.
type txnEvents struct {
	authorized, completed, reversed, declined, refunded int
	// fullReversals counts transaction.reversed events whose payload says
	// the transaction ended reversed (a partial reversal leaves it
	// authorized or completed).
	fullReversals int
	// completedAfterFull counts transaction.completed events that come
	// after a full reversal.
	completedAfterFull int
}

// eventRefs are the payload fields that name a record, and how to tell
// that the record exists. Every event payload the ledger writes uses these
// names.
var eventRefs = []struct {
	field string
	kind  string
	has   func(s *state, id string) bool
}{
	{"transactionId", "transaction", func(s *state, id string) bool { return s.txns[id] != nil }},
	{"originalTransactionId", "transaction", func(s *state, id string) bool { return s.txns[id] != nil }},
	{"cardId", "card", func(s *state, id string) bool { return s.cards[id] != nil }},
	{"userId", "user", func(s *state, id string) bool { return s.users[id] != nil }},
	{"agentId", "agent", func(s *state, id string) bool { return s.agents[id] != nil }},
	{"intentId", "intent", func(s *state, id string) bool { return s.intents[id] }},
	{"accessEventId", "access event", func(s *state, id string) bool { return s.access[id] }},
}

// loadEvents reads every event once, in ID order (which is creation
// order), checking its references and collecting what the other checks
// need: per-transaction event counts, deposits and creation events.
func (s *state) loadEvents() error {
	return s.db.Scan(keyspace.EventsPrefix, "", false, func(k, v []byte) bool {
		id := string(bytes.TrimPrefix(k, keyspace.EventsPrefix))
		s.events++
		ev, err := eventlog.Decode(id, v)
		if err != nil {
			s.evt.breach("event %s: record does not decode", id)
			return true
		}
		if ev.ID != id {
			s.evt.breach("event %s: stored under another event's key", id)
		}
		var data map[string]json.RawMessage
		if len(ev.Data) > 0 && string(ev.Data) != "null" {
			if err := json.Unmarshal(ev.Data, &data); err != nil {
				s.evt.breach("event %s (%s): payload does not decode", id, ev.Type)
				return true
			}
		}
		for _, ref := range eventRefs {
			rid, ok := str(data, ref.field)
			if !ok {
				s.evt.breach("event %s (%s): %s is not a string", id, ev.Type, ref.field)
				continue
			}
			if rid != "" && !ref.has(s, rid) {
				s.evt.breach("event %s (%s): %s %s does not exist", id, ev.Type, ref.kind, rid)
			}
		}
		s.noteEvent(id, ev.Type, data)
		return true
	})
}

// noteEvent records what the other checks need from one event.
func (s *state) noteEvent(id, typ string, data map[string]json.RawMessage) {
	switch typ {
	case model.EvtTxnAuthorized, model.EvtTxnCompleted, model.EvtTxnReversed, model.EvtTxnDeclined, model.EvtTxnRefunded:
		tid, _ := str(data, "transactionId")
		if tid == "" {
			s.evt.breach("event %s (%s): names no transaction", id, typ)
			return
		}
		te := s.txnEvents[tid]
		if te == nil {
			te = &txnEvents{}
			s.txnEvents[tid] = te
		}
		switch typ {
		case model.EvtTxnAuthorized:
			te.authorized++
		case model.EvtTxnCompleted:
			te.completed++
			if te.fullReversals > 0 {
				te.completedAfterFull++
			}
		case model.EvtTxnReversed:
			te.reversed++
			// The payload is the transaction as the reversal left it.
			if st, _ := str(data, "status"); st == model.TxnReversed {
				te.fullReversals++
			}
		case model.EvtTxnDeclined:
			te.declined++
		case model.EvtTxnRefunded:
			te.refunded++
		}
	case model.EvtDepositCompleted:
		uid, _ := str(data, "userId")
		var amount int64
		if err := json.Unmarshal(data["amount"], &amount); err != nil {
			s.evt.breach("event %s (%s): amount is not a whole number of cents", id, typ)
			return
		}
		s.deposits[uid] += amount
	case model.EvtWithdrawalSubmitted:
		// A withdrawal takes its amount out of the deposits.
		uid, _ := str(data, "userId")
		var amount int64
		if err := json.Unmarshal(data["amount"], &amount); err != nil {
			s.evt.breach("event %s (%s): amount is not a whole number of cents", id, typ)
			return
		}
		s.deposits[uid] -= amount
	case model.EvtWithdrawalFailed:
		// A failed withdrawal returns its amount to the deposits.
		uid, _ := str(data, "userId")
		var amount int64
		if err := json.Unmarshal(data["amount"], &amount); err != nil {
			s.evt.breach("event %s (%s): amount is not a whole number of cents", id, typ)
			return
		}
		s.deposits[uid] += amount
	case model.EvtDisputeCreated, model.EvtDisputeResolved, model.EvtDisputeCanceled:
		s.noteDisputeEvent(id, typ, data)
	case model.EvtCardCreated:
		cid, _ := str(data, "cardId")
		s.cardCreated[cid] = true
	case model.EvtCardExpired:
		cid, _ := str(data, "cardId")
		s.cardExpired[cid]++
	case model.EvtCardActivated:
		cid, _ := str(data, "cardId")
		s.cardActivated[cid] = true
	case model.EvtAgentCreated:
		aid, _ := str(data, "agentId")
		s.agentCreated[aid] = true
	case model.EvtUserApproved:
		uid, _ := str(data, "userId")
		s.userApproved[uid] = true
	}
}

// str reads a string field of an event payload: "" when absent or null,
// false when it is there but not a string.
func str(data map[string]json.RawMessage, field string) (string, bool) {
	raw, ok := data[field]
	if !ok || string(raw) == "null" {
		return "", true
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false
	}
	return v, true
}

// creatingEvent is the event the ledger writes when it creates a
// transaction of this kind and status: a decline records
// transaction.declined, a refund transaction.refunded, a force post (a
// clearing without an authorization) transaction.completed, and every
// other approval, verifications included, transaction.authorized.
func creatingEvent(t *model.Transaction) string {
	switch {
	case t.Status == model.TxnDeclined:
		return model.EvtTxnDeclined
	case t.Kind == model.KindRefund:
		return model.EvtTxnRefunded
	case t.ForcePost:
		return model.EvtTxnCompleted
	}
	return model.EvtTxnAuthorized
}

func (te *txnEvents) count(typ string) int {
	switch typ {
	case model.EvtTxnAuthorized:
		return te.authorized
	case model.EvtTxnCompleted:
		return te.completed
	case model.EvtTxnReversed:
		return te.reversed
	case model.EvtTxnDeclined:
		return te.declined
	case model.EvtTxnRefunded:
		return te.refunded
	}
	return 0
}

// checkEvents: every record that the ledger creates with an event has
// that event, and transactions name records that exist. (Event references
// were checked as they were read.)
func (s *state) checkEvents() {
	c := &s.evt
	c.Checked = s.events + len(s.txnIDs) + len(s.cardIDs) + len(s.agentIDs) + len(s.userIDs)
	for _, id := range s.txnIDs {
		t := s.txns[id]
		want := creatingEvent(t)
		te := s.txnEvents[id]
		if te == nil {
			te = &txnEvents{}
		}
		if te.count(want) == 0 {
			c.breach("transaction %s (%s, %s): no %s event", id, t.Kind, t.Status, want)
		}
		if s.users[t.UserID] == nil {
			c.breach("transaction %s: user %s does not exist", id, t.UserID)
		}
		if s.cards[t.CardID] == nil {
			c.breach("transaction %s: card %s does not exist", id, t.CardID)
		}
		if s.agents[t.AgentID] == nil {
			c.breach("transaction %s: agent %s does not exist", id, t.AgentID)
		}
	}
	for _, id := range s.cardIDs {
		if !s.cardCreated[id] {
			c.breach("card %s: no %s event", id, model.EvtCardCreated)
		}
		card := s.cards[id]
		if s.agents[card.AgentID] == nil || s.users[card.UserID] == nil {
			c.breach("card %s: its agent or user does not exist", id)
		}
		// The end of a card's lifetime is recorded once, with its event.
		switch n := s.cardExpired[id]; {
		case card.ExpiredAt != 0 && n != 1:
			c.breach("card %s: its lifetime ended with %d %s events, not one", id, n, model.EvtCardExpired)
		case card.ExpiredAt == 0 && n != 0:
			c.breach("card %s: %s recorded but the card does not say its lifetime ended", id, model.EvtCardExpired)
		}
		if card.ActivatedAt != 0 && !s.cardActivated[id] {
			c.breach("card %s: activated without a %s event", id, model.EvtCardActivated)
		}
	}
	for _, id := range s.agentIDs {
		if !s.agentCreated[id] {
			c.breach("agent %s: no %s event", id, model.EvtAgentCreated)
		}
		if s.users[s.agents[id].UserID] == nil {
			c.breach("agent %s: its user does not exist", id)
		}
	}
	for _, id := range s.userIDs {
		u := s.users[id]
		if u.Status == model.UserApproved && !s.userApproved[id] {
			c.breach("user %s: approved without a %s event", id, model.EvtUserApproved)
		}
		// Only an approved application may spend: the status that gates
		// spending follows the application's.
		st := *u
		st.Canonicalize()
		if app := u.ApplicationStatus; app != "" && model.StatusOfApplication(app) != st.Status {
			c.breach("user %s: status %s with application status %s", id, st.Status, app)
		}
	}
}
