package api

import (
	"github.com/ledgersim/ledgersim/webhook"
)

// listEvents pages through the event log, newest first, optionally only
// one type (found through the ledger's index of events by type).
func (a *API) listEvents(rc *reqCtx) error {
	p, err := rc.listParams()
	if err != nil {
		return err
	}
	typ := rc.query("type")
	if len(typ) > 64 {
		return errInvalid("type", "'type' is not an event type.")
	}
	page, err := webhook.ListEvents(a.l.Store(), a.l, typ, p.Limit, p.Cursor)
	if err != nil {
		return webhookErr(err, "")
	}
	rc.writeJSON(200, webhookPageView(page, func(e *webhook.Envelope) webhook.Envelope { return *e }))
	return nil
}

func (a *API) getEvent(rc *reqCtx) error {
	id := rc.param("id")
	env, err := webhook.GetEvent(a.l.Store(), id)
	if err != nil {
		return webhookErr(err, id)
	}
	rc.writeJSON(200, env)
	return nil
}
