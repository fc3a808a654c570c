package api

import (
	"github.com/ledgersim/ledgersim/apikey"
	"github.com/ledgersim/ledgersim/model"
)

// approver names who decided on an intent as the platform does: the
// display prefix of the organization's API key (never enough to use it).
func (rc *reqCtx) approver() string {
	return apikey.Display(string(rc.fc.Request.Header.Peek("Api-Key")))
}

func (a *API) approveIntent(rc *reqCtx) error {
	id := rc.param("id")
	if _, err := a.ownIntent(rc, id); err != nil {
		return err
	}
	f, err := rc.body()
	if err != nil {
		return err
	}
	if e := f.done(); e != nil {
		return e
	}
	rc.render(200, func(r any) any { it := r.(model.Intent); return viewIntent(&it) })
	it, lerr := a.l.ApproveIntent(rc.ctx, id, rc.approver())
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, viewIntent(&it))
}

func (a *API) rejectIntent(rc *reqCtx) error {
	id := rc.param("id")
	if _, err := a.ownIntent(rc, id); err != nil {
		return err
	}
	f, err := rc.body()
	if err != nil {
		return err
	}
	reason := f.str("reason", false, 1000)
	if e := f.done(); e != nil {
		return e
	}
	rc.render(200, func(r any) any { it := r.(model.Intent); return viewIntent(&it) })
	it, lerr := a.l.RejectIntent(rc.ctx, id, rc.approver(), reason)
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, viewIntent(&it))
}
