package pdf_test

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/pdf"
	"github.com/ledgersim/ledgersim/internal/pdfcheck"
)

// TestXrefPointsAtObjects: every cross-reference entry is 20 bytes and
// holds the byte offset of its object's "n 0 obj", and startxref holds the
// table's offset: what a reader seeks by.
func TestXrefPointsAtObjects(t *testing.T) {
	d := pdf.New(pdf.LetterWidthPt, pdf.LetterHeightPt)
	d.SetTitle("Statement (test)")
	for i := 0; i < 3; i++ {
		p := d.AddPage()
		p.Text(pdf.Helvetica, 12, 72, 700, "page "+strconv.Itoa(i+1))
	}
	raw := d.Bytes()
	require.True(t, bytes.HasPrefix(raw, []byte("%PDF-1.4\n")))
	require.True(t, bytes.HasSuffix(raw, []byte("%%EOF\n")))

	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(raw)
	require.NotNil(t, m)
	xref, _ := strconv.Atoi(string(m[1]))
	require.True(t, bytes.HasPrefix(raw[xref:], []byte("xref\n0 12\n")), "%q", raw[xref:xref+20])
	table := raw[xref+len("xref\n0 12\n"):]
	require.Equal(t, "0000000000 65535 f \n", string(table[:20]))
	for n := 1; n < 12; n++ {
		entry := string(table[20*n : 20*n+20])
		require.True(t, strings.HasSuffix(entry, " 00000 n \n"), "entry %d: %q", n, entry)
		off, err := strconv.Atoi(entry[:10])
		require.NoError(t, err)
		require.True(t, bytes.HasPrefix(raw[off:], []byte(strconv.Itoa(n)+" 0 obj\n")), "object %d at %d: %q", n, off, raw[off:off+12])
	}
}

// TestReaderOpensIt: poppler renders each page with ink on it, reads back
// the text, escapes and Latin-1 included, and counts the pages.
func TestReaderOpensIt(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"plain", []string{"Opening balance $1,234.56"}, []string{"Opening balance $1,234.56"}},
		{"delimiters", []string{`ACME (US) \ Co`}, []string{`ACME (US) \ Co`}},
		{"latin-1 and typography", []string{"Café Zürich – “quoted” €5"}, []string{"Café Zürich – “quoted” €5"}},
		{"outside the encoding", []string{"東京 shop\tline"}, []string{"?? shop line"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := pdf.New(pdf.LetterWidthPt, pdf.LetterHeightPt)
			p := d.AddPage()
			y := 720.0
			for _, l := range c.lines {
				p.Text(pdf.HelveticaBold, 14, 72, y, l)
				y -= 20
			}
			p.Line(72, y, 540, y, 1)
			p.TextRight(pdf.Helvetica, 10, 540, y-20, "$9.99")
			raw := d.Bytes()
			require.Equal(t, 1, pdfcheck.Pages(t, raw))
			text := pdfcheck.Text(t, raw)
			for _, w := range c.want {
				require.Contains(t, text, w)
			}
			require.Contains(t, text, "$9.99")
			img := pdfcheck.Render(t, raw, 1, 40)
			require.Greater(t, pdfcheck.InkFraction(img), 0.0005, "the page renders blank")
		})
	}
	// No pages at all is still a document a reader opens: one blank page.
	raw := pdf.New(pdf.LetterWidthPt, pdf.LetterHeightPt).Bytes()
	require.Equal(t, 1, pdfcheck.Pages(t, raw))
	require.Zero(t, pdfcheck.InkFraction(pdfcheck.Render(t, raw, 1, 20)))
}

// TestRightAlignment: amounts set right-aligned end where they are told,
// whatever their length; Fit shortens what does not fit.
func TestRightAlignment(t *testing.T) {
	for _, s := range []string{"$1.00", "$1,000,000.00", "-$12.34"} {
		w := pdf.Width(pdf.Helvetica, 10, s)
		// Digits, '$', ',' and '.' have fixed widths in Helvetica.
		require.InDelta(t, float64(len(s))*5, w, float64(len(s))*3, s)
	}
	require.InDelta(t, 5.56*3, pdf.Width(pdf.Helvetica, 10, "123"), 0.001)
	long := strings.Repeat("MERCHANT ", 20)
	fit := pdf.Fit(pdf.Helvetica, 10, 100, long)
	require.True(t, strings.HasSuffix(fit, "..."))
	require.LessOrEqual(t, pdf.Width(pdf.Helvetica, 10, fit), 100.0)
	require.Equal(t, "short", pdf.Fit(pdf.Helvetica, 10, 100, "short"))
}
