package matcher

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// maxWords bounds how many words of a name are read. Network descriptors
// have at most a handful; a name with more is cut at this many words so
// that normalizing never needs more than a fixed array on the stack.
const maxWords = 32

// minPrefixKeyLen is the shortest key that may match as a prefix of a longer
// one. Shorter keys ("UP", "7") would otherwise match half the merchants
// whose names start with the same letters.
const minPrefixKeyLen = 3

// Normalize returns the canonical key of a merchant name: upper case,
// without punctuation or spaces, without the processor prefix, corporate
// suffix, store number, marketplace tail and web domain that descriptors
// carry, and mapped to its brand when the name is in the alias table
// (tables.go). "SQ *BLUE BOTTLE #12" and "Blue Bottle" both become
// "BLUEBOTTLE"; "AMZN Mktp US*2K4LM0" and "Amazon.com" both become
// "AMAZON". See AppendNormalized for the rules in order.
func Normalize(name string) string {
	var buf [64]byte
	return string(AppendNormalized(buf[:0], name))
}

// AppendNormalized appends the key of name (see Normalize) to dst and
// returns the extended slice. It does not allocate when dst has room for
// 2*len(name)+16 more bytes (upper-casing a few non-Latin letters, and
// mapping a short descriptor to its brand, lengthen the text).
//
// The rules, in the order they apply:
//
//  1. Words are runs of letters and digits. ASCII is upper-cased; Latin-1
//     accented letters fold to ASCII ("É" to "E", "ß" to "SS"); other
//     letters are upper-cased as Unicode. Apostrophes and '&' are dropped
//     inside a word ("Joe's" is "JOES", "AT&T" is "ATT"); any other
//     punctuation ends a word. Single letters joined by dots form one word
//     ("S.A." is "SA", "L.L.C." is "LLC"). Only the first 32 words are read.
//  2. "X DBA Y" keeps only Y, the name the business trades as.
//  3. Leading words go while another word is left: a processor prefix
//     followed by '*' ("SQ *", "TST*", "PAYPAL *", "PP*", "SP *",
//     "GOOGLE *"), "WWW." and "THE".
//  4. If the remaining words start with an alias pattern, the key is the
//     alias's brand and nothing else applies.
//  5. Trailing words go while another word is left: an order reference
//     after '*' (a word with a digit), a store number (all digits, or one
//     letter and two or more digits, as in "#1234", "F1234", "T-0123")
//     together with a marker before it ("STORE 42", "NO 5") or a single
//     letter hyphenated to it, a corporate suffix ("INC", "LLC", "GMBH"),
//     a web suffix after a dot (".COM"), a marketplace tail ("MKTP US"),
//     and a run of four or more digits glued to the end of a word
//     ("STARBUCKS1234").
//  6. The words left are concatenated without spaces.
//
// Normalize drops spaces so that "Door Dash" and "DOORDASH" have one key.
// Matching (MerchantMatches) still needs to know where the original words
// ended, which it gets by normalizing the same way with the word breaks
// kept.
func AppendNormalized(dst []byte, name string) []byte {
	return appendKey(dst, name, false)
}

// MerchantMatches reports whether a card-network descriptor (actual) names
// the merchant a person expected: "DOORDASH*BURGERPLACE" for "DoorDash",
// "SQ *BLUE BOTTLE" for "Blue Bottle Coffee".
//
// Both names are normalized. They match when their keys are equal, or when
// one key is a prefix of the other that ends where a word of the longer
// name ended. Word breaks are those of the original text (a space or
// punctuation between words), never a change of case, so "Blue Bottle"
// matches "Blue Bottle Coffee" and "BLUEBOTTLE" matches "BLUE BOTTLE
// COFFEE", but "Door" does not match "DoorDash" and "Apple" does not match
// "Applebee's". A prefix shorter than three bytes never matches; only equal
// keys do. A name whose key is empty ("", "***") matches nothing, because
// it says nothing about the merchant.
func MerchantMatches(expected, actual string) bool {
	var eb, ab [96]byte
	return keysMatch(appendKey(eb[:0], expected, true), appendKey(ab[:0], actual, true))
}

// keysMatch applies MerchantMatches's rule to two keys normalized with word
// breaks kept (single spaces between words). It compares letters with the
// spaces skipped, then looks at the longer key's next byte: a space there is
// a word break.
func keysMatch[A, B ~string | ~[]byte](a A, b B) bool {
	i, j, n := 0, 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		switch {
		case ca == ' ':
			i++
		case cb == ' ':
			j++
		case ca != cb:
			return false
		default:
			i, j, n = i+1, j+1, n+1
		}
	}
	switch {
	case i == len(a) && j == len(b):
		return n > 0
	case n < minPrefixKeyLen:
		return false
	case i == len(a):
		return b[j] == ' '
	default:
		return a[i] == ' '
	}
}

