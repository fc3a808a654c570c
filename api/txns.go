package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/mcc"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/store"
)

type receiptView struct {
	HasReceipt bool   `json:"hasReceipt"`
	MimeType   string `json:"mimeType,omitempty"`
	SizeBytes  int64  `json:"sizeBytes,omitempty"`
	FileName   string `json:"fileName,omitempty"`
	URL        string `json:"url,omitempty"`
	UploadedAt int64  `json:"uploadedAt,omitempty"`
}

type txnView struct {
	Object                string      `json:"object"`
	ID                    string      `json:"id"`
	CardID                string      `json:"cardId"`
	UserID                string      `json:"userId"`
	AgentID               string      `json:"agentId"`
	Type                  string      `json:"type"`
	Amount                int64       `json:"amount"`
	RequestedAmount       int64       `json:"requestedAmount"`
	AuthorizedAmount      int64       `json:"authorizedAmount"`
	PendingAmount         int64       `json:"pendingAmount"`
	ReversedAmount        int64       `json:"reversedAmount,omitempty"`
	RefundedAmount        int64       `json:"refundedAmount,omitempty"`
	Currency              string      `json:"currency"`
	MerchantName          string      `json:"merchantName"`
	MerchantID            string      `json:"merchantId,omitempty"`
	MerchantCity          string      `json:"merchantCity,omitempty"`
	MerchantCountry       string      `json:"merchantCountry,omitempty"`
	MerchantCategory      string      `json:"merchantCategory"`
	MerchantCategoryCode  string      `json:"merchantCategoryCode"`
	MerchantCategoryName  *string     `json:"merchantCategoryName"`
	Status                string      `json:"status"`
	ResponseCode          string      `json:"responseCode"`
	AuthorizationCode     *string     `json:"authorizationCode"`
	DeclinedReason        *string     `json:"declinedReason,omitempty"`
	ReversalReason        string      `json:"reversalReason,omitempty"`
	ForcePost             bool        `json:"forcePost,omitempty"`
	StandIn               bool        `json:"standIn,omitempty"`
	OriginalTransactionID string      `json:"originalTransactionId,omitempty"`
	Notes                 *string     `json:"notes"`
	Tags                  []string    `json:"tags"`
	Category              *string     `json:"category"`
	ReceiptURL            *string     `json:"receiptUrl"`
	Receipt               receiptView `json:"receipt"`
	IntentID              *string     `json:"intentId"`
	AttestationStatus     *string     `json:"attestationStatus,omitempty"`
	AccessEventID         *string     `json:"accessEventId,omitempty"`
	Source                string      `json:"source"`
	STAN                  string      `json:"stan,omitempty"`
	RRN                   string      `json:"rrn,omitempty"`
	CreatedAt             int64       `json:"createdAt"`
	UpdatedAt             int64       `json:"updatedAt"`
	AuthorizedAt          *int64      `json:"authorizedAt"`
	SettledAt             *int64      `json:"settledAt"`
	PostedAt              *int64      `json:"postedAt"`
	ReversedAt            *int64      `json:"reversedAt,omitempty"`
}

