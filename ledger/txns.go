package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/eventlog"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
	"github.com/ledgersim/ledgersim/vault"
)

// Message classes for repeat detection: a repeat is recognised within its
// class, so a reversal that quotes its original's STAN and RRN is not taken
// for a repeat of the original.
const (
	ClassAuth      byte = 'a' // 0100, 0101
	ClassAdvice    byte = 'v' // 0120
	ClassFinancial byte = 'f' // 0200
	ClassClearing  byte = 'c' // 0220
	ClassReversal  byte = 'r' // 0400, 0401, 0420, 0421
)

// AuthRequest is an authorization from any source: an ISO 8583 0100, 0101,
// 0120 or 0200, or POST /v1/simulate/authorization.
type AuthRequest struct {
	Source      string // "iso" or "api"
	MTI         string
	Class       byte
	PAN         string // the ISO path finds the card by PAN
	CardID      string // the API path names the card
	Kind        authz.Kind
	AmountCents int64
	Currency    string // ISO 4217 numeric
	Expiry      string // DE 14 YYMM, "" when not presented
	CVV2        string
	HasCVV2     bool
	MerchantID  string
	Merchant    string
	City        string
	Country     string
	MCC         string
	STAN        string
	RRN         string
	TxnTime     string // DE 7
	TerminalID  string
	AcquirerID  string
	// OriginalData is DE 90; on a refund it names the purchase refunded.
	OriginalData string
	Advice       bool // 0120: record, never decline on policy
	// AllowPartial: the terminal takes an approval for less than asked
	// (DE 48 sub-element 61, or the API's allowPartial).
	AllowPartial bool
	Complete     bool // 0200: authorize and complete in one
	// ForceCode, when set, replaces authz.Decide's decision with a decline
	// of that code and ForceReason, recorded as any decline is (a fault
	// rule's respond).
	ForceCode, ForceReason string
	// Durable, when set, makes Authorize return before the decision is
	// synced; see Deferred.
	Durable *Deferred
}

// Outcome is the reply to a message: its response code and what goes with
// it.
type Outcome struct {
	Code           string
	Reason         string
	AuthCode       string
	TxnID          string
	AvailableCents int64
	HasBalance     bool
	// Replayed marks the first reply to an earlier message, returned to a
	// repeat without applying anything.
	Replayed bool
	// Txn is the transaction as it stands after the message, when there is
	// one.
	Txn *model.Transaction
}

func declined(code, reason string) Outcome { return Outcome{Code: code, Reason: reason} }

// findCardByPAN resolves the card an ISO message is for, and its user.
// A malformed or unknown PAN is code 14.
func (l *Ledger) findCardByPAN(pan string) (cardID, userID string, ok bool) {
	if !vault.Luhn(pan) {
		return "", "", false
	}
	k := panKey(l.vault.HashSum(pan))
	l.dir.mu.RLock()
	e, found := l.dir.cardByPAN[k]
	l.dir.mu.RUnlock()
	if !found || e.cardID == pendingPAN {
		return "", "", false
	}
	return e.cardID, e.userID, true
}

// CardIDByPAN returns the ID of the card a PAN was issued as.
func (l *Ledger) CardIDByPAN(pan string) (string, bool) {
	id, _, ok := l.findCardByPAN(pan)
	return id, ok
}

func fingerprint(class byte, cardID string, procKind authz.Kind, amount int64, currency, merchantID, terminal string, replacement int64) uint64 {
	// FNV-1a 64 over class, kind, card ID, amount and replacement (8 bytes
	// each, big-endian) and currency|merchantID|terminal, computed in place.
	const offset64 = 14695981039346656037
	h := fnvByte(fnvByte(offset64, class), byte(procKind))
	h = fnvString(h, cardID)
	h = fnvUint64(h, uint64(amount))
	h = fnvUint64(h, uint64(replacement))
	h = fnvByte(fnvString(h, currency), '|')
	h = fnvByte(fnvString(h, merchantID), '|')
	return fnvString(h, terminal)
}

