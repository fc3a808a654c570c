// Package pdf writes small PDF 1.4 documents of text pages: the objects,
// the cross-reference table with each object's byte offset, the trailer.
// It knows two of the fourteen standard fonts, Helvetica and
// Helvetica-Bold, which every PDF reader carries, so nothing is embedded;
// text is encoded in WinAnsiEncoding (Latin-1 and a few typographic
// characters; anything else prints as '?').
//
// It is what statements need and no more: text placed at coordinates
// (points, origin at the bottom left), right-aligned text, and ruled lines.
// Content streams are left uncompressed, so a document is plain ASCII and
// its text can be found in its bytes.
package pdf
