package matcher

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, want string
	}{
		// Case, punctuation and spaces.
		{"DoorDash", "DOORDASH"},
		{"  door   dash  ", "DOORDASH"},
		{"Joe's Pizza", "JOESPIZZA"},
		{"Joe\u2019s Pizza", "JOESPIZZA"},
		{"AT&T", "ATT"},
		{"Barnes & Noble", "BARNESNOBLE"},
		{"Café Zoë", "CAFEZOE"},
		{"Straße", "STRASSE"},
		{"Ünïcödé Ñame", "UNICODENAME"},
		{"東京 Ramen", "東京RAMEN"},
		{"", ""},
		{"  *** ", ""},

		// Corporate suffixes.
		{"Blue Bottle Coffee, Inc.", "BLUEBOTTLECOFFEE"},
		{"ACME LLC", "ACME"},
		{"Acme L.L.C.", "ACME"},
		{"Tiffany & Co.", "TIFFANY"},
		{"Siemens AG", "SIEMENS"},
		{"Banco Santander S.A.", "BANCOSANTANDER"},
		{"Muller GmbH", "MULLER"},
		{"Tesco PLC", "TESCO"},
		{"Acme Corporation", "ACME"},
		{"Acme Company Ltd", "ACME"},
		{"Serenity Spa", "SERENITYSPA"},
		{"Inc", "INC"}, // a suffix alone is still the name

		// Store numbers.
		{"Starbucks Store 1234", "STARBUCKS"},
		{"STARBUCKS #1234", "STARBUCKS"},
		{"STARBUCKS1234", "STARBUCKS"},
		{"STARBUCKS STORE12345", "STARBUCKS"},
		{"TARGET T-0123", "TARGET"},
		{"MCDONALD'S F12345", "MCDONALDS"},
		{"SHELL OIL 57442658", "SHELLOIL"},
		{"WALGREENS #1234 CHICAGO IL", "WALGREENS1234CHICAGOIL"}, // a city after the number is kept as is
		{"The Container Store", "CONTAINERSTORE"},
		{"Pier 1", "PIER"},
		{"76", "76"},

		// Processor and aggregator prefixes.
		{"SQ *BLUE BOTTLE", "BLUEBOTTLE"},
		{"SQ*BLUE BOTTLE", "BLUEBOTTLE"},
		{"SQU*BLUE BOTTLE", "BLUEBOTTLE"},
		{"TST* Joe's Pizza #12", "JOESPIZZA"},
		{"TST*JOES PIZZA", "JOESPIZZA"},
		{"PAYPAL *ETSYSELLER", "ETSYSELLER"},
		{"PP*ETSYSELLER", "ETSYSELLER"},
		{"SP * GYMSHARK", "GYMSHARK"},
		{"SP*GYMSHARK", "GYMSHARK"},
		{"GOOGLE *YouTube", "YOUTUBE"},
		{"Google", "GOOGLE"},
		{"SQ *", "SQ"},
		{"SP Richards", "SPRICHARDS"}, // no star: part of the name

		// Web names.
		{"WWW.NETFLIX.COM", "NETFLIX"},
		{"netflix.com", "NETFLIX"},
		{"NETFLIX.COM*12345", "NETFLIX"},
		{"Hotels.com", "HOTELS"},
		{"NET SOLUTIONS", "NETSOLUTIONS"},

		// Leading THE, DBA.
		{"The Home Depot", "HOMEDEPOT"},
		{"THE HOME DEPOT #6512", "HOMEDEPOT"},
		{"ACME HOLDINGS LLC DBA JOES DINER", "JOESDINER"},

		// Marketplace tails.
		{"ETSY MKTP US", "ETSY"},
		{"EBAY MARKETPLACE", "EBAY"},

		// Aliases.
		{"AMZN Mktp US*2K4LM0", "AMAZON"},
		{"AMZN MKTP US", "AMAZON"},
		{"AMZNMKTPLACE", "AMAZON"},
		{"Amazon.com*2K4LM0", "AMAZON"},
		{"AMAZON MARKETPLACE", "AMAZON"},
		{"Amazon", "AMAZON"},
		{"Amazon Web Services", "AWS"},
		{"AWS EMEA", "AWS"},
		{"DOORDASH*BURGERPLACE", "DOORDASH"},
		{"DD *DOORDASH DASHPASS", "DOORDASH"},
		{"Door Dash", "DOORDASH"},
		{"UBER *EATS", "UBEREATS"},
		{"Uber Eats", "UBEREATS"},
		{"UBEREATS", "UBEREATS"},
		{"UBER *TRIP", "UBER"},
		{"UBERTI FIREARMS", "UBERTIFIREARMS"},
		{"LYFT *RIDE SAT 4PM", "LYFT"},
		{"APPLE.COM/BILL", "APPLE"},
		{"ITUNES.COM/BILL", "APPLE"},
		{"Apple", "APPLE"},
		{"Applebee's", "APPLEBEES"},
		{"PAYPAL *STEAMGAMES", "STEAM"},
		{"STEAMGAMES.COM 4259522985", "STEAM"},
		{"Steam Games", "STEAM"},
		{"Steam Cleaning Co", "STEAMCLEANING"},
		{"WM SUPERCENTER #1234", "WALMART"},
		{"WAL-MART #1234", "WALMART"},
		{"Walmart.com", "WALMART"},
		{"COSTCO WHSE #0123", "COSTCO"},
		{"WHOLEFDS MKT #10234", "WHOLEFOODS"},
		{"Whole Foods Market", "WHOLEFOODS"},
		{"7-ELEVEN 12345", "7ELEVEN"},
		{"7-11", "7ELEVEN"},
		{"MSFT *XBOX", "MICROSOFT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Normalize(tc.name))
			require.Equal(t, "x:"+tc.want, string(AppendNormalized([]byte("x:"), tc.name)))
		})
	}
}

