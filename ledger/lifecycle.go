package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// FollowUp is a message about an earlier authorization: a clearing (0220),
// a reversal (0400, 0401, 0420, 0421), or their simulate endpoints.
type FollowUp struct {
	Source string
	MTI    string
	Class  byte
	// The original is found by TxnID (API), by DE 90 (STAN and DE 7 of the
	// original), or by RRN and approval code.
	TxnID        string
	PAN          string
	OriginalData string
	RRN          string
	AuthCode     string
	STAN         string
	TxnTime      string
	TerminalID   string
	AcquirerID   string
	AmountCents  int64 // DE 4: the final amount of a clearing
	Currency     string
	// Replacement is DE 95's actual amount: what remains after a partial
	// reversal. Without it a reversal is full.
	ReplacementCents int64
	HasReplacement   bool
	// Merchant data, for a force post (a clearing without an original).
	MerchantID string
	Merchant   string
	City       string
	Country    string
	MCC        string
	// Durable, when set, makes Clear and Reverse return before the
	// decision is synced; see Deferred.
	Durable *Deferred
}

// locate finds the shard and the original of a follow-up. It returns the
// locked shard (or nil when even the card is unknown; cardKnown tells the
// two apart for the PAN path), and the original's ref (nil when not found).
func (l *Ledger) locate(f *FollowUp) (s *shard, cardID string, ref *txnRef, err error) {
	if f.TxnID != "" {
		t, err := l.loadTxn(f.TxnID)
		if err != nil {
			return nil, "", nil, err
		}
		s = l.shardOf(t.UserID)
		s.mu.Lock()
		return s, t.CardID, s.refFor(t.ID, t.UserID), nil
	}
	if f.PAN != "" {
		cardID, userID, ok := l.findCardByPAN(f.PAN)
		if !ok {
			return nil, "", nil, nil
		}
		s = l.shardOf(userID)
		s.mu.Lock()
		id, ref, err := l.findOriginal(s, f, cardID)
		if err != nil {
			s.mu.Unlock()
			return nil, "", nil, err
		}
		if ref == nil && id != "" {
			ref = s.refFor(id, userID)
		}
		return s, cardID, ref, nil
	}
	// DE 90 without DE 2: l.origins names the original and so its
	// shard.
	id, _, err := l.findOriginal(nil, f, "")
	if err != nil || id == "" {
		return nil, "", nil, err
	}
	t, err := l.loadTxn(id)
	if err != nil {
		return nil, "", nil, err
	}
	s = l.shardOf(t.UserID)
	s.mu.Lock()
	return s, "", s.refFor(id, t.UserID), nil
}

// refFor returns the open ref of a transaction, or a bare one for a
// transaction that no longer holds funds (acted on through its record).
func (s *shard) refFor(id, userID string) *txnRef {
	if r := s.txns.get(id); r != nil {
		r.userID = userID
		return r
	}
	return &txnRef{id: id, userID: userID}
}

// findOriginal finds the approved purchase a follow-up names, by DE 90
// and then by RRN + approval code. With a card (DE 2), only that card's
// purchases: an open one from its shard's memory (s, locked by the
// caller), any other through l.origins. Without a card, every card's
// purchases, the latest first. It returns the original's ID, and its open
// ref when memory had it.
func (l *Ledger) findOriginal(s *shard, f *FollowUp, cardID string) (string, *txnRef, error) {
	try := func(kind int, mem uint64, a, b string) (string, *txnRef, error) {
		if cardID != "" {
			if r := s.txns.byRefHash(mem); r != nil {
				return r.id, r, nil
			}
		}
		// Candidates come newest first; the first whose references are
		// the follow-up's is the latest purchase that carried them (there
		// is rarely more than one).
		for _, id := range l.origins.candidates(kind, a, b, cardID, 0) {
			t, err := l.loadTxn(id)
			if err != nil {
				if le := (*Error)(nil); errors.As(err, &le) && le.Kind == KindNotFound {
					continue // added by a change that failed to append
				}
				return "", nil, err
			}
			ra, rb := t.STAN, t.TxnTime
			if kind == refRRN {
				ra, rb = t.RRN, t.AuthorizationCode
			}
			if ra == a && rb == b && (cardID == "" || t.CardID == cardID) {
				return id, nil, nil
			}
		}
		return "", nil, nil
	}
	if len(f.OriginalData) >= 20 {
		stan, de7 := f.OriginalData[4:10], f.OriginalData[10:20]
		id, ref, err := try(refSTAN, origHashSTAN(cardID, stan, de7), stan, de7)
		if err != nil || id != "" {
			return id, ref, err
		}
	}
	if f.RRN != "" && f.AuthCode != "" {
		return try(refRRN, origHashRRN(cardID, f.RRN, f.AuthCode), f.RRN, f.AuthCode)
	}
	return "", nil, nil
}

