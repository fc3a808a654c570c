// Package mcc maps card Merchant Category Codes (ISO 18245, as used by Visa
// and Mastercard) to human-readable category names. It is used to fill a
// transaction's merchantCategoryName from its 4-digit MCC.
//
//	name, ok := mcc.Name("5812") // "Restaurants", true
//	mcc.Valid("58a2")            // false
//
// # Contents
//
// The table covers the general categories (0742 Veterinary Services to 9950
// Intra-Company Purchases) and the brand-specific ranges:
//
//   - 3000–3299 airlines, by carrier; unnamed codes fall back to "Airlines"
//   - 3351–3500 car rental, by company; unnamed codes fall back to
//     "Car Rental Agencies"
//   - 3501–3999 lodging, by chain; unnamed codes fall back to
//     "Hotels, Motels, Resorts"
//
// Codes outside these ranges that have no entry are unknown: Name returns
// ok == false for them. 3300–3350 is outside every range and therefore
// unknown.
//
// # Source
//
// The names come from the public repository greggles/mcc-codes, file
// mcc_codes.csv (commit c78055fabfc0b328be68374c5c8b28a32e185b39), column
// edited_description. That file collects descriptions from the USDA and IRS
// MCC lists (its usda_description and irs_description columns); its
// documentation/sources.txt lists a Mastercard quick-reference booklet, a
// Citibank Merchant-Category-Codes document and the Visa Merchant Data
// Standards Manual as references.
//
// Conversion from the CSV:
//
//   - Five codes carry the short names the platform's documentation uses
//     instead of the source text: 5411 "Grocery Stores", 5812 "Restaurants",
//     5814 "Fast Food", 5942 "Book Stores", 7011 "Hotels".
//   - Whitespace is trimmed and collapsed, "( " becomes "(", and the marker
//     "* " before 3835 MASTERS ECONOMY INNS is dropped.
//   - Five edited_description values that are wrong on their face are
//     replaced by the irs_description text of the same row (4789, 5948,
//     5949, 6011, 7251); each is marked in table.go.
//   - Rows in the brand ranges whose description is only the generic range
//     name are left out; the range fallback answers them.
//   - Brand names keep the source's upper case and spelling, including its
//     misspellings (for example 3012 "QUANTAS").
//
// # Representation
//
// The table is a sorted static array of (uint16 code, name) pairs searched by
// binary search; see the comment on table for why this was chosen over a
// dense 10000-slot array. Name and Valid allocate nothing.
package mcc
