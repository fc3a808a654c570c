package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/statement"
	"github.com/ledgersim/ledgersim/webhook"
)

// maxStatementLines bounds one statement's lines, so that a user with
// millions of transactions in a month cannot make the server build a
// response of gigabytes. Such a statement is refused with a pointer to the
// paged transactions list.
const maxStatementLines = 50_000

// maxStatementSeconds is the latest instant a custom period may name: the
// end of the year 9999.
const maxStatementSeconds = 253402300799

// Statements are a read projection of the user's transactions and
// deposits (package statement): they are computed on each request and
// stored nowhere, so no route here changes state.

// listStatements answers GET /v1/users/{id}/statements: the monthly
// statements, newest first, or, with periodStart and periodEnd, the one
// custom statement of that range.
func (a *API) listStatements(rc *reqCtx) error {
	u, err := a.l.GetUser(rc.param("id"))
	if err != nil {
		return err
	}
	limit, err := rc.listLimit()
	if err != nil {
		return err
	}
	now := a.l.Clock().Now()
	if rc.query("periodStart") != "" || rc.query("periodEnd") != "" {
		p, err := rc.customPeriod(now)
		if err != nil {
			return err
		}
		b := statement.NewBuilder(u.ID, []statement.Period{p}, false)
		limits, err := a.feedStatements(u.ID, b, []statement.Period{p})
		if err != nil {
			return err
		}
		rc.writeJSON(200, listView{Object: "list", Data: []statement.Summary{b.Summary(0, limits[0], now.Unix())}})
		return nil
	}
	var before statement.Period
	if c := rc.query("cursor"); c != "" {
		p, ok := statement.ParseID(u.ID, c)
		if !ok || p.Type != statement.TypeMonthly {
			return errInvalid("cursor", "'cursor' is not a cursor this API returned; pass a list's cursor value unchanged.")
		}
		before = p
	}
	periods, more := statement.Months(u.CreatedAt, now, before, limit)
	b := statement.NewBuilder(u.ID, periods, false)
	limits, err := a.feedStatements(u.ID, b, periods)
	if err != nil {
		return err
	}
	data := make([]statement.Summary, len(periods))
	for i, p := range periods {
		data[i] = b.Summary(i, limits[i], p.End)
	}
	lv := listView{Object: "list", Data: data, HasMore: more}
	if more {
		c := data[len(data)-1].ID
		lv.Cursor = &c
	}
	rc.writeJSON(200, lv)
	return nil
}

// customPeriod reads a custom range from the query: periodStart and
// periodEnd in epoch seconds, both given, in order, ended by now, and
// without a cursor (a range is one statement, not a page).
func (rc *reqCtx) customPeriod(now time.Time) (statement.Period, error) {
	if rc.query("cursor") != "" {
		return statement.Period{}, errInvalid("cursor", "'cursor' pages the monthly statements; it does not go with 'periodStart' and 'periodEnd'.")
	}
	read := func(name string, min int64) (int64, error) {
		raw := rc.query(name)
		if raw == "" {
			return 0, errMissing(name)
		}
		v, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || v < min || v > maxStatementSeconds {
			return 0, errInvalid(name, fmt.Sprintf("'%s' must be epoch seconds, an integer between %d and %d.", name, min, maxStatementSeconds))
		}
		return v, nil
	}
	start, err := read("periodStart", 0)
	if err != nil {
		return statement.Period{}, err
	}
	end, err := read("periodEnd", 1)
	if err != nil {
		return statement.Period{}, err
	}
	if end <= start {
		return statement.Period{}, errInvalid("periodEnd", "'periodEnd' must be after 'periodStart'.")
	}
	if end > now.Unix() {
		return statement.Period{}, errInvalid("periodEnd", fmt.Sprintf("'periodEnd' must not be later than the server's clock, %d (epoch seconds): a statement covers time that has passed.", now.Unix()))
	}
	return statement.Custom(start, end), nil
}

func (a *API) getStatement(rc *reqCtx) error {
	u, err := a.l.GetUser(rc.param("id"))
	if err != nil {
		return err
	}
	id := rc.param("statementId")
	p, ok := statement.ParseID(u.ID, id)
	now := a.l.Clock().Now()
	if ok {
		switch p.Type {
		case statement.TypeMonthly:
			ok = p.End <= now.Unix() && p.Start >= statement.Month(time.UnixMilli(u.CreatedAt)).Start
		default:
			ok = p.End <= now.Unix()
		}
	}
	if !ok {
		return errNotFound("statement_not_found", "No statement with id '"+ledger.SafeID(id)+"' for this user.")
	}
	return a.writeStatement(rc, u.ID, p, now)
}

// writeStatement computes the full statement of period p and answers it as
// JSON, or as a PDF when the request's Accept header prefers one.
func (a *API) writeStatement(rc *reqCtx, userID string, p statement.Period, now time.Time) error {
	b := statement.NewBuilder(userID, []statement.Period{p}, true)
	limits, err := a.feedStatements(userID, b, []statement.Period{p})
	if err != nil {
		return err
	}
	created := p.End // a month's statement is issued as the month ends
	if p.Type == statement.TypeCustom {
		created = now.Unix()
	}
	s := b.Statement(0, limits[0], created)
	if wantsPDF(string(rc.fc.Request.Header.Peek("Accept"))) {
		rc.writeRecorded(200, "application/pdf", statement.PDF(&s))
		rc.fc.Response.Header.Set("Content-Disposition", `inline; filename="`+s.ID+`.pdf"`)
		return nil
	}
	rc.writeJSON(200, s)
	return nil
}

