package api

import (
	"strings"

	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
)

type intentView struct {
	Object             string             `json:"object"`
	ID                 string             `json:"id"`
	CardID             string             `json:"cardId"`
	IntentID           string             `json:"intentId"`
	Summary            string             `json:"summary"`
	ExpectedAmount     *int64             `json:"expectedAmount,omitempty"`
	ExpectedCurrency   string             `json:"expectedCurrency"`
	ExpectedMerchant   string             `json:"expectedMerchant,omitempty"`
	Tolerance          int64              `json:"tolerance"`
	TTLMinutes         int64              `json:"ttlMinutes"`
	Metadata           map[string]any     `json:"metadata,omitempty"`
	Status             string             `json:"status"`
	TransactionID      string             `json:"transactionId,omitempty"`
	MatchResult        *model.MatchResult `json:"matchResult,omitempty"`
	AccessEventID      string             `json:"accessEventId,omitempty"`
	DetailsAccessedAt  int64              `json:"detailsAccessedAt,omitempty"`
	ExpiresAt          int64              `json:"expiresAt"`
	CreatedAt          int64              `json:"createdAt"`
	UpdatedAt          int64              `json:"updatedAt"`
	MatchedAt          int64              `json:"matchedAt,omitempty"`
	MismatchedAt       int64              `json:"mismatchedAt,omitempty"`
	ExpiredAt          int64              `json:"expiredAt,omitempty"`
	CanceledAt         int64              `json:"canceledAt,omitempty"`
	ApprovalRequired   bool               `json:"approvalRequired"`
	ApprovalRequiredBy string             `json:"approvalRequiredBy,omitempty"`
	ApprovedAt         int64              `json:"approvedAt,omitempty"`
	ApprovedBy         string             `json:"approvedBy,omitempty"`
	RejectedAt         int64              `json:"rejectedAt,omitempty"`
	RejectedBy         string             `json:"rejectedBy,omitempty"`
	RejectionReason    string             `json:"rejectionReason,omitempty"`
	// IntentIDGenerated is set on the reply that created an intent whose
	// request named no intentId: intentId is then the intent's own id.
	IntentIDGenerated bool `json:"intentIdGenerated,omitempty"`
}

func viewIntent(it *model.Intent) intentView {
	return intentView{Object: "intent", ID: it.ID, CardID: it.CardID, IntentID: it.IntentID, Summary: it.Summary,
		ExpectedAmount: it.ExpectedAmount, ExpectedCurrency: it.ExpectedCurrency, ExpectedMerchant: it.ExpectedMerchant,
		Tolerance: it.Tolerance, TTLMinutes: it.TTLMinutes, Metadata: it.Metadata, Status: it.Status,
		TransactionID: it.TransactionID, MatchResult: it.MatchResult, AccessEventID: it.AccessEventID,
		DetailsAccessedAt: it.DetailsAccessedAt, ExpiresAt: it.ExpiresAt, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
		MatchedAt: it.MatchedAt, MismatchedAt: it.MismatchedAt, ExpiredAt: it.ExpiredAt, CanceledAt: it.CanceledAt,
		ApprovalRequired: it.ApprovalRequired, ApprovalRequiredBy: it.ApprovalRequiredBy, ApprovedAt: it.ApprovedAt, ApprovedBy: it.ApprovedBy,
		RejectedAt: it.RejectedAt, RejectedBy: it.RejectedBy, RejectionReason: it.RejectionReason}
}

// eitherSpelling reads a field that the platform's pages spell two ways.
// Both may be given only if they agree.
func eitherInt(f *fields, primary, alias string, min, max int64) *int64 {
	a, b := f.int(primary, false, min, max), f.int(alias, false, min, max)
	switch {
	case a != nil && b != nil && *a != *b:
		f.fail(errInvalid(alias, "'"+alias+"' and '"+primary+"' are the same field and differ; send one."))
		return nil
	case a != nil:
		return a
	}
	return b
}

func eitherStr(f *fields, primary, alias string, maxLen int) string {
	a, b := f.str(primary, false, maxLen), f.str(alias, false, maxLen)
	if a != "" && b != "" && a != b {
		f.fail(errInvalid(alias, "'"+alias+"' and '"+primary+"' are the same field and differ; send one."))
		return ""
	}
	if a != "" {
		return a
	}
	return b
}