// Clear completes an authorization with its final amount (0220). Less than
// authorized releases the rest of the hold; more is allowed up to the
// over-capture percentage. Without an original it is a force post.
func (l *Ledger) Clear(ctx context.Context, f *FollowUp) (Outcome, error) {
	now := l.clock.Now()
	s, cardID, ref, err := l.locate(f)
	if err != nil {
		return Outcome{}, err
	}
	if s == nil {
		if f.PAN != "" {
			return declined(authz.CodeInvalidCard, authz.ReasonInvalidCard), nil
		}
		return declined(authz.CodeNoOriginal, "original_not_found"), nil
	}
	release := holdShard(s)
	defer release()
	fp := fingerprint(f.Class, cardID, authz.Purchase, f.AmountCents, f.Currency, f.MerchantID, f.TerminalID, 0)
	out, seen, claim := l.repeats.claim(f.Class, f.STAN, f.RRN, fp, model.Ms(now))
	if seen {
		release()
		return out, l.replayed(f.Durable)
	}
	// A clearing remembered for its repeats is one that changed something
	// (recordFollowUp); every other reply gives the claim up.
	defer claim.abandon()
	if f.Currency != "" && f.Currency != "840" {
		return declined(authz.CodeNotPermitted, authz.ReasonCurrency), nil
	}
	if f.AmountCents < 0 {
		return declined(authz.CodeInvalidAmount, authz.ReasonInvalidAmount), nil
	}
	w := new(followUpWork)
	c := l.beginIn(&w.c, w.rec[:0], now)
	c.kind(RecClearing)
	if ref == nil {
		if cardID == "" {
			return declined(authz.CodeNoOriginal, "original_not_found"), nil
		}
		return l.forcePost(ctx, s, c, cardID, f, fp, claim, now, release)
	}
	t, err := l.loadTxnInto(ref.id, &w.t)
	if err != nil {
		return Outcome{}, err
	}
	if cardID != "" && t.CardID != cardID {
		return l.forcePost(ctx, s, c, cardID, f, fp, claim, now, release)
	}
	switch t.Status {
	case model.TxnCompleted:
		// Cleared already: the clearing is acknowledged and changes nothing,
		// so an authorization is never completed twice.
		return Outcome{Code: authz.CodeApproved, AuthCode: t.AuthorizationCode, TxnID: t.ID, Txn: t}, nil
	case model.TxnAuthorized:
	default:
		return declined(authz.CodeInvalidTxn, "original_"+t.Status), nil
	}
	final := f.AmountCents
	if final > t.AmountCents+t.AmountCents*l.cfg.OverCapturePct/100 {
		return declined(authz.CodeInvalidAmount, "over_capture_limit"), nil
	}
	user, card, agent := s.users[t.UserID], s.cards[t.CardID], s.agents[t.AgentID]
	nu, nc, na := *user, *card, *agent
	authAt := time.UnixMilli(t.AuthorizedAt).UTC()
	delta := final - t.AmountCents
	authz.AdjustCardSpend(&nc, authAt, delta)
	authz.AdjustAgentSpend(&na, authAt, delta)
	nu.PendingCents -= t.HoldCents
	nu.SettledCents -= final
	nu.UpdatedAt = model.Ms(now)
	t.AmountCents, t.HoldCents, t.Status = final, 0, model.TxnCompleted
	t.SettledAt, t.UpdatedAt = model.Ms(now), model.Ms(now)
	cardClosed := false
	if nc.Type == model.CardSingle && nc.Status != model.CardClosed {
		closeCard(c, &nc, "single_use_completed")
		cardClosed = true
	}
	c.txnEvent(model.EvtTxnCompleted, t)
	c.putTxn(t)
	c.putBalance(&nu)
	if cardClosed {
		c.putCard(&nc)
	} else {
		c.putUsage(&nc)
	}
	c.putSpend(&na)
	l.recordFollowUp(c, f, fp, t, now)
	out = Outcome{Code: authz.CodeApproved, AuthCode: t.AuthorizationCode, TxnID: t.ID, Txn: t}
	if err := c.applyOutcome(ctx, &out); err != nil {
		return Outcome{}, err
	}
	*user, *card, *agent = nu, nc, na
	s.txns.close(ref)
	claim.settle(out.Code, "", out.AuthCode, out.TxnID)
	release()
	return out, l.finish(c, f.Durable)
}