// feedStatements gives b every transaction of the user's and returns, for
// each period, what the user had deposited by its end.
func (a *API) feedStatements(userID string, b *statement.Builder, periods []statement.Period) ([]int64, error) {
	if len(periods) == 0 {
		return nil, nil
	}
	p := ledger.ListParams{Limit: 100}
	for {
		page, err := a.l.ListTxns(ledger.TxnFilter{UserID: userID}, p)
		if err != nil {
			return nil, err
		}
		for i := range page.Items {
			b.Add(&page.Items[i])
		}
		if b.Lines() > maxStatementLines {
			return nil, &apiError{Status: 400, Type: typeInvalidRequest, Code: "statement_too_large",
				Message: fmt.Sprintf("This statement would list more than %d transactions; ask for a shorter custom period, or page through GET /v1/transactions?userId=.", maxStatementLines)}
		}
		if !page.HasMore {
			break
		}
		p.Cursor = page.Cursor
	}
	wp := ledger.ListParams{Limit: 100}
	for {
		page, err := a.l.ListWithdrawals(userID, wp)
		if err != nil {
			return nil, err
		}
		for i := range page.Items {
			b.AddWithdrawal(&page.Items[i])
		}
		if !page.HasMore {
			break
		}
		wp.Cursor = page.Cursor
	}
	return a.depositedBy(userID, periods)
}

// depositedBy returns what the user had deposited by the end of each
// period, net of withdrawals: the deposits now, less those made at or
// after the end, plus the withdrawals made at or after it, read from
// the event log newest first down to the earliest end. A deposit that lands
// while this reads is seen in one and not the other, so the read is
// repeated until the user's deposits stand still across it.
func (a *API) depositedBy(userID string, periods []statement.Period) ([]int64, error) {
	earliest := periods[0].End
	for _, p := range periods {
		earliest = min(earliest, p.End)
	}
	for attempt := 0; ; attempt++ {
		u, err := a.l.GetUser(userID)
		if err != nil {
			return nil, err
		}
		out := make([]int64, len(periods))
		for i := range out {
			out[i] = u.DepositedCents
		}
		cursor := ""
	scan:
		for {
			page, err := webhook.ListEvents(a.l.Store(), a.l, model.EvtDepositCompleted, 100, cursor)
			if err != nil {
				return nil, err
			}
			for _, ev := range page.Items {
				if ev.CreatedAt < earliest*1000 {
					break scan
				}
				var d struct {
					UserID string `json:"userId"`
					Amount int64  `json:"amount"`
				}
				if err := json.Unmarshal(ev.Data, &d); err != nil {
					return nil, fmt.Errorf("api: deposit event %s: %w", ev.ID, err)
				}
				if d.UserID != userID {
					continue
				}
				for i, p := range periods {
					if ev.CreatedAt >= p.End*1000 {
						out[i] -= d.Amount
					}
				}
			}
			if !page.HasMore {
				break
			}
			cursor = page.Cursor
		}
		// Withdrawals made at or after a period's end had not yet left
		// the deposits by then; a failed one is back in them now, and was
		// out of them at a period's end between its making and failure.
		wp := ledger.ListParams{Limit: 100}
	withdrawals:
		for {
			page, err := a.l.ListWithdrawals(userID, wp)
			if err != nil {
				return nil, err
			}
			for _, w := range page.Items {
				failed := w.Status == model.WithdrawalFailed
				if w.CreatedAt < earliest*1000 && (!failed || w.FailedAt < earliest*1000) {
					if failed {
						continue
					}
					break withdrawals
				}
				for i, p := range periods {
					end := p.End * 1000
					switch {
					case !failed && w.CreatedAt >= end:
						out[i] += w.AmountCents
					case failed && w.CreatedAt < end && w.FailedAt >= end:
						out[i] -= w.AmountCents
					}
				}
			}
			if !page.HasMore {
				break
			}
			wp.Cursor = page.Cursor
		}
		again, err := a.l.GetUser(userID)
		if err != nil {
			return nil, err
		}
		if again.DepositedCents == u.DepositedCents || attempt == 4 {
			return out, nil
		}
	}
}

// wantsPDF reports whether an Accept header prefers application/pdf to
// JSON: PDF must be named (a wildcard means JSON) with a quality above
// JSON's, or equal to it and listed first.
func wantsPDF(accept string) bool {
	pdfQ, jsonQ := -1.0, -1.0
	pdfAt, jsonAt := 0, 0
	for i, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		q := 1.0
		for _, f := range fields[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(f), "q="); ok {
				if n, err := strconv.ParseFloat(v, 64); err == nil {
					q = n
				}
			}
		}
		switch mt {
		case "application/pdf":
			if q > pdfQ {
				pdfQ, pdfAt = q, i
			}
		case "application/json":
			if q > jsonQ {
				jsonQ, jsonAt = q, i
			}
		}
	}
	return pdfQ > 0 && (pdfQ > jsonQ || (pdfQ == jsonQ && pdfAt < jsonAt))
}
