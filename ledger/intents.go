package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/matcher"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
)

// MaxPendingIntentsPerCard bounds a card's pending intents.
const MaxPendingIntentsPerCard = 100

// DetailsIntentWait is how long an intent waits for its transaction once
// card details were read under it.
const DetailsIntentWait = 24 * time.Hour

// IntentInput is a validated intent declaration.
type IntentInput struct {
	IntentID         string
	Summary          string
	ExpectedAmount   *int64
	ExpectedCurrency string
	ExpectedMerchant string
	Tolerance        int64
	TTLMinutes       int64
	Metadata         map[string]any
	// RequireApproval makes the intent wait for a person's approval
	// (ApproveIntent) before the card's credentials can be read.
	RequireApproval bool
}

// IntentResult is what CreateIntent returns; Created is false when the
// card already had an intent with this intentId. IDGenerated is true when
// the request named no intentId and the intent's own id was used.
type IntentResult struct {
	Intent      model.Intent
	Created     bool
	IDGenerated bool
}

func pendingOf(in *model.Intent) matcher.Pending {
	p := matcher.Pending{ID: in.ID, CardID: in.CardID, Merchant: in.ExpectedMerchant, ToleranceCents: in.Tolerance,
		CreatedMs: in.CreatedAt, ExpiresMs: in.ExpiresAt}
	if in.ExpectedAmount != nil {
		p.HasAmount, p.ExpectedCents = true, *in.ExpectedAmount
	}
	return p
}

// CreateIntent declares an intent on a card. The card's intentId makes it
// idempotent: declaring the same intentId again with the same fields
// returns the first intent, with other fields it is a conflict. Without an
// intentId the intent's own id serves as one.
func (l *Ledger) CreateIntent(ctx context.Context, cardID string, in IntentInput) (IntentResult, error) {
	now := l.clock.Now()
	s, card, err := l.lockCard(cardID)
	if err != nil {
		return IntentResult{}, err
	}
	release := holdShard(s)
	defer release()
	if in.TTLMinutes == 0 {
		in.TTLMinutes = 30
	}
	if in.ExpectedCurrency == "" {
		in.ExpectedCurrency = "USD"
	}
	if in.IntentID != "" {
		raw, err := l.get(keyspace.IntentClientKey(cardID, in.IntentID))
		if err == nil {
			existing, err := l.loadIntent(string(raw))
			if err != nil {
				return IntentResult{}, err
			}
			if !sameIntent(existing, &in) {
				e := conflict("intent_id_reused", fmt.Sprintf("The intentId '%s' was already used on this card for intent %s with other fields; send the same fields to get it back, or use a new intentId.", in.IntentID, existing.ID))
				e.Param = "intentId"
				return IntentResult{}, e
			}
			return IntentResult{Intent: *existing}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return IntentResult{}, err
		}
	}
	if card.Status == model.CardClosed {
		return IntentResult{}, conflict("card_already_closed", "The card is closed; intents cannot be declared on it.")
	}
	pending := s.approvals.count(card.ID)
	s.intents.Pending(card.ID, func(matcher.Pending) bool { pending++; return true })
	if pending >= MaxPendingIntentsPerCard {
		// Matching is linear in a card's pending intents; a bound keeps every
		// decision on the card fast.
		return IntentResult{}, conflict("too_many_pending_intents", fmt.Sprintf("A card may have at most %d pending intents; cancel some or let them expire.", MaxPendingIntentsPerCard))
	}
	id := l.ids.New(model.PrefixIntent, now)
	generated := in.IntentID == ""
	if generated {
		in.IntentID = id
	}
	it := &model.Intent{
		ID: id, CardID: card.ID, AgentID: card.AgentID, UserID: card.UserID,
		IntentID: in.IntentID, Summary: in.Summary, ExpectedAmount: in.ExpectedAmount, ExpectedCurrency: in.ExpectedCurrency,
		ExpectedMerchant: in.ExpectedMerchant, Tolerance: in.Tolerance, TTLMinutes: in.TTLMinutes, Metadata: in.Metadata,
		Status: model.IntentPending, CreatedAt: model.Ms(now), UpdatedAt: model.Ms(now),
		ExpiresAt: model.Ms(now) + in.TTLMinutes*int64(time.Minute/time.Millisecond),
	}
	if by := approvalRequiredBy(in.RequireApproval, card, l.policyOf(card, s.agents[card.AgentID])); by != "" {
		it.Status, it.ApprovalRequired, it.ApprovalRequiredBy = model.IntentPendingApproval, true, by
	}
	c := l.begin(now)
	c.kind(RecIntent)
	c.put(keyspace.IntentKey(it.ID), it)
	c.index(keyspace.IntentByCardKey(card.ID, it.ID))
	c.set(keyspace.IntentClientKey(card.ID, in.IntentID), []byte(it.ID))
	if it.ApprovalRequired {
		c.event(model.EvtIntentPendingApproval, approvalEventData(it))
	}
	res := IntentResult{Intent: *it, Created: true, IDGenerated: generated}
	if err := c.apply(ctx, res); err != nil {
		return IntentResult{}, err
	}
	if it.ApprovalRequired {
		s.approvals.await(card.ID, it.ID, it.ExpiresAt)
	} else {
		s.intents.Add(pendingOf(it))
	}
	release()
	return res, c.wait()
}

