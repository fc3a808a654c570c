package matcher

// This file holds every word list the normalizer consults: the brand alias
// table and the small sets of descriptor noise (processor prefixes, corporate
// suffixes, store-number markers, marketplace tails, web domains). Keeping
// them together makes one place to review when a descriptor is misread.
//
// Entries are written in normalized form: upper case, ASCII letters and
// digits, words separated by single spaces.

// alias maps the start of a normalized name to a brand key.
type alias struct {
	pattern string // words of the descriptor, as normalized
	brand   string // the key the name becomes
}

// aliasTable lists descriptors that do not spell their brand the way people
// do. A name whose words begin with a pattern becomes the brand key, and the
// rest of the name is dropped: what follows a brand in a descriptor is a
// sub-merchant, a marketplace tail or an order reference, never a different
// business. Patterns are compared with spaces removed but must end where a
// word ends, so "UBER EATS" also catches "UBEREATS" while "UBER" does not
// catch "UBERTI". When several patterns fit, the longest wins.
var aliasTable = []alias{
	// Amazon retail and marketplace: the network descriptor is usually
	// "AMZN Mktp US*2K4LM0", "Amazon.com*2K4LM0" or "AMZN Digital*...".
	{"AMZN", "AMAZON"},
	{"AMZN MKTP", "AMAZON"},
	{"AMZN MKTPLACE", "AMAZON"},
	{"AMAZON", "AMAZON"},
	{"AMAZON MKTPL", "AMAZON"},
	{"AMAZON MARKETPLACE", "AMAZON"},

	// Amazon Web Services bills separately from Amazon retail; the longer
	// pattern wins over "AMAZON" above.
	{"AMAZON WEB SERVICES", "AWS"},
	{"AWS", "AWS"},

	// DoorDash: "DOORDASH*BURGERPLACE" names the restaurant after the star;
	// DashPass renewals come as "DD *DOORDASH DASHPASS".
	{"DOORDASH", "DOORDASH"},
	{"DD DOORDASH", "DOORDASH"},

	// Uber Eats and Uber rides are different purchases, so they are
	// different brands: "UBER *EATS" and "UBER EATS" are food, "UBER *TRIP"
	// is a ride.
	{"UBER EATS", "UBEREATS"},
	{"UBER", "UBER"},

	// Lyft rides: "LYFT *RIDE SAT 4PM".
	{"LYFT", "LYFT"},

	// Apple bills App Store, iCloud and subscriptions as "APPLE.COM/BILL"
	// (formerly "ITUNES.COM/BILL"); the person writes "Apple".
	{"APPLE COM BILL", "APPLE"},
	{"APPLE COM", "APPLE"},
	{"ITUNES COM BILL", "APPLE"},
	{"ITUNES", "APPLE"},

	// Steam (Valve) appears as "STEAMGAMES.COM", "STEAM PURCHASE" or, through
	// PayPal, "PAYPAL *STEAMGAMES"; "Steam Games" and "Steam" are what
	// people write. "STEAM" alone is not a pattern, so "Steam Cleaning Co"
	// stays itself.
	{"STEAM GAMES", "STEAM"},
	{"STEAM POWERED", "STEAM"},
	{"STEAM PURCHASE", "STEAM"},

	// Walmart supercenters use "WM SUPERCENTER #1234" and older terminals
	// "WAL-MART #1234".
	{"WM SUPERCENTER", "WALMART"},
	{"WALMART", "WALMART"},

	// Whole Foods abbreviates itself to fit the descriptor:
	// "WHOLEFDS MKT #10234", "WHOLEFDS HAR 10230".
	{"WHOLEFDS", "WHOLEFOODS"},
	{"WHOLE FOODS", "WHOLEFOODS"},

	// Costco warehouses: "COSTCO WHSE #0123".
	{"COSTCO", "COSTCO"},

	// Microsoft: "MSFT *<product>" and "MICROSOFT*XBOX".
	{"MSFT", "MICROSOFT"},
	{"MICROSOFT", "MICROSOFT"},

	// 7-Eleven, spelt every way: "7-ELEVEN 12345", "7-11", "SEVEN ELEVEN".
	// The pattern matters most for "7-11", whose second word would
	// otherwise be stripped as a store number.
	{"7 ELEVEN", "7ELEVEN"},
	{"7 11", "7ELEVEN"},
	{"SEVEN ELEVEN", "7ELEVEN"},
}

