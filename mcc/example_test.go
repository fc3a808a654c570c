package mcc_test

import (
	"fmt"

	"github.com/ledgersim/ledgersim/mcc"
)

func ExampleName() {
	for _, code := range []string{"5812", "3005", "3003", "3300", "58a2"} {
		name, ok := mcc.Name(code)
		fmt.Printf("%s %q %v\n", code, name, ok)
	}
	// Output:
	// 5812 "Restaurants" true
	// 3005 "BRITISH AIRWAYS" true
	// 3003 "Airlines" true
	// 3300 "" false
	// 58a2 "" false
}

func ExampleValid() {
	fmt.Println(mcc.Valid("5411"), mcc.Valid("541"), mcc.Valid("54a1"))
	// Output: true false false
}
