package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/faults"
	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/vault"
)

// isoHost answers decoded ISO 8583 messages through the ledger: the same
// calls the simulate endpoints make, so nothing decides twice.
type isoHost struct {
	l   *ledger.Ledger
	log *slog.Logger
	// faults are the fault-injection rules; matching costs one atomic
	// load while there are none.
	faults *faults.Set
	// waits recycles the *durable each reply's wait takes.
	waits sync.Pool
}

// durable is a reply's wait for its decision to be durable: the iso
// server calls Wait once, on the connection's writer, then it is reused.
type durable struct {
	d ledger.Deferred
	h *isoHost
}

func (w *durable) Wait() error {
	err := w.d.Wait()
	w.h.waits.Put(w)
	return err
}

func (h *isoHost) durable() *durable {
	if w, ok := h.waits.Get().(*durable); ok {
		return w
	}
	return &durable{h: h}
}

// procKind reads DE 3's transaction type: 00 purchase (amount 0 is an
// account verification), 20 refund, 31 balance inquiry.
func procKind(pc string, amount int64) (authz.Kind, bool) {
	if len(pc) < 2 {
		return 0, false
	}
	switch pc[:2] {
	case "00":
		if amount == 0 {
			return authz.Verification, true
		}
		return authz.Purchase, true
	case "20":
		return authz.Refund, true
	case "31":
		return authz.BalanceInquiry, true
	}
	return 0, false
}

// HandleBatch decides the requests one read delivered, in order, without
// waiting for their syncs: each reply carries its wait
// (iso.Response.Durable), which the connection's writer waits for while
// the reader goes on to the next read. The decisions of one batch are
// taken one after another today; the batch is where they can be recorded
// together.
func (h *isoHost) HandleBatch(ctx context.Context, reqs []*iso.Request, out []iso.Response) {
	// The decision log line costs nothing unless debug is on: no clock read,
	// no masking, no attributes.
	if h.log.Enabled(ctx, slog.LevelDebug) {
		for i, r := range reqs {
			start := time.Now()
			var reason string
			out[i], reason = h.decide(ctx, r)
			h.log.LogAttrs(ctx, slog.LevelDebug, "iso decision", slog.String("mti", r.MTI), slog.String("code", out[i].Code),
				slog.String("reason", reason), slog.String("pan", vault.Mask(r.PAN)),
				slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000))
		}
		return
	}
	for i, r := range reqs {
		out[i], _ = h.decide(ctx, r)
	}
}

// decide takes one decision, and applies the fault rule that matches the
// request, if any; reason is the ledger's decline reason, for the debug
// log.
func (h *isoHost) decide(ctx context.Context, r *iso.Request) (iso.Response, string) {
	if !h.faults.Active() {
		return h.decideAs(ctx, r, "")
	}
	f, ok := h.faults.Match(h.faultRequest(r))
	switch {
	case !ok:
		return h.decideAs(ctx, r, "")
	case f.Action == faults.ActionRespond:
		return h.decideAs(ctx, r, f.ResponseCode)
	}
	resp, reason := h.decideAs(ctx, r, "")
	switch f.Action {
	case faults.ActionDelay:
		resp.Fault = iso.Fault{Action: iso.FaultDelay, Delay: f.Delay}
	case faults.ActionNoReply:
		resp.Fault = iso.Fault{Action: iso.FaultNoReply}
	case faults.ActionDuplicateReply:
		resp.Fault = iso.Fault{Action: iso.FaultDuplicate}
	case faults.ActionCloseConnection:
		resp.Fault = iso.Fault{Action: iso.FaultClose}
	}
	return resp, reason
}

// faultRequest is what fault rules match a request on. The card is looked
// up only when some rule names one; a request without DE 2 (a follow-up
// that names its original by DE 90) has neither card nor last four.
func (h *isoHost) faultRequest(r *iso.Request) *faults.Request {
	q := &faults.Request{MTI: r.MTI, AmountCents: r.AmountCents, HasAmount: r.HasAmount}
	if n := len(r.PAN); n >= 4 {
		q.Last4 = r.PAN[n-4:]
	}
	if r.PAN != "" && h.faults.NeedsCardID() {
		q.CardID, _ = h.l.CardIDByPAN(r.PAN)
	}
	return q
}

