package pdf

// helveticaWidths are Helvetica's advance widths (thousandths of the font
// size) for the printable ASCII characters 0x20..0x7E, from Adobe's font
// metrics. Every reader has these metrics built in for the standard fonts,
// so a document need not carry them.
var helveticaWidths = [95]int{
	278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space .. /
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0 .. 9
	278, 278, 584, 584, 584, 556, 1015, // : .. @
	667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, // A .. M
	722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // N .. Z
	278, 278, 278, 469, 556, 333, // [ .. `
	556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, // a .. m
	556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // n .. z
	334, 260, 334, 584, // { .. ~
}

// helveticaBoldWidths are Helvetica-Bold's, in the same order.
var helveticaBoldWidths = [95]int{
	278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556,
	333, 333, 584, 584, 584, 611, 975,
	722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833,
	722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611,
	333, 278, 333, 584, 556, 333,
	556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889,
	611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500,
	389, 280, 389, 584,
}

// glyphWidth is the width of one encoded byte. Characters past ASCII take
// a typical lower-case width: close enough to lay out a column.
func glyphWidth(f Font, b byte) int {
	if b < 0x20 || b > 0x7E {
		return 556
	}
	if f == HelveticaBold {
		return helveticaBoldWidths[b-0x20]
	}
	return helveticaWidths[b-0x20]
}