// Authorize decides an authorization and records it.
func (l *Ledger) Authorize(ctx context.Context, r *AuthRequest) (Outcome, error) {
	now := l.clock.Now()
	var cardID, userID string
	if r.CardID != "" {
		cardID = r.CardID
		var ok bool
		if userID, ok = l.userOfCard(cardID); !ok {
			return Outcome{}, notFound("card_not_found", "card", cardID)
		}
	} else {
		var ok bool
		if cardID, userID, ok = l.findCardByPAN(r.PAN); !ok {
			return declined(authz.CodeInvalidCard, authz.ReasonInvalidCard), nil
		}
	}
	s := l.shardOf(userID)
	s.mu.Lock()
	card := s.cards[cardID]
	user := s.users[userID]
	agent := s.agents[card.AgentID]
	fp := fingerprint(r.Class, cardID, r.Kind, r.AmountCents, r.Currency, r.MerchantID, r.TerminalID, 0)
	out, seen, claim := l.repeats.claim(r.Class, r.STAN, r.RRN, fp, model.Ms(now))
	if seen {
		s.mu.Unlock()
		return out, l.replayed(r.Durable)
	}
	// Every return below that records nothing (a balance inquiry, a refund
	// declined before it is recorded, an error) gives the claim up; a
	// repeat that finds it pending meanwhile is decided afresh (see claim).
	defer claim.abandon()
	w := new(authWork)
	req := &w.req
	*req = authz.Request{
		Kind: r.Kind, AmountCents: r.AmountCents, Currency: r.Currency, Expiry: r.Expiry,
		CVVPresent: r.HasCVV2, MerchantID: r.MerchantID, MerchantKey: merchantKey(r.Merchant), MCC: r.MCC, Advice: r.Advice,
	}
	if r.HasCVV2 {
		// The CVV2 is checked against the one derived from the card's own PAN
		// and expiry: the ISO path has the PAN in hand; the API path has none.
		req.CVVMatch = r.PAN != "" && l.vault.CheckCVV(r.PAN, card.Expiry(), r.CVV2)
	}
	in := authz.Input{Req: req, Card: card, Agent: agent, User: user, HintKey: merchantKey(card.MerchantHint), Now: now}
	l.withControls(s, &in)
	// amount is what is authorized: less than asked on a partial approval.
	d, amount := decide(&in, r)

	if r.Kind == authz.BalanceInquiry {
		avail := user.AvailableCents()
		s.mu.Unlock()
		out := Outcome{Code: d.Code, Reason: d.Reason}
		if d.Approved() {
			// An inquiry changes nothing, so its approval code is derived
			// from the message rather than from a record.
			out.AvailableCents, out.HasBalance = avail, true
			out.AuthCode = authCode(cardID + "|" + r.STAN + "|" + r.RRN + "|" + r.TxnTime)
		}
		return out, nil
	}

	c := l.beginIn(&w.c, w.rec[:0], now)
	c.kind(RecAuthorization)
	nu, nc, na := *user, *card, *agent
	id, code := l.newTxnID(now)
	t := &w.t
	*t = model.Transaction{
		ID: id, CardID: card.ID, AgentID: card.AgentID, UserID: card.UserID,
		Kind: kindOf(r.Kind), AmountCents: amount, AuthorizedAmountCents: amount, Currency: "USD",
		MerchantName: r.Merchant, MerchantID: r.MerchantID, MerchantCity: r.City, MerchantCountry: r.Country, MCC: r.MCC,
		ResponseCode: d.Code, DeclinedReason: d.Reason, Source: r.Source, MTI: r.MTI, STAN: r.STAN, RRN: r.RRN,
		TxnTime: r.TxnTime, TerminalID: r.TerminalID, AcquirerID: r.AcquirerID, Fingerprint: fp, StandIn: r.Advice,
		CreatedAt: model.Ms(now), UpdatedAt: model.Ms(now),
	}
	markPartial(c, t, d, r.AmountCents)
	ref := &txnRef{id: t.ID, userID: userID}
	var changedCards []*model.Card
	var agentChanged, userChanged, cardChanged bool
	// Status changes need the whole record; counters need only the delta.
	var cardStatusChanged, agentStatusChanged bool
	switch {
	case !d.Approved():
		// A decline authorizes nothing; AmountCents keeps what was asked.
		t.Status = model.TxnDeclined
		t.AmountCents, t.AuthorizedAmountCents = r.AmountCents, 0
		if d.Drift {
			c.event(model.EvtCardMerchantDrift, driftData(card, r, "declined"))
		}
		if d.Expire != "" {
			cardChanged, cardStatusChanged = true, true
			expireCard(c, &nc, d.Expire, d.ExpireReason)
		}
		if d.FreezeCard {
			cardChanged, cardStatusChanged = true, true
			nc.Status = model.CardFrozen
			nc.UpdatedAt = model.Ms(now)
			c.event(model.EvtCardFrozen, map[string]any{"cardId": nc.ID, "agentId": nc.AgentID, "userId": nc.UserID, "status": nc.Status, "previousStatus": card.Status, "reason": "merchant_drift"})
		}
		if d.LimitExceeded {
			c.event(model.EvtAgentLimitExceeded, limitData(agent, r.AmountCents, now, d.SuspendAgent))
		}
		if d.SuspendAgent {
			changedCards = l.setAgentStatus(c, s, &na, model.AgentSuspended)
			agentChanged, agentStatusChanged = true, true
			na.UpdatedAt = model.Ms(now)
		}
		c.txnEvent(model.EvtTxnDeclined, t)
	case r.Kind == authz.Refund:
		t.Kind, t.Status, t.SettledAt = model.KindRefund, model.TxnCompleted, model.Ms(now)
		if r.OriginalData != "" {
			if code := l.linkRefund(s, c, t, r.OriginalData, now); code != "" {
				s.mu.Unlock()
				reason := authz.ReasonInvalidAmount
				if code == authz.CodeInvalidTxn {
					reason = "original_not_settled"
				}
				return declined(code, reason), nil
			}
		}
		nu.SettledCents += r.AmountCents
		userChanged = true
		t.AuthorizationCode = code
		c.txnEvent(model.EvtTxnRefunded, t)
	case r.Kind == authz.Verification:
		t.Kind, t.Status, t.AuthorizationCode = model.KindVerification, model.TxnCompleted, code
		t.AuthorizedAt, t.SettledAt = model.Ms(now), model.Ms(now)
		c.txnEvent(model.EvtTxnAuthorized, t)
	default:
		t.AuthorizationCode, t.AuthorizedAt = code, model.Ms(now)
		amt := amount
		nc.Usage.AuthCount++
		authz.AddCardSpend(&nc, now, amt)
		authz.AddAgentSpend(&na, now, amt)
		agentChanged, userChanged, cardChanged = true, true, true
		if nc.Type == model.CardSingle {
			nc.Usage.Used = true
		} else if nc.MerchantHint == "" && nc.Usage.LockedMerchant == "" {
			nc.Usage.LockedMerchant = authz.LockKey(r.MerchantID, req.MerchantKey)
		}
		nc.UpdatedAt = model.Ms(now)
		if d.Drift {
			c.event(model.EvtCardMerchantDrift, driftData(card, r, "approved"))
		}
		if d.LimitExceeded {
			c.event(model.EvtAgentLimitExceeded, limitData(agent, amt, now, false))
		}
		l.correlate(c, card, t, now)
		if err := l.resolveIntent(s, c, t, now); err != nil {
			s.mu.Unlock()
			return Outcome{}, err
		}
		c.txnEvent(model.EvtTxnAuthorized, t)
		if r.Complete {
			t.Status, t.SettledAt = model.TxnCompleted, model.Ms(now)
			nu.SettledCents -= amt
			if nc.Type == model.CardSingle {
				closeCard(c, &nc, "single_use_completed")
				cardStatusChanged = true
			}
			c.txnEvent(model.EvtTxnCompleted, t)
		} else {
			t.Status, t.HoldCents = model.TxnAuthorized, amt
			t.HoldExpiresAt = model.Ms(now) + l.cfg.HoldExpiry.Milliseconds()
			if l.cfg.AutoSettle > 0 {
				t.AutoSettleAt = model.Ms(now) + l.cfg.AutoSettle.Milliseconds()
			}
			nu.PendingCents += amt
			ref.open, ref.holdExpires = true, sweepAt(t)
		}
		// The original is found through its open hold while it is open,
		// and through l.origins (added below, once the record is
		// appended) for as long as the ledger runs.
		if r.STAN != "" && r.TxnTime != "" {
			ref.addKeyHash(origHashSTAN(t.CardID, r.STAN, r.TxnTime))
		}
		if r.RRN != "" {
			ref.addKeyHash(origHashRRN(t.CardID, r.RRN, t.AuthorizationCode))
		}
	}
	c.putTxn(t)
	if userChanged {
		nu.UpdatedAt = model.Ms(now)
		c.putBalance(&nu)
	}
	switch {
	case cardStatusChanged:
		c.putCard(&nc)
	case cardChanged:
		c.putUsage(&nc)
	}
	switch {
	case agentStatusChanged:
		c.putAgent(&na)
	case agentChanged:
		c.putSpend(&na)
	}
	out = Outcome{Code: t.ResponseCode, Reason: d.Reason, AuthCode: t.AuthorizationCode, TxnID: t.ID, Txn: t}
	if err := c.applyOutcome(ctx, &out); err != nil {
		s.mu.Unlock()
		return Outcome{}, err
	}
	if userChanged {
		*user = nu
	}
	if cardChanged {
		*card = nc
	}
	if agentChanged {
		*agent = na
		for _, cc := range changedCards {
			*s.cards[cc.ID] = *cc
		}
	}
	s.txns.add(ref)
	l.origins.add(t)
	claim.settle(t.ResponseCode, d.Reason, t.AuthorizationCode, t.ID)
	if err := l.assessRisk(ctx, s, c, t, d); err != nil {
		s.mu.Unlock()
		return Outcome{}, err
	}
	s.mu.Unlock()
	return out, l.finish(c, r.Durable)
}