func viewTxn(t *model.Transaction) txnView {
	v := txnView{Object: "transaction", ID: t.ID, CardID: t.CardID, UserID: t.UserID, AgentID: t.AgentID, Type: t.Kind,
		Amount: t.AmountCents, AuthorizedAmount: t.AuthorizedAmountCents, PendingAmount: t.HoldCents,
		ReversedAmount: t.ReversedCents, RefundedAmount: t.RefundedCents, Currency: t.Currency,
		MerchantName: t.MerchantName, MerchantID: t.MerchantID, MerchantCity: t.MerchantCity,
		MerchantCountry: t.MerchantCountry, MerchantCategory: t.MCC, MerchantCategoryCode: t.MCC, Status: t.Status,
		ResponseCode: t.ResponseCode, AuthorizationCode: optStr(t.AuthorizationCode), DeclinedReason: optStr(t.DeclinedReason),
		ReversalReason: t.ReversalReason, ForcePost: t.ForcePost, StandIn: t.StandIn, OriginalTransactionID: t.OriginalID,
		Notes: t.Notes, Tags: t.Tags, Category: t.Category, IntentID: optStr(t.IntentID),
		AttestationStatus: optStr(t.AttestationStatus), AccessEventID: optStr(t.AccessEventID), Source: t.Source,
		STAN: t.STAN, RRN: t.RRN, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, AuthorizedAt: optMs(t.AuthorizedAt),
		SettledAt: optMs(t.SettledAt), PostedAt: optMs(t.SettledAt), ReversedAt: optMs(t.ReversedAt)}
	v.RequestedAmount = requestedCents(t)
	if t.Status == model.TxnDeclined {
		// Records written before declines stored 0 carry the requested
		// amount here; a decline authorizes nothing either way.
		v.AuthorizedAmount = 0
	}
	if name, ok := mcc.Name(t.MCC); ok {
		v.MerchantCategoryName = &name
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if r := t.Receipt; r != nil {
		v.Receipt = receiptView{HasReceipt: true, MimeType: r.MimeType, SizeBytes: r.SizeBytes, FileName: r.FileName, URL: r.URL, UploadedAt: r.UploadedAt}
		u := r.URL
		if u == "" {
			u = "/v1/transactions/" + t.ID + "/receipt"
		}
		v.ReceiptURL = &u
	}
	return v
}

// requestedCents is the amount the message that made the transaction asked
// for: recorded when a partial approval authorized less; otherwise, for an
// authorization, the authorized amount (amount moves later with clearing
// and reversals); a decline, a force post and a refund authorize nothing
// beforehand and keep the asked amount as their amount.
func requestedCents(t *model.Transaction) int64 {
	if t.RequestedAmountCents != 0 {
		return t.RequestedAmountCents
	}
	if t.Status == model.TxnDeclined || t.AuthorizedAmountCents == 0 {
		return t.AmountCents
	}
	return t.AuthorizedAmountCents
}

// decisionView is a simulate endpoint's answer: the transaction and the
// response code the network would have seen.
type decisionView struct {
	txnView
	ResponseCode string `json:"responseCode"`
	Approved     bool   `json:"approved"`
}

func viewOutcome(o ledger.Outcome) decisionView {
	v := decisionView{ResponseCode: o.Code, Approved: o.Code == authz.CodeApproved || o.Code == authz.CodePartialApproval}
	if o.Txn != nil {
		v.txnView = viewTxn(o.Txn)
	}
	return v
}

var currencies = map[string]string{"USD": "840", "840": "840", "EUR": "978", "GBP": "826", "CAD": "124"}

func (a *API) simulateAuthorization(rc *reqCtx) error {
	r := &ledger.AuthRequest{Source: "api", MTI: "0100", Class: ledger.ClassAuth, Kind: authz.Purchase, Currency: "840"}
	return a.authorize(rc, r)
}

// authorize decides an authorization (or, with r.Complete, a
// single-message purchase) from a simulate body.
func (a *API) authorize(rc *reqCtx, r *ledger.AuthRequest) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	r.CardID = f.str("cardId", true, 64)
	if amt := f.int("amount", true, 0, maxCents); amt != nil {
		r.AmountCents = *amt
		if *amt == 0 {
			r.Kind = authz.Verification
		}
	}
	merchantFields(f, r)
	if p := f.boolean("allowPartial"); p != nil {
		r.AllowPartial = *p
	}
	if cur := f.str("currency", false, 3); cur != "" {
		code, ok := currencies[cur]
		if !ok {
			return errInvalid("currency", "'currency' must be an ISO 4217 code such as USD.")
		}
		r.Currency = code
	}
	if e := f.done(); e != nil {
		return e
	}
	rc.render(201, func(res any) any { return viewOutcome(res.(ledger.Outcome)) })
	out, lerr := a.l.Authorize(rc.ctx, r)
	if lerr != nil {
		if le, ok := lerr.(*ledger.Error); ok && le.Kind == ledger.KindNotFound {
			le.Param = "cardId"
		}
		return lerr
	}
	return rc.reply(201, viewOutcome(out))
}

