package verify

import (
	"fmt"
	"strings"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/model"
)

// movements are a user's transactions summed the way the ledger moves
// money.
type movements struct {
	// holds is Σ HoldCents of the user's authorized transactions.
	holds int64
	// purchases is Σ AmountCents of completed purchases (force posts and
	// over-captures included: AmountCents is what was captured, less any
	// partial reversal after capture).
	purchases int64
	// refunds is Σ AmountCents of completed refunds.
	refunds int64
	// refundedOfReversed is Σ RefundedCents of purchases fully reversed
	// after they completed: such a reversal gives back only what was not
	// refunded, so the purchase's net effect is -RefundedCents.
	refundedOfReversed int64

	// What may legitimately take available below zero, because it is
	// posted whatever the balance: force posts, stand-in advices (0120,
	// and advices that raised an authorization's amount), captures above
	// the authorized amount (tips), and refunds taken back (a refund
	// reversal debits what the refund credited, whatever was spent since).
	forcePosts, advices, tips, refundReversals int64
}

func (m *movements) overdraftAllowance() int64 {
	return m.forcePosts + m.advices + m.tips + m.refundReversals
}

func (m *movements) overdraftCauses() string {
	var parts []string
	if m.forcePosts > 0 {
		parts = append(parts, "force post")
	}
	if m.advices > 0 {
		parts = append(parts, "advice")
	}
	if m.tips > 0 {
		parts = append(parts, "tip")
	}
	if m.refundReversals > 0 {
		parts = append(parts, "refund reversal")
	}
	return strings.Join(parts, "/")
}

// sumMovements adds up every transaction under its user. A hold on a
// transaction that is not open is itself a breach: nothing would ever
// release it from the user's pending.
func (s *state) sumMovements() map[string]*movements {
	out := map[string]*movements{}
	for _, id := range s.txnIDs {
		t := s.txns[id]
		m := out[t.UserID]
		if m == nil {
			m = &movements{}
			out[t.UserID] = m
		}
		if t.Status == model.TxnAuthorized {
			m.holds += t.HoldCents
		} else if t.HoldCents != 0 {
			s.bal.breach("transaction %s: status %s but holdCents %d", id, t.Status, t.HoldCents)
		}
		switch {
		case t.Kind == model.KindPurchase && t.Status == model.TxnCompleted:
			m.purchases += t.AmountCents
		case t.Kind == model.KindRefund && t.Status == model.TxnCompleted:
			m.refunds += t.AmountCents
		case t.Kind == model.KindPurchase && t.Status == model.TxnReversed && t.SettledAt != 0:
			m.refundedOfReversed += t.RefundedCents
		case t.Kind == model.KindRefund && t.Status == model.TxnReversed:
			m.refundReversals += t.ReversedCents
		}
		s.checkPartial(t)
		if t.Kind != model.KindPurchase || t.Status == model.TxnDeclined {
			continue
		}
		switch {
		case t.ForcePost:
			m.forcePosts += t.AmountCents
		case t.StandIn:
			// The amount the advice put on the balance; a later capture
			// above it is counted as a tip below as well.
			m.advices += t.AuthorizedAmountCents
		}
		if !t.ForcePost && t.Status == model.TxnCompleted && t.AmountCents > t.AuthorizedAmountCents {
			m.tips += t.AmountCents - t.AuthorizedAmountCents
		}
	}
	return out
}

// checkPartial: a partial approval (response code 10) authorized less
// than it was asked, and more than nothing; only a partial approval
// records a requested amount.
func (s *state) checkPartial(t *model.Transaction) {
	partial := t.ResponseCode == authz.CodePartialApproval
	switch {
	case partial && t.Status == model.TxnDeclined:
		s.bal.breach("transaction %s: response code 10 but declined", t.ID)
	case partial && (t.AuthorizedAmountCents <= 0 || t.RequestedAmountCents <= t.AuthorizedAmountCents):
		s.bal.breach("transaction %s: partial approval of %d for a request of %d", t.ID, t.AuthorizedAmountCents, t.RequestedAmountCents)
	case !partial && t.RequestedAmountCents != 0:
		s.bal.breach("transaction %s: requested amount %d recorded on response code %s", t.ID, t.RequestedAmountCents, t.ResponseCode)
	}
}

// checkBalances: for every user
//
//	pendingCents   = Σ holdCents of its authorized transactions
//	depositedCents = Σ amount of its deposit.completed events
//	                 − Σ amount of its withdrawal.submitted events
//	                 + Σ amount of its withdrawal.failed events
//	settledCents   = depositedCents
//	                 − Σ amountCents of completed purchases
//	                 + Σ amountCents of completed refunds
//	                 − Σ refundedCents of purchases reversed after completion
//	available      = settledCents − pendingCents ≥ 0
//	depositedCents, settledCents ≤ authz.MaxBalanceCents
//
// A withdrawal takes its amount from deposited and settled alike, so it
// appears in the settled formula through depositedCents only.
//
// The settled formula follows the ledger's arithmetic: a clearing debits
// the captured amount, a partial reversal of a completed purchase credits
// what it releases (leaving amountCents at what remains), a refund credits
// its amount, and a full reversal of a completed purchase credits
// amountCents − refundedCents (ledger/lifecycle.go, reverseLocked). A
// purchase reversed while still open never touched settled.
//
// Available may go below zero only through postings that are made
// whatever the balance: force posts, stand-in advices and over-captures.
// A user overdrawn by no more than the sum of those is reported in the
// notes, not as a breach; one overdrawn by more is a breach, since every
// other debit is approved only against available funds.
func (s *state) checkBalances() {
	c := &s.bal
	mv := s.sumMovements()
	var overdrawn []string
	for _, id := range s.userIDs {
		c.Checked++
		u := s.users[id]
		m := mv[id]
		if m == nil {
			m = &movements{}
		}
		if u.PendingCents != m.holds {
			c.breach("user %s: pendingCents %d but its open holds sum to %d", id, u.PendingCents, m.holds)
		}
		if dep := s.deposits[id]; u.DepositedCents != dep {
			c.breach("user %s: depositedCents %d but its deposit.completed less withdrawal.submitted (and failed) events sum to %d", id, u.DepositedCents, dep)
		}
		want := u.DepositedCents - m.purchases + m.refunds - m.refundedOfReversed
		if u.SettledCents != want {
			c.breach("user %s: settledCents %d but its deposits and transactions give %d", id, u.SettledCents, want)
		}
		if u.SettledCents > authz.MaxBalanceCents || u.DepositedCents > authz.MaxBalanceCents {
			c.breach("user %s: settledCents %d, depositedCents %d: past the balance cap of %d", id, u.SettledCents, u.DepositedCents, authz.MaxBalanceCents)
		}
		if avail := u.SettledCents - u.PendingCents; avail < 0 {
			if -avail <= m.overdraftAllowance() {
				overdrawn = append(overdrawn, describe("user %s overdrawn by %d cents (%s)", id, -avail, m.overdraftCauses()))
			} else {
				c.breach("user %s: available %d cents, more overdrawn than its force posts, advices and tips (%d) allow", id, avail, m.overdraftAllowance())
			}
		}
	}
	if len(overdrawn) > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%d users overdrawn by force post/advice/tip (allowed)", len(overdrawn)))
		c.Notes = append(c.Notes, overdrawn[:min(len(overdrawn), MaxExamples)]...)
	}
}
