package server

import (
	"context"
	"log/slog"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/ledger"
)

// isoHost answers decoded ISO 8583 messages through the ledger: the same
// calls the simulate endpoints make, so nothing decides twice.
type isoHost struct {
	l   *ledger.Ledger
	log *slog.Logger
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

func (h *isoHost) HandleISO(ctx context.Context, r *iso.Request) iso.Response {
	var out ledger.Outcome
	var err error
	switch r.MTI {
	case "0100", "0101", "0120", "0200":
		kind, ok := procKind(r.ProcessingCode, r.AmountCents)
		if !ok {
			return iso.Response{Code: authz.CodeInvalidTxn}
		}
		class := ledger.ClassAuth
		switch r.MTI {
		case "0120":
			class = ledger.ClassAdvice
		case "0200":
			class = ledger.ClassFinancial
		}
		out, err = h.l.Authorize(ctx, &ledger.AuthRequest{
			Source: "iso", MTI: r.MTI, Class: class, PAN: r.PAN, Kind: kind, AmountCents: r.AmountCents,
			Currency: r.CurrencyCode, Expiry: r.Expiry, CVV2: r.CVV2, HasCVV2: r.HasCVV2, MerchantID: r.MerchantID,
			Merchant: r.MerchantName, City: r.MerchantCity, Country: r.MerchantCountry, MCC: r.MCC, STAN: r.STAN,
			RRN: r.RRN, TxnTime: r.TransmissionDateTime, TerminalID: r.TerminalID, AcquirerID: r.AcquirerID,
			OriginalData: r.OriginalData, Advice: r.MTI == "0120", Complete: r.MTI == "0200",
		})
	case "0220", "0400", "0401", "0420", "0421":
		f := &ledger.FollowUp{
			Source: "iso", MTI: r.MTI, PAN: r.PAN, OriginalData: r.OriginalData, RRN: r.RRN, AuthCode: r.AuthCode,
			STAN: r.STAN, TxnTime: r.TransmissionDateTime, TerminalID: r.TerminalID, AcquirerID: r.AcquirerID,
			AmountCents: r.AmountCents, Currency: r.CurrencyCode, ReplacementCents: r.ReplacementAmountCents,
			HasReplacement: r.HasReplacement, MerchantID: r.MerchantID, Merchant: r.MerchantName, City: r.MerchantCity,
			Country: r.MerchantCountry, MCC: r.MCC,
		}
		if r.MTI == "0220" {
			f.Class = ledger.ClassClearing
			out, err = h.l.Clear(ctx, f)
		} else {
			f.Class = ledger.ClassReversal
			out, err = h.l.Reverse(ctx, f)
		}
	default:
		return iso.Response{Code: authz.CodeInvalidTxn}
	}
	if err != nil {
		// The store could not record the decision, so it must not be
		// approved. The error carries no card data.
		h.log.Error("iso decision failed", "mti", r.MTI, "err", err)
		return iso.Response{Code: authz.CodeSystemError}
	}
	resp := iso.Response{Code: out.Code, AvailableCents: out.AvailableCents, HasBalance: out.HasBalance}
	if out.Code == authz.CodeApproved && out.AuthCode != "" {
		resp.AuthCode = out.AuthCode
	}
	return resp
}