func TestMerchantMatches(t *testing.T) {
	tests := []struct {
		expected, actual string
		want             bool
	}{
		// The cases the issue names.
		{"DoorDash", "DOORDASH", true},
		{"Amazon", "AMZN Mktp US", true},
		{"Amazon", "AMZN Mktp US*2K4LM0", true},
		{"Blue Bottle Coffee", "SQ *BLUE BOTTLE", true},
		{"Joe's Pizza", "TST* Joe's Pizza #12", true},
		{"Steam Games", "PAYPAL *STEAMGAMES", true},
		{"Starbucks", "Starbucks Store 1234", true},
		{"Uber Eats", "UBER *EATS", true},
		{"Walmart", "Amazon", false},
		{"Amazon", "Walmart", false},
		{"Door", "DoorDash", false},
		{"DoorDash", "Door", false},
		{"Apple", "Applebee's", false},
		{"Applebee's", "Apple", false},

		// Word-boundary prefixes, both ways round.
		{"DoorDash", "DOORDASH*BURGERPLACE", true},
		{"Blue Bottle", "BLUE BOTTLE COFFEE #12", true},
		{"BlueBottle", "BLUE BOTTLE COFFEE", true},
		{"Blue Bottle", "BLUEBOTTLECOFFEE", false}, // no word break after BLUEBOTTLE in the descriptor
		{"Blue Bottle Coffee", "SQ *BLUE BOTTLE COF", false},
		{"Apple", "APPLE.COM/BILL", true},
		{"Apple", "APPLE STORE R123", true},
		{"Steam", "PAYPAL *STEAMGAMES", true},
		{"Steam", "Steam Cleaning Co", true},
		{"Uber", "UBER *EATS", false},
		{"Uber", "UBER *TRIP", true},
		{"Netflix", "NETFLIX.COM", true},
		{"Home Depot", "THE HOME DEPOT #6512", true},
		{"OpenAI", "OPENAI *CHATGPT SUBSCR", true},
		{"Café Zoë", "CAFE ZOE", true},
		{"Whole Foods Market", "WHOLEFDS MKT #10234", true},
		{"Trader Joe's", "TRADER JOE S #552 QPS", true},
		{"Netflix", "NETFLIX.COM 866-579-7172 CA", true}, // a trailing state stops the stripping; the prefix still matches

		// Short keys match only exactly.
		{"UP", "UP", true},
		{"UP", "UPS STORE", false},
		{"UP", "UP NORTH BAR", false},
		{"UPS", "UPS STORE 0042", true},

		// Empty keys match nothing.
		{"", "", false},
		{"", "DOORDASH", false},
		{"DoorDash", "", false},
		{"***", "***", false},
		{"#12", "#12", true}, // a lone number is still the name
	}
	for _, tc := range tests {
		t.Run(tc.expected+" vs "+tc.actual, func(t *testing.T) {
			require.Equal(t, tc.want, MerchantMatches(tc.expected, tc.actual))
			require.Equal(t, tc.want, MerchantMatches(tc.actual, tc.expected), "the rule is symmetric")
		})
	}
}

