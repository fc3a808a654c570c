package api

import (
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
)

// ownCard loads a card the caller may see: an agent token sees only its own
// agent's cards, and another agent's card is reported as not found so that
// its existence is not revealed.
func (a *API) ownCard(rc *reqCtx, id string) (model.Card, error) {
	c, err := a.l.GetCard(id)
	if err != nil {
		return model.Card{}, err
	}
	if rc.principal.IsAgent() && c.AgentID != rc.principal.AgentID {
		return model.Card{}, errNotFound("card_not_found", "No card with id '"+ledger.SafeID(id)+"'.")
	}
	return c, nil
}

// ownAgent checks that an agent-scoped caller names its own agent.
func (a *API) ownAgent(rc *reqCtx, id string) error {
	if rc.principal.IsAgent() && id != rc.principal.AgentID {
		return errNotFound("agent_not_found", "No agent with id '"+ledger.SafeID(id)+"'.")
	}
	return nil
}

func readLimits(f *fields) (model.Limits, bool) {
	lf := f.sub("limits")
	if lf == nil {
		return model.Limits{}, false
	}
	l := model.Limits{
		PerAuth:  lf.int("perAuth", false, 1, maxCents),
		PerDay:   lf.int("perDay", false, 1, maxCents),
		PerMonth: lf.int("perMonth", false, 1, maxCents),
		PerWeek:  lf.int("perWeek", false, 1, maxCents),
		PerYear:  lf.int("perYear", false, 1, maxCents),
		AllTime:  lf.int("allTime", false, 1, maxCents),
	}
	f.join(lf)
	return l, true
}

func (a *API) createCard(rc *reqCtx) error {
	agentID := rc.param("id")
	if err := a.ownAgent(rc, agentID); err != nil {
		return err
	}
	f, err := rc.body()
	if err != nil {
		return err
	}
	in := ledger.CardInput{
		Purpose:            f.str("purpose", true, 500),
		Type:               f.enum("type", false, []string{model.CardSingle, model.CardMulti}),
		CredentialExposure: f.enum("credentialExposure", false, []string{model.ExposureNever, model.ExposureExtension, model.ExposureRawPAN}),
		MaxAmount:          f.int("maxAmount", false, 1, maxCents),
		MerchantHint:       f.str("merchantHint", false, 200),
		MaxAuthCount:       f.int("maxAuthCount", false, 1, 1_000_000_000),
		TTLDays:            f.int("ttlDays", false, 1, 3650),
		OnDrift:            f.enum("onDrift", false, []string{model.DriftFreeze, model.DriftNotify, model.DriftNone}),
	}
	if ack := f.boolean("acknowledgeRawPanRisk"); ack != nil {
		in.AcknowledgeRawPanRisk = *ack
	}
	in.Limits, in.LimitsGiven = readLimits(f)
	if w := f.int("attestationWindowMinutes", false, 1, 60); w != nil {
		in.AttestationWindowMinutes = *w
	} else {
		in.AttestationWindowMinutes = 10
	}
	in.PolicyID = f.str("policyId", false, 64)
	// A card may be issued notActivated; it declines until activated.
	in.NotActivated = f.enum("status", false, []string{model.CardActive, model.CardNotActivated}) == model.CardNotActivated
	a.readControls(ctlReader{f: f}, &in.Controls)
	if e := f.done(); e != nil {
		return e
	}
	if e := checkControls(&in.Controls); e != nil {
		return e
	}
	if in.Type == "" {
		in.Type = model.CardSingle
	}
	// An absent credentialExposure is the card's policy's, or else
	// extensionOnly (the ledger knows the policy).
	if in.CredentialExposure == model.ExposureRawPAN && !in.AcknowledgeRawPanRisk {
		return errInvalid("acknowledgeRawPanRisk", "'acknowledgeRawPanRisk' must be true when credentialExposure is 'rawPan'.")
	}
	rc.render(201, func(r any) any { c := r.(model.Card); return a.viewCard(&c) })
	c, lerr := a.l.CreateCard(rc.ctx, agentID, in)
	if lerr != nil {
		return lerr
	}
	return rc.reply(201, a.viewCard(&c))
}

func (a *API) getCard(rc *reqCtx) error {
	c, err := a.ownCard(rc, rc.param("id"))
	if err != nil {
		return err
	}
	rc.writeJSON(200, a.viewCard(&c))
	return nil
}

func (a *API) listAgentCards(rc *reqCtx) error {
	agentID := rc.param("id")
	if err := a.ownAgent(rc, agentID); err != nil {
		return err
	}
	p, err := rc.listParams()
	if err != nil {
		return err
	}
	page, err := a.l.ListCardsOfAgent(agentID, p)
	if err != nil {
		return err
	}
	rc.writeJSON(200, pageView(page, a.viewCard))
	return nil
}

func (a *API) listUserCards(rc *reqCtx) error {
	p, err := rc.listParams()
	if err != nil {
		return err
	}
	page, err := a.l.ListCardsOfUser(rc.param("id"), p)
	if err != nil {
		return err
	}
	rc.writeJSON(200, pageView(page, a.viewCard))
	return nil
}