// recordFollowUp writes a follow-up's first reply under its class, STAN
// and RRN in the same batch as its change, so that a repeat, even after a
// restart, gets the same reply (rebuildFollowUps).
func (l *Ledger) recordFollowUp(c *change, f *FollowUp, fp uint64, t *model.Transaction, now time.Time) {
	if f.STAN == "" || f.RRN == "" {
		return
	}
	if c.err != nil {
		return
	}
	var rk, key, value [128]byte // on the stack: set copies them
	k := keyspace.AppendFollowUpKey(key[:0], model.Ms(now), appendRepeatKey(rk[:0], f.Class, f.STAN, f.RRN))
	c.set(k, appendFollowUpRecord(value[:0], &followUpRecord{TxnID: t.ID, UserID: t.UserID,
		Fingerprint: fp, AuthCode: t.AuthorizationCode, At: model.Ms(now)}))
}

// followUpRecord is the stored form of a follow-up's first reply.
type followUpRecord struct {
	TxnID       string `json:"txnId"`
	UserID      string `json:"userId"`
	Fingerprint uint64 `json:"fingerprint"`
	AuthCode    string `json:"authCode"`
	At          int64  `json:"at"`
}

func (l *Ledger) forcePost(ctx context.Context, s *shard, c *change, cardID string, f *FollowUp, fp uint64, claim repeatClaim, now time.Time, release func()) (Outcome, error) {
	card := s.cards[cardID]
	user := s.users[card.UserID]
	nu := *user
	id, code := l.newTxnID(now)
	t := &model.Transaction{
		ID: id, CardID: card.ID, AgentID: card.AgentID, UserID: card.UserID,
		Kind: model.KindPurchase, Status: model.TxnCompleted, AmountCents: f.AmountCents, AuthorizedAmountCents: 0,
		Currency: "USD", MerchantName: f.Merchant, MerchantID: f.MerchantID, MerchantCity: f.City, MerchantCountry: f.Country,
		MCC: f.MCC, ResponseCode: authz.CodeApproved, ForcePost: true, Source: f.Source, MTI: f.MTI, STAN: f.STAN,
		RRN: f.RRN, TxnTime: f.TxnTime, TerminalID: f.TerminalID, AcquirerID: f.AcquirerID, Fingerprint: fp,
		CreatedAt: model.Ms(now), UpdatedAt: model.Ms(now), SettledAt: model.Ms(now),
	}
	t.AuthorizationCode = code
	nu.SettledCents -= f.AmountCents
	nu.UpdatedAt = model.Ms(now)
	c.txnEvent(model.EvtTxnCompleted, t)
	c.putTxn(t)
	c.putBalance(&nu)
	l.recordFollowUp(c, f, fp, t, now)
	out := Outcome{Code: authz.CodeApproved, AuthCode: t.AuthorizationCode, TxnID: t.ID, Txn: t}
	if err := c.applyOutcome(ctx, &out); err != nil {
		return Outcome{}, err
	}
	*user = nu
	claim.settle(out.Code, "", out.AuthCode, out.TxnID)
	release()
	return out, l.finish(c, f.Durable)
}

