package verify

import "github.com/ledgersim/ledgersim/model"

// checkResolution: each authorization is resolved at most once.
//
//   - no transaction has more than one transaction.completed event;
//   - a completed purchase has exactly one (a refund or a verification is
//     created completed and has none);
//   - a reversed transaction has at least one transaction.reversed event,
//     and exactly one that reversed it in full (its payload's status is
//     reversed); no other transaction has one;
//   - no transaction.completed comes after a full reversal, in event ID
//     order (IDs sort by creation time);
//   - an authorized transaction has no transaction.completed event and no
//     full reversal.
func (s *state) checkResolution() {
	c := &s.res
	c.Checked = len(s.txnIDs)
	for _, id := range s.txnIDs {
		t := s.txns[id]
		te := s.txnEvents[id]
		if te == nil {
			te = &txnEvents{}
		}
		switch {
		case te.completed > 1:
			c.breach("transaction %s: %d transaction.completed events", id, te.completed)
		case te.completed == 1 && t.Kind != model.KindPurchase:
			c.breach("transaction %s: a %s with a transaction.completed event", id, t.Kind)
		case te.completed == 0 && t.Kind == model.KindPurchase && t.Status == model.TxnCompleted:
			c.breach("transaction %s: completed without a transaction.completed event", id)
		}
		switch {
		case t.Status == model.TxnReversed && te.reversed == 0:
			c.breach("transaction %s: reversed without a transaction.reversed event", id)
		case t.Status == model.TxnReversed && te.fullReversals == 0:
			c.breach("transaction %s: reversed, but no transaction.reversed event reversed it in full", id)
		case t.Status != model.TxnReversed && te.fullReversals > 0:
			c.breach("transaction %s: %s, but a transaction.reversed event reversed it in full", id, t.Status)
		case te.fullReversals > 1:
			c.breach("transaction %s: reversed in full %d times", id, te.fullReversals)
		}
		if te.completedAfterFull > 0 {
			c.breach("transaction %s: transaction.completed after its full reversal", id)
		}
		if t.Status == model.TxnAuthorized {
			// More than one was reported above.
			if te.completed == 1 {
				c.breach("transaction %s: authorized but has a transaction.completed event", id)
			}
		}
	}
}
