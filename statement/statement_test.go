package statement_test

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/pdfcheck"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/statement"
)

const user = "user_01abcdefghjkmnpqrstvwx"

func TestIDsRoundTrip(t *testing.T) {
	dec := statement.Month(time.Date(2023, 12, 17, 13, 0, 0, 0, time.UTC))
	require.Equal(t, int64(1701388800), dec.Start, "the platform's example periodStart")
	require.Equal(t, int64(1704067200), dec.End)
	cases := []struct {
		id string
		ok bool
		p  statement.Period
	}{
		{"stmt_01abcdefghjkmnpqrstvwx_m202312", true, dec},
		{"stmt_01abcdefghjkmnpqrstvwx_c100_200", true, statement.Custom(100, 200)},
		{"stmt_01abcdefghjkmnpqrstvwx_m202313", false, statement.Period{}},
		{"stmt_01abcdefghjkmnpqrstvwx_m1969_1", false, statement.Period{}},
		{"stmt_01abcdefghjkmnpqrstvwx_c200_100", false, statement.Period{}},
		{"stmt_01abcdefghjkmnpqrstvwx_c0100_200", false, statement.Period{}},
		{"stmt_01abcdefghjkmnpqrstvwx_c-1_200", false, statement.Period{}},
		{"stmt_01abcdefghjkmnpqrstvwx_x", false, statement.Period{}},
		{"stmt_zzzzzzzzzzzzzzzzzzzzzz_m202312", false, statement.Period{}},
		{"txn_01abcdefghjkmnpqrstvwx_m202312", false, statement.Period{}},
	}
	for _, c := range cases {
		p, ok := statement.ParseID(user, c.id)
		require.Equal(t, c.ok, ok, c.id)
		if ok {
			require.Equal(t, c.p, p, c.id)
			require.Equal(t, c.id, statement.ID(user, p), c.id)
		}
	}
}

func TestMonths(t *testing.T) {
	created := time.Date(2023, 11, 20, 10, 0, 0, 0, time.UTC).UnixMilli()
	ids := func(ps []statement.Period) []string {
		var out []string
		for _, p := range ps {
			out = append(out, time.Unix(p.Start, 0).UTC().Format("2006-01"))
		}
		return out
	}
	cases := []struct {
		name   string
		now    time.Time
		before statement.Period
		limit  int
		want   []string
		more   bool
	}{
		{"created this month", time.Date(2023, 11, 30, 23, 59, 59, 0, time.UTC), statement.Period{}, 10, nil, false},
		{"first month ended", time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC), statement.Period{}, 10, []string{"2023-11"}, false},
		{"year boundary", time.Date(2024, 2, 2, 0, 0, 0, 0, time.UTC), statement.Period{}, 10, []string{"2024-01", "2023-12", "2023-11"}, false},
		{"paged", time.Date(2024, 2, 2, 0, 0, 0, 0, time.UTC), statement.Period{}, 2, []string{"2024-01", "2023-12"}, true},
		{"after cursor", time.Date(2024, 2, 2, 0, 0, 0, 0, time.UTC), statement.Month(time.Date(2023, 12, 5, 0, 0, 0, 0, time.UTC)), 2, []string{"2023-11"}, false},
	}
	for _, c := range cases {
		got, more := statement.Months(created, c.now, c.before, c.limit)
		require.Equal(t, c.want, ids(got), c.name)
		require.Equal(t, c.more, more, c.name)
	}
}

func TestMoney(t *testing.T) {
	for cents, want := range map[int64]string{0: "$0.00", 5: "$0.05", 12345: "$123.45", 123456789: "$1,234,567.89", -1200: "-$12.00", 100000: "$1,000.00"} {
		require.Equal(t, want, statement.Money(cents))
	}
}

