package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
)

// MaxDisputeEvidenceBytes bounds a dispute's evidence file (the platform's
// 20 MB).
const MaxDisputeEvidenceBytes = 20 << 20

// DisputeInput is a validated dispute.
type DisputeInput struct {
	Reason, Description, TextEvidence string
}

// CreateDispute disputes a completed purchase, once: the dispute covers
// what the purchase captured less what was refunded, and starts pending.
func (l *Ledger) CreateDispute(ctx context.Context, txnID string, in DisputeInput) (model.Dispute, error) {
	now := l.clock.Now()
	nowMs := model.Ms(now)
	s, t, err := l.lockTxn(txnID)
	if err != nil {
		return model.Dispute{}, err
	}
	release := holdShard(s)
	defer release()
	if t.Kind != model.KindPurchase || t.Status != model.TxnCompleted {
		return model.Dispute{}, conflict("transaction_not_disputable", "Only a completed purchase can be disputed; this transaction is "+t.Kind+", "+t.Status+".")
	}
	if existing, err := l.get(keyspace.DisputeByTxnKey(t.ID)); err == nil {
		return model.Dispute{}, conflict("dispute_exists", "This transaction is already disputed by "+string(existing)+".")
	} else if !errors.Is(err, store.ErrNotFound) {
		return model.Dispute{}, err
	}
	amount := t.AmountCents - t.RefundedCents
	if amount <= 0 {
		return model.Dispute{}, conflict("transaction_not_disputable", "This purchase was refunded in full; there is nothing to dispute.")
	}
	if in.Reason == "" {
		in.Reason = "other"
	}
	id := l.ids.New(model.PrefixDispute, now)
	h := sha256.Sum256([]byte("ledgersim/issuer-dispute/" + id))
	d := model.Dispute{ID: id, TransactionID: t.ID, CardID: t.CardID, AgentID: t.AgentID, UserID: t.UserID, AmountCents: amount,
		Reason: in.Reason, Description: in.Description, TextEvidence: in.TextEvidence, IssuerDisputeID: "rd_" + hex.EncodeToString(h[:8]),
		Status: model.DisputePending, CreatedAt: nowMs, UpdatedAt: nowMs}
	c := l.begin(now)
	c.kind(RecDispute)
	c.put(keyspace.DisputeKey(d.ID), &d)
	c.index(keyspace.DisputeByUserKey(d.UserID, d.ID))
	c.set(keyspace.DisputeByTxnKey(t.ID), []byte(d.ID))
	c.event(model.EvtDisputeCreated, disputeEventData(&d))
	if err := c.apply(ctx, d); err != nil {
		return model.Dispute{}, err
	}
	release()
	return d, c.wait()
}

func disputeEventData(d *model.Dispute) map[string]any {
	m := map[string]any{"disputeId": d.ID, "transactionId": d.TransactionID, "cardId": d.CardID, "agentId": d.AgentID,
		"userId": d.UserID, "amount": d.AmountCents, "currency": "USD", "reason": d.Reason, "status": d.Status}
	if d.Outcome != "" {
		m["outcome"] = d.Outcome
		m["creditAmount"] = d.CreditCents
		if d.CreditTransactionID != "" {
			m["creditTransactionId"] = d.CreditTransactionID
		}
	}
	return m
}

func (l *Ledger) loadDispute(id string) (*model.Dispute, error) {
	d := new(model.Dispute)
	if err := l.getJSON(keyspace.DisputeKey(id), d); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("dispute_not_found", "dispute", id)
		}
		return nil, err
	}
	return d, nil
}

// GetDispute returns a dispute.
func (l *Ledger) GetDispute(id string) (model.Dispute, error) {
	d, err := l.loadDispute(id)
	if err != nil {
		return model.Dispute{}, err
	}
	return *d, nil
}

// lockDispute loads a dispute under its user's shard lock.
func (l *Ledger) lockDispute(id string) (*shard, *model.Dispute, error) {
	d, err := l.loadDispute(id)
	if err != nil {
		return nil, nil, err
	}
	s := l.shardOf(d.UserID)
	s.mu.Lock()
	if d, err = l.loadDispute(id); err != nil {
		s.mu.Unlock()
		return nil, nil, err
	}
	return s, d, nil
}

