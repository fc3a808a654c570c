package ledger

import (
	"context"
	"time"

	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// approvals is what a shard knows, in memory, of its intents that a person
// must decide on: those awaiting approval (which hold back the card's
// credentials until approved) and, per card, the newest rejected one
// (which refuses the card's credentials until a newer intent is declared).
// It is rebuilt from the intents at Open.
type approvals struct {
	awaiting map[string]map[string]int64 // card ID -> intent ID -> expiresAt (ms)
	rejected map[string]rejectedIntent   // card ID -> newest rejected intent
}

type rejectedIntent struct {
	id        string
	createdMs int64
}

func (a *approvals) init() {
	if a.awaiting == nil {
		a.awaiting = map[string]map[string]int64{}
		a.rejected = map[string]rejectedIntent{}
	}
}

func (a *approvals) await(cardID, intentID string, expiresMs int64) {
	a.init()
	m := a.awaiting[cardID]
	if m == nil {
		m = map[string]int64{}
		a.awaiting[cardID] = m
	}
	m[intentID] = expiresMs
}

func (a *approvals) settle(cardID, intentID string) {
	if m := a.awaiting[cardID]; m != nil {
		delete(m, intentID)
		if len(m) == 0 {
			delete(a.awaiting, cardID)
		}
	}
}

func (a *approvals) reject(cardID, intentID string, createdMs int64) {
	a.init()
	if r, ok := a.rejected[cardID]; !ok || r.createdMs <= createdMs {
		a.rejected[cardID] = rejectedIntent{id: intentID, createdMs: createdMs}
	}
}

// approvalRequiredBy says what makes a new intent on card wait for a
// person's approval: the intent's own requireApproval, else the card's
// setting, else its policy's (model.ApprovalBy...; "" when nothing does).
// A card's own false overrides its policy's true, as with every control;
// an intent cannot waive what its card or policy requires, since the agent
// that declares it is the one being overseen.
func approvalRequiredBy(asked bool, card *model.Card, pol *model.Policy) string {
	switch {
	case asked:
		return model.ApprovalByIntent
	case card.RequireApproval != nil:
		if *card.RequireApproval {
			return model.ApprovalByCard
		}
	case pol != nil && pol.RequireApproval != nil && *pol.RequireApproval:
		return model.ApprovalByPolicy
	}
	return ""
}

// count is how many of the card's intents await approval.
func (a *approvals) count(cardID string) int { return len(a.awaiting[cardID]) }

// len is how many cards have an intent awaiting approval.
func (a *approvals) len() int { return len(a.awaiting) }

// gateCredentials decides whether a card's credentials may be read given
// its intents awaiting a person's decision. pendingCreatedMs is when the
// newest usable pending intent was declared (0 if there is none). An intent
// awaiting approval holds the credentials back until it is approved; a
// rejected intent refuses them unless a pending intent was declared after it.
func (a *approvals) gateCredentials(cardID string, pendingCreatedMs, nowMs int64) error {
	for id, exp := range a.awaiting[cardID] {
		if exp > nowMs {
			return &Error{Kind: KindConflict, Code: "intent_pending_approval",
				Message: "Intent " + id + " on this card is waiting for approval (POST /v1/intents/" + id + "/approve); the card's credentials are held back until it is approved."}
		}
	}
	if r, ok := a.rejected[cardID]; ok && r.createdMs >= pendingCreatedMs {
		return &Error{Kind: KindForbidden, Code: "intent_rejected",
			Message: "Intent " + r.id + " on this card was rejected; its credentials are refused until a new intent is declared."}
	}
	return nil
}

// intentDecision is ApproveIntent's and RejectIntent's common path: the
// intent must be awaiting approval and not past its time.
func (l *Ledger) decideIntent(ctx context.Context, id string, decide func(it *model.Intent, now time.Time) string) (model.Intent, error) {
	now := l.clock.Now()
	nowMs := model.Ms(now)
	it, err := l.loadIntent(id)
	if err != nil {
		return model.Intent{}, err
	}
	s := l.shardOf(it.UserID)
	s.mu.Lock()
	release := holdShard(s)
	defer release()
	if it, err = l.loadIntent(id); err != nil {
		return model.Intent{}, err
	}
	if it.Status != model.IntentPendingApproval {
		return model.Intent{}, conflict("intent_not_pending_approval", "Only an intent waiting for approval can be approved or rejected; this one is "+it.Status+".")
	}
	if it.ExpiresAt <= nowMs {
		// The sweep has not reached it yet; it is expired all the same.
		return model.Intent{}, conflict("intent_expired", "The intent expired before it was decided on; declare a new one.")
	}
	typ := decide(it, now)
	it.UpdatedAt = nowMs
	c := l.begin(now)
	c.kind(RecIntentApproval)
	c.put(keyspace.IntentKey(it.ID), it)
	c.event(typ, approvalEventData(it))
	if err := c.apply(ctx, *it); err != nil {
		return model.Intent{}, err
	}
	s.approvals.settle(it.CardID, it.ID)
	if it.Status == model.IntentPending {
		s.intents.Add(pendingOf(it))
	} else {
		s.approvals.reject(it.CardID, it.ID, it.CreatedAt)
	}
	release()
	return *it, c.wait()
}

// ApproveIntent approves an intent waiting for approval: it becomes
// pending, matches transactions and lets the card's credentials be read.
// by names who approved (an API key's display prefix).
func (l *Ledger) ApproveIntent(ctx context.Context, id, by string) (model.Intent, error) {
	return l.decideIntent(ctx, id, func(it *model.Intent, now time.Time) string {
		it.Status, it.ApprovedAt, it.ApprovedBy = model.IntentPending, model.Ms(now), by
		return model.EvtIntentApproved
	})
}

// RejectIntent rejects an intent waiting for approval: the card's
// credentials are refused until a newer intent is declared.
func (l *Ledger) RejectIntent(ctx context.Context, id, by, reason string) (model.Intent, error) {
	return l.decideIntent(ctx, id, func(it *model.Intent, now time.Time) string {
		it.Status, it.RejectedAt, it.RejectedBy, it.RejectionReason = model.IntentRejected, model.Ms(now), by, reason
		return model.EvtIntentRejected
	})
}

func approvalEventData(it *model.Intent) map[string]any {
	d := intentEventData(it)
	d["approvalRequired"] = it.ApprovalRequired
	if it.ApprovalRequiredBy != "" {
		d["approvalRequiredBy"] = it.ApprovalRequiredBy
	}
	if it.ApprovedAt != 0 {
		d["approvedAt"], d["approvedBy"] = it.ApprovedAt, it.ApprovedBy
	}
	if it.RejectedAt != 0 {
		d["rejectedAt"], d["rejectedBy"] = it.RejectedAt, it.RejectedBy
		if it.RejectionReason != "" {
			d["rejectionReason"] = it.RejectionReason
		}
	}
	return d
}

// expireAwaiting moves the shard's intents still awaiting approval past
// their time to expired.
func (l *Ledger) expireAwaiting(s *shard, c *change, now time.Time) (n int, err error) {
	nowMs := model.Ms(now)
	for cardID, m := range s.approvals.awaiting {
		for id, exp := range m {
			if exp > nowMs {
				continue
			}
			it, lerr := l.loadIntent(id)
			if lerr != nil {
				return n, lerr
			}
			if it.Status != model.IntentPendingApproval {
				// Decided or expired by an earlier change: out of the gate.
				s.approvals.settle(cardID, id)
				continue
			}
			// The gate keeps it until a later sweep finds it expired in the
			// store, so a change that fails to apply loses nothing.
			it.Status, it.ExpiredAt, it.UpdatedAt = model.IntentExpired, nowMs, nowMs
			c.put(keyspace.IntentKey(it.ID), it)
			c.event(model.EvtIntentExpired, intentEventData(it))
			n++
		}
	}
	return n, nil
}