func (a *API) createIntent(rc *reqCtx) error {
	cardID := rc.param("id")
	if _, err := a.ownCard(rc, cardID); err != nil {
		return err
	}
	f, err := rc.body()
	if err != nil {
		return err
	}
	in := ledger.IntentInput{
		IntentID:         f.str("intentId", false, 128),
		Summary:          f.str("summary", true, 1000),
		ExpectedAmount:   eitherInt(f, "expectedAmount", "amount", 0, maxCents),
		ExpectedCurrency: f.enum("expectedCurrency", false, []string{"USD"}),
		ExpectedMerchant: eitherStr(f, "expectedMerchant", "merchantText", 200),
		Metadata:         f.object("metadata", 8<<10),
	}
	if ra := f.boolean("requireApproval"); ra != nil {
		in.RequireApproval = *ra
	}
	if tol := f.int("tolerance", false, 0, maxCents); tol != nil {
		in.Tolerance = *tol
	}
	if ttl := f.int("ttlMinutes", false, 1, 1440); ttl != nil {
		in.TTLMinutes = *ttl
	}
	if e := f.done(); e != nil {
		return e
	}
	if f.has("intentId") && strings.TrimSpace(in.IntentID) == "" {
		return errInvalid("intentId", "'intentId' must not be empty; leave it out to have one generated.")
	}
	view := func(r ledger.IntentResult) intentView {
		v := viewIntent(&r.Intent)
		v.IntentIDGenerated = r.IDGenerated
		return v
	}
	rc.render(201, func(r any) any { return view(r.(ledger.IntentResult)) })
	res, lerr := a.l.CreateIntent(rc.ctx, cardID, in)
	if lerr != nil {
		return lerr
	}
	status := 201
	if !res.Created {
		status = 200
	}
	return rc.reply(status, view(res))
}

func (a *API) listIntents(rc *reqCtx) error {
	cardID := rc.param("id")
	if _, err := a.ownCard(rc, cardID); err != nil {
		return err
	}
	status := rc.query("status")
	switch status {
	case "", model.IntentPending, model.IntentMatched, model.IntentMismatched, model.IntentExpired, model.IntentCanceled,
		model.IntentPendingApproval, model.IntentRejected:
	default:
		return errInvalid("status", "'status' must be one of: pending, pending_approval, rejected, matched, mismatched, expired, canceled.")
	}
	its, err := a.l.ListIntents(cardID, status)
	if err != nil {
		return err
	}
	out := make([]intentView, 0, len(its))
	for i := range its {
		out = append(out, viewIntent(&its[i]))
	}
	rc.writeJSON(200, map[string]any{"object": "list", "cardId": cardID, "intents": out})
	return nil
}

// ownIntent loads an intent the caller may see.
func (a *API) ownIntent(rc *reqCtx, id string) (model.Intent, error) {
	it, err := a.l.GetIntent(id)
	if err != nil {
		return model.Intent{}, err
	}
	if rc.principal.IsAgent() && it.AgentID != rc.principal.AgentID {
		return model.Intent{}, errNotFound("intent_not_found", "No intent with id '"+ledger.SafeID(id)+"'.")
	}
	return it, nil
}

func (a *API) getIntent(rc *reqCtx) error {
	it, err := a.ownIntent(rc, rc.param("id"))
	if err != nil {
		return err
	}
	rc.writeJSON(200, viewIntent(&it))
	return nil
}

func (a *API) cancelIntent(rc *reqCtx) error {
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
	it, lerr := a.l.CancelIntent(rc.ctx, id)
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, viewIntent(&it))
}

func (a *API) redeemDetailsToken(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	tok := f.str("detailsToken", true, 64)
	if e := f.done(); e != nil {
		return e
	}
	rc.render(200, func(r any) any { c := r.(ledger.Credentials); return viewCredentials(&c) })
	creds, lerr := a.l.RedeemDetailsToken(rc.ctx, tok)
	if lerr != nil {
		return lerr
	}
	rc.fc.Response.Header.Set("Cache-Control", "no-store")
	return rc.reply(200, viewCredentials(&creds))
}
