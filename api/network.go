package api

import (
	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/mcc"
)

// The card network's simulate endpoints beyond an authorization and its
// follow-ups, as peer simulators offer them: an incremental authorization,
// an authorization advice that changes the amount, a force capture, a
// refund reversal and a single-message (0200-style) purchase. Each goes
// through the same ledger decision path as its ISO 8583 message.

// merchantFields reads the optional merchant fields of a simulate body
// into r.
func merchantFields(f *fields, r *ledger.AuthRequest) {
	r.Merchant = f.str("merchantName", false, 25)
	r.MerchantID = f.str("merchantId", false, 15)
	r.City = f.str("merchantCity", false, 13)
	r.Country = f.str("merchantCountry", false, 2)
	if m := f.str("merchantCategory", false, 4); m != "" {
		if !mcc.Valid(m) {
			f.fail(errInvalid("merchantCategory", "'merchantCategory' must be a 4-digit MCC."))
		}
		r.MCC = m
	}
	if r.Merchant == "" {
		r.Merchant = "SIMULATED MERCHANT"
	}
}

// simulateFinancial is a single-message purchase: authorized and
// completed in one, as an ISO 0200.
func (a *API) simulateFinancial(rc *reqCtx) error {
	r := &ledger.AuthRequest{Source: "api", MTI: "0200", Class: ledger.ClassFinancial, Kind: authz.Purchase, Currency: "840", Complete: true}
	return a.authorize(rc, r)
}

// amendment is the reply to an increment or an advice: the decision, and
// the authorization as it stands after it.
func (a *API) amendment(rc *reqCtx, increment bool) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	txnID := f.str("transactionId", true, 64)
	amount := f.int("amount", true, 1, maxCents)
	if e := f.done(); e != nil {
		return e
	}
	r := &ledger.AuthRequest{Source: "api", MTI: "0100", Class: ledger.ClassAuth, Kind: authz.Purchase, AmountCents: *amount, Currency: "840"}
	if !increment {
		r.MTI, r.Class, r.Advice = "0120", ledger.ClassAdvice, true
	}
	rc.render(200, func(res any) any { return viewOutcome(res.(ledger.Outcome)) })
	var out ledger.Outcome
	var lerr error
	if increment {
		out, lerr = a.l.Increment(rc.ctx, r, txnID)
	} else {
		out, lerr = a.l.AdviseAmount(rc.ctx, r, txnID)
	}
	if lerr != nil {
		return lerr
	}
	if out.Code == authz.CodeNoOriginal {
		return &apiError{Status: 409, Type: typeConflict, Code: "transaction_not_eligible", Message: "The transaction is not an open authorization (" + out.Reason + ")."}
	}
	if out.Txn == nil && out.TxnID != "" {
		// A decline leaves the authorization as it was: shown as it is.
		t, gerr := a.l.GetTxn(out.TxnID)
		if gerr != nil {
			return gerr
		}
		out.Txn = &t
	}
	return rc.reply(200, viewOutcome(out))
}

func (a *API) simulateIncrement(rc *reqCtx) error { return a.amendment(rc, true) }

func (a *API) simulateAuthorizationAdvice(rc *reqCtx) error { return a.amendment(rc, false) }

// simulateForceCapture posts a completed purchase without an
// authorization.
func (a *API) simulateForceCapture(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	cardID := f.str("cardId", true, 64)
	amount := f.int("amount", true, 1, maxCents)
	var m ledger.AuthRequest
	merchantFields(f, &m)
	if e := f.done(); e != nil {
		return e
	}
	fu := &ledger.FollowUp{Source: "api", MTI: "0220", Class: ledger.ClassClearing, AmountCents: *amount, Currency: "840",
		MerchantID: m.MerchantID, Merchant: m.Merchant, City: m.City, Country: m.Country, MCC: m.MCC}
	rc.render(201, func(res any) any { return viewOutcome(res.(ledger.Outcome)) })
	out, lerr := a.l.ForceCapture(rc.ctx, cardID, fu)
	if lerr != nil {
		if le, ok := lerr.(*ledger.Error); ok && le.Kind == ledger.KindNotFound {
			le.Param = "cardId"
		}
		return lerr
	}
	return rc.reply(201, viewOutcome(out))
}

// simulateRefundReversal takes a refund back.
func (a *API) simulateRefundReversal(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	txnID := f.str("transactionId", true, 64)
	if e := f.done(); e != nil {
		return e
	}
	rc.render(200, func(res any) any { return viewOutcome(res.(ledger.Outcome)) })
	out, lerr := a.l.ReverseRefund(rc.ctx, txnID)
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, viewOutcome(out))
}

// unlinkedRefund is a refund to a card with no purchase named: a merchant
// credit, decided as an ISO refund (processing code 20) is.
func (a *API) unlinkedRefund(rc *reqCtx, f *fields, cardID string, amount int64) error {
	r := &ledger.AuthRequest{Source: "api", MTI: "0100", Class: ledger.ClassAuth, Kind: authz.Refund, CardID: cardID, AmountCents: amount, Currency: "840"}
	merchantFields(f, r)
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
