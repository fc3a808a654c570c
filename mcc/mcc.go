package mcc

// entry is one row of table.
type entry struct {
	code uint16
	name string
}

// Names returned for codes of a brand range that have no entry of their own.
const (
	fallbackAirline   = "Airlines"
	fallbackCarRental = "Car Rental Agencies"
	fallbackLodging   = "Hotels, Motels, Resorts"
)

// Valid reports whether code is 4 ASCII digits.
func Valid(code string) bool {
	if len(code) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// Name returns the category name of a 4-digit MCC string ("5812"). ok is
// false for malformed or unknown codes.
//
// Codes with their own entry return it. Otherwise codes in the brand ranges
// return the range's generic name: 3000–3299 "Airlines", 3351–3500
// "Car Rental Agencies", 3501–3999 "Hotels, Motels, Resorts". Name does not
// allocate.
func Name(code string) (name string, ok bool) {
	if !Valid(code) {
		return "", false
	}
	n := uint16(code[0]-'0')*1000 + uint16(code[1]-'0')*100 +
		uint16(code[2]-'0')*10 + uint16(code[3]-'0')
	return lookup(n)
}

// lookup finds n in table by binary search, then tries the range fallbacks.
func lookup(n uint16) (string, bool) {
	lo, hi := 0, len(table)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if table[mid].code < n {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(table) && table[lo].code == n {
		return table[lo].name, true
	}
	switch {
	case n >= 3000 && n <= 3299:
		return fallbackAirline, true
	case n >= 3351 && n <= 3500:
		return fallbackCarRental, true
	case n >= 3501 && n <= 3999:
		return fallbackLodging, true
	}
	return "", false
}