// followUpError turns a refused clearing or reversal into the HTTP error a
// REST client expects.
func followUpError(out ledger.Outcome) error {
	switch out.Code {
	case authz.CodeApproved:
		return nil
	case authz.CodeInvalidAmount:
		return errInvalid("amount", "The amount is more than the original allows ("+out.Reason+").")
	case authz.CodeNoOriginal:
		return errNotFound("transaction_not_found", "The original transaction was not found.")
	default:
		return &apiError{Status: 409, Type: typeConflict, Code: "transaction_not_" + "eligible", Message: "The transaction cannot be changed this way (" + out.Reason + ")."}
	}
}

func (a *API) simulateFollowUp(rc *reqCtx, reversal bool) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	txnID := f.str("transactionId", true, 64)
	amount := f.int("amount", !reversal, 0, maxCents)
	// remainingAmount is DE 95's meaning (what the authorization is to be
	// left at); amount is what to release. A reversal takes one or neither.
	var remaining *int64
	if reversal {
		remaining = f.int("remainingAmount", false, 0, maxCents)
		if amount != nil && remaining != nil {
			f.fail(errInvalid("remainingAmount", "Send 'amount' (the amount released) or 'remainingAmount' (the amount left authorized, as DE 95), not both."))
		}
	}
	if e := f.done(); e != nil {
		return e
	}
	fu := &ledger.FollowUp{Source: "api", TxnID: txnID, Currency: "840"}
	var out ledger.Outcome
	var lerr error
	rc.render(200, func(res any) any { return viewOutcome(res.(ledger.Outcome)) })
	if reversal {
		t, gerr := a.l.GetTxn(txnID)
		if gerr != nil {
			return gerr
		}
		if t.Status == model.TxnDeclined {
			// The network acknowledges a reversal of a decline (an acquirer
			// reverses what timed out, whatever it was); a REST client is
			// told, as a clearing of it is, that there is nothing to
			// reverse. A decline never changes status, so this holds.
			return followUpError(ledger.Outcome{Code: authz.CodeInvalidTxn, Reason: "original_" + t.Status})
		}
		if amount != nil {
			// The API names what to reverse; the network names what remains.
			if *amount > t.AmountCents || *amount == 0 {
				return errInvalid("amount", "'amount' must be between 1 and the transaction's current amount.")
			}
			fu.ReplacementCents, fu.HasReplacement = t.AmountCents-*amount, true
		}
		if remaining != nil {
			if *remaining >= t.AmountCents {
				return errInvalid("remainingAmount", "'remainingAmount' must be less than the transaction's current amount (0 reverses it in full).")
			}
			fu.ReplacementCents, fu.HasReplacement = *remaining, true
		}
		out, lerr = a.l.Reverse(rc.ctx, fu)
	} else {
		fu.AmountCents = *amount
		out, lerr = a.l.Clear(rc.ctx, fu)
	}
	if lerr != nil {
		return lerr
	}
	if err := followUpError(out); err != nil {
		return err
	}
	return rc.reply(200, viewOutcome(out))
}

func (a *API) simulateClearing(rc *reqCtx) error { return a.simulateFollowUp(rc, false) }
func (a *API) simulateReversal(rc *reqCtx) error { return a.simulateFollowUp(rc, true) }

func (a *API) simulateRefund(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	// A refund names the purchase it refunds, or, unlinked, the card.
	cardID := f.str("cardId", false, 64)
	txnID := f.str("transactionId", cardID == "", 64)
	amount := f.int("amount", true, 1, maxCents)
	if cardID != "" && txnID != "" {
		f.fail(errInvalid("cardId", "Send 'transactionId' (a refund of that purchase) or 'cardId' (an unlinked refund), not both."))
	}
	if cardID != "" && amount != nil {
		return a.unlinkedRefund(rc, f, cardID, *amount)
	}
	if e := f.done(); e != nil {
		return e
	}
	rc.render(201, func(res any) any { return viewOutcome(res.(ledger.Outcome)) })
	out, lerr := a.l.Refund(rc.ctx, txnID, *amount)
	if lerr != nil {
		return lerr
	}
	return rc.reply(201, viewOutcome(out))
}

