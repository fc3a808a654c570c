package statement

import (
	"strconv"
	"time"

	"github.com/ledgersim/ledgersim/internal/pdf"
	"github.com/ledgersim/ledgersim/model"
)

// Page layout, in points on US Letter.
const (
	marginPt   = 54
	rowPt      = 14
	bodyPt     = 9
	rightPt    = pdf.LetterWidthPt - marginPt
	footerYPt  = 36
	bottomYPt  = 60
	colDatePt  = marginPt
	colDescPt  = marginPt + 70
	colCatPt   = marginPt + 260
	colTypePt  = marginPt + 400
	descWidth  = colCatPt - colDescPt - 8
	catWidth   = colTypePt - colCatPt - 8
	headingPt  = 16
	sectionPt  = 11
	labelColPt = marginPt + 150
)

// PDF renders s as a PDF: the period, the balances and totals, every line
// (dates in UTC) and the totals by merchant, on as many pages as it takes.
func PDF(s *Statement) []byte {
	d := pdf.New(pdf.LetterWidthPt, pdf.LetterHeightPt)
	d.SetTitle("Statement " + s.ID)
	var pages []*pdf.Page
	page := d.AddPage()
	pages = append(pages, page)
	y := float64(pdf.LetterHeightPt - marginPt)
	newPage := func() {
		page = d.AddPage()
		pages = append(pages, page)
		y = pdf.LetterHeightPt - marginPt
	}
	need := func(rows int) {
		if y-float64(rows*rowPt) < bottomYPt {
			newPage()
		}
	}

	page.Text(pdf.HelveticaBold, headingPt, marginPt, y, "Statement")
	page.TextRight(pdf.Helvetica, bodyPt, rightPt, y, s.ID)
	y -= 24
	kind := "Monthly statement"
	if s.Type == TypeCustom {
		kind = "Custom statement"
	}
	for _, kv := range [][2]string{
		{"Period", day(s.PeriodStart) + " to " + day(s.PeriodEnd-1) + " (UTC)"},
		{"Type", kind},
		{"User", s.UserID},
		{"Issued", stamp(s.CreatedAt)},
		{"Currency", s.Currency},
	} {
		page.Text(pdf.HelveticaBold, bodyPt+1, marginPt, y, kv[0])
		page.Text(pdf.Helvetica, bodyPt+1, labelColPt-60, y, kv[1])
		y -= rowPt
	}
	y -= 8
	page.Text(pdf.HelveticaBold, sectionPt, marginPt, y, "Summary")
	y -= 6
	page.Line(marginPt, y, rightPt, y, 0.75)
	y -= rowPt
	for _, kv := range []struct {
		label string
		cents int64
		bold  bool
	}{
		{"Opening balance", s.OpeningBalance, true},
		{"Purchases", s.TotalSpent, false},
		{"Refunds", -s.TotalRefunds, false},
		{"Fees", s.TotalFees, false},
		{"Closing balance", s.ClosingBalance, true},
		{"Withdrawals", s.TotalWithdrawals, false},
		{"Credit limit", s.CreditLimit, false},
		{"Pending charges", s.PendingCharges, false},
		{"Available credit", s.AvailableCredit, true},
	} {
		f := pdf.Helvetica
		if kv.bold {
			f = pdf.HelveticaBold
		}
		page.Text(f, bodyPt+1, marginPt, y, kv.label)
		page.TextRight(f, bodyPt+1, marginPt+250, y, Money(kv.cents))
		y -= rowPt
	}
	page.Text(pdf.Helvetica, bodyPt+1, marginPt, y, "Transactions")
	page.TextRight(pdf.Helvetica, bodyPt+1, marginPt+250, y, strconv.Itoa(s.TransactionCount))
	y -= rowPt + 10

	header := func() {
		page.Text(pdf.HelveticaBold, sectionPt, marginPt, y, "Transactions")
		y -= rowPt
		for _, c := range []struct {
			x    float64
			name string
		}{{colDatePt, "Posted"}, {colDescPt, "Merchant"}, {colCatPt, "Category"}, {colTypePt, "Type"}} {
			page.Text(pdf.HelveticaBold, bodyPt, c.x, y, c.name)
		}
		page.TextRight(pdf.HelveticaBold, bodyPt, rightPt, y, "Amount")
		y -= 5
		page.Line(marginPt, y, rightPt, y, 0.5)
		y -= rowPt - 2
	}
	need(4)
	header()
	if len(s.Transactions) == 0 {
		page.Text(pdf.Helvetica, bodyPt, colDescPt, y, "No transactions posted in this period.")
		y -= rowPt
	}
	for _, l := range s.Transactions {
		if y < bottomYPt {
			newPage()
			header()
		}
		amount := l.Amount
		if l.Type == model.KindRefund {
			amount = -amount
		}
		page.Text(pdf.Helvetica, bodyPt, colDatePt, y, day(l.PostedAt))
		page.Text(pdf.Helvetica, bodyPt, colDescPt, y, pdf.Fit(pdf.Helvetica, bodyPt, descWidth, orDash(l.MerchantName)))
		page.Text(pdf.Helvetica, bodyPt, colCatPt, y, pdf.Fit(pdf.Helvetica, bodyPt, catWidth, l.Category))
		page.Text(pdf.Helvetica, bodyPt, colTypePt, y, l.Type)
		page.TextRight(pdf.Helvetica, bodyPt, rightPt, y, Money(amount))
		y -= rowPt
	}
	y -= 4
	page.Line(marginPt, y, rightPt, y, 0.5)
	y -= rowPt

	if len(s.Withdrawals) > 0 {
		need(3)
		page.Text(pdf.HelveticaBold, sectionPt, marginPt, y, "Withdrawals")
		y -= rowPt
		for _, w := range s.Withdrawals {
			if y < bottomYPt {
				newPage()
			}
			page.Text(pdf.Helvetica, bodyPt, colDatePt, y, day(w.CreatedAt))
			page.Text(pdf.Helvetica, bodyPt, colDescPt, y, pdf.Fit(pdf.Helvetica, bodyPt, colTypePt-colDescPt-8, "To "+w.RecipientAddress))
			page.Text(pdf.Helvetica, bodyPt, colTypePt, y, w.Status)
			page.TextRight(pdf.Helvetica, bodyPt, rightPt, y, Money(w.Amount))
			y -= rowPt
		}
		y -= 4
		page.Line(marginPt, y, rightPt, y, 0.5)
		y -= rowPt
	}

	if len(s.SummaryByMerchant) > 0 {
		need(3)
		page.Text(pdf.HelveticaBold, sectionPt, marginPt, y, "By merchant")
		y -= rowPt
		for _, m := range s.SummaryByMerchant {
			if y < bottomYPt {
				newPage()
			}
			page.Text(pdf.Helvetica, bodyPt, marginPt, y, pdf.Fit(pdf.Helvetica, bodyPt, colTypePt-marginPt-8, orDash(m.MerchantName)))
			page.Text(pdf.Helvetica, bodyPt, colTypePt, y, plural(m.TransactionCount))
			page.TextRight(pdf.Helvetica, bodyPt, rightPt, y, Money(m.TotalAmount))
			y -= rowPt
		}
	}
	for i, p := range pages {
		p.TextRight(pdf.Helvetica, bodyPt-1, rightPt, footerYPt, "Page "+strconv.Itoa(i+1)+" of "+strconv.Itoa(len(pages)))
		p.Text(pdf.Helvetica, bodyPt-1, marginPt, footerYPt, s.ID)
	}
	return d.Bytes()
}

// Money formats cents as dollars: $1,234.56, -$12.00.
func Money(cents int64) string {
	neg := cents < 0
	u := uint64(cents)
	if neg {
		u = -u
	}
	whole := strconv.FormatUint(u/100, 10)
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	frac := u % 100
	out := "$" + whole + "." + string(rune('0'+frac/10)) + string(rune('0'+frac%10))
	if neg {
		return "-" + out
	}
	return out
}

func day(sec int64) string   { return time.Unix(sec, 0).UTC().Format("2006-01-02") }
func stamp(sec int64) string { return time.Unix(sec, 0).UTC().Format("2006-01-02 15:04:05 UTC") }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return "1 transaction"
	}
	return strconv.Itoa(n) + " transactions"
}
