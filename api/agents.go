package api

import (
	"math"

	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
)

const maxCents = int64(1) << 50

func (a *API) readAgentInput(f *fields, register bool) ledger.AgentInput {
	in := ledger.AgentInput{
		ExternalID:                f.str("externalId", false, 128),
		UserID:                    f.str("userId", true, 64),
		Name:                      f.str("name", true, 200),
		Description:               f.str("description", false, 1000),
		SpendingLimit:             f.int("spendingLimit", false, 0, maxCents),
		SpendingLimitFrequency:    f.enum("spendingLimitFrequency", false, model.Frequencies),
		OnLimitExceeded:           f.enum("onLimitExceeded", false, model.OnLimitActions),
		MaxCards:                  f.int("maxCards", false, 0, 100000),
		DefaultCardLimit:          f.int("defaultCardLimit", false, 1, maxCents),
		DefaultCardLimitFrequency: f.enum("defaultCardLimitFrequency", false, model.Frequencies),
		Metadata:                  f.object("metadata", 8<<10),
	}
	if register {
		in.DefaultPolicyID = f.str("defaultPolicyId", false, 64)
	}
	return in
}

func (a *API) registerAgent(rc *reqCtx) error { return a.newAgent(rc, true) }
func (a *API) createAgent(rc *reqCtx) error   { return a.newAgent(rc, false) }

func (a *API) newAgent(rc *reqCtx, register bool) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	in := a.readAgentInput(f, register)
	if e := f.done(); e != nil {
		return e
	}
	now := a.l.Clock().Now()
	view := func(reg ledger.Registration) registrationView {
		return registrationView{agentView: viewAgent(&reg.Agent, now), Created: reg.Created, Token: reg.Token, TokenID: reg.TokenID}
	}
	rc.render(201, func(r any) any { return view(r.(ledger.Registration)) })
	reg, lerr := a.l.RegisterAgent(rc.ctx, in)
	if lerr != nil {
		return lerr
	}
	status := 201
	if !reg.Created {
		status = 200
	}
	return rc.reply(status, view(reg))
}

func (a *API) getAgent(rc *reqCtx) error {
	ag, err := a.l.GetAgent(rc.param("id"))
	if err != nil {
		return err
	}
	rc.writeJSON(200, viewAgent(&ag, a.l.Clock().Now()))
	return nil
}

func (a *API) listAgents(rc *reqCtx) error {
	p, err := rc.listParams()
	if err != nil {
		return err
	}
	userID := rc.query("userId")
	if userID != "" {
		if _, err := a.l.GetUser(userID); err != nil {
			return err
		}
	}
	page, err := a.l.ListAgents(userID, p)
	if err != nil {
		return err
	}
	now := a.l.Clock().Now()
	rc.writeJSON(200, pageView(page, func(ag *model.Agent) agentView { return viewAgent(ag, now) }))
	return nil
}

func (a *API) updateAgent(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	var p ledger.AgentPatch
	p.Name = f.optStr("name", 200)
	p.Description = f.optStr("description", 1000)
	if s := f.enum("status", false, []string{model.AgentActive, model.AgentSuspended}); s != "" {
		p.Status = &s
	}
	if f.null("spendingLimit") {
		p.ClearSpendingLimit = true
	} else {
		p.SpendingLimit = f.int("spendingLimit", false, 0, maxCents)
	}
	if s := f.enum("spendingLimitFrequency", false, model.Frequencies); s != "" {
		p.SpendingLimitFrequency = &s
	}
	if s := f.enum("onLimitExceeded", false, model.OnLimitActions); s != "" {
		p.OnLimitExceeded = &s
	}
	p.MaxCards = f.int("maxCards", false, 0, 100000)
	if f.has("metadata") {
		p.SetMetadata = true
		p.Metadata = f.object("metadata", 8<<10)
	}
	if f.null("defaultPolicyId") {
		p.DefaultPolicyID = ptr("")
	} else {
		p.DefaultPolicyID = f.optStr("defaultPolicyId", 64)
	}
	if e := f.done(); e != nil {
		return e
	}
	now := a.l.Clock().Now()
	rc.render(200, func(r any) any { ag := r.(model.Agent); return viewAgent(&ag, now) })
	ag, lerr := a.l.UpdateAgent(rc.ctx, rc.param("id"), p)
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, viewAgent(&ag, now))
}

func viewStatusChange(s ledger.StatusChange) statusChangeView {
	return statusChangeView{Object: "agent", ID: s.Agent.ID, Status: s.Agent.Status, PreviousStatus: s.PreviousStatus,
		ExternalID: s.Agent.ExternalID, DeregisteredAt: s.Agent.DeregisteredAt}
}

func (a *API) agentStatus(rc *reqCtx, op func() (ledger.StatusChange, error)) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	if e := f.done(); e != nil {
		return e
	}
	rc.render(200, func(r any) any { return viewStatusChange(r.(ledger.StatusChange)) })
	res, lerr := op()
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, viewStatusChange(res))
}

func (a *API) suspendAgent(rc *reqCtx) error {
	return a.agentStatus(rc, func() (ledger.StatusChange, error) {
		return a.l.SetAgentStatus(rc.ctx, rc.param("id"), model.AgentSuspended)
	})
}

func (a *API) activateAgent(rc *reqCtx) error {
	return a.agentStatus(rc, func() (ledger.StatusChange, error) {
		return a.l.SetAgentStatus(rc.ctx, rc.param("id"), model.AgentActive)
	})
}

func (a *API) deregisterAgent(rc *reqCtx) error {
	return a.agentStatus(rc, func() (ledger.StatusChange, error) { return a.l.Deregister(rc.ctx, rc.param("id")) })
}

func (a *API) createToken(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	name := f.str("name", false, 200)
	exp := f.int("expiresAt", false, 1, math.MaxInt64)
	if e := f.done(); e != nil {
		return e
	}
	var expiresAt int64
	if exp != nil {
		expiresAt = *exp
	}
	now := a.l.Clock().Now()
	view := func(t ledger.NewToken) tokenView {
		v := viewToken(&t.Token, now)
		v.Token = t.Secret
		return v
	}
	rc.render(201, func(r any) any { return view(r.(ledger.NewToken)) })
	t, lerr := a.l.CreateToken(rc.ctx, rc.param("id"), name, expiresAt)
	if lerr != nil {
		return lerr
	}
	return rc.reply(201, view(t))
}

func (a *API) listTokens(rc *reqCtx) error {
	ts, err := a.l.ListTokens(rc.param("id"))
	if err != nil {
		return err
	}
	now := a.l.Clock().Now()
	data := make([]tokenView, 0, len(ts))
	for i := range ts {
		data = append(data, viewToken(&ts[i], now))
	}
	rc.writeJSON(200, listView{Object: "list", Data: data})
	return nil
}

func (a *API) revokeToken(rc *reqCtx) error {
	if string(rc.fc.Method()) == "POST" {
		f, err := rc.body()
		if err != nil {
			return err
		}
		if e := f.done(); e != nil {
			return e
		}
	}
	now := a.l.Clock().Now()
	rc.render(200, func(r any) any { t := r.(model.AgentToken); return viewToken(&t, now) })
	t, err := a.l.RevokeToken(rc.ctx, rc.param("id"), rc.param("tokenId"))
	if err != nil {
		return err
	}
	return rc.reply(200, viewToken(&t, now))
}
