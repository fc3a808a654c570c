package ledger

import (
	"context"
	"math"
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/model"
)

// A card's lifetime ends at the first of its expiry month's end, its
// ttlDays and its ttlMinutes (its own or its policy's). The platform has
// no "expired" card status; the end of a lifetime takes the card to the
// status that stands for it, once, with card.expired:
//
//	ttlMinutes ran out        its onExpiry: frozen (the default) or closed
//	ttlDays or expiry date    closed (the card can never be used again)
//
// Sweep does it on the server's clock; an authorization that meets a
// lifetime Sweep has not yet ended does it too. Card.ExpiredAt marks a card
// whose end was recorded, so neither records it twice.
//
// Sweep looks at a shard's cards only when its earliest lifetime end has
// come, or when something that can move a lifetime changed (a policy, an
// agent's default policy, a card's own controls): the shard keeps the
// earliest end it saw and the generation of those changes it saw it at.

// cardLifetimesChanged tells Sweep that lifetimes may have moved.
func (l *Ledger) cardLifetimesChanged() { l.lifetimeGen.Add(1) }

// noteCardLifetime brings the shard's earliest lifetime end forward to a
// new card's. The caller holds the shard's lock.
func (l *Ledger) noteCardLifetime(s *shard, card *model.Card, agent *model.Agent) {
	if s.lifetimesSeen == 0 {
		return // not scanned yet: the first sweep scans every card
	}
	if end := l.lifetimeEnd(card, agent); end < s.nextLifetimeEnd {
		s.nextLifetimeEnd = end
	}
}

// lifetimeEnd is when the card's lifetime ends under its policy, epoch ms.
func (l *Ledger) lifetimeEnd(card *model.Card, agent *model.Agent) int64 {
	eff := card
	if pol := l.policyOf(card, agent); pol != nil {
		e := authz.WithPolicy(card, pol)
		eff = &e
	}
	return authz.ExpiresAt(eff)
}

// expireCards ends the lifetime of the shard's cards whose lifetime is
// over at now, one change each, and returns the changes to wait for. The
// caller holds the shard's lock.
func (l *Ledger) expireCards(ctx context.Context, s *shard, now time.Time) ([]*change, error) {
	nowMs := model.Ms(now)
	// The generation is read first: a change after this read makes the
	// next sweep scan again.
	gen := l.lifetimeGen.Load() + 1
	if s.lifetimesSeen == gen && nowMs < s.nextLifetimeEnd {
		return nil, nil
	}
	next := int64(math.MaxInt64)
	var waits []*change
	for _, card := range s.cards {
		if card.Status == model.CardClosed || card.ExpiredAt != 0 {
			continue
		}
		agent := s.agents[card.AgentID]
		end := l.lifetimeEnd(card, agent)
		if end > nowMs {
			next = min(next, end)
			continue
		}
		eff := card
		if pol := l.policyOf(card, agent); pol != nil {
			e := authz.WithPolicy(card, pol)
			eff = &e
		}
		nc := *card
		c := l.begin(now)
		c.kind(RecCardExpiry)
		action, reason := authz.ExpireAction(eff, now)
		expireCard(c, &nc, action, reason)
		c.putCard(&nc)
		if err := c.apply(ctx, nc); err != nil {
			// The cards not looked at are looked at by the next sweep.
			s.lifetimesSeen = 0
			return waits, err
		}
		*card = nc
		waits = append(waits, c)
	}
	s.lifetimesSeen, s.nextLifetimeEnd = gen, next
	return waits, nil
}
