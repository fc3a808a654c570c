package pdf

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Font is one of the standard fonts a document may use.
type Font int

// The fonts, named in the page resources as /F1 and /F2.
const (
	Helvetica Font = iota
	HelveticaBold
)

var baseFonts = [...]string{Helvetica: "Helvetica", HelveticaBold: "Helvetica-Bold"}

// US Letter, in points.
const (
	LetterWidthPt  = 612
	LetterHeightPt = 792
)

// Document is a PDF being built. The zero value is not usable; call New.
type Document struct {
	widthPt, heightPt float64
	title             string
	pages             []*Page
}

// New starts a document whose pages measure widthPt by heightPt.
func New(widthPt, heightPt float64) *Document {
	return &Document{widthPt: widthPt, heightPt: heightPt}
}

// SetTitle sets the title a reader shows in its window and properties.
func (d *Document) SetTitle(title string) { d.title = title }

// Page is one page's content.
type Page struct {
	content bytes.Buffer
}

// AddPage appends a blank page and returns it.
func (d *Document) AddPage() *Page {
	p := &Page{}
	d.pages = append(d.pages, p)
	return p
}

// Pages is the number of pages so far.
func (d *Document) Pages() int { return len(d.pages) }

// Text draws s with its baseline starting at (x, y).
func (p *Page) Text(f Font, sizePt, x, y float64, s string) {
	fmt.Fprintf(&p.content, "BT /F%d %s Tf 1 0 0 1 %s %s Tm (", int(f)+1, num(sizePt), num(x), num(y))
	writeEscaped(&p.content, encode(s))
	p.content.WriteString(") Tj ET\n")
}

// TextRight draws s so that it ends at xRight.
func (p *Page) TextRight(f Font, sizePt, xRight, y float64, s string) {
	p.Text(f, sizePt, xRight-Width(f, sizePt, s), y, s)
}

// Line strokes a straight line widthPt thick.
func (p *Page) Line(x1, y1, x2, y2, widthPt float64) {
	fmt.Fprintf(&p.content, "%s w %s %s m %s %s l S\n", num(widthPt), num(x1), num(y1), num(x2), num(y2))
}

// Width is how wide s is set in f at sizePt, in points.
func Width(f Font, sizePt float64, s string) float64 {
	units := 0
	for _, b := range encode(s) {
		units += glyphWidth(f, b)
	}
	return float64(units) * sizePt / 1000
}

// Fit returns s, or as much of it as fits in maxWidthPt followed by "...".
func Fit(f Font, sizePt, maxWidthPt float64, s string) string {
	if Width(f, sizePt, s) <= maxWidthPt {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && Width(f, sizePt, string(r)+"...") > maxWidthPt {
		r = r[:len(r)-1]
	}
	return strings.TrimRight(string(r), " ") + "..."
}

// Bytes writes the document. A document without pages gets one blank page,
// since a PDF must have at least one.
func (d *Document) Bytes() []byte {
	pages := d.pages
	if len(pages) == 0 {
		pages = []*Page{{}}
	}
	// Objects: 1 catalog, 2 page tree, 3 and 4 the fonts, 5 the info
	// dictionary, then a page and its content stream for each page.
	const firstPage = 6
	count := firstPage - 1 + 2*len(pages)
	var out bytes.Buffer
	offsets := make([]int, count+1)
	obj := func(n int, body string) {
		offsets[n] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	// The second line's high bytes tell transfer tools the file is binary.
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]string, len(pages))
	for i := range pages {
		kids[i] = strconv.Itoa(firstPage+2*i) + " 0 R"
	}
	obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)))
	for i, name := range baseFonts {
		obj(3+i, "<< /Type /Font /Subtype /Type1 /BaseFont /"+name+" /Encoding /WinAnsiEncoding >>")
	}
	var info bytes.Buffer
	info.WriteString("<< /Producer (ledgersim)")
	if d.title != "" {
		info.WriteString(" /Title (")
		writeEscaped(&info, encode(d.title))
		info.WriteString(")")
	}
	info.WriteString(" >>")
	obj(5, info.String())
	for i, p := range pages {
		n := firstPage + 2*i
		obj(n, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>",
			num(d.widthPt), num(d.heightPt), n+1))
		offsets[n+1] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n<< /Length %d >>\nstream\n", n+1, p.content.Len())
		out.Write(p.content.Bytes())
		out.WriteString("\nendstream\nendobj\n")
	}
	xref := out.Len()
	// Each entry is exactly 20 bytes, its end of line included.
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", count+1)
	for n := 1; n <= count; n++ {
		fmt.Fprintf(&out, "%010d 00000 n \n", offsets[n])
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n", count+1, xref)
	return out.Bytes()
}

// num formats a coordinate with at most two decimals and no exponent.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// winAnsiExtra maps the characters WinAnsiEncoding places in 0x80..0x9F.
var winAnsiExtra = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88, '‰': 0x89,
	'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95,
	'–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B, 'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// encode converts s to WinAnsiEncoding: control characters become spaces,
// characters the encoding lacks become '?'.
func encode(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7F:
			out = append(out, ' ')
		case r < 0x7F:
			out = append(out, byte(r))
		case r >= 0xA0 && r <= 0xFF:
			out = append(out, byte(r))
		default:
			if b, ok := winAnsiExtra[r]; ok {
				out = append(out, b)
			} else {
				out = append(out, '?')
			}
		}
	}
	return out
}

// writeEscaped writes encoded text as the inside of a PDF string literal:
// the delimiters and backslash escaped, bytes past ASCII as octal, so the
// content stays plain ASCII.
func writeEscaped(w *bytes.Buffer, b []byte) {
	for _, c := range b {
		switch {
		case c == '(' || c == ')' || c == '\\':
			w.WriteByte('\\')
			w.WriteByte(c)
		case c >= 0x80:
			fmt.Fprintf(w, "\\%03o", c)
		default:
			w.WriteByte(c)
		}
	}
}