// Reverse voids an authorization in full, or partially down to DE 95's
// amount. A completed transaction is reversed by crediting back what is
// reversed.
func (l *Ledger) Reverse(ctx context.Context, f *FollowUp) (Outcome, error) {
	now := l.clock.Now()
	s, cardID, ref, err := l.locate(f)
	if err != nil {
		return Outcome{}, err
	}
	if s == nil {
		if f.PAN != "" {
			if _, _, known := l.findCardByPAN(f.PAN); !known {
				return declined(authz.CodeInvalidCard, authz.ReasonInvalidCard), nil
			}
		}
		return declined(authz.CodeNoOriginal, "original_not_found"), nil
	}
	release := holdShard(s)
	defer release()
	fp := fingerprint(f.Class, cardID, authz.Purchase, f.AmountCents, f.Currency, f.MerchantID, f.TerminalID, f.ReplacementCents)
	out, seen, claim := l.repeats.claim(f.Class, f.STAN, f.RRN, fp, model.Ms(now))
	if seen {
		release()
		return out, l.replayed(f.Durable)
	}
	defer claim.abandon() // kept only when the reversal changes something
	if f.Currency != "" && f.Currency != "840" {
		return declined(authz.CodeNotPermitted, authz.ReasonCurrency), nil
	}
	if ref == nil {
		return declined(authz.CodeNoOriginal, "original_not_found"), nil
	}
	w := new(followUpWork)
	t, err := l.loadTxnInto(ref.id, &w.t)
	if err != nil {
		return Outcome{}, err
	}
	if cardID != "" && t.CardID != cardID {
		return declined(authz.CodeNoOriginal, "original_not_found"), nil
	}
	if t.Kind != model.KindPurchase {
		// Refunds and verifications are not authorizations: there is no
		// hold to release, and a refund is undone by a purchase, not a
		// reversal.
		return declined(authz.CodeInvalidTxn, "original_not_reversible"), nil
	}
	if t.Status == model.TxnReversed || t.Status == model.TxnDeclined {
		// Reversed already: acknowledged, nothing changes.
		return Outcome{Code: authz.CodeApproved, TxnID: t.ID, AuthCode: t.AuthorizationCode, Txn: t}, nil
	}
	remaining := int64(0)
	if f.HasReplacement {
		remaining = f.ReplacementCents
	}
	// What was refunded of a completed purchase is already back with the
	// user: a reversal can give back only the rest.
	if (f.HasReplacement && remaining < t.RefundedCents) || remaining > t.AmountCents {
		return declined(authz.CodeInvalidAmount, "reversal_exceeds_original"), nil
	}
	if remaining == t.AmountCents {
		return Outcome{Code: authz.CodeApproved, TxnID: t.ID, AuthCode: t.AuthorizationCode, Txn: t}, nil
	}
	c := l.beginIn(&w.c, w.rec[:0], now)
	c.kind(RecReversal)
	l.recordFollowUp(c, f, fp, t, now)
	out, err = l.reverseLocked(ctx, s, c, ref, t, remaining, "reversal", now)
	if err != nil {
		return Outcome{}, err
	}
	claim.settle(out.Code, "", out.AuthCode, out.TxnID)
	release()
	return out, l.finish(c, f.Durable)
}