// word is one word of a name being normalized: its bytes in the output
// buffer and what surrounded it in the original text.
type word struct {
	start, end int32
	flags      uint8
}

const (
	wHyphenAfter uint8 = 1 << iota // a '-' directly followed the word
	wStarAfter                     // a '*' came before the next word
	wDotAfter                      // a '.' directly followed the word
	wDotBefore                     // a '.' directly preceded the word
	wDigit                         // the word has an ASCII digit
	wNonDigit                      // the word has something else
)

// Byte classes for the first pass.
const (
	clSep    uint8 = iota // ends a word
	clLetter              // ASCII letter
	clDigit               // ASCII digit
	clJoin                // dropped without ending the word
	clDot
	clHyphen
	clStar
	clHigh // first byte of a multi-byte UTF-8 sequence (or invalid)
)

var asciiClass = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = clLetter
		t[c-'a'+'A'] = clLetter
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = clDigit
	}
	t['\''], t['`'], t['&'] = clJoin, clJoin, clJoin
	t['.'], t['-'], t['*'] = clDot, clHyphen, clStar
	for c := 0x80; c < 0x100; c++ {
		t[c] = clHigh
	}
	return t
}()

// aliasIndex holds aliasTable by the first byte of its pattern, longest
// pattern first, with the patterns' spaces removed.
var aliasIndex = func() (idx [256][]alias) {
	for _, a := range aliasTable {
		p := make([]byte, 0, len(a.pattern))
		for i := 0; i < len(a.pattern); i++ {
			if a.pattern[i] != ' ' {
				p = append(p, a.pattern[i])
			}
		}
		idx[p[0]] = append(idx[p[0]], alias{pattern: string(p), brand: a.brand})
	}
	for i := range idx {
		slices.SortStableFunc(idx[i], func(x, y alias) int { return len(y.pattern) - len(x.pattern) })
	}
	return idx
}()

// appendKey appends the key of name to dst, with single spaces between its
// words when spaced is true. It works in place: the first pass writes every
// word (space-separated) to dst, the later passes choose which words stay,
// and the last one moves them down over the ones that went. Moving only
// ever goes to lower offsets, so the copy is safe.
func appendKey(dst []byte, name string, spaced bool) []byte {
	base := len(dst)
	var words [maxWords]word
	n := 0
	in := false  // inside a word
	acr := false // the current word is single letters joined by dots so far

scan:
	for i := 0; i < len(name); {
		c := name[i]
		switch cl := asciiClass[c]; cl {
		case clLetter, clDigit:
			start := i
			if !in {
				if n == maxWords {
					break scan
				}
				if n > 0 {
					dst = append(dst, ' ')
				}
				words[n] = word{start: int32(len(dst))}
				if i > 0 && name[i-1] == '.' {
					words[n].flags = wDotBefore
				}
				n++
				in = true
			}
			// The run of ASCII letters and digits, the bulk of any name.
			var flags uint8
			for ; i < len(name); i++ {
				c := name[i]
				switch asciiClass[c] {
				case clLetter:
					dst = append(dst, c&^0x20) // upper case
					flags |= wNonDigit
					continue
				case clDigit:
					dst = append(dst, c)
					flags |= wDigit
					continue
				}
				break
			}
			w := &words[n-1]
			w.flags |= flags
			w.end = int32(len(dst))
			// Only a word that is one letter so far may take a dotted
			// letter after it ("S.A.").
			acr = cl == clLetter && i-start == 1 && w.end-w.start == 1
		case clJoin:
			i++
		case clDot:
			// "S.A." and "L.L.C.": a dot between single letters joins them.
			if in && acr && i+1 < len(name) && asciiClass[name[i+1]] == clLetter &&
				(i+2 == len(name) || (asciiClass[name[i+2]] != clLetter && asciiClass[name[i+2]] != clDigit)) {
				dst = append(dst, name[i+1]&^0x20)
				words[n-1].end = int32(len(dst))
				i += 2
				continue
			}
			if in {
				words[n-1].flags |= wDotAfter
			}
			in = false
			i++
		case clHyphen:
			if in {
				words[n-1].flags |= wHyphenAfter
			}
			in = false
			i++
		case clStar:
			if n > 0 {
				words[n-1].flags |= wStarAfter
			}
			in = false
			i++
		case clHigh:
			r, size := utf8.DecodeRuneInString(name[i:])
			dotBefore := i > 0 && name[i-1] == '.'
			i += size
			if r == '\u2019' || r == '\u2018' || r == '\u02bc' {
				continue // typographic apostrophes join like '\''
			}
			var fold string
			if r >= 0xC0 && r <= 0xFF {
				fold = latin1Fold[r-0xC0]
			}
			if fold == "" && (r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r))) {
				in = false
				continue
			}
			if !in {
				if n == maxWords {
					break scan
				}
				if n > 0 {
					dst = append(dst, ' ')
				}
				words[n] = word{start: int32(len(dst))}
				if dotBefore {
					words[n].flags = wDotBefore
				}
				n++
				in = true
			}
			acr = false
			if fold != "" {
				dst = append(dst, fold...)
			} else {
				dst = utf8.AppendRune(dst, unicode.ToUpper(r))
			}
			words[n-1].flags |= wNonDigit
			words[n-1].end = int32(len(dst))
		default: // clSep
			in = false
			i++
		}
	}

	text := func(k int) []byte { return dst[words[k].start:words[k].end] }
	s, e := 0, n

	// "X DBA Y": Y is the name the business trades as.
	for k := e - 2; k >= s; k-- {
		if string(text(k)) == "DBA" {
			s = k + 1
			break
		}
	}

	// Leading noise.