func (a *API) updateCard(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	var p ledger.CardPatch
	if l, ok := readLimits(f); ok {
		p.Limits = &l
	}
	p.MerchantHint = f.optStr("merchantHint", 200)
	if s := f.enum("onDrift", false, []string{model.DriftFreeze, model.DriftNotify, model.DriftNone}); s != "" {
		p.OnDrift = &s
	}
	if f.null("maxAuthCount") {
		p.ClearMaxAuth = true
	} else {
		p.MaxAuthCount = f.int("maxAuthCount", false, 1, 1_000_000_000)
	}
	p.MaxAmount = f.int("maxAmount", false, 1, maxCents)
	if s := f.enum("status", false, []string{model.CardActive, model.CardFrozen}); s != "" {
		p.Status = &s
	}
	if f.null("policyId") {
		p.PolicyID = ptr("")
	} else {
		p.PolicyID = f.optStr("policyId", 64)
	}
	// The controls are read against a scratch value to report every
	// error now; the ledger applies the same reading to the card's own.
	var scratch model.Controls
	a.readControls(ctlReader{f: f, patch: true}, &scratch)
	if e := f.done(); e != nil {
		return e
	}
	p.EditControls = func(c *model.Controls) error {
		g, _ := parseFields(rc.fc.PostBody())
		a.readControls(ctlReader{f: g, patch: true}, c)
		if e := checkControls(c); e != nil {
			return e
		}
		return nil
	}
	rc.render(200, func(r any) any { c := r.(model.Card); return a.viewCard(&c) })
	c, lerr := a.l.UpdateCard(rc.ctx, rc.param("id"), p)
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, a.viewCard(&c))
}

type cardTransitionView struct {
	Object         string `json:"object"`
	ID             string `json:"id"`
	Status         string `json:"status"`
	PreviousStatus string `json:"previousStatus"`
}

func (a *API) cardTransition(rc *reqCtx, op func(id string) (ledger.CardTransition, error)) error {
	id := rc.param("id")
	if _, err := a.ownCard(rc, id); err != nil {
		return err
	}
	f, err := rc.body()
	if err != nil {
		return err
	}
	if e := f.done(); e != nil {
		return e
	}
	view := func(t ledger.CardTransition) cardTransitionView {
		return cardTransitionView{Object: "card", ID: t.Card.ID, Status: t.Card.Status, PreviousStatus: t.PreviousStatus}
	}
	rc.render(200, func(r any) any { return view(r.(ledger.CardTransition)) })
	t, lerr := op(id)
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, view(t))
}

func (a *API) freezeCard(rc *reqCtx) error {
	return a.cardTransition(rc, func(id string) (ledger.CardTransition, error) { return a.l.FreezeCard(rc.ctx, id) })
}

func (a *API) unfreezeCard(rc *reqCtx) error {
	return a.cardTransition(rc, func(id string) (ledger.CardTransition, error) { return a.l.UnfreezeCard(rc.ctx, id) })
}

func (a *API) activateCard(rc *reqCtx) error {
	return a.cardTransition(rc, func(id string) (ledger.CardTransition, error) { return a.l.ActivateCard(rc.ctx, id) })
}

func (a *API) closeCard(rc *reqCtx) error {
	return a.cardTransition(rc, func(id string) (ledger.CardTransition, error) { return a.l.CloseCard(rc.ctx, id) })
}

type credentialsView struct {
	Object          string `json:"object"`
	AccessEventID   string `json:"accessEventId"`
	ExposureMode    string `json:"exposureMode"`
	IntentID        string `json:"intentId,omitempty"`
	PAN             string `json:"pan,omitempty"`
	CVV             string `json:"cvv,omitempty"`
	ExpirationMonth string `json:"expirationMonth,omitempty"`
	ExpirationYear  string `json:"expirationYear,omitempty"`
	Last4           string `json:"last4"`
	DetailsToken    string `json:"detailsToken,omitempty"`
	TokenExpiresAt  int64  `json:"tokenExpiresAt,omitempty"`
}

func (a *API) cardDetails(rc *reqCtx) error {
	id := rc.param("id")
	if _, err := a.ownCard(rc, id); err != nil {
		return err
	}
	f, err := rc.body()
	if err != nil {
		return err
	}
	at := ledger.Attestation{
		Summary:          f.str("summary", true, 1000),
		ExpectedAmount:   f.int("expectedAmount", false, 0, maxCents),
		ExpectedCurrency: f.enum("expectedCurrency", false, []string{"USD"}),
		MerchantText:     f.str("merchantText", false, 200),
		Reason:           f.enum("reason", false, []string{"one-time", "subscription", "preauth"}),
		ClientContext:    f.object("clientContext", 8<<10),
		Actor:            rc.actor(),
	}
	if e := f.done(); e != nil {
		return e
	}
	rc.render(200, func(r any) any { c := r.(ledger.Credentials); return viewCredentials(&c) })
	creds, lerr := a.l.ReadDetails(rc.ctx, id, at)
	if lerr != nil {
		return lerr
	}
	// Card details are the one response that carries a PAN; it must not be
	// cached by anything between the server and the caller.
	rc.fc.Response.Header.Set("Cache-Control", "no-store")
	return rc.reply(200, viewCredentials(&creds))
}

// viewCredentials is the response of a card-details read and of the
// extension's redemption alike.
func viewCredentials(c *ledger.Credentials) credentialsView {
	return credentialsView{Object: "card_credentials", AccessEventID: c.AccessEvent.ID,
		ExposureMode: c.AccessEvent.ExposureMode, IntentID: c.AccessEvent.IntentID, PAN: c.PAN, CVV: c.CVV,
		ExpirationMonth: c.ExpMonth, ExpirationYear: c.ExpYear, Last4: c.Last4,
		DetailsToken: c.DetailsToken, TokenExpiresAt: c.TokenExpiresAt}
}

func (a *API) listAccessEvents(rc *reqCtx) error {
	id := rc.param("id")
	if _, err := a.ownCard(rc, id); err != nil {
		return err
	}
	p, err := rc.listParams()
	if err != nil {
		return err
	}
	page, err := a.l.ListAccessEvents(id, p)
	if err != nil {
		return err
	}
	rc.writeJSON(200, pageView(page, viewAccessEvent))
	return nil
}