// decideAs takes one decision. A non-empty force is a fault rule's
// response code: an authorization is then recorded as declined with it
// (reason fault_injected) instead of being decided, and a clearing or a
// reversal is answered with it and applies nothing.
func (h *isoHost) decideAs(ctx context.Context, r *iso.Request, force string) (iso.Response, string) {
	var out ledger.Outcome
	var err error
	var w *durable
	switch r.MTI {
	case "0100", "0101", "0120", "0200":
		kind, ok := procKind(r.ProcessingCode, r.AmountCents)
		if !ok {
			return iso.Response{Code: authz.CodeInvalidTxn}, "unknown_processing_code"
		}
		class := ledger.ClassAuth
		switch r.MTI {
		case "0120":
			class = ledger.ClassAdvice
		case "0200":
			class = ledger.ClassFinancial
		}
		w = h.durable()
		ar := &ledger.AuthRequest{
			Source: "iso", MTI: r.MTI, Class: class, PAN: r.PAN, Kind: kind, AmountCents: r.AmountCents,
			Currency: r.CurrencyCode, Expiry: r.Expiry, CVV2: r.CVV2, HasCVV2: r.HasCVV2, MerchantID: r.MerchantID,
			Merchant: r.MerchantName, City: r.MerchantCity, Country: r.MerchantCountry, MCC: r.MCC, STAN: r.STAN,
			RRN: r.RRN, TxnTime: r.TransmissionDateTime, TerminalID: r.TerminalID, AcquirerID: r.AcquirerID,
			OriginalData: r.OriginalData, Advice: r.MTI == "0120", Complete: r.MTI == "0200", Durable: &w.d,
			ForceCode: force, ForceReason: forceReason(force), AllowPartial: r.PartialOK,
		}
		switch {
		case r.OriginalData != "" && kind == authz.Purchase && (r.MTI == "0100" || r.MTI == "0101"):
			// DE 90 on a purchase names the open authorization it adds to.
			out, err = h.l.Increment(ctx, ar, "")
		case r.OriginalData != "" && kind == authz.Purchase && r.MTI == "0120":
			// An advice naming an authorization sets its amount.
			out, err = h.l.AdviseAmount(ctx, ar, "")
		default:
			out, err = h.l.Authorize(ctx, ar)
		}
	case "0220", "0400", "0401", "0420", "0421":
		if force != "" {
			return iso.Response{Code: force}, faults.ReasonFaultInjected
		}
		f := &ledger.FollowUp{
			Source: "iso", MTI: r.MTI, PAN: r.PAN, OriginalData: r.OriginalData, RRN: r.RRN, AuthCode: r.AuthCode,
			STAN: r.STAN, TxnTime: r.TransmissionDateTime, TerminalID: r.TerminalID, AcquirerID: r.AcquirerID,
			AmountCents: r.AmountCents, Currency: r.CurrencyCode, ReplacementCents: r.ReplacementAmountCents,
			HasReplacement: r.HasReplacement, MerchantID: r.MerchantID, Merchant: r.MerchantName, City: r.MerchantCity,
			Country: r.MerchantCountry, MCC: r.MCC,
		}
		w = h.durable()
		f.Durable = &w.d
		if r.MTI == "0220" {
			f.Class = ledger.ClassClearing
			out, err = h.l.Clear(ctx, f)
		} else {
			f.Class = ledger.ClassReversal
			out, err = h.l.Reverse(ctx, f)
		}
	default:
		return iso.Response{Code: authz.CodeInvalidTxn}, "unsupported_mti"
	}
	if err != nil {
		// The store could not record the decision, so it must not be
		// approved. The error carries no card data.
		h.log.Error("iso decision failed", "mti", r.MTI, "err", err)
		return iso.Response{Code: authz.CodeSystemError, Durable: w}, "store_error"
	}
	resp := iso.Response{Code: out.Code, AvailableCents: out.AvailableCents, HasBalance: out.HasBalance, Durable: w}
	if (out.Code == authz.CodeApproved || out.Code == authz.CodePartialApproval) && out.AuthCode != "" {
		resp.AuthCode = out.AuthCode
	}
	if out.Code == authz.CodePartialApproval {
		h.partial(&resp, out)
	}
	return resp, out.Reason
}

// partial fills a partial approval's amounts: the approved one for DE 4,
// the requested one for DE 54. A repeat's reply carries no transaction, so
// it is read.
func (h *isoHost) partial(resp *iso.Response, out ledger.Outcome) {
	t := out.Txn
	if t == nil {
		got, err := h.l.GetTxn(out.TxnID)
		if err != nil {
			*resp = iso.Response{Code: authz.CodeSystemError, Durable: resp.Durable}
			return
		}
		t = &got
	}
	resp.Partial, resp.ApprovedCents, resp.RequestedCents = true, t.AuthorizedAmountCents, t.RequestedAmountCents
}

func forceReason(code string) string {
	if code == "" {
		return ""
	}
	return faults.ReasonFaultInjected
}
