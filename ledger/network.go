package ledger

import (
	"context"
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/model"
)

// The network's flows beyond one authorization and its follow-ups: partial
// approval, incremental authorization, an advice that changes an amount,
// settlement without a clearing (auto-settle), and the simulate helpers
// peers offer (force capture, unlinked refund, refund reversal). Each is
// one change of its own record kind, decided under the user's shard lock
// like every other.

// decide is authz's decision for an authorization: forced by a fault
// rule, partial when the terminal takes one, or the plain decision. The
// amount is what it authorizes.
func decide(in *authz.Input, r *AuthRequest) (authz.Decision, int64) {
	switch {
	case r.ForceCode != "":
		return authz.Decision{Code: r.ForceCode, Reason: r.ForceReason}, r.AmountCents
	case r.AllowPartial && r.Kind == authz.Purchase && !r.Advice:
		return authz.DecidePartial(in)
	}
	return authz.Decide(in), r.AmountCents
}

// markPartial records a partial approval on its transaction and its
// change: response code 10, the amount asked for beside the one
// authorized.
func markPartial(c *change, t *model.Transaction, d authz.Decision, askedCents int64) {
	if d.Approved() && t.AmountCents < askedCents {
		t.ResponseCode, t.RequestedAmountCents = authz.CodePartialApproval, askedCents
		c.kind(RecPartialApproval)
	}
}

// sweepAt is when Sweep acts on an open authorization: its auto-settle
// time or its hold expiry, whichever comes first.
func sweepAt(t *model.Transaction) int64 {
	if t.AutoSettleAt != 0 && t.AutoSettleAt < t.HoldExpiresAt {
		return t.AutoSettleAt
	}
	return t.HoldExpiresAt
}

// settlesAtSweep reports whether Sweep completes t (auto-settle) rather
// than expiring its hold.
func settlesAtSweep(t *model.Transaction) bool {
	return t.AutoSettleAt != 0 && t.AutoSettleAt <= t.HoldExpiresAt
}

// Amendment modes.
const (
	amendIncrement = iota // grow by the amount, deciding it
	amendAdvice           // set to the amount, already approved by the network
)

// Increment is an incremental authorization: r.AmountCents more on the
// open authorization named by txnID (the API) or by DE 90 of r's card (an
// ISO 0100). Every rule is checked for the additional amount; on approval
// the original's hold, amount and authorized amount grow by it and no
// transaction is made. A later clearing or reversal of the original covers
// the total. An original that is not open is 25; a decline changes
// nothing.
func (l *Ledger) Increment(ctx context.Context, r *AuthRequest, txnID string) (Outcome, error) {
	return l.amend(ctx, r, txnID, amendIncrement)
}

// AdviseAmount is an authorization advice that changes an amount (an
// 0120 with DE 90, or the API's authorization-advice): the network
// already decided, so the open original's amount is set to r.AmountCents,
// up or down, adding or releasing hold, and nothing is declined on policy.
func (l *Ledger) AdviseAmount(ctx context.Context, r *AuthRequest, txnID string) (Outcome, error) {
	return l.amend(ctx, r, txnID, amendAdvice)
}

// amendFingerprint keeps an amendment apart from a plain message with the
// same content, for repeat detection.
const amendFingerprint = -1