func (a *API) advanceClock(rc *reqCtx) error {
	if a.cfg.VirtualClock == nil {
		return &apiError{Status: 409, Type: typeConflict, Code: "clock_not_virtual", Message: "The server runs on the real clock; start it with --clock virtual to move time."}
	}
	f, err := rc.body()
	if err != nil {
		return err
	}
	minutes := f.int("minutes", true, 1, 366*24*60)
	if e := f.done(); e != nil {
		return e
	}
	now := a.cfg.VirtualClock.Advance(time.Duration(*minutes) * time.Minute)
	view := map[string]any{"object": "clock", "now": now.UnixMilli(), "virtual": true}
	if a.cfg.OnClockAdvance != nil {
		var also func(b *store.Batch) error
		if rc.idem != nil {
			raw, err := json.Marshal(view)
			if err != nil {
				return err
			}
			also = func(b *store.Batch) error { return rc.idem.Put(b, now, 200, raw) }
		}
		if err := a.cfg.OnClockAdvance(rc.ctx, also); err != nil {
			return err
		}
	}
	return rc.reply(200, view)
}

func (a *API) getClock(rc *reqCtx) error {
	rc.writeJSON(200, map[string]any{"object": "clock", "now": a.l.Clock().Now().UnixMilli(), "virtual": a.cfg.VirtualClock != nil})
	return nil
}

// ownTxn loads a transaction the caller may see.
func (a *API) ownTxn(rc *reqCtx, id string) (model.Transaction, error) {
	t, err := a.l.GetTxn(id)
	if err != nil {
		return model.Transaction{}, err
	}
	if rc.principal.IsAgent() && t.AgentID != rc.principal.AgentID {
		return model.Transaction{}, errNotFound("transaction_not_found", "No transaction with id '"+ledger.SafeID(id)+"'.")
	}
	return t, nil
}

func (a *API) listTxns(rc *reqCtx) error {
	p, err := rc.listParams()
	if err != nil {
		return err
	}
	f := ledger.TxnFilter{CardID: rc.query("cardId"), UserID: rc.query("userId"), AgentID: rc.query("agentId"), Status: rc.query("status")}
	if f.Status == "pending" {
		f.Status = model.TxnAuthorized // the API reference's name for the same state
	}
	switch f.Status {
	case "", model.TxnAuthorized, model.TxnCompleted, model.TxnReversed, model.TxnDeclined:
	default:
		return errInvalid("status", "'status' must be one of: authorized, completed, reversed, declined.")
	}
	if rc.principal.IsAgent() {
		if f.AgentID != "" && f.AgentID != rc.principal.AgentID {
			return errNotFound("agent_not_found", "No agent with id '"+ledger.SafeID(f.AgentID)+"'.")
		}
		f.AgentID = rc.principal.AgentID
	}
	page, err := a.l.ListTxns(f, p)
	if err != nil {
		return err
	}
	rc.writeJSON(200, pageView(page, viewTxn))
	return nil
}

func (a *API) listCardTxns(rc *reqCtx) error {
	id := rc.param("id")
	if _, err := a.ownCard(rc, id); err != nil {
		return err
	}
	p, err := rc.listParams()
	if err != nil {
		return err
	}
	page, err := a.l.ListTxns(ledger.TxnFilter{CardID: id}, p)
	if err != nil {
		return err
	}
	rc.writeJSON(200, pageView(page, viewTxn))
	return nil
}

func (a *API) getTxn(rc *reqCtx) error {
	t, err := a.ownTxn(rc, rc.param("id"))
	if err != nil {
		return err
	}
	rc.writeJSON(200, viewTxn(&t))
	return nil
}

