package verify

import (
	"encoding/json"

	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// disputeEvents counts a dispute's events.
type disputeEvents struct{ created, resolved, canceled int }

// noteDisputeEvent counts dispute.created, dispute.resolved and
// dispute.canceled by dispute.
func (s *state) noteDisputeEvent(id, typ string, data map[string]json.RawMessage) {
	did, _ := str(data, "disputeId")
	if did == "" {
		s.dsp.breach("event %s (%s): names no dispute", id, typ)
		return
	}
	de := s.disputeEvents[did]
	if de == nil {
		de = &disputeEvents{}
		s.disputeEvents[did] = de
	}
	switch typ {
	case model.EvtDisputeCreated:
		de.created++
	case model.EvtDisputeCanceled:
		de.canceled++
	default:
		de.resolved++
	}
}

// checkDisputes: every dispute names an existing purchase of its own user,
// card and agent, and is the only dispute of it (and the one the
// transaction's dispute key names); its status and outcome agree (accepted
// is won, rejected is lost, an open one has neither outcome nor credit); a
// credit names a completed refund of the disputed purchase, made by the
// dispute, of exactly the credited amount, and every refund made by a
// dispute is the credit of one; every dispute has one dispute.created
// event, a resolved one one dispute.resolved, a canceled one one
// dispute.canceled (and no outcome or credit), an open one neither.
func (s *state) checkDisputes() error {
	c := &s.dsp
	byTxn := map[string]string{}
	credits := map[string]string{}
	err := scanRecords(s.db, keyspace.DisputePrefix, c, "dispute", func(id string, d *model.Dispute) {
		c.Checked++
		t := s.txns[d.TransactionID]
		switch {
		case t == nil:
			c.breach("dispute %s: transaction %s does not exist", id, d.TransactionID)
		case t.Kind != model.KindPurchase || t.UserID != d.UserID || t.CardID != d.CardID || t.AgentID != d.AgentID:
			c.breach("dispute %s: transaction %s is not a purchase of its user, card and agent", id, d.TransactionID)
		}
		if other, ok := byTxn[d.TransactionID]; ok {
			c.breach("dispute %s: transaction %s is already disputed by %s", id, d.TransactionID, other)
		}
		byTxn[d.TransactionID] = id
		if raw, err := s.db.Get(keyspace.DisputeByTxnKey(d.TransactionID)); err != nil || string(raw) != id {
			c.breach("dispute %s: the dispute key of transaction %s does not name it", id, d.TransactionID)
		}
		open := d.Status == model.DisputePending || d.Status == model.DisputeInReview
		switch {
		case open && (d.Outcome != "" || d.CreditCents != 0 || d.CreditTransactionID != "" || d.ResolvedAt != 0):
			c.breach("dispute %s: %s but resolved or credited", id, d.Status)
		case d.Status == model.DisputeAccepted && d.Outcome != model.DisputeWon,
			d.Status == model.DisputeRejected && (d.Outcome != model.DisputeLost || d.CreditCents != 0 || d.CreditTransactionID != ""):
			c.breach("dispute %s: status %s with outcome %s and credit %d", id, d.Status, d.Outcome, d.CreditCents)
		case d.Status == model.DisputeCanceled && (d.Outcome != "" || d.CreditCents != 0 || d.CreditTransactionID != "" || d.CanceledAt == 0):
			c.breach("dispute %s: canceled but resolved or credited", id)
		case !open && d.Status != model.DisputeAccepted && d.Status != model.DisputeRejected && d.Status != model.DisputeCanceled:
			c.breach("dispute %s: unknown status %s", id, d.Status)
		}
		if (d.CreditCents > 0) != (d.CreditTransactionID != "") || d.CreditCents < 0 {
			c.breach("dispute %s: credit %d cents but credit transaction %s", id, d.CreditCents, d.CreditTransactionID)
		}
		if d.CreditTransactionID != "" {
			credits[d.CreditTransactionID] = id
			ct := s.txns[d.CreditTransactionID]
			if ct == nil || ct.Kind != model.KindRefund || ct.Status != model.TxnCompleted || ct.OriginalID != d.TransactionID ||
				ct.Source != "dispute" || ct.AmountCents != d.CreditCents {
				c.breach("dispute %s: credit transaction %s is not a completed dispute refund of %s for %d cents", id, d.CreditTransactionID, d.TransactionID, d.CreditCents)
			}
		}
		de := s.disputeEvents[id]
		if de == nil {
			de = &disputeEvents{}
		}
		wantResolved, wantCanceled := 1, 0
		switch {
		case open:
			wantResolved = 0
		case d.Status == model.DisputeCanceled:
			wantResolved, wantCanceled = 0, 1
		}
		if de.created != 1 || de.resolved != wantResolved || de.canceled != wantCanceled {
			c.breach("dispute %s (%s): %d dispute.created, %d dispute.resolved and %d dispute.canceled events", id, d.Status, de.created, de.resolved, de.canceled)
		}
	})
	if err != nil {
		return err
	}
	for _, id := range s.txnIDs {
		if t := s.txns[id]; t.Source == "dispute" && credits[id] == "" {
			c.breach("transaction %s: a dispute refund that no dispute credited", id)
		}
	}
	return nil
}