func (l *Ledger) amend(ctx context.Context, r *AuthRequest, txnID string, mode int) (Outcome, error) {
	now := l.clock.Now()
	var s *shard
	var id, cardID string
	if txnID != "" {
		t, err := l.loadTxn(txnID)
		if err != nil {
			return Outcome{}, err
		}
		s, id, cardID = l.shardOf(t.UserID), t.ID, t.CardID
		s.mu.Lock()
	} else {
		var userID string
		var ok bool
		if cardID, userID, ok = l.findCardByPAN(r.PAN); !ok {
			return declined(authz.CodeInvalidCard, authz.ReasonInvalidCard), nil
		}
		s = l.shardOf(userID)
		s.mu.Lock()
		var err error
		// Only this card's authorizations: DE 90 naming another card's is
		// not found (25).
		if id, _, err = l.findOriginal(s, &FollowUp{OriginalData: r.OriginalData}, cardID); err != nil {
			s.mu.Unlock()
			return Outcome{}, err
		}
	}
	release := holdShard(s)
	defer release()
	fp := fingerprint(r.Class, cardID, r.Kind, r.AmountCents, r.Currency, r.MerchantID, r.TerminalID, amendFingerprint)
	out, seen, claim := l.repeats.claim(r.Class, r.STAN, r.RRN, fp, model.Ms(now))
	if seen {
		release()
		return out, l.replayed(r.Durable)
	}
	defer claim.abandon() // kept only when the amendment changes something
	if id == "" {
		return declined(authz.CodeNoOriginal, "original_not_found"), nil
	}
	ref := s.txns.get(id)
	t, err := l.loadTxn(id)
	if err != nil {
		return Outcome{}, err
	}
	if ref == nil || t.Status != model.TxnAuthorized || t.Kind != model.KindPurchase || t.CardID != cardID {
		out := declined(authz.CodeNoOriginal, "original_not_open")
		out.TxnID, out.Txn = t.ID, t
		return out, nil
	}
	if r.ForceCode != "" {
		return declined(r.ForceCode, r.ForceReason), nil
	}
	user, card, agent := s.users[t.UserID], s.cards[t.CardID], s.agents[t.AgentID]
	nu, nc, na := *user, *card, *agent
	var d authz.Decision
	var delta int64
	if mode == amendIncrement {
		// The increment is checked as a purchase of its own amount at the
		// merchant it names (the original's when it names none, as the
		// API's does), under the card's policy, except for what counts
		// authorizations (single use, maxAuthCount, the cooldown after the
		// last purchase): it is part of one the card already made.
		merchantID, merchant := r.MerchantID, r.Merchant
		if merchantID == "" && merchant == "" {
			merchantID, merchant = t.MerchantID, t.MerchantName
		}
		req := authz.Request{Kind: authz.Purchase, AmountCents: r.AmountCents, Currency: r.Currency, Expiry: r.Expiry,
			CVVPresent: r.HasCVV2, MerchantID: merchantID, MerchantKey: merchantKey(merchant), MCC: r.MCC}
		if r.HasCVV2 {
			req.CVVMatch = r.PAN != "" && l.vault.CheckCVV(r.PAN, card.Expiry(), r.CVV2)
		}
		in := authz.Input{Req: &req, Card: card, Agent: agent, User: user, HintKey: merchantKey(card.MerchantHint), Now: now}
		l.withControls(s, &in)
		counted := *in.Card
		counted.Usage.Used, counted.MaxAuthCount, counted.Usage.LastAuthAt = false, nil, 0
		in.Card = &counted
		d = authz.Decide(&in)
		if !d.Approved() {
			out := declined(d.Code, d.Reason)
			out.TxnID = t.ID
			return out, nil
		}
		delta = r.AmountCents
	} else {
		if r.Currency != "" && r.Currency != "840" {
			return declined(authz.CodeNotPermitted, authz.ReasonCurrency), nil
		}
		if r.AmountCents <= 0 {
			return declined(authz.CodeInvalidAmount, authz.ReasonInvalidAmount), nil
		}
		delta = r.AmountCents - t.AmountCents
		if delta > 0 {
			// Raised by the network, whatever the balance or limits: it
			// is a stand-in amount, which may overdraw (verify allows
			// what stand-in advices posted).
			t.StandIn = true
		}
	}
	c := l.begin(now)
	if mode == amendIncrement {
		c.kind(RecIncrement)
	} else {
		c.kind(RecAmountAdvice)
	}
	previous := t.AmountCents
	// Every movement of an authorization is counted in the spend windows
	// of its approval, as a clearing's difference and a reversal are.
	authAt := time.UnixMilli(t.AuthorizedAt).UTC()
	authz.AdjustCardSpend(&nc, authAt, delta)
	authz.AdjustAgentSpend(&na, authAt, delta)
	nu.PendingCents += delta
	nu.UpdatedAt = model.Ms(now)
	t.AmountCents += delta
	t.AuthorizedAmountCents += delta
	t.HoldCents += delta
	if t.RequestedAmountCents != 0 {
		t.RequestedAmountCents += delta
	}
	t.UpdatedAt = model.Ms(now)
	if d.LimitExceeded {
		c.event(model.EvtAgentLimitExceeded, limitData(agent, delta, now, false))
	}
	p := txnEventData(t)
	data := p.Map()
	data["previousAmount"] = previous
	if mode == amendIncrement {
		data["reason"], data["incrementAmount"] = "incremental_authorization", delta
	} else {
		data["reason"] = "authorization_advice"
	}
	c.event(model.EvtTxnAuthorized, data)
	c.putTxn(t)
	c.putBalance(&nu)
	c.putUsage(&nc)
	c.putSpend(&na)
	l.recordFollowUp(c, &FollowUp{Class: r.Class, STAN: r.STAN, RRN: r.RRN}, fp, t, now)
	out = Outcome{Code: authz.CodeApproved, AuthCode: t.AuthorizationCode, TxnID: t.ID, Txn: t}
	if err := c.applyOutcome(ctx, &out); err != nil {
		return Outcome{}, err
	}
	*user, *card, *agent = nu, nc, na
	claim.settle(out.Code, "", out.AuthCode, out.TxnID)
	release()
	return out, l.finish(c, r.Durable)
}