func closeCard(c *change, card *model.Card, reason string) {
	prev := card.Status
	card.Status, card.ClosedAt, card.UpdatedAt = model.CardClosed, model.Ms(c.now), model.Ms(c.now)
	c.event(model.EvtCardClosed, map[string]any{"cardId": card.ID, "agentId": card.AgentID, "userId": card.UserID, "status": card.Status, "previousStatus": prev, "reason": reason})
}

func driftData(card *model.Card, r *AuthRequest, outcome string) map[string]any {
	return map[string]any{"cardId": card.ID, "agentId": card.AgentID, "userId": card.UserID, "merchantHint": card.MerchantHint,
		"merchantName": r.Merchant, "merchantId": r.MerchantID, "onDrift": card.OnDrift, "outcome": outcome}
}

func limitData(a *model.Agent, amount int64, now time.Time, suspended bool) map[string]any {
	return map[string]any{"agentId": a.ID, "userId": a.UserID, "spendingLimit": a.SpendingLimit,
		"spendingLimitFrequency": a.SpendingLimitFrequency, "currentSpend": authz.AgentSpend(a, now), "amount": amount,
		"onLimitExceeded": a.OnLimitExceeded, "suspended": suspended}
}

// txnEventData is a transaction's event payload (facts section 9.3).
func txnEventData(t *model.Transaction) eventlog.TxnPayload {
	status := t.Status
	if status == model.TxnAuthorized {
		status = "pending" // the webhook payloads use the API enum
	}
	return eventlog.TxnPayload{TransactionID: t.ID, CardID: t.CardID, AgentID: t.AgentID, UserID: t.UserID,
		Amount: t.AmountCents, AuthorizedAmount: t.AuthorizedAmountCents, Currency: t.Currency,
		MerchantName: t.MerchantName, MCC: t.MCC, Status: status, DeclinedReason: t.DeclinedReason,
		PostedAt: t.SettledAt, AttestationStatus: t.AttestationStatus, IntentID: t.IntentID,
		OriginalTransactionID: t.OriginalID, RequestedAmount: t.RequestedAmountCents}
}