func disputeOpen(d *model.Dispute) bool {
	return d.Status == model.DisputePending || d.Status == model.DisputeInReview
}

// PutDisputeEvidence attaches an evidence file to an open dispute, which
// is then in review. A second upload replaces the first.
func (l *Ledger) PutDisputeEvidence(ctx context.Context, id string, ev model.DisputeEvidence, data []byte) (model.Dispute, error) {
	now := l.clock.Now()
	s, d, err := l.lockDispute(id)
	if err != nil {
		return model.Dispute{}, err
	}
	release := holdShard(s)
	defer release()
	if !disputeOpen(d) {
		return model.Dispute{}, conflict("dispute_resolved", "The dispute is resolved ("+d.Status+"); it takes no more evidence.")
	}
	// The file is a blob, not part of the record: written and synced
	// before the record that names it, so no record names a file that is
	// not there (a file whose record was lost is overwritten by a retry).
	if err := l.db.PutSync(keyspace.DisputeFileKey(d.ID), data); err != nil {
		return model.Dispute{}, err
	}
	ev.SizeBytes, ev.UploadedAt = int64(len(data)), model.Ms(now)
	d.Evidence = &ev
	d.Status, d.UpdatedAt = model.DisputeInReview, model.Ms(now)
	c := l.begin(now)
	c.kind(RecDisputeEvidence)
	c.put(keyspace.DisputeKey(d.ID), d)
	if err := c.apply(ctx, *d); err != nil {
		return model.Dispute{}, err
	}
	release()
	return *d, c.wait()
}

// GetDisputeEvidence returns a dispute's evidence file.
func (l *Ledger) GetDisputeEvidence(id string) (model.DisputeEvidence, []byte, error) {
	d, err := l.loadDispute(id)
	if err != nil {
		return model.DisputeEvidence{}, nil, err
	}
	if d.Evidence == nil {
		return model.DisputeEvidence{}, nil, notFound("evidence_not_found", "evidence for dispute", id)
	}
	data, err := l.db.Get(keyspace.DisputeFileKey(id))
	if err != nil {
		return model.DisputeEvidence{}, nil, err
	}
	return *d.Evidence, data, nil
}

// ResolveDispute decides an open dispute as the issuer would. Won
// (accepted): the user is credited what the dispute covers, at most what
// the purchase still has unrefunded, as a refund transaction of its own
// (source "dispute") that counts as refunded on the purchase. Lost
// (rejected): no money moves.
func (l *Ledger) ResolveDispute(ctx context.Context, id, outcome string) (model.Dispute, error) {
	now := l.clock.Now()
	nowMs := model.Ms(now)
	if outcome != model.DisputeWon && outcome != model.DisputeLost {
		return model.Dispute{}, invalid("parameter_invalid", "outcome", "'outcome' must be won or lost.")
	}
	s, d, err := l.lockDispute(id)
	if err != nil {
		return model.Dispute{}, err
	}
	release := holdShard(s)
	defer release()
	if !disputeOpen(d) {
		return model.Dispute{}, conflict("dispute_resolved", "The dispute is already resolved ("+d.Status+").")
	}
	c := l.begin(now)
	c.kind(RecDisputeResolution)
	d.Outcome, d.ResolvedAt, d.UpdatedAt = outcome, nowMs, nowMs
	var nu model.User
	user := s.users[d.UserID]
	if outcome == model.DisputeLost {
		d.Status = model.DisputeRejected
	} else {
		d.Status = model.DisputeAccepted
		orig, err := l.loadTxn(d.TransactionID)
		if err != nil {
			return model.Dispute{}, err
		}
		credit := d.AmountCents
		if orig.Status == model.TxnCompleted {
			credit = min(credit, orig.AmountCents-orig.RefundedCents)
		} else {
			// Reversed since: the reversal already gave the money back.
			credit = 0
		}
		if credit > 0 {
			if user.SettledCents+credit > MaxBalanceCents {
				return model.Dispute{}, conflict("balance_limit", "The credit would take the balance past the simulator's maximum.")
			}
			nu = *user
			nu.SettledCents += credit
			nu.UpdatedAt = nowMs
			orig.RefundedCents += credit
			orig.UpdatedAt = nowMs
			t := &model.Transaction{
				ID: l.ids.New(model.PrefixTransaction, now), CardID: orig.CardID, AgentID: orig.AgentID, UserID: orig.UserID,
				Kind: model.KindRefund, Status: model.TxnCompleted, AmountCents: credit, AuthorizedAmountCents: credit,
				Currency: "USD", MerchantName: orig.MerchantName, MerchantID: orig.MerchantID, MerchantCity: orig.MerchantCity,
				MerchantCountry: orig.MerchantCountry, MCC: orig.MCC, ResponseCode: authz.CodeApproved, OriginalID: orig.ID,
				Source: "dispute", CreatedAt: nowMs, UpdatedAt: nowMs, SettledAt: nowMs,
			}
			t.AuthorizationCode = authCode(t.ID)
			d.CreditTransactionID, d.CreditCents = t.ID, credit
			c.txnEvent(model.EvtTxnRefunded, t)
			c.putTxn(t)
			c.putTxn(orig)
			c.putBalance(&nu)
		}
	}
	c.put(keyspace.DisputeKey(d.ID), d)
	c.event(model.EvtDisputeResolved, disputeEventData(d))
	if err := c.apply(ctx, *d); err != nil {
		return model.Dispute{}, err
	}
	if d.CreditCents > 0 {
		*user = nu
	}
	release()
	return *d, c.wait()
}

