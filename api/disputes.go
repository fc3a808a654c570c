package api

import (
	"bytes"
	"io"
	"net/http"

	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
)

type disputeEvidenceView struct {
	HasFile      bool   `json:"hasFile"`
	TextEvidence string `json:"textEvidence,omitempty"`
	Name         string `json:"name,omitempty"`
	Type         string `json:"type,omitempty"`
	MimeType     string `json:"mimeType,omitempty"`
	SizeBytes    int64  `json:"sizeBytes,omitempty"`
	UploadedAt   int64  `json:"uploadedAt,omitempty"`
}

type disputeView struct {
	Object              string              `json:"object"`
	ID                  string              `json:"id"`
	TransactionID       string              `json:"transactionId"`
	CardID              string              `json:"cardId"`
	AgentID             string              `json:"agentId"`
	UserID              string              `json:"userId"`
	Amount              int64               `json:"amount"`
	Currency            string              `json:"currency"`
	Reason              string              `json:"reason"`
	Description         string              `json:"description,omitempty"`
	TextEvidence        string              `json:"textEvidence,omitempty"`
	Evidence            disputeEvidenceView `json:"evidence"`
	RainDisputeID       string              `json:"rainDisputeId"`
	Status              string              `json:"status"`
	Outcome             *string             `json:"outcome"`
	CreditTransactionID *string             `json:"creditTransactionId"`
	CreditAmount        int64               `json:"creditAmount"`
	CreatedAt           int64               `json:"createdAt"`
	UpdatedAt           int64               `json:"updatedAt"`
	ResolvedAt          *int64              `json:"resolvedAt"`
	CanceledAt          *int64              `json:"canceledAt,omitempty"`
}

func viewDispute(d *model.Dispute) disputeView {
	v := disputeView{Object: "dispute", ID: d.ID, TransactionID: d.TransactionID, CardID: d.CardID, AgentID: d.AgentID,
		UserID: d.UserID, Amount: d.AmountCents, Currency: "USD", Reason: d.Reason, Description: d.Description,
		TextEvidence: d.TextEvidence, Evidence: disputeEvidenceView{TextEvidence: d.TextEvidence},
		RainDisputeID: d.IssuerDisputeID, Status: d.Status, CreditAmount: d.CreditCents, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		Outcome: optStr(d.Outcome), CreditTransactionID: optStr(d.CreditTransactionID)}
	if e := d.Evidence; e != nil {
		v.Evidence.HasFile, v.Evidence.Name, v.Evidence.Type, v.Evidence.MimeType = true, e.Name, e.Type, e.MimeType
		v.Evidence.SizeBytes, v.Evidence.UploadedAt = e.SizeBytes, e.UploadedAt
	}
	if d.ResolvedAt != 0 {
		r := d.ResolvedAt
		v.ResolvedAt = &r
	}
	if d.CanceledAt != 0 {
		c := d.CanceledAt
		v.CanceledAt = &c
	}
	return v
}

// ownDispute loads a dispute the caller may see: an agent token sees its
// own agent's.
func (a *API) ownDispute(rc *reqCtx, id string) (model.Dispute, error) {
	d, err := a.l.GetDispute(id)
	if err != nil {
		return model.Dispute{}, err
	}
	if rc.principal.IsAgent() && d.AgentID != rc.principal.AgentID {
		return model.Dispute{}, errNotFound("dispute_not_found", "No dispute with id '"+ledger.SafeID(id)+"'.")
	}
	return d, nil
}

// createDispute answers POST /v1/transactions/{id}/disputes.
func (a *API) createDispute(rc *reqCtx) error {
	id := rc.param("id")
	if _, err := a.ownTxn(rc, id); err != nil {
		return err
	}
	f, err := rc.body()
	if err != nil {
		return err
	}
	in := ledger.DisputeInput{
		Reason:       f.enum("reason", false, model.DisputeReasons),
		Description:  f.str("description", false, 5000),
		TextEvidence: f.str("textEvidence", false, 65535),
	}
	if e := f.done(); e != nil {
		return e
	}
	rc.render(201, func(r any) any { d := r.(model.Dispute); return viewDispute(&d) })
	d, lerr := a.l.CreateDispute(rc.ctx, id, in)
	if lerr != nil {
		return lerr
	}
	return rc.reply(201, viewDispute(&d))
}

var disputeStatuses = []string{model.DisputePending, model.DisputeInReview, model.DisputeAccepted, model.DisputeRejected, model.DisputeCanceled}