// reverseLocked reverses t down to remaining (0 = full) within c and applies
// c. The caller holds the shard lock and waits on c.
func (l *Ledger) reverseLocked(ctx context.Context, s *shard, c *change, ref *txnRef, t *model.Transaction, remaining int64, reason string, now time.Time) (Outcome, error) {
	user, card, agent := s.users[t.UserID], s.cards[t.CardID], s.agents[t.AgentID]
	nu, nc, na := *user, *card, *agent
	released := t.AmountCents - remaining
	original := t.AmountCents
	authAt := time.UnixMilli(t.AuthorizedAt).UTC()
	wasOpen := t.Status == model.TxnAuthorized
	// The card's and agent's spend give back what is reversed of the
	// purchase, open or completed (a completed one's spend includes its
	// over-capture), in the windows still current. Refunds are
	// transactions of their own and never touched the spend.
	authz.AdjustCardSpend(&nc, authAt, -released)
	authz.AdjustAgentSpend(&na, authAt, -released)
	if wasOpen {
		nu.PendingCents -= t.HoldCents - remaining
		t.HoldCents = remaining
	} else {
		nu.SettledCents += released
		if remaining == 0 {
			// A full reversal of a partly refunded purchase gives back only
			// what was not refunded.
			nu.SettledCents -= t.RefundedCents
			released -= t.RefundedCents
		}
	}
	t.AmountCents = remaining
	t.ReversedCents += released
	t.UpdatedAt = model.Ms(now)
	if remaining == 0 {
		t.Status, t.ReversedAt, t.ReversalReason = model.TxnReversed, model.Ms(now), reason
		if nc.Type == model.CardSingle && wasOpen {
			// A voided purchase leaves a single-use card unused.
			nc.Usage.Used = false
		}
	}
	nu.UpdatedAt = model.Ms(now)
	c.txnReversalEvent(t, eventlog.Reversal{OriginalAmount: original, ReversedAmount: released, Reason: reason})
	c.putTxn(t)
	c.putBalance(&nu)
	c.putUsage(&nc)
	c.putSpend(&na)
	out := Outcome{Code: authz.CodeApproved, AuthCode: t.AuthorizationCode, TxnID: t.ID, Txn: t}
	if err := c.applyOutcome(ctx, &out); err != nil {
		return Outcome{}, err
	}
	*user, *card, *agent = nu, nc, na
	if remaining == 0 {
		s.txns.close(ref)
	}
	return out, nil
}

// Refund credits part or all of a completed purchase back to its user as a
// transaction of its own.
func (l *Ledger) Refund(ctx context.Context, txnID string, amount int64) (Outcome, error) {
	now := l.clock.Now()
	orig, err := l.loadTxn(txnID)
	if err != nil {
		return Outcome{}, err
	}
	s := l.shardOf(orig.UserID)
	s.mu.Lock()
	release := holdShard(s)
	defer release()
	if orig, err = l.loadTxn(txnID); err != nil {
		return Outcome{}, err
	}
	if orig.Kind != model.KindPurchase || orig.Status != model.TxnCompleted {
		return Outcome{}, conflict("transaction_not_refundable", "Only a completed purchase can be refunded; this transaction is "+orig.Status+".")
	}
	if amount <= 0 || amount > orig.AmountCents-orig.RefundedCents {
		return Outcome{}, invalid("parameter_invalid", "amount", "The refund must be positive and at most what is left to refund of the original.")
	}
	user := s.users[orig.UserID]
	nu := *user
	nu.SettledCents += amount
	nu.UpdatedAt = model.Ms(now)
	orig.RefundedCents += amount
	orig.UpdatedAt = model.Ms(now)
	t := &model.Transaction{
		ID: l.ids.New(model.PrefixTransaction, now), CardID: orig.CardID, AgentID: orig.AgentID, UserID: orig.UserID,
		Kind: model.KindRefund, Status: model.TxnCompleted, AmountCents: amount, AuthorizedAmountCents: amount,
		Currency: "USD", MerchantName: orig.MerchantName, MerchantID: orig.MerchantID, MerchantCity: orig.MerchantCity,
		MerchantCountry: orig.MerchantCountry, MCC: orig.MCC, ResponseCode: authz.CodeApproved, OriginalID: orig.ID,
		Source: "api", CreatedAt: model.Ms(now), UpdatedAt: model.Ms(now), SettledAt: model.Ms(now),
	}
	t.AuthorizationCode = authCode(t.ID)
	c := l.begin(now)
	c.kind(RecRefund)
	c.txnEvent(model.EvtTxnRefunded, t)
	c.putTxn(t)
	c.putTxn(orig)
	c.putBalance(&nu)
	out := Outcome{Code: authz.CodeApproved, AuthCode: t.AuthorizationCode, TxnID: t.ID, Txn: t}
	if err := c.applyOutcome(ctx, &out); err != nil {
		return Outcome{}, err
	}
	*user = nu
	release()
	return out, c.wait()
}