// isProcessorPrefix reports whether a leading word followed by '*' names the
// payment processor or aggregator rather than the merchant: Square
// ("SQ *BLUE BOTTLE", "SQU*"), Toast ("TST* JOE'S PIZZA"), PayPal
// ("PAYPAL *STEAMGAMES", "PP*"), Shopify ("SP * STORE"), Google Pay
// ("GOOGLE *YOUTUBE"). The star is required: without it "SP" or "GOOGLE"
// is the merchant's own first word.
func isProcessorPrefix(w []byte) bool {
	switch string(w) {
	case "SQ", "SQU", // Square
		"TST",          // Toast
		"PAYPAL", "PP", // PayPal
		"SP",     // Shopify Payments
		"GOOGLE": // Google Pay and Google Play resellers
		return true
	}
	return false
}

// isCorporateSuffix reports whether a trailing word is a legal form that
// people leave out ("Blue Bottle Coffee" for "BLUE BOTTLE COFFEE INC").
// Dotted forms ("S.A.", "L.L.C.") reach here joined ("SA", "LLC"). Words
// that are also ordinary trailing words ("SPA", "AS", "PC") are left out on
// purpose.
func isCorporateSuffix(w []byte) bool {
	switch string(w) {
	// United States and Commonwealth
	case "INC", "INCORPORATED", "LLC", "PLLC", "LLP", "LP", "LTD", "LIMITED",
		"CO", "CORP", "CORPORATION", "COMPANY", "PLC", "PTY", "PTE", "ULC",
		// Continental Europe and Latin America
		"GMBH", "AG", "SA", "SAS", "SARL", "SRL", "BV", "NV", "AB", "OY", "LTDA":
		return true
	}
	return false
}

// isStoreMarker reports whether a word introduces a store or location number
// ("STARBUCKS STORE 1234", "SHELL NO 57"). It is stripped only together with
// the number that follows it, so "THE CONTAINER STORE" keeps its "STORE".
// "ST" is not one: it is far more often "Street" than "Store".
func isStoreMarker(w []byte) bool {
	switch string(w) {
	case "STORE", "STR", "STO", "NO", "NUM", "NBR", "LOC", "UNIT":
		return true
	}
	return false
}

// isMarketplaceWord reports whether a trailing word marks a marketplace
// channel of the brand before it ("ETSY MKTP", "EBAY MARKETPLACE").
func isMarketplaceWord(w []byte) bool {
	switch string(w) {
	case "MKTP", "MKTPL", "MKTPLC", "MKTPLACE", "MARKETPLACE":
		return true
	}
	return false
}

// isMarketplaceCountry reports whether a trailing word is the country code
// some marketplaces append after their channel ("AMZN MKTP US").
func isMarketplaceCountry(w []byte) bool {
	switch string(w) {
	case "US", "UK", "GB", "CA", "DE", "FR", "IT", "ES", "NL", "JP", "AU", "MX", "IN", "EU":
		return true
	}
	return false
}

// isWebSuffix reports whether a word directly after a '.' is a top-level
// domain ("NETFLIX.COM", "STEAMGAMES.COM"). Only the dotted form is
// stripped: a separate word "NET" is part of the name.
func isWebSuffix(w []byte) bool {
	switch string(w) {
	case "COM", "NET", "ORG", "IO", "AI", "APP":
		return true
	}
	return false
}

// latin1Fold maps U+00C0..U+00FF to ASCII capitals, so that "Café Zoë"
// meets the network's "CAFE ZOE" (network descriptors are ASCII). An empty
// entry (× and ÷) is punctuation.
var latin1Fold = [64]string{
	"A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I", // U+00C0
	"D", "N", "O", "O", "O", "O", "O", "", "O", "U", "U", "U", "U", "Y", "TH", "SS", // U+00D0
	"A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I", // U+00E0
	"D", "N", "O", "O", "O", "O", "O", "", "O", "U", "U", "U", "U", "Y", "TH", "Y", // U+00F0
}
