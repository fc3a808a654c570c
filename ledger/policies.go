package ledger

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // activeTimezone names resolve on machines without a zone database

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger/keyspace"
	"github.com/ledgersim/ledgersim/model"
)

// policies holds the organization's policies in memory. A policy is never
// changed in place: an update installs a new value, so a decision may keep
// the pointer it read for as long as it likes without a lock.
//
// Lock order: a shard's lock, then policies.mu (a decision reads the
// policy of the card it holds); a policy change takes policies.mu alone.
type policies struct {
	mu     sync.RWMutex
	byID   map[string]*model.Policy
	byName map[string]string // normalized name -> ID
	// zones caches loaded time zones by IANA name (time.LoadLocation reads
	// the zone database, which a decision must not do).
	zones sync.Map
}

func (p *policies) init() {
	p.byID = map[string]*model.Policy{}
	p.byName = map[string]string{}
}

func policyNameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// Zone loads an IANA time zone by name, once. "" is UTC.
func (l *Ledger) Zone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if z, ok := l.pols.zones.Load(name); ok {
		return z.(*time.Location), nil
	}
	z, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	l.pols.zones.Store(name, z)
	return z, nil
}

// policy returns a policy by ID, nil when there is none.
func (l *Ledger) policy(id string) *model.Policy {
	if id == "" {
		return nil
	}
	l.pols.mu.RLock()
	defer l.pols.mu.RUnlock()
	return l.pols.byID[id]
}

// policyOf is the policy that governs a card: its own policyId, or else
// its agent's defaultPolicyId.
func (l *Ledger) policyOf(card *model.Card, agent *model.Agent) *model.Policy {
	if card.PolicyID != "" {
		return l.policy(card.PolicyID)
	}
	if agent != nil {
		return l.policy(agent.DefaultPolicyID)
	}
	return nil
}

// checkPolicyRef refuses a reference to a policy that does not exist.
func (l *Ledger) checkPolicyRef(id, param string) error {
	if id != "" && l.policy(id) == nil {
		return &Error{Kind: KindInvalid, Code: "policy_not_found", Param: param, Message: fmt.Sprintf("No policy with id '%s'.", SafeID(id))}
	}
	return nil
}

// CreatePolicy records a new policy. Its name is unique in the
// organization (compared without case).
func (l *Ledger) CreatePolicy(ctx context.Context, p model.Policy) (model.Policy, error) {
	now := l.clock.Now()
	l.pols.mu.Lock()
	if _, taken := l.pols.byName[policyNameKey(p.Name)]; taken {
		l.pols.mu.Unlock()
		return model.Policy{}, &Error{Kind: KindConflict, Code: "policy_name_taken", Param: "name", Message: "A policy with this name already exists."}
	}
	p.ID = l.ids.New(model.PrefixPolicy, now)
	p.CreatedAt, p.UpdatedAt = model.Ms(now), model.Ms(now)
	c := l.begin(now)
	c.kind(RecPolicy)
	c.put(keyspace.PolicyKey(p.ID), &p)
	c.event(model.EvtPolicyCreated, map[string]any{"policyId": p.ID, "name": p.Name})
	if err := c.apply(ctx, p); err != nil {
		l.pols.mu.Unlock()
		return model.Policy{}, err
	}
	stored := p
	l.pols.byID[p.ID] = &stored
	l.pols.byName[policyNameKey(p.Name)] = p.ID
	l.pols.mu.Unlock()
	return p, c.wait()
}

// GetPolicy returns a policy.
func (l *Ledger) GetPolicy(id string) (model.Policy, error) {
	if p := l.policy(id); p != nil {
		return *p, nil
	}
	return model.Policy{}, notFound("policy_not_found", "policy", id)
}

// ListPolicies pages through the policies, newest first.
func (l *Ledger) ListPolicies(p ListParams) (Page[model.Policy], error) {
	l.pols.mu.RLock()
	ids := make([]string, 0, len(l.pols.byID))
	for id := range l.pols.byID {
		if p.Cursor == "" || id < p.Cursor {
			ids = append(ids, id)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	var page Page[model.Policy]
	for _, id := range ids {
		if len(page.Items) == p.Limit {
			page.HasMore = true
			page.Cursor = page.Items[len(page.Items)-1].ID
			break
		}
		page.Items = append(page.Items, *l.pols.byID[id])
	}
	l.pols.mu.RUnlock()
	return page, nil
}

// UpdatePolicy replaces a policy with its patched value (the API applies
// the patch to the current value under PolicyPatchFunc). A rename keeps
// names unique. Cards under the policy decide by the new value from the
// next authorization on.
func (l *Ledger) UpdatePolicy(ctx context.Context, id string, patch func(*model.Policy) error) (model.Policy, error) {
	now := l.clock.Now()
	l.pols.mu.Lock()
	cur := l.pols.byID[id]
	if cur == nil {
		l.pols.mu.Unlock()
		return model.Policy{}, notFound("policy_not_found", "policy", id)
	}
	np := *cur
	if err := patch(&np); err != nil {
		l.pols.mu.Unlock()
		return model.Policy{}, err
	}
	if reflect.DeepEqual(np, *cur) {
		// A patch that changes nothing writes nothing, updatedAt included.
		l.pols.mu.Unlock()
		return np, nil
	}
	if other, taken := l.pols.byName[policyNameKey(np.Name)]; taken && other != id {
		l.pols.mu.Unlock()
		return model.Policy{}, &Error{Kind: KindConflict, Code: "policy_name_taken", Param: "name", Message: "A policy with this name already exists."}
	}
	np.UpdatedAt = model.Ms(now)
	c := l.begin(now)
	c.kind(RecPolicy)
	c.put(keyspace.PolicyKey(np.ID), &np)
	c.event(model.EvtPolicyUpdated, map[string]any{"policyId": np.ID, "name": np.Name})
	if err := c.apply(ctx, np); err != nil {
		l.pols.mu.Unlock()
		return model.Policy{}, err
	}
	delete(l.pols.byName, policyNameKey(cur.Name))
	stored := np
	l.pols.byID[id] = &stored
	l.pols.byName[policyNameKey(np.Name)] = id
	l.pols.mu.Unlock()
	l.cardLifetimesChanged()
	return np, c.wait()
}

// rebuildPolicies loads every policy from the store at Open.
func (l *Ledger) rebuildPolicies() error {
	return loadAll(l.db, keyspace.PoliciesPrefix, func(p *model.Policy) {
		l.pols.byID[p.ID] = p
		l.pols.byName[policyNameKey(p.Name)] = p.ID
		l.ids.Observe(p.ID)
	})
}

// CardControls is a card as its policy makes it, with what its live
// policy state is computed from.
type CardControls struct {
	// Card is the card with every control it leaves unset taken from
	// its policy.
	Card model.Card
	// PolicyID is the policy that applies ("" none): the card's own or
	// its agent's default.
	PolicyID string
	Zone     *time.Location
	Now      time.Time
}

// CardControls returns a card's controls in force at the server's clock.
func (l *Ledger) CardControls(id string) (CardControls, error) {
	now := l.clock.Now()
	s, card, err := l.lockCard(id)
	if err != nil {
		return CardControls{}, err
	}
	agent := s.agents[card.AgentID]
	pol := l.policyOf(card, agent)
	out := CardControls{Card: *card, Now: now}
	if pol != nil {
		out.Card, out.PolicyID = authz.WithPolicy(card, pol), pol.ID
	}
	s.mu.Unlock()
	out.Zone, _ = l.Zone(out.Card.ActiveTimezone)
	return out, nil
}
