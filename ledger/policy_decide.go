package ledger

import (
	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/matcher"
	"github.com/ledgersim/ledgersim/model"
)

// withControls completes a decision's input with the card's policy: the
// card as its policy makes it (a copy, when a policy applies), its
// active-hours zone and, when it must keep to a declared amount, what was
// declared. The caller holds the card's shard lock.
func (l *Ledger) withControls(s *shard, in *authz.Input) {
	card := in.Card
	if pol := l.policyOf(card, in.Agent); pol != nil {
		eff := authz.WithPolicy(card, pol) // on the heap only for a card with a policy
		in.Card = &eff
		in.HintKey = merchantKey(eff.MerchantHint)
	}
	c := in.Card
	if c.ActiveTimezone != "" {
		// Names are checked when they are set; one that no longer loads
		// reads as UTC rather than failing every authorization.
		if z, err := l.Zone(c.ActiveTimezone); err == nil {
			in.Zone = z
		}
	}
	if c.RequireAttestation != nil && *c.RequireAttestation && c.IntentTolerance != nil {
		in.Declared, in.HasDeclared = l.declaredAmount(s, card, model.Ms(in.Now))
	}
}

// declaredAmount is what the purchase about to be decided was declared at:
// the newest pending intent's expected amount, or else the expected amount
// of the card's last credential access.
func (l *Ledger) declaredAmount(s *shard, card *model.Card, nowMs int64) (int64, bool) {
	var amount int64
	var found bool
	s.intents.Pending(card.ID, func(p matcher.Pending) bool {
		if p.ExpiresMs > nowMs && p.HasAmount {
			amount, found = p.ExpectedCents, true
		}
		return true
	})
	if found || card.Usage.LastAccessEventID == "" {
		return amount, found
	}
	var ev model.AccessEvent
	if err := l.getJSON(keyspace.AccessEventKey(card.Usage.LastAccessEventID), &ev); err != nil || ev.ExpectedAmount == nil {
		return 0, false
	}
	return *ev.ExpectedAmount, true
}

// expireCard records the end of a card's lifetime: action (freeze or
// close, from authz.ExpireAction) applied, ExpiredAt set, and
// card.expired with reason (why the lifetime ended).
func expireCard(c *change, card *model.Card, action, reason string) {
	prev := card.Status
	card.UpdatedAt, card.ExpiredAt, card.FrozenBySuspension = model.Ms(c.now), model.Ms(c.now), false
	if action == model.ExpiryClose {
		card.Status, card.ClosedAt = model.CardClosed, model.Ms(c.now)
	} else {
		card.Status = model.CardFrozen
	}
	c.event(model.EvtCardExpired, map[string]any{"cardId": card.ID, "agentId": card.AgentID, "userId": card.UserID,
		"status": card.Status, "previousStatus": prev, "onExpiry": action, "reason": reason})
}