func ms(s string) int64 {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

// TestBalancesAndLines: each kind of transaction lands where it moved
// money: before the period in the opening balance, in it as a line, after
// it nowhere; open holds at the period's end are pending charges.
func TestBalancesAndLines(t *testing.T) {
	p := statement.Month(time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC))
	txns := []model.Transaction{
		// Posted in December: the opening balance.
		{ID: "txn_a", Kind: model.KindPurchase, Status: model.TxnCompleted, AmountCents: 100_00, MerchantName: "OLD", MCC: "5812",
			AuthorizedAt: ms("2023-12-30 10:00:00"), SettledAt: ms("2023-12-31 23:59:59")},
		// Authorized in December, cleared in January: a January line.
		{ID: "txn_b", Kind: model.KindPurchase, Status: model.TxnCompleted, AmountCents: 40_00, AuthorizedAmountCents: 45_00,
			MerchantName: "CAFE", MCC: "5812", AuthorizedAt: ms("2023-12-31 20:00:00"), SettledAt: ms("2024-01-02 08:00:00")},
		// A refund in January of the December purchase.
		{ID: "txn_c", Kind: model.KindRefund, Status: model.TxnCompleted, AmountCents: 25_00, MerchantName: "OLD", MCC: "5812",
			SettledAt: ms("2024-01-05 09:00:00")},
		// Still open at the end of January: pending.
		{ID: "txn_d", Kind: model.KindPurchase, Status: model.TxnAuthorized, AmountCents: 30_00, HoldCents: 30_00,
			MerchantName: "HOTEL", MCC: "7011", AuthorizedAt: ms("2024-01-31 22:00:00")},
		// Authorized in January, cleared in February: pending at the end, not a line.
		{ID: "txn_e", Kind: model.KindPurchase, Status: model.TxnCompleted, AmountCents: 12_00, AuthorizedAmountCents: 12_00,
			MerchantName: "LATE", AuthorizedAt: ms("2024-01-31 23:00:00"), SettledAt: ms("2024-02-01 00:00:01")},
		// Declined, reversed before clearing, a verification: nothing.
		{ID: "txn_f", Kind: model.KindPurchase, Status: model.TxnDeclined, AmountCents: 999_00, CreatedAt: ms("2024-01-03 00:00:00")},
		{ID: "txn_g", Kind: model.KindPurchase, Status: model.TxnReversed, AmountCents: 0, AuthorizedAmountCents: 8_00,
			AuthorizedAt: ms("2024-01-04 00:00:00"), ReversedAt: ms("2024-01-04 01:00:00")},
		{ID: "txn_h", Kind: model.KindVerification, Status: model.TxnCompleted, AuthorizedAt: ms("2024-01-04 00:00:00"), SettledAt: ms("2024-01-04 00:00:00")},
		// Force post with an MCC the table lacks, on the period's last second.
		{ID: "txn_i", Kind: model.KindPurchase, Status: model.TxnCompleted, AmountCents: 7_00, ForcePost: true, MerchantName: "FORCE",
			MCC: "0001", SettledAt: ms("2024-01-31 23:59:59")},
	}
	b := statement.NewBuilder(user, []statement.Period{p}, true)
	for i := range txns {
		b.Add(&txns[i])
	}
	s := b.Statement(0, 500_00, p.End)
	require.Equal(t, int64(100_00), s.OpeningBalance)
	require.Equal(t, int64(47_00), s.TotalSpent)
	require.Equal(t, int64(25_00), s.TotalRefunds)
	require.Equal(t, int64(122_00), s.ClosingBalance)
	require.Equal(t, int64(42_00), s.PendingCharges)
	require.Equal(t, int64(500_00-122_00-42_00), s.AvailableCredit)
	require.Equal(t, 3, s.TransactionCount)
	var got []string
	for _, l := range s.Transactions {
		got = append(got, fmt.Sprintf("%s %s %d %s", l.ID, l.Type, l.Amount, l.Category))
	}
	require.Equal(t, []string{"txn_b purchase 4000 Restaurants", "txn_c refund 2500 Restaurants",
		"txn_i purchase 700 Uncategorized"}, got)
	require.Equal(t, []statement.MerchantTotal{{"CAFE", 1, 40_00}, {"FORCE", 1, 7_00}, {"OLD", 1, -25_00}}, s.SummaryByMerchant)
	require.Len(t, s.SummaryByCategory, 2)
	require.Equal(t, "5812", s.SummaryByCategory[0].CategoryCode)
	require.Equal(t, int64(15_00), s.SummaryByCategory[0].TotalAmount)
	require.NotNil(t, s.Transactions[0].AuthorizedAt)
	require.Nil(t, s.Transactions[1].AuthorizedAt, "a refund was never authorized")
}

// TestPDFPages: a statement with more lines than a page holds runs onto
// further pages, each numbered, and a reader finds every line's amount.
func TestPDFPages(t *testing.T) {
	p := statement.Month(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	b := statement.NewBuilder(user, []statement.Period{p}, true)
	for i := 0; i < 120; i++ {
		b.Add(&model.Transaction{ID: fmt.Sprintf("txn_%03d", i), Kind: model.KindPurchase, Status: model.TxnCompleted,
			AmountCents: int64(1000 + i), MerchantName: fmt.Sprintf("SHOP %d (Café)", i), MCC: "5411",
			AuthorizedAt: ms("2024-03-02 00:00:00"), SettledAt: ms("2024-03-02 00:00:00") + int64(i)*60_000})
	}
	s := b.Statement(0, 10_000_00, p.End)
	raw := statement.PDF(&s)
	n := pdfcheck.Pages(t, raw)
	require.GreaterOrEqual(t, n, 3)
	text := pdfcheck.Text(t, raw)
	for i := 0; i < 120; i++ {
		require.Contains(t, text, statement.Money(int64(1000+i)))
	}
	require.Contains(t, text, "SHOP 7 (Café)")
	require.Contains(t, text, fmt.Sprintf("Page %d of %d", n, n))
	require.Contains(t, text, "2024-03-01 to 2024-03-31 (UTC)")
	// The summary's count, then the table's heading on each page it runs on.
	require.GreaterOrEqual(t, strings.Count(text, "Transactions"), 4)
	for page := 1; page <= n; page++ {
		img := pdfcheck.Render(t, raw, page, 30)
		require.Greater(t, pdfcheck.InkFraction(img), 0.001, "page %d", page)
		if *savePage != "" && page == 1 {
			pdfcheck.SavePNG(t, img, *savePage)
		}
	}
}

var savePage = flag.String("save-page", "", "write the first page of the multi-page statement to this PNG file")