func (a *API) updateTxn(rc *reqCtx) error {
	id := rc.param("id")
	if _, err := a.ownTxn(rc, id); err != nil {
		return err
	}
	f, err := rc.body()
	if err != nil {
		return err
	}
	var p ledger.TxnPatch
	if f.has("notes") {
		p.SetNotes, p.Notes = true, f.optStr("notes", 2000)
	}
	if f.has("tags") {
		p.SetTags = true
		if !f.null("tags") {
			p.Tags, _ = f.strings("tags", 50, 64)
		}
	}
	if f.has("category") {
		p.SetCategory, p.Category = true, f.optStr("category", 100)
	}
	if e := f.done(); e != nil {
		return e
	}
	t, lerr := a.l.UpdateTxn(rc.ctx, id, p)
	if lerr != nil {
		return lerr
	}
	rc.writeJSON(200, viewTxn(&t))
	return nil
}

// sniffReceipt accepts PDF, PNG and JPEG by their leading bytes, not by
// what the client claims.
func sniffReceipt(b []byte) (string, bool) {
	switch {
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return "application/pdf", true
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png", true
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "image/jpeg", true
	}
	return "", false
}

func (a *API) putReceipt(rc *reqCtx) error {
	id := rc.param("id")
	if _, err := a.ownTxn(rc, id); err != nil {
		return err
	}
	ct := string(rc.fc.Request.Header.ContentType())
	var rec model.Receipt
	var data []byte
	if bytes.HasPrefix([]byte(ct), []byte("multipart/form-data")) {
		form, err := rc.fc.MultipartForm()
		if err != nil {
			return &apiError{Status: 400, Type: typeInvalidRequest, Code: "body_parse_error", Message: "The multipart body could not be read."}
		}
		files := form.File["file"]
		if len(files) != 1 {
			return errMissing("file")
		}
		fh := files[0]
		maxBytes := a.cfg.MaxUploadBytes
		if fh.Size > int64(maxBytes) {
			return errTooLarge
		}
		fd, err := fh.Open()
		if err != nil {
			return err
		}
		data, err = io.ReadAll(io.LimitReader(fd, int64(maxBytes)+1))
		_ = fd.Close()
		if err != nil {
			return err
		}
		if len(data) > maxBytes {
			return errTooLarge
		}
		mime, ok := sniffReceipt(data)
		if !ok {
			return errInvalid("file", "A receipt must be a PDF, PNG or JPEG file.")
		}
		rec = model.Receipt{MimeType: mime, SizeBytes: int64(len(data)), FileName: fh.Filename}
	} else {
		f, err := rc.body()
		if err != nil {
			return err
		}
		u := f.str("url", true, 2048)
		if e := f.done(); e != nil {
			return e
		}
		pu, perr := url.Parse(u)
		if perr != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return errInvalid("url", "'url' must be an absolute http or https URL.")
		}
		rec = model.Receipt{URL: u}
	}
	t, lerr := a.l.PutReceipt(rc.ctx, id, rec, data)
	if lerr != nil {
		return lerr
	}
	rc.writeJSON(200, viewTxn(&t))
	return nil
}

func (a *API) getReceipt(rc *reqCtx) error {
	id := rc.param("id")
	if _, err := a.ownTxn(rc, id); err != nil {
		return err
	}
	r, data, err := a.l.GetReceipt(id)
	if err != nil {
		return err
	}
	if data == nil {
		rc.writeJSON(200, map[string]any{"object": "receipt", "transactionId": id, "url": r.URL, "uploadedAt": r.UploadedAt})
		return nil
	}
	rc.fc.SetStatusCode(200)
	rc.fc.SetContentType(r.MimeType)
	rc.fc.Response.Header.Set("Request-Id", rc.requestID)
	rc.fc.SetBody(data)
	return nil
}

func (a *API) deleteReceipt(rc *reqCtx) error {
	id := rc.param("id")
	if _, err := a.ownTxn(rc, id); err != nil {
		return err
	}
	t, err := a.l.DeleteReceipt(rc.ctx, id)
	if err != nil {
		return err
	}
	rc.writeJSON(200, viewTxn(&t))
	return nil
}
