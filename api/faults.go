package api

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ledgersim/ledgersim/faults"
)

// Fault-injection rules of the ISO 8583 listener:
//
//	POST   /v1/simulate/faults       a rule -> 201, the rule with its id and matched 0
//	GET    /v1/simulate/faults       the rules in force, in the order they are tried
//	DELETE /v1/simulate/faults/{id}
//
// Rules are held in memory (package faults): they are gone after a restart
// unless the server is started with them (--faults FILE). They act on the
// ISO listener only; the REST simulate endpoints are never faulted.

var errFaultsOff = &apiError{Status: 503, Type: typeService, Code: "faults_unavailable",
	Message: "Fault injection is not running on this server."}

type faultView struct {
	Object       string `json:"object"`
	ID           string `json:"id"`
	CardID       string `json:"cardId,omitempty"`
	Last4        string `json:"last4,omitempty"`
	MTI          string `json:"mti,omitempty"`
	AmountMin    *int64 `json:"amountMin,omitempty"`
	AmountMax    *int64 `json:"amountMax,omitempty"`
	Action       string `json:"action"`
	DelayMs      *int64 `json:"delayMs,omitempty"`
	ResponseCode string `json:"responseCode,omitempty"`
	Percent      int64  `json:"percent"`
	// Count is null when the rule applies without limit.
	Count     *int64 `json:"count"`
	Matched   int64  `json:"matched"`
	CreatedAt int64  `json:"createdAt"`
}

func viewFault(r *faults.Rule) faultView {
	return faultView{Object: "fault", ID: r.ID, CardID: r.CardID, Last4: r.Last4, MTI: r.MTI, AmountMin: r.AmountMin,
		AmountMax: r.AmountMax, Action: r.Action, DelayMs: r.DelayMs, ResponseCode: r.ResponseCode, Percent: r.Percent,
		Count: r.Count, Matched: r.Matched, CreatedAt: r.CreatedAt}
}

// wideInt bounds the integers read here only loosely: faults.Validate
// gives each field its range and its message.
const wideInt = 1 << 53

func (a *API) createFault(rc *reqCtx) error {
	if a.cfg.Faults == nil {
		return errFaultsOff
	}
	f, err := rc.body()
	if err != nil {
		return err
	}
	var spec faults.Spec
	opt := func(n string) string {
		if p := f.optStr(n, 64); p != nil {
			return *p
		}
		return ""
	}
	spec.CardID, spec.Last4, spec.MTI = opt("cardId"), opt("last4"), opt("mti")
	spec.AmountMin, spec.AmountMax = f.int("amountMin", false, -wideInt, wideInt), f.int("amountMax", false, -wideInt, wideInt)
	spec.Action = f.str("action", true, 64)
	spec.DelayMs = f.int("delayMs", false, -wideInt, wideInt)
	spec.ResponseCode = opt("responseCode")
	spec.Percent, spec.Count = f.int("percent", false, -wideInt, wideInt), f.int("count", false, -wideInt, wideInt)
	if e := f.done(); e != nil {
		return e
	}
	var raw []byte
	_, err = a.cfg.Faults.Add(spec, func(r faults.Rule) error {
		// A retry under the same Idempotency-Key replays this response
		// rather than adding a second rule, so it is recorded before the
		// rule is in force.
		var err error
		if raw, err = json.Marshal(viewFault(&r)); err != nil {
			return err
		}
		if rc.idem != nil {
			return a.l.SaveIdem(rc.idem, 201, raw)
		}
		return nil
	})
	var ie *faults.InputError
	switch {
	case errors.As(err, &ie):
		return errInvalid(ie.Param, fmt.Sprintf("'%s' %s.", ie.Param, ie.Message))
	case errors.Is(err, faults.ErrTooMany):
		return &apiError{Status: 409, Type: typeConflict, Code: "fault_limit_reached",
			Message: fmt.Sprintf("%d fault rules are in force; delete one first.", faults.MaxRules)}
	case err != nil:
		return err
	}
	rc.writeRaw(201, raw)
	return nil
}

func (a *API) listFaults(rc *reqCtx) error {
	if a.cfg.Faults == nil {
		return errFaultsOff
	}
	rules := a.cfg.Faults.List()
	data := make([]faultView, 0, len(rules))
	for i := range rules {
		data = append(data, viewFault(&rules[i]))
	}
	rc.writeJSON(200, listView{Object: "list", Data: data})
	return nil
}

func (a *API) deleteFault(rc *reqCtx) error {
	if a.cfg.Faults == nil {
		return errFaultsOff
	}
	id := rc.param("id")
	if !a.cfg.Faults.Delete(id) {
		return errNotFound("fault_not_found", fmt.Sprintf("No fault rule with id '%s'.", id))
	}
	rc.writeJSON(200, deletedView{Object: "fault", ID: id, Deleted: true})
	return nil
}