// Sweep expires the holds of authorizations not cleared within HoldExpiry,
// completes those due for auto-settle (AutoSettle), ends the lifetime of
// cards past it (card_lifetime.go), and forgets repeat references older than RepeatWindow. Its cost is
// proportional to what expires. The server calls it every second, and the
// virtual clock's advance calls it at once.
func (l *Ledger) Sweep(ctx context.Context) (expired int, err error) {
	// A sweep run by a request (the virtual clock's advance) is not that
	// request's change: its expiries record no response of their own.
	ctx = withoutIdem(ctx)
	now := l.clock.Now()
	nowMs := model.Ms(now)
	// Follow-up records older than the repeat window answer nothing any
	// more; one range deletion a minute drops them.
	if last := l.lastFollowUpGC.Load(); nowMs-last >= 60_000 {
		l.lastFollowUpGC.Store(nowMs)
		c := l.begin(now)
		c.kind(RecHousekeeping)
		c.delRange(keyspace.FollowPrefix, keyspace.FollowUpFloor(nowMs-l.cfg.RepeatWindow.Milliseconds()))
		if err := c.commit(ctx, nil); err != nil {
			return 0, err
		}
	}
	if err := l.trimLog(nowMs); err != nil {
		return 0, err
	}
	l.maybeSnapshot(nowMs)
	l.repeats.expireAll(nowMs)
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		var waits []*change
		for {
			ref, ok := s.txns.nextExpiring()
			if !ok || ref.holdExpires > nowMs {
				break
			}
			t, lerr := l.loadTxn(ref.id)
			if lerr != nil || t.Status != model.TxnAuthorized {
				s.txns.close(ref)
				continue
			}
			c := l.begin(now)
			c.kind(RecExpiry)
			if settlesAtSweep(t) {
				c.kind(RecAutoSettle)
				lerr = l.settleLocked(ctx, s, c, ref, t, now)
			} else {
				_, lerr = l.reverseLocked(ctx, s, c, ref, t, 0, "expired", now)
			}
			if lerr != nil {
				err = lerr
				break
			}
			waits = append(waits, c)
			expired++
		}
		if err == nil {
			ws, lerr := l.expireCards(ctx, s, now)
			waits, err = append(waits, ws...), lerr
		}
		if err == nil && (s.intents.Len() > 0 || s.approvals.len() > 0) {
			c := l.begin(now)
			c.kind(RecIntent)
			if n, ierr := l.expireIntents(s, c, now); ierr != nil {
				err = ierr
			} else if n > 0 {
				if aerr := c.apply(ctx, nil); aerr != nil {
					err = aerr
				} else {
					waits = append(waits, c)
				}
			}
		}
		s.mu.Unlock()
		for _, c := range waits {
			if werr := c.wait(); werr != nil && err == nil {
				err = werr
			}
		}
		if err != nil {
			return expired, err
		}
	}
	return expired, nil
}
