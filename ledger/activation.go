package ledger

import (
	"context"
	"fmt"

	"github.com/ledgersim/ledgersim/model"
)

// A card may be issued notActivated (CardInput.NotActivated): it exists, its
// credentials can be read, and every authorization declines 62
// card_not_activated until it is activated. Freezing it is allowed (the
// platform's freeze reports previousStatus notActivated), and unfreezing
// takes it back to notActivated. Activation is the organization's act:
// POST /v1/cards/{id}/activate, or PATCH status active.

// ActivateCard makes a notActivated card active, with card.activated.
func (l *Ledger) ActivateCard(ctx context.Context, id string) (CardTransition, error) {
	now := l.clock.Now()
	s, card, err := l.lockCard(id)
	if err != nil {
		return CardTransition{}, err
	}
	release := holdShard(s)
	defer release()
	switch {
	case card.Status == model.CardClosed:
		return CardTransition{}, conflict("card_already_closed", "The card is closed; closing is final.")
	case card.Status == model.CardFrozen && card.AwaitingActivation:
		return CardTransition{}, conflict("card_frozen", "The card is frozen; unfreeze it (it stays notActivated), then activate it.")
	case card.Status != model.CardNotActivated:
		return CardTransition{}, conflict("card_already_activated", fmt.Sprintf("The card is %s; only a notActivated card can be activated.", card.Status))
	}
	if a := s.agents[card.AgentID]; a != nil && a.Status != model.AgentActive {
		return CardTransition{}, conflict("agent_not_active", fmt.Sprintf("The card's agent is %s; reactivate the agent first.", a.Status))
	}
	nc := *card
	nc.Status, nc.AwaitingActivation, nc.ActivatedAt, nc.UpdatedAt = model.CardActive, false, model.Ms(now), model.Ms(now)
	c := l.begin(now)
	c.kind(RecCardActivation)
	c.putCard(&nc)
	c.event(model.EvtCardActivated, map[string]any{"cardId": nc.ID, "agentId": nc.AgentID, "userId": nc.UserID,
		"status": nc.Status, "previousStatus": card.Status})
	res := CardTransition{Card: nc, PreviousStatus: card.Status}
	if err := c.apply(ctx, res); err != nil {
		return CardTransition{}, err
	}
	*card = nc
	release()
	return res, c.wait()
}