// TestAliasTable checks the table is written in normalized form and has no
// pattern that the leading rules would strip before it is looked up.
func TestAliasTable(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range aliasTable {
		p := strings.ReplaceAll(a.pattern, " ", "")
		require.False(t, seen[p], "duplicate pattern %q", a.pattern)
		seen[p] = true
		require.Regexp(t, `^[A-Z0-9]+( [A-Z0-9]+)*$`, a.pattern)
		require.NotContains(t, []string{"THE", "WWW", "DBA"}, strings.Fields(a.pattern)[0])
		require.Equal(t, a.brand, Normalize(a.brand), "brand %q is not its own key", a.brand)
		require.Equal(t, a.brand, Normalize(a.pattern), "pattern %q does not reach its brand", a.pattern)
	}
}

func TestNormalizeLongNames(t *testing.T) {
	long := strings.Repeat("word ", 100) + "#1234"
	require.Equal(t, strings.Repeat("WORD", maxWords), Normalize(long))
	require.True(t, MerchantMatches(long, long))
	require.True(t, MerchantMatches("Word Word", long))
}

func TestAppendNormalizedDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 256)
	names := []string{"AMZN Mktp US*2K4LM0", "SQ *BLUE BOTTLE COFFEE #12", "Café Zoë", "TST* Joe's Pizza #12", "WWW.NETFLIX.COM"}
	allocs := testing.AllocsPerRun(100, func() {
		for _, n := range names {
			buf = AppendNormalized(buf[:0], n)
		}
	})
	require.Zero(t, allocs)
	allocs = testing.AllocsPerRun(100, func() {
		MerchantMatches("Blue Bottle Coffee", "SQ *BLUE BOTTLE")
	})
	require.Zero(t, allocs)
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"AMZN Mktp US*2K4LM0", "SQ *BLUE BOTTLE", "S.A.", "T-0123", "Café", "\xff\xfe", "7-11", "a.b.c.d", "DBA", "www.x.com"} {
		f.Add(s, "DoorDash")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ka := Normalize(a)
		require.NotContains(t, ka, " ")
		require.Equal(t, ka, Normalize(ka), "Normalize is idempotent")
		require.Equal(t, ka, string(AppendNormalized(nil, a)))
		require.Equal(t, MerchantMatches(a, b), MerchantMatches(b, a))
		if ka != "" && ka == Normalize(b) {
			require.True(t, MerchantMatches(a, b), "equal keys match")
		}
		if MerchantMatches(a, b) {
			kb := Normalize(b)
			require.True(t, strings.HasPrefix(ka, kb) || strings.HasPrefix(kb, ka), "a match shares a prefix")
		}
	})
}

// TestNormalizeIsIdempotentAfterStripping is the input FuzzNormalize found:
// a store number glued to an alias hid the alias.
func TestNormalizeIsIdempotentAfterStripping(t *testing.T) {
	for _, in := range []string{"AMZN", "AMZN0000", "AMZN1234"} {
		k := Normalize(in)
		if k != "AMAZON" || Normalize(k) != k {
			t.Fatalf("Normalize(%q) = %q, Normalize of that = %q; want AMAZON both", in, k, Normalize(k))
		}
	}
	if !MerchantMatches("Amazon", "AMZN1234") {
		t.Fatal("AMZN1234 must match Amazon")
	}
}