func (a *API) listDisputes(rc *reqCtx) error {
	p, err := rc.listParams()
	if err != nil {
		return err
	}
	f := ledger.DisputeFilter{UserID: rc.query("userId"), TransactionID: rc.query("transactionId"), Status: rc.query("status")}
	if f.Status != "" && !contains(disputeStatuses, f.Status) {
		return errInvalid("status", "'status' must be one of: pending, inReview, accepted, rejected, canceled.")
	}
	if rc.principal.IsAgent() {
		f.AgentID = rc.principal.AgentID
	}
	page, err := a.l.ListDisputes(f, p)
	if err != nil {
		return err
	}
	rc.writeJSON(200, pageView(page, viewDispute))
	return nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func (a *API) getDispute(rc *reqCtx) error {
	d, err := a.ownDispute(rc, rc.param("id"))
	if err != nil {
		return err
	}
	rc.writeJSON(200, viewDispute(&d))
	return nil
}

// putDisputeEvidence answers PUT /v1/disputes/{id}/evidence: a multipart
// body with name, type and the evidence file (at most
// ledger.MaxDisputeEvidenceBytes).
func (a *API) putDisputeEvidence(rc *reqCtx) error {
	id := rc.param("id")
	if _, err := a.ownDispute(rc, id); err != nil {
		return err
	}
	if !bytes.HasPrefix(rc.fc.Request.Header.ContentType(), []byte("multipart/form-data")) {
		return &apiError{Status: 400, Type: typeValidation, Code: "invalid_request_body",
			Message: "Evidence is uploaded as multipart/form-data with the fields name, type and evidence (the file)."}
	}
	form, err := rc.fc.MultipartForm()
	if err != nil {
		return &apiError{Status: 400, Type: typeInvalidRequest, Code: "body_parse_error", Message: "The multipart body could not be read."}
	}
	value := func(name string, maxLen int) (string, error) {
		vs := form.Value[name]
		if len(vs) != 1 || vs[0] == "" {
			return "", errMissing(name)
		}
		if len(vs[0]) > maxLen {
			return "", errInvalid(name, "'"+name+"' is too long.")
		}
		return vs[0], nil
	}
	name, err := value("name", 200)
	if err != nil {
		return err
	}
	typ, err := value("type", 100)
	if err != nil {
		return err
	}
	for k := range form.Value {
		if k != "name" && k != "type" {
			return &apiError{Status: 400, Type: typeValidation, Code: "parameter_unknown", Param: k, Message: "Unknown field '" + k + "'. This upload takes name, type and evidence."}
		}
	}
	files := form.File["evidence"]
	if len(files) != 1 {
		return errMissing("evidence")
	}
	fh := files[0]
	if fh.Size > ledger.MaxDisputeEvidenceBytes {
		return errTooLarge
	}
	fd, err := fh.Open()
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(fd, ledger.MaxDisputeEvidenceBytes+1))
	_ = fd.Close()
	if err != nil {
		return err
	}
	if len(data) > ledger.MaxDisputeEvidenceBytes {
		return errTooLarge
	}
	if len(data) == 0 {
		return errInvalid("evidence", "The evidence file is empty.")
	}
	ev := model.DisputeEvidence{Name: name, Type: typ, MimeType: http.DetectContentType(data)}
	d, lerr := a.l.PutDisputeEvidence(rc.ctx, id, ev, data)
	if lerr != nil {
		return lerr
	}
	v := viewDispute(&d)
	rc.writeJSON(200, map[string]any{"object": "dispute_evidence", "message": "Evidence uploaded", "dispute": v})
	return nil
}

// resolveDispute answers POST /v1/simulate/dispute/{id}/resolve: the
// issuer's decision, won or lost.
func (a *API) resolveDispute(rc *reqCtx) error {
	id := rc.param("id")
	if _, err := a.l.GetDispute(id); err != nil {
		return err
	}
	f, err := rc.body()
	if err != nil {
		return err
	}
	outcome := f.enum("outcome", true, []string{model.DisputeWon, model.DisputeLost})
	if e := f.done(); e != nil {
		return e
	}
	rc.render(200, func(r any) any { d := r.(model.Dispute); return viewDispute(&d) })
	d, lerr := a.l.ResolveDispute(rc.ctx, id, outcome)
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, viewDispute(&d))
}

// cancelDispute answers POST /v1/disputes/{id}/cancel: the cardholder
// withdraws a pending dispute. The platform's lifecycle has pending →
// canceled; its pages name no endpoint for it, so this one follows the
// intents' POST .../cancel.
func (a *API) cancelDispute(rc *reqCtx) error {
	id := rc.param("id")
	if _, err := a.ownDispute(rc, id); err != nil {
		return err
	}
	f, err := rc.body()
	if err != nil {
		return err
	}
	if e := f.done(); e != nil {
		return e
	}
	rc.render(200, func(r any) any { d := r.(model.Dispute); return viewDispute(&d) })
	d, lerr := a.l.CancelDispute(rc.ctx, id)
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, viewDispute(&d))
}