lead:
	for e-s > 1 {
		w := words[s]
		t := text(s)
		switch {
		case w.flags&wStarAfter != 0 && isProcessorPrefix(t):
		case w.flags&wDotAfter != 0 && string(t) == "WWW":
		case string(t) == "THE":
		default:
			break lead
		}
		s++
	}

	if s < e {
		if brand, ok := lookupAlias(dst, words[s:e]); ok {
			return append(dst[:base], brand...)
		}
	}

	// Trailing noise.
trail:
	for e-s > 1 {
		last := words[e-1]
		t := text(e - 1)
		switch {
		case words[e-2].flags&wStarAfter != 0 && last.flags&wDigit != 0:
			e-- // an order reference: "NETFLIX.COM*1234X"
		case isStoreNumber(t, last.flags):
			e--
			if e-s > 1 {
				p := words[e-1]
				pt := text(e - 1)
				if isStoreMarker(pt) || (len(pt) == 1 && p.flags&wHyphenAfter != 0 && p.flags&wNonDigit != 0) {
					e-- // "STORE 42", "T-0123"
				}
			}
		case isCorporateSuffix(t):
			e--
		case last.flags&wDotBefore != 0 && isWebSuffix(t):
			e--
		case isMarketplaceWord(t):
			e--
		case e-s > 2 && isMarketplaceCountry(t) && isMarketplaceWord(text(e-2)):
			e -= 2
		case last.flags&wNonDigit != 0 && trailingDigits(t) >= 4:
			words[e-1].end -= int32(trailingDigits(t))
			if isStoreMarker(text(e - 1)) {
				e-- // "STORE1234"
			}
		default:
			break trail
		}
	}
	// A single word keeps its name but not a store number glued to it.
	if e-s == 1 && words[s].flags&wNonDigit != 0 {
		if d := trailingDigits(text(s)); d >= 4 && int(words[s].end-words[s].start) > d {
			words[s].end -= int32(d)
		}
	}
	// Stripping may have uncovered an alias ("AMZN1234" is "AMZN"), so look
	// again: a key must not depend on the noise around it.
	if s < e {
		if brand, ok := lookupAlias(dst, words[s:e]); ok {
			return append(dst[:base], brand...)
		}
	}

	w := base
	for k := s; k < e; k++ {
		if spaced && k > s {
			dst[w] = ' '
			w++
		}
		w += copy(dst[w:], text(k))
	}
	return dst[:w]
}

// lookupAlias finds the longest alias pattern the words start with.
func lookupAlias(dst []byte, ws []word) (string, bool) {
	first := dst[ws[0].start]
	for _, a := range aliasIndex[first] {
		if aliasFits(dst, ws, a.pattern) {
			return a.brand, true
		}
	}
	return "", false
}

// aliasFits reports whether the words, concatenated, start with pat and pat
// ends where a word ends.
func aliasFits(dst []byte, ws []word, pat string) bool {
	for _, w := range ws {
		t := dst[w.start:w.end]
		if len(t) > len(pat) || string(t) != pat[:len(t)] {
			return false
		}
		pat = pat[len(t):]
		if pat == "" {
			return true
		}
	}
	return false
}

// isStoreNumber reports whether a trailing word is a store or terminal
// number: all digits ("#1234"), or one letter and at least two digits
// ("F1234", McDonald's; "T0123", Target).
func isStoreNumber(t []byte, flags uint8) bool {
	if flags&wNonDigit == 0 {
		return true
	}
	if len(t) < 3 || asciiClass[t[0]] != clLetter {
		return false
	}
	for _, c := range t[1:] {
		if asciiClass[c] != clDigit {
			return false
		}
	}
	return true
}

// trailingDigits counts the ASCII digits at the end of t.
func trailingDigits(t []byte) int {
	d := 0
	for d < len(t) && asciiClass[t[len(t)-1-d]] == clDigit {
		d++
	}
	return d
}