// sameIntent reports whether a repeated declaration asks for what the
// stored intent already is (in has its defaults applied). A declaration
// that does not ask for approval matches an intent that required it: the
// card or its policy may have.
func sameIntent(it *model.Intent, in *IntentInput) bool {
	sameAmount := (it.ExpectedAmount == nil) == (in.ExpectedAmount == nil) &&
		(it.ExpectedAmount == nil || *it.ExpectedAmount == *in.ExpectedAmount)
	return sameAmount && it.Summary == in.Summary && it.ExpectedCurrency == in.ExpectedCurrency &&
		it.ExpectedMerchant == in.ExpectedMerchant && it.Tolerance == in.Tolerance &&
		it.TTLMinutes == in.TTLMinutes && (it.ApprovalRequired || !in.RequireApproval) &&
		((len(it.Metadata) == 0 && len(in.Metadata) == 0) || reflect.DeepEqual(it.Metadata, in.Metadata))
}

func (l *Ledger) loadIntent(id string) (*model.Intent, error) {
	it := new(model.Intent)
	if err := l.getJSON(keyspace.IntentKey(id), it); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("intent_not_found", "intent", id)
		}
		return nil, err
	}
	return it, nil
}

// GetIntent returns an intent.
func (l *Ledger) GetIntent(id string) (model.Intent, error) {
	it, err := l.loadIntent(id)
	if err != nil {
		return model.Intent{}, err
	}
	return *it, nil
}

// ListIntents lists a card's intents in the order they were declared,
// optionally of one status.
func (l *Ledger) ListIntents(cardID, status string) ([]model.Intent, error) {
	if _, err := l.GetCard(cardID); err != nil {
		return nil, err
	}
	prefix := keyspace.IntentByCardKey(cardID, "")
	var out []model.Intent
	var loadErr error
	err := l.db.Scan(prefix, "", false, func(k, _ []byte) bool {
		it, err := l.loadIntent(string(bytes.TrimPrefix(k, prefix)))
		if err != nil {
			loadErr = err
			return false
		}
		if status == "" || it.Status == status {
			out = append(out, *it)
		}
		return true
	})
	if err == nil {
		err = loadErr
	}
	return out, err
}

// CancelIntent cancels a pending intent.
func (l *Ledger) CancelIntent(ctx context.Context, id string) (model.Intent, error) {
	now := l.clock.Now()
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
	if it.Status != model.IntentPending && it.Status != model.IntentPendingApproval {
		return model.Intent{}, conflict("intent_not_pending", "Only a pending intent (or one waiting for approval) can be canceled; this one is "+it.Status+".")
	}
	awaiting := it.Status == model.IntentPendingApproval
	it.Status, it.CanceledAt, it.UpdatedAt = model.IntentCanceled, model.Ms(now), model.Ms(now)
	c := l.begin(now)
	c.kind(RecIntent)
	c.put(keyspace.IntentKey(it.ID), it)
	c.event(model.EvtIntentCanceled, intentEventData(it))
	if err := c.apply(ctx, *it); err != nil {
		return model.Intent{}, err
	}
	if awaiting {
		s.approvals.settle(it.CardID, it.ID)
	} else {
		s.intents.Remove(it.ID)
	}
	release()
	return *it, c.wait()
}

