package ledger

import (
	"context"
	"sync"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/risk"
)

// riskState holds the risk settings: the organization's, and the overlays
// of the agents and cards that set their own (inheritance organization →
// agent → card). Values are replaced, never changed in place.
//
// Lock order: a shard's lock, then riskState.mu.
type riskState struct {
	mu sync.RWMutex
	// org is nil until the organization configures risk (risk.Off).
	org      *risk.Settings
	overlays map[string]*risk.Overlay // by agent or card ID
}

const riskOrgScope = "org"

// riskFor is the settings in force for a card.
func (l *Ledger) riskFor(card *model.Card) risk.Settings {
	l.risk.mu.RLock()
	defer l.risk.mu.RUnlock()
	if l.risk.org == nil && len(l.risk.overlays) == 0 {
		// Nothing configured: every rule off, decided without building
		// the settings on every authorization.
		return risk.Settings{}
	}
	org := risk.Off()
	if l.risk.org != nil {
		org = *l.risk.org
	}
	return risk.Resolve(org, l.risk.overlays[card.AgentID], l.risk.overlays[card.ID])
}

// RiskScope names whose settings a call reads or changes: the
// organization (both empty), an agent, or a card.
type RiskScope struct {
	AgentID, CardID string
}

func (sc RiskScope) key() string {
	switch {
	case sc.CardID != "":
		return sc.CardID
	case sc.AgentID != "":
		return sc.AgentID
	}
	return riskOrgScope
}

// RiskSettings returns the settings in force at a scope.
func (l *Ledger) RiskSettings(sc RiskScope) (risk.Settings, error) {
	agentID := sc.AgentID
	if sc.CardID != "" {
		card, err := l.GetCard(sc.CardID)
		if err != nil {
			return risk.Settings{}, err
		}
		agentID = card.AgentID
	} else if agentID != "" {
		if _, err := l.GetAgent(agentID); err != nil {
			return risk.Settings{}, err
		}
	}
	l.risk.mu.RLock()
	defer l.risk.mu.RUnlock()
	s := risk.Off()
	if l.risk.org != nil {
		s = *l.risk.org
	}
	if agentID != "" {
		s = risk.Resolve(s, l.risk.overlays[agentID])
	}
	if sc.CardID != "" {
		s = risk.Resolve(s, l.risk.overlays[sc.CardID])
	}
	return s, nil
}

// UpdateRisk changes the settings at a scope. For the organization, edit
// changes the current settings in cur; for an agent or a card, cur holds
// the settings in force there and edit sets in o, the scope's overlay,
// the rules it changes. The result is the settings in force at the scope
// afterwards.
func (l *Ledger) UpdateRisk(ctx context.Context, sc RiskScope, edit func(cur *risk.Settings, o *risk.Overlay) error) (risk.Settings, error) {
	now := l.clock.Now()
	cur, err := l.RiskSettings(sc)
	if err != nil {
		return risk.Settings{}, err
	}
	// What the scope inherits, read before risk.mu (it may take a shard
	// lock, which comes first).
	var parent risk.Settings
	switch {
	case sc.CardID != "":
		card, err := l.GetCard(sc.CardID)
		if err != nil {
			return risk.Settings{}, err
		}
		parent, err = l.RiskSettings(RiskScope{AgentID: card.AgentID})
		if err != nil {
			return risk.Settings{}, err
		}
	case sc.AgentID != "":
		parent, _ = l.RiskSettings(RiskScope{})
	}
	l.risk.mu.Lock()
	key := sc.key()
	var o risk.Overlay
	if old := l.risk.overlays[key]; old != nil {
		o = *old
	}
	next := cur
	if err := edit(&next, &o); err != nil {
		l.risk.mu.Unlock()
		return risk.Settings{}, err
	}
	out := next
	if key != riskOrgScope {
		out = risk.Resolve(parent, &o)
	}
	c := l.begin(now)
	c.kind(RecRiskSettings)
	if key == riskOrgScope {
		c.put(keyspace.RiskKey(key), &next)
	} else if o.Empty() {
		c.del(keyspace.RiskKey(key))
	} else {
		c.put(keyspace.RiskKey(key), &o)
	}
	c.event(model.EvtRiskSettingsUpdated, map[string]any{"scope": key, "preset": out.Preset, "dryRun": out.DryRun})
	if err := c.apply(ctx, out); err != nil {
		l.risk.mu.Unlock()
		return risk.Settings{}, err
	}
	if key == riskOrgScope {
		l.risk.org = &next
	} else if o.Empty() {
		delete(l.risk.overlays, key)
	} else {
		l.risk.overlays[key] = &o
	}
	l.risk.mu.Unlock()
	return out, c.wait()
}

// rebuildRisk loads the risk settings from the store at Open.
func (l *Ledger) rebuildRisk() error {
	if err := loadAll(l.db, keyspace.RiskKey(riskOrgScope), func(s *risk.Settings) { l.risk.org = s }); err != nil {
		return err
	}
	var scopes []string
	if err := l.db.Scan(keyspace.RiskPrefix, "", false, func(k, _ []byte) bool {
		if id := string(k[len(keyspace.RiskPrefix):]); id != riskOrgScope {
			scopes = append(scopes, id)
		}
		return true
	}); err != nil {
		return err
	}
	for _, id := range scopes {
		o := new(risk.Overlay)
		if err := l.getJSON(keyspace.RiskKey(id), o); err != nil {
			return err
		}
		l.risk.overlays[id] = o
	}
	return nil
}

