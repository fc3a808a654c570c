package matcher_test

import (
	"fmt"

	"github.com/ledgersim/ledgersim/matcher"
)

func Example() {
	nowMs := int64(1_703_520_000_000)
	ix := matcher.NewIndex()
	ix.Add(matcher.Pending{
		ID: "int_abc123", CardID: "card_xyz789",
		HasAmount: true, ExpectedCents: 2500, ToleranceCents: 500,
		Merchant:  "DoorDash",
		CreatedMs: nowMs, ExpiresMs: nowMs + 30*60*1000,
	})
	ix.Add(matcher.Pending{
		ID: "int_def456", CardID: "card_xyz789",
		HasAmount: true, ExpectedCents: 2500, ToleranceCents: 500,
		Merchant:  "DoorDash",
		CreatedMs: nowMs + 1000, ExpiresMs: nowMs + 30*60*1000,
	})

	// Within tolerance at the expected merchant: the older intent matches.
	fmt.Printf("%+v\n", ix.Match("card_xyz789", 2450, "DOORDASH*BURGERPLACE", nowMs+60_000))
	// Too much: the remaining intent is mismatched on amount.
	fmt.Printf("%+v\n", ix.Match("card_xyz789", 5000, "DOORDASH", nowMs+120_000))
	// Nothing left pending.
	fmt.Printf("%+v\n", ix.Match("card_xyz789", 5000, "DOORDASH", nowMs+180_000))
	// Output:
	// {Found:true Matched:true IntentID:int_abc123 AmountMatch:true MerchantMatch:true}
	// {Found:true Matched:false IntentID:int_def456 AmountMatch:false MerchantMatch:true}
	// {Found:false Matched:false IntentID: AmountMatch:false MerchantMatch:false}
}

func ExampleMerchantMatches() {
	fmt.Println(matcher.MerchantMatches("Blue Bottle Coffee", "SQ *BLUE BOTTLE"))
	fmt.Println(matcher.MerchantMatches("Amazon", "AMZN Mktp US*2K4LM0"))
	fmt.Println(matcher.MerchantMatches("Apple", "APPLEBEES #44"))
	// Output:
	// true
	// true
	// false
}

func ExampleNormalize() {
	fmt.Println(matcher.Normalize("TST* Joe's Pizza #12"))
	fmt.Println(matcher.Normalize("Starbucks Store 1234"))
	fmt.Println(matcher.Normalize("UBER *EATS"))
	// Output:
	// JOESPIZZA
	// STARBUCKS
	// UBEREATS
}