// merchantKey is the merchant name as compared for locks and hints.
func merchantKey(name string) string {
	if k, ok := asciiMerchantKey(name); ok {
		return k
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(name) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// loadTxn reads a transaction record.
func (l *Ledger) loadTxn(id string) (*model.Transaction, error) {
	return l.loadTxnInto(id, new(model.Transaction))
}

// loadTxnInto is loadTxn into t, which should be zero (a follow-up's
// followUpWork: one allocation for several).
func (l *Ledger) loadTxnInto(id string, t *model.Transaction) (*model.Transaction, error) {
	raw, err := l.get(keyspace.TxnKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("transaction_not_found", "transaction", id)
	}
	if err != nil {
		return nil, err
	}
	if err := decodeTransactionShared(raw, t); err != nil {
		return nil, fmt.Errorf("ledger: transaction %s: %w", id, err)
	}
	return t, nil
}

// linkRefund ties an ISO refund to the purchase named by DE 90 and checks
// that it refunds no more than is left of it. It returns a decline code, or
// "" when the refund may go ahead (also when the original is not known: a
// merchant credit needs no original).
func (l *Ledger) linkRefund(s *shard, c *change, refund *model.Transaction, de90 string, now time.Time) string {
	if len(de90) < 20 {
		return ""
	}
	// The same lookup a clearing or reversal makes: memory for open
	// authorizations, the durable index for the rest. A store error reads
	// as no original: the refund is then a plain credit.
	id, _, _ := l.findOriginal(s, &FollowUp{OriginalData: de90}, refund.CardID)
	if id == "" {
		return ""
	}
	orig, err := l.loadTxn(id)
	if err != nil || orig.CardID != refund.CardID {
		return ""
	}
	if orig.Status != model.TxnCompleted {
		// Only what was charged can be refunded: an open authorization is
		// reversed instead, and a reversed one left nothing to give back.
		return authz.CodeInvalidTxn
	}
	if refund.AmountCents > orig.AmountCents-orig.RefundedCents {
		return authz.CodeInvalidAmount
	}
	orig.RefundedCents += refund.AmountCents
	orig.UpdatedAt = model.Ms(now)
	refund.OriginalID = orig.ID
	c.putTxn(orig)
	return ""
}

func kindOf(k authz.Kind) string {
	switch k {
	case authz.Refund:
		return model.KindRefund
	case authz.Verification:
		return model.KindVerification
	}
	return model.KindPurchase
}

// correlate sets a purchase's attestation status from the card's last
// credential access: attested within the card's attestation window,
// stale after it, unattested with none. The latter two record card.anomaly.
func (l *Ledger) correlate(c *change, card *model.Card, t *model.Transaction, now time.Time) {
	last := card.Usage.LastAccessAt
	switch {
	case last == 0:
		t.AttestationStatus = model.Unattested
	case model.Ms(now)-last <= card.AttestationWindowMinutes*int64(time.Minute/time.Millisecond):
		t.AttestationStatus, t.AccessEventID = model.Attested, card.Usage.LastAccessEventID
		return
	default:
		t.AttestationStatus, t.AccessEventID = model.Stale, card.Usage.LastAccessEventID
	}
	c.event(model.EvtCardAnomaly, map[string]any{"cardId": card.ID, "agentId": card.AgentID, "userId": card.UserID,
		"transactionId": t.ID, "anomaly": t.AttestationStatus + "_spend", "attestationStatus": t.AttestationStatus,
		"accessEventId": t.AccessEventID, "amount": t.AmountCents, "merchantName": t.MerchantName})
}