func intentEventData(it *model.Intent) map[string]any {
	d := map[string]any{"intentId": it.ID, "clientIntentId": it.IntentID, "cardId": it.CardID, "agentId": it.AgentID,
		"userId": it.UserID, "status": it.Status, "summary": it.Summary}
	if it.TransactionID != "" {
		d["transactionId"] = it.TransactionID
	}
	if it.MatchResult != nil {
		d["matchResult"] = it.MatchResult
	}
	return d
}

// resolveIntent matches an approved purchase against the card's pending
// intents, inside the decision: the chosen intent becomes matched or
// mismatched and the transaction carries its ID. A mismatch never declines.
func (l *Ledger) resolveIntent(s *shard, c *change, t *model.Transaction, now time.Time) error {
	res := s.intents.Match(t.CardID, t.AmountCents, t.MerchantName, model.Ms(now))
	if obs := l.cfg.OnIntentOutcome; obs != nil {
		switch {
		case !res.Found:
			obs("none")
		case res.Matched:
			obs("matched")
		default:
			obs("mismatched")
		}
	}
	if !res.Found {
		return nil
	}
	it, err := l.loadIntent(res.IntentID)
	if err != nil {
		// Match took the intent out of the index; the change is being
		// abandoned, so the intent is still pending and must go back.
		if it2, lerr := l.loadIntent(res.IntentID); lerr == nil && it2.Status == model.IntentPending {
			s.intents.Add(pendingOf(it2))
		}
		return err
	}
	it.TransactionID, it.UpdatedAt = t.ID, model.Ms(now)
	it.MatchResult = &model.MatchResult{AmountMatch: res.AmountMatch, MerchantMatch: res.MerchantMatch,
		ActualAmount: t.AmountCents, ActualMerchant: t.MerchantName}
	typ := model.EvtIntentMatched
	if res.Matched {
		it.Status, it.MatchedAt = model.IntentMatched, model.Ms(now)
	} else {
		it.Status, it.MismatchedAt = model.IntentMismatched, model.Ms(now)
		typ = model.EvtIntentMismatched
		c.intentMismatched = true
	}
	t.IntentID = it.ID
	c.put(keyspace.IntentKey(it.ID), it)
	c.event(typ, intentEventData(it))
	return nil
}

// expireIntents moves the shard's intents whose time is up to expired.
func (l *Ledger) expireIntents(s *shard, c *change, now time.Time) (n int, err error) {
	s.intents.Expire(model.Ms(now), func(p matcher.Pending) {
		if err != nil {
			return
		}
		it, lerr := l.loadIntent(p.ID)
		if lerr != nil {
			err = lerr
			return
		}
		if it.Status != model.IntentPending {
			return
		}
		it.Status, it.ExpiredAt, it.UpdatedAt = model.IntentExpired, model.Ms(now), model.Ms(now)
		c.put(keyspace.IntentKey(it.ID), it)
		c.event(model.EvtIntentExpired, intentEventData(it))
		n++
	})
	if err != nil {
		return n, err
	}
	m, err := l.expireAwaiting(s, c, now)
	return n + m, err
}

// rebuildIntents puts every pending intent back in its shard's matcher.
func (l *Ledger) rebuildIntents() error {
	return loadAll(l.db, keyspace.IntentPrefix, func(it *model.Intent) {
		s := l.shardOf(it.UserID)
		switch it.Status {
		case model.IntentPending:
			s.intents.Add(pendingOf(it))
		case model.IntentPendingApproval:
			s.approvals.await(it.CardID, it.ID, it.ExpiresAt)
		case model.IntentRejected:
			s.approvals.reject(it.CardID, it.ID, it.CreatedAt)
		}
	})
}