// assessRisk runs the risk engine on a transaction the caller has just
// applied, under the card's shard lock, and records what the rules ask
// for as a change of its own, after the transaction's: an alert event, a
// frozen card, a suspended agent (or, in dry run, only the alert saying
// what would have happened). The caller's reply then waits for that
// record too.
func (l *Ledger) assessRisk(ctx context.Context, s *shard, tc *change, t *model.Transaction, d authz.Decision) error {
	card := s.cards[t.CardID]
	if card == nil || t.Kind != model.KindPurchase {
		return nil
	}
	set := l.riskFor(card)
	if !set.Any() {
		return nil
	}
	approved := d.Approved()
	in := risk.Input{NowMs: model.Ms(tc.now), Approved: approved, AmountCents: t.AmountCents, MerchantKey: merchantKey(t.MerchantName),
		Unattested: approved && t.AttestationStatus == model.Unattested, IntentMismatched: tc.intentMismatched,
		CooldownDeclined: d.Reason == authz.ReasonCooldown, Drift: d.Drift}
	if approved && set.NeedsHistory() {
		in.History = l.riskHistory(card.ID, t.ID, in.NowMs-set.HistoryMs())
	}
	found := risk.Evaluate(&set, &in)
	if len(found) == 0 {
		return nil
	}
	c := l.begin(tc.now)
	c.kind(RecRiskAction)
	act := risk.Strongest(found)
	for _, f := range found {
		c.event(model.EvtRiskAlert, map[string]any{"rule": f.Rule, "action": f.Action, "detail": f.Detail, "dryRun": set.DryRun,
			"transactionId": t.ID, "cardId": t.CardID, "agentId": t.AgentID, "userId": t.UserID, "amount": t.AmountCents,
			"merchantName": t.MerchantName})
	}
	rules := make([]string, 0, len(found))
	for _, f := range found {
		if f.Action == act {
			rules = append(rules, f.Rule)
		}
	}
	var newCard *model.Card
	var newAgent *model.Agent
	var changed []*model.Card
	if !set.DryRun {
		agent := s.agents[card.AgentID]
		switch {
		case act == risk.ActionSuspendAgent && agent != nil && agent.Status == model.AgentActive:
			na := *agent
			changed = l.setAgentStatus(c, s, &na, model.AgentSuspended)
			na.UpdatedAt = model.Ms(c.now)
			c.putAgent(&na)
			c.event(model.EvtAgentAutoSuspended, map[string]any{"agentId": na.ID, "userId": na.UserID, "cardId": card.ID,
				"transactionId": t.ID, "rules": rules, "status": na.Status})
			newAgent = &na
		case act == risk.ActionFreezeCard && card.Status == model.CardActive:
			nc := *card
			nc.Status, nc.UpdatedAt = model.CardFrozen, model.Ms(c.now)
			c.putCard(&nc)
			c.event(model.EvtCardFrozen, map[string]any{"cardId": nc.ID, "agentId": nc.AgentID, "userId": nc.UserID, "status": nc.Status,
				"previousStatus": card.Status, "reason": "risk"})
			c.event(model.EvtCardAutoFrozen, map[string]any{"cardId": nc.ID, "agentId": nc.AgentID, "userId": nc.UserID,
				"transactionId": t.ID, "rules": rules, "status": nc.Status})
			newCard = &nc
		}
	}
	// Not under the request's Idempotency-Key: the transaction's own
	// record holds the response a retry replays.
	if err := c.apply(withoutIdem(ctx), nil); err != nil {
		return err
	}
	if newCard != nil {
		*card = *newCard
	}
	if newAgent != nil {
		*s.agents[newAgent.ID] = *newAgent
		for _, nc := range changed {
			*s.cards[nc.ID] = *nc
		}
	}
	// The transaction's reply waits for this record too (it follows the
	// transaction's in the log), and its events are announced with it.
	tc.lsn = c.lsn
	tc.announce = tc.announce || len(c.wanted) > 0
	return nil
}

// riskHistory is the card's approved purchases since fromMs, other than
// the one being assessed. Transaction IDs begin with their creation time,
// so the walk stops at the first one older than fromMs.
func (l *Ledger) riskHistory(cardID, skipID string, fromMs int64) []risk.Purchase {
	var out []risk.Purchase
	cursor := ""
	for {
		ids := l.lists.page('c', cardID, cursor, 100)
		if len(ids) == 0 {
			return out
		}
		for _, id := range ids {
			if id == skipID {
				continue
			}
			t, err := l.loadTxn(id)
			if err != nil {
				continue
			}
			if t.CreatedAt < fromMs {
				return out
			}
			if t.Kind == model.KindPurchase && t.AuthorizedAt != 0 && t.Status != model.TxnDeclined && t.Status != model.TxnReversed {
				out = append(out, risk.Purchase{AtMs: t.CreatedAt, AmountCents: t.AmountCents, MerchantKey: merchantKey(t.MerchantName)})
			}
		}
		cursor = ids[len(ids)-1]
	}
}