// settleLocked completes the open authorization t for its amount within
// c (auto-settle) and applies c. The caller holds the shard lock and waits
// on c.
func (l *Ledger) settleLocked(ctx context.Context, s *shard, c *change, ref *txnRef, t *model.Transaction, now time.Time) error {
	user, card := s.users[t.UserID], s.cards[t.CardID]
	nu, nc := *user, *card
	nu.PendingCents -= t.HoldCents
	nu.SettledCents -= t.AmountCents
	nu.UpdatedAt = model.Ms(now)
	t.HoldCents, t.Status = 0, model.TxnCompleted
	t.SettledAt, t.UpdatedAt = model.Ms(now), model.Ms(now)
	cardClosed := false
	if nc.Type == model.CardSingle && nc.Status != model.CardClosed {
		closeCard(c, &nc, "single_use_completed")
		cardClosed = true
	}
	p := txnEventData(t)
	data := p.Map()
	data["reason"] = "auto_settle"
	c.event(model.EvtTxnCompleted, data)
	c.putTxn(t)
	c.putBalance(&nu)
	if cardClosed {
		c.putCard(&nc)
	}
	if err := c.apply(ctx, nil); err != nil {
		return err
	}
	*user, *card = nu, nc
	s.txns.close(ref)
	return nil
}

// ForceCapture posts a completed purchase without an authorization, as a
// network's force post does (POST /v1/simulate/force-capture): nothing is
// decided, the user's balance is debited.
func (l *Ledger) ForceCapture(ctx context.Context, cardID string, f *FollowUp) (Outcome, error) {
	now := l.clock.Now()
	userID, ok := l.userOfCard(cardID)
	if !ok {
		return Outcome{}, notFound("card_not_found", "card", cardID)
	}
	if f.AmountCents <= 0 {
		return Outcome{}, invalid("parameter_invalid", "amount", "'amount' must be positive.")
	}
	s := l.shardOf(userID)
	s.mu.Lock()
	release := holdShard(s)
	defer release()
	c := l.begin(now)
	c.kind(RecForceCapture)
	fp := fingerprint(ClassClearing, cardID, authz.Purchase, f.AmountCents, f.Currency, f.MerchantID, f.TerminalID, 0)
	return l.forcePost(ctx, s, c, cardID, f, fp, repeatClaim{}, now, release)
}

// ReverseRefund undoes a refund (a return reversal, POST
// /v1/simulate/refund-reversal): the credit is taken back from the user,
// and what the refunded purchase counts as refunded goes down by it. A
// refund reversed already is answered as it stands.
func (l *Ledger) ReverseRefund(ctx context.Context, txnID string) (Outcome, error) {
	now := l.clock.Now()
	t, err := l.loadTxn(txnID)
	if err != nil {
		return Outcome{}, err
	}
	s := l.shardOf(t.UserID)
	s.mu.Lock()
	release := holdShard(s)
	defer release()
	if t, err = l.loadTxn(txnID); err != nil {
		return Outcome{}, err
	}
	if t.Kind != model.KindRefund {
		return Outcome{}, conflict("transaction_not_reversible", "Only a refund can have its refund reversed; this transaction is a "+t.Kind+".")
	}
	switch t.Status {
	case model.TxnReversed:
		return Outcome{Code: authz.CodeApproved, AuthCode: t.AuthorizationCode, TxnID: t.ID, Txn: t}, nil
	case model.TxnCompleted:
	default:
		return Outcome{}, conflict("transaction_not_reversible", "This refund is "+t.Status+"; only a completed refund can be reversed.")
	}
	c := l.begin(now)
	c.kind(RecRefundReversal)
	user := s.users[t.UserID]
	nu := *user
	nu.SettledCents -= t.AmountCents
	nu.UpdatedAt = model.Ms(now)
	if t.OriginalID != "" {
		orig, err := l.loadTxn(t.OriginalID)
		if err != nil {
			return Outcome{}, err
		}
		if orig.Status != model.TxnCompleted || orig.RefundedCents < t.AmountCents {
			// A reversed purchase gave back what was not refunded; the
			// refund is part of that settlement and stays.
			return Outcome{}, conflict("transaction_not_reversible", "The refunded purchase is "+orig.Status+"; its refunds can no longer be reversed.")
		}
		orig.RefundedCents -= t.AmountCents
		orig.UpdatedAt = model.Ms(now)
		c.putTxn(orig)
	}
	reversed := t.AmountCents
	t.Status, t.ReversedAt, t.ReversalReason = model.TxnReversed, model.Ms(now), "refund_reversal"
	t.ReversedCents, t.UpdatedAt = reversed, model.Ms(now)
	p := txnEventData(t)
	data := p.Map()
	data["originalAmount"], data["reversedAmount"], data["reason"] = reversed, reversed, "refund_reversal"
	c.event(model.EvtTxnReversed, data)
	c.putTxn(t)
	c.putBalance(&nu)
	out := Outcome{Code: authz.CodeApproved, AuthCode: t.AuthorizationCode, TxnID: t.ID, Txn: t}
	if err := c.applyOutcome(ctx, &out); err != nil {
		return Outcome{}, err
	}
	*user = nu
	release()
	return out, c.wait()
}