// DisputeFilter selects disputes; empty fields select all.
type DisputeFilter struct {
	UserID, AgentID, TransactionID, Status string
}

// ListDisputes pages through disputes, newest first.
func (l *Ledger) ListDisputes(f DisputeFilter, p ListParams) (Page[model.Dispute], error) {
	keep := func(d *model.Dispute) bool {
		return (f.UserID == "" || d.UserID == f.UserID) && (f.AgentID == "" || d.AgentID == f.AgentID) &&
			(f.TransactionID == "" || d.TransactionID == f.TransactionID) && (f.Status == "" || d.Status == f.Status)
	}
	if f.UserID != "" {
		load := func(id string) (model.Dispute, bool, error) {
			d, err := l.loadDispute(id)
			if err != nil {
				var le *Error
				if errors.As(err, &le) {
					return model.Dispute{}, false, nil
				}
				return model.Dispute{}, false, err
			}
			return *d, true, nil
		}
		return listIndexed(l.db, keyspace.DisputeByUserKey(f.UserID, ""), p, load, keep)
	}
	return listRecords(l.db, keyspace.DisputePrefix, p, nil, keep, func(d *model.Dispute) string { return d.ID })
}

// CancelDispute withdraws a pending dispute (the platform's pending →
// canceled): no money moves, and the purchase stays disputed, so it cannot
// be disputed again. A dispute in review or decided cannot be canceled.
func (l *Ledger) CancelDispute(ctx context.Context, id string) (model.Dispute, error) {
	now := l.clock.Now()
	nowMs := model.Ms(now)
	s, d, err := l.lockDispute(id)
	if err != nil {
		return model.Dispute{}, err
	}
	release := holdShard(s)
	defer release()
	if d.Status != model.DisputePending {
		return model.Dispute{}, conflict("dispute_not_cancelable", "Only a pending dispute can be canceled; this one is "+d.Status+".")
	}
	d.Status, d.CanceledAt, d.UpdatedAt = model.DisputeCanceled, nowMs, nowMs
	c := l.begin(now)
	c.kind(RecDisputeCancel)
	c.put(keyspace.DisputeKey(d.ID), d)
	c.event(model.EvtDisputeCanceled, disputeEventData(d))
	if err := c.apply(ctx, *d); err != nil {
		return model.Dispute{}, err
	}
	release()
	return *d, c.wait()
}
