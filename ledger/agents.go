package ledger

import (
	"context"
	"encoding/hex"
	"reflect"
	"time"

	"github.com/ledgersim/ledgersim/apikey"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// AgentInput is a validated agent registration. Nil pointers are absent.
type AgentInput struct {
	ExternalID                string
	UserID                    string
	Name                      string
	Description               string
	SpendingLimit             *int64
	SpendingLimitFrequency    string
	OnLimitExceeded           string
	MaxCards                  *int64
	DefaultCardLimit          *int64
	DefaultCardLimitFrequency string
	DefaultPolicyID           string
	Metadata                  map[string]any
}

// Registration is the result of RegisterAgent. Token is set on first
// registration only: it is shown once and never stored.
type Registration struct {
	Agent   model.Agent
	Created bool
	Token   string
	TokenID string
}

// RegisterAgent creates an agent for an approved user. With an externalId
// the call is idempotent: registering the same externalId for the same user
// again returns the existing agent (Created false, no token).
func (l *Ledger) RegisterAgent(ctx context.Context, in AgentInput) (Registration, error) {
	now := l.clock.Now()
	s := l.shardOf(in.UserID)
	s.mu.Lock()
	u, ok := s.users[in.UserID]
	if !ok {
		s.mu.Unlock()
		return Registration{}, &Error{Kind: KindNotFound, Code: "user_not_found", Param: "userId", Message: "No user with id '" + in.UserID + "'."}
	}
	if in.ExternalID != "" {
		l.dir.mu.RLock()
		existing, found := l.dir.agentByExtID[in.ExternalID]
		l.dir.mu.RUnlock()
		if found {
			a, mine := s.agents[existing]
			if mine && a.UserID != in.UserID {
				mine = false
			}
			var out model.Agent
			if mine {
				out = *a
			}
			s.mu.Unlock()
			if !mine {
				return Registration{}, &Error{Kind: KindConflict, Code: "external_id_conflict", Param: "externalId", Message: "This externalId is registered to an agent of another user."}
			}
			return Registration{Agent: out, Created: false}, nil
		}
	}
	if u.Status != model.UserApproved {
		s.mu.Unlock()
		return Registration{}, notVerified(u, "Agents are registered")
	}
	if err := l.checkPolicyRef(in.DefaultPolicyID, "defaultPolicyId"); err != nil {
		s.mu.Unlock()
		return Registration{}, err
	}
	a := &model.Agent{
		ID: l.ids.New(model.PrefixAgent, now), ExternalID: in.ExternalID, UserID: in.UserID, Name: in.Name,
		Description: in.Description, Status: model.AgentActive, SpendingLimit: in.SpendingLimit,
		SpendingLimitFrequency: in.SpendingLimitFrequency, OnLimitExceeded: in.OnLimitExceeded, MaxCards: in.MaxCards,
		DefaultCardLimit: in.DefaultCardLimit, DefaultCardLimitFrequency: in.DefaultCardLimitFrequency,
		DefaultPolicyID: in.DefaultPolicyID, Metadata: in.Metadata, CreatedAt: model.Ms(now), UpdatedAt: model.Ms(now),
	}
	if a.OnLimitExceeded == "" {
		a.OnLimitExceeded = model.OnLimitNone
	}
	if a.SpendingLimit != nil && a.SpendingLimitFrequency == "" {
		a.SpendingLimitFrequency = model.FreqPerMonth
	}
	secret, tok := l.newToken(a, "registration", 0, now)
	c := l.begin(now)
	c.kind(RecAgent)
	c.putAgent(a)
	c.index(keyspace.AgentByUserKey(a.UserID, a.ID))
	c.put(keyspace.TokenKey(tok.ID), tok)
	c.event(model.EvtAgentCreated, map[string]any{"agentId": a.ID, "userId": a.UserID, "name": a.Name, "externalId": a.ExternalID, "status": a.Status})
	reg := Registration{Agent: *a, Created: true, Token: secret, TokenID: tok.ID}
	// Claim the externalId before applying so a concurrent registration of
	// the same externalId for another user is refused.
	l.dir.mu.Lock()
	if in.ExternalID != "" {
		if _, taken := l.dir.agentByExtID[in.ExternalID]; taken {
			l.dir.mu.Unlock()
			s.mu.Unlock()
			return Registration{}, &Error{Kind: KindConflict, Code: "external_id_conflict", Param: "externalId", Message: "This externalId is already registered."}
		}
		l.dir.agentByExtID[in.ExternalID] = a.ID
	}
	l.dir.mu.Unlock()
	err := c.apply(ctx, reg)
	l.dir.mu.Lock()
	if err == nil {
		l.dir.userOfAgent[a.ID] = a.UserID
		l.dir.tokens[hex.EncodeToString(tok.Hash)] = tok
		l.dir.tokenByID[tok.ID] = tok
	} else if in.ExternalID != "" {
		delete(l.dir.agentByExtID, in.ExternalID)
	}
	l.dir.mu.Unlock()
	if err == nil {
		s.agents[a.ID] = a
	}
	s.mu.Unlock()
	if err != nil {
		return Registration{}, err
	}
	return reg, c.wait()
}

func (l *Ledger) newToken(a *model.Agent, name string, expiresAt int64, now time.Time) (string, *model.AgentToken) {
	secret := apikey.New(apikey.PrefixAgentToken)
	return secret, &model.AgentToken{
		ID: l.ids.New(model.PrefixToken, now), AgentID: a.ID, UserID: a.UserID, Hash: apikey.Hash(secret),
		TokenPrefix: apikey.Display(secret), Name: name, CreatedAt: model.Ms(now), ExpiresAt: expiresAt,
	}
}

// lockAgent finds an agent and locks its shard. The caller unlocks s.
func (l *Ledger) lockAgent(agentID string) (*shard, *model.Agent, error) {
	userID, ok := l.userOfAgent(agentID)
	if !ok {
		return nil, nil, notFound("agent_not_found", "agent", agentID)
	}
	s := l.shardOf(userID)
	s.mu.Lock()
	a, ok := s.agents[agentID]
	if !ok {
		s.mu.Unlock()
		return nil, nil, notFound("agent_not_found", "agent", agentID)
	}
	return s, a, nil
}

// GetAgent returns an agent.
func (l *Ledger) GetAgent(id string) (model.Agent, error) {
	s, a, err := l.lockAgent(id)
	if err != nil {
		return model.Agent{}, err
	}
	defer s.mu.Unlock()
	return *a, nil
}

// ListAgents pages through agents, newest first, optionally of one user.
func (l *Ledger) ListAgents(userID string, p ListParams) (Page[model.Agent], error) {
	if userID == "" {
		// The store orders the page; memory has the current spend, which the
		// stored record (whose hot part lives in its delta) may not.
		page, err := listRecords(l.db, keyspace.AgentsPrefix, p, nil, nil, func(a *model.Agent) string { return a.ID })
		for i := range page.Items {
			if cur, gerr := l.GetAgent(page.Items[i].ID); gerr == nil {
				page.Items[i] = cur
			}
		}
		return page, err
	}
	return listIndexed(l.db, keyspace.AgentByUserKey(userID, ""), p, func(id string) (model.Agent, bool, error) {
		a, err := l.GetAgent(id)
		return a, err == nil, nil
	}, nil)
}

// AgentPatch is a validated partial update; nil fields are unchanged.
type AgentPatch struct {
	Name                   *string
	Description            *string
	Status                 *string
	SpendingLimit          *int64
	ClearSpendingLimit     bool
	SpendingLimitFrequency *string
	OnLimitExceeded        *string
	MaxCards               *int64
	Metadata               map[string]any
	SetMetadata            bool
	// DefaultPolicyID, when set, names the policy of the agent's cards
	// that have none of their own; "" removes it.
	DefaultPolicyID *string
}

// UpdateAgent applies a patch. A status change suspends or reactivates the
// agent as the dedicated endpoints do.
func (l *Ledger) UpdateAgent(ctx context.Context, id string, p AgentPatch) (model.Agent, error) {
	now := l.clock.Now()
	s, a, err := l.lockAgent(id)
	if err != nil {
		return model.Agent{}, err
	}
	if a.Status == model.AgentDeregistered {
		s.mu.Unlock()
		return model.Agent{}, conflict("agent_deregistered", "A deregistered agent cannot be changed.")
	}
	na := *a
	if p.Name != nil {
		na.Name = *p.Name
	}
	if p.Description != nil {
		na.Description = *p.Description
	}
	if p.ClearSpendingLimit {
		na.SpendingLimit = nil
	} else if p.SpendingLimit != nil {
		na.SpendingLimit = p.SpendingLimit
	}
	if p.SpendingLimitFrequency != nil && *p.SpendingLimitFrequency != na.SpendingLimitFrequency {
		na.SpendingLimitFrequency = *p.SpendingLimitFrequency
		// A new period starts counting afresh.
		na.Spend = model.SpendWindow{}
	}
	if na.SpendingLimit != nil && na.SpendingLimitFrequency == "" {
		na.SpendingLimitFrequency = model.FreqPerMonth
	}
	if p.OnLimitExceeded != nil {
		na.OnLimitExceeded = *p.OnLimitExceeded
	}
	if p.MaxCards != nil {
		na.MaxCards = p.MaxCards
	}
	if p.SetMetadata {
		na.Metadata = p.Metadata
	}
	if p.DefaultPolicyID != nil {
		if err := l.checkPolicyRef(*p.DefaultPolicyID, "defaultPolicyId"); err != nil {
			s.mu.Unlock()
			return model.Agent{}, err
		}
		na.DefaultPolicyID = *p.DefaultPolicyID
	}
	if (p.Status == nil || *p.Status == na.Status) && reflect.DeepEqual(na, *a) {
		// A patch that changes nothing writes nothing, updatedAt included.
		s.mu.Unlock()
		return na, nil
	}
	na.UpdatedAt = model.Ms(now)
	c := l.begin(now)
	c.kind(RecAgent)
	var cardChanges []*model.Card
	if p.Status != nil && *p.Status != na.Status {
		cardChanges = l.setAgentStatus(c, s, &na, *p.Status)
	}
	c.putAgent(&na)
	err = c.apply(ctx, na)
	if err == nil {
		*a = na
		for _, nc := range cardChanges {
			*s.cards[nc.ID] = *nc
		}
		if p.DefaultPolicyID != nil {
			l.cardLifetimesChanged()
		}
	}
	s.mu.Unlock()
	if err != nil {
		return model.Agent{}, err
	}
	return na, c.wait()
}

// setAgentStatus moves an agent between active and suspended, freezing its
// active cards on suspension and unfreezing those it froze on reactivation.
// It returns the changed cards to install once the change is applied.
func (l *Ledger) setAgentStatus(c *change, s *shard, a *model.Agent, status string) []*model.Card {
	var changed []*model.Card
	prev := a.Status
	a.Status = status
	for _, card := range s.cards {
		if card.AgentID != a.ID {
			continue
		}
		nc := *card
		switch {
		case status == model.AgentSuspended && card.Status == model.CardActive:
			nc.Status, nc.FrozenBySuspension = model.CardFrozen, true
			c.event(model.EvtCardFrozen, map[string]any{"cardId": nc.ID, "agentId": a.ID, "userId": a.UserID, "status": nc.Status, "previousStatus": card.Status, "reason": "agent_suspended"})
		case status == model.AgentActive && card.Status == model.CardFrozen && card.FrozenBySuspension:
			nc.Status, nc.FrozenBySuspension = model.CardActive, false
			c.event(model.EvtCardUnfrozen, map[string]any{"cardId": nc.ID, "agentId": a.ID, "userId": a.UserID, "status": nc.Status, "previousStatus": card.Status, "reason": "agent_activated"})
		default:
			continue
		}
		nc.UpdatedAt = model.Ms(c.now)
		c.putCard(&nc)
		changed = append(changed, &nc)
	}
	typ := model.EvtAgentSuspended
	if status == model.AgentActive {
		typ = model.EvtAgentActivated
	}
	c.event(typ, map[string]any{"agentId": a.ID, "userId": a.UserID, "status": status, "previousStatus": prev})
	return changed
}

// StatusChange is the result of suspend, activate and deregister.
type StatusChange struct {
	Agent          model.Agent
	PreviousStatus string
}

// SetAgentStatus suspends (status "suspended") or reactivates ("active") an
// agent.
func (l *Ledger) SetAgentStatus(ctx context.Context, id, status string) (StatusChange, error) {
	now := l.clock.Now()
	s, a, err := l.lockAgent(id)
	if err != nil {
		return StatusChange{}, err
	}
	if a.Status == model.AgentDeregistered {
		s.mu.Unlock()
		return StatusChange{}, conflict("agent_deregistered", "A deregistered agent cannot be changed.")
	}
	prev := a.Status
	if prev == status {
		out := *a
		s.mu.Unlock()
		return StatusChange{Agent: out, PreviousStatus: prev}, nil
	}
	na := *a
	c := l.begin(now)
	c.kind(RecAgent)
	changed := l.setAgentStatus(c, s, &na, status)
	na.UpdatedAt = model.Ms(now)
	c.putAgent(&na)
	res := StatusChange{Agent: na, PreviousStatus: prev}
	err = c.apply(ctx, res)
	if err == nil {
		*a = na
		for _, nc := range changed {
			*s.cards[nc.ID] = *nc
		}
	}
	s.mu.Unlock()
	if err != nil {
		return StatusChange{}, err
	}
	return res, c.wait()
}

// Deregister retires an agent for good: its open cards are closed and its
// tokens revoked.
func (l *Ledger) Deregister(ctx context.Context, id string) (StatusChange, error) {
	now := l.clock.Now()
	s, a, err := l.lockAgent(id)
	if err != nil {
		return StatusChange{}, err
	}
	prev := a.Status
	if prev == model.AgentDeregistered {
		out := *a
		s.mu.Unlock()
		return StatusChange{Agent: out, PreviousStatus: prev}, nil
	}
	na := *a
	na.Status, na.DeregisteredAt, na.UpdatedAt = model.AgentDeregistered, model.Ms(now), model.Ms(now)
	c := l.begin(now)
	c.kind(RecAgent)
	var changed []*model.Card
	for _, card := range s.cards {
		if card.AgentID != id || card.Status == model.CardClosed {
			continue
		}
		nc := *card
		nc.Status, nc.ClosedAt, nc.UpdatedAt = model.CardClosed, model.Ms(now), model.Ms(now)
		c.putCard(&nc)
		c.event(model.EvtCardClosed, map[string]any{"cardId": nc.ID, "agentId": id, "userId": na.UserID, "status": nc.Status, "previousStatus": card.Status, "reason": "agent_deregistered"})
		changed = append(changed, &nc)
	}
	var revoked []*model.AgentToken
	l.dir.mu.RLock()
	for _, t := range l.dir.tokenByID {
		if t.AgentID == id && t.RevokedAt == 0 {
			nt := *t
			nt.RevokedAt = model.Ms(now)
			c.put(keyspace.TokenKey(nt.ID), &nt)
			revoked = append(revoked, &nt)
		}
	}
	l.dir.mu.RUnlock()
	c.putAgent(&na)
	c.event(model.EvtAgentDeregistered, map[string]any{"agentId": id, "userId": na.UserID, "status": na.Status, "previousStatus": prev})
	res := StatusChange{Agent: na, PreviousStatus: prev}
	err = c.apply(ctx, res)
	if err == nil {
		*a = na
		for _, nc := range changed {
			*s.cards[nc.ID] = *nc
		}
		l.installTokens(revoked)
	}
	s.mu.Unlock()
	if err != nil {
		return StatusChange{}, err
	}
	return res, c.wait()
}

func (l *Ledger) installTokens(ts []*model.AgentToken) {
	l.dir.mu.Lock()
	defer l.dir.mu.Unlock()
	for _, t := range ts {
		l.dir.tokens[hex.EncodeToString(t.Hash)] = t
		l.dir.tokenByID[t.ID] = t
	}
}

// NewToken is a freshly issued agent token; Secret is shown once.
type NewToken struct {
	Token  model.AgentToken
	Secret string
}

// CreateToken issues another token for an agent.
func (l *Ledger) CreateToken(ctx context.Context, agentID, name string, expiresAt int64) (NewToken, error) {
	now := l.clock.Now()
	s, a, err := l.lockAgent(agentID)
	if err != nil {
		return NewToken{}, err
	}
	if a.Status == model.AgentDeregistered {
		s.mu.Unlock()
		return NewToken{}, conflict("agent_deregistered", "A deregistered agent cannot be given tokens.")
	}
	if expiresAt != 0 && expiresAt <= model.Ms(now) {
		s.mu.Unlock()
		return NewToken{}, invalid("parameter_invalid", "expiresAt", "expiresAt must be in the future.")
	}
	secret, tok := l.newToken(a, name, expiresAt, now)
	c := l.begin(now)
	c.kind(RecAgentToken)
	c.put(keyspace.TokenKey(tok.ID), tok)
	res := NewToken{Token: *tok, Secret: secret}
	err = c.apply(ctx, res)
	if err == nil {
		l.installTokens([]*model.AgentToken{tok})
	}
	s.mu.Unlock()
	if err != nil {
		return NewToken{}, err
	}
	return res, c.wait()
}

// ListTokens lists an agent's tokens, newest first.
func (l *Ledger) ListTokens(agentID string) ([]model.AgentToken, error) {
	if _, err := l.GetAgent(agentID); err != nil {
		return nil, err
	}
	l.dir.mu.RLock()
	defer l.dir.mu.RUnlock()
	var out []model.AgentToken
	for _, t := range l.dir.tokenByID {
		if t.AgentID == agentID {
			out = append(out, *t)
		}
	}
	sortByIDDesc(out, func(t *model.AgentToken) string { return t.ID })
	return out, nil
}

// RevokeToken revokes one of an agent's tokens at once and for good.
func (l *Ledger) RevokeToken(ctx context.Context, agentID, tokenID string) (model.AgentToken, error) {
	now := l.clock.Now()
	s, _, err := l.lockAgent(agentID)
	if err != nil {
		return model.AgentToken{}, err
	}
	release := holdShard(s)
	defer release()
	l.dir.mu.RLock()
	t, ok := l.dir.tokenByID[tokenID]
	l.dir.mu.RUnlock()
	if !ok || t.AgentID != agentID {
		return model.AgentToken{}, notFound("token_not_found", "token", tokenID)
	}
	if t.RevokedAt != 0 {
		return *t, nil
	}
	nt := *t
	nt.RevokedAt = model.Ms(now)
	c := l.begin(now)
	c.kind(RecAgentToken)
	c.put(keyspace.TokenKey(nt.ID), &nt)
	if err := c.apply(ctx, nt); err != nil {
		return model.AgentToken{}, err
	}
	release()
	if err := c.wait(); err != nil {
		return model.AgentToken{}, err
	}
	l.installTokens([]*model.AgentToken{&nt})
	return nt, nil
}

// Principal is who a request acts as: the organization's API key, or one
// agent through its token.
type Principal struct {
	AgentID string // empty for the API key
	UserID  string
	TokenID string
}

// IsAgent reports whether the principal is an agent token.
func (p Principal) IsAgent() bool { return p.AgentID != "" }

// AuthenticateToken resolves an agent token. It fails for unknown, revoked,
// expired tokens and for tokens of deregistered agents.
func (l *Ledger) AuthenticateToken(secret string) (Principal, bool) {
	if !apikey.WellFormed(secret, apikey.PrefixAgentToken) {
		return Principal{}, false
	}
	h := apikey.Hash(secret)
	now := model.Ms(l.clock.Now())
	l.dir.mu.RLock()
	t, ok := l.dir.tokens[hex.EncodeToString(h)]
	l.dir.mu.RUnlock()
	if !ok || !apikey.Equal(t.Hash, h) || !t.Active(now) {
		return Principal{}, false
	}
	a, err := l.GetAgent(t.AgentID)
	if err != nil || a.Status == model.AgentDeregistered {
		return Principal{}, false
	}
	return Principal{AgentID: t.AgentID, UserID: t.UserID, TokenID: t.ID}, true
}
