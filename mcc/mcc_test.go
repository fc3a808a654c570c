package mcc

import (
	"fmt"
	"testing"
)

func TestName(t *testing.T) {
	tests := []struct {
		code   string
		want   string
		wantOK bool
	}{
		// Platform short names.
		{"5411", "Grocery Stores", true},
		{"5812", "Restaurants", true},
		{"5814", "Fast Food", true},
		{"5942", "Book Stores", true},
		{"7011", "Hotels", true},

		// Ordinary entries, including the ends of the table and a
		// zero-padded code.
		{"0742", "Veterinary Services", true},
		{"9950", "Intra – Company Purchases (For Visa Only)", true},
		{"5999", "Miscellaneous and Specialty Retail Stores", true},
		{"6011", "Financial Institutions – Automated Cash Disbursements", true},

		// Brand entries.
		{"3000", "UNITED AIRLINES", true},
		{"3069", "SUN COUNTRY AIRLINES", true},
		{"3299", "WIDERO’S FLYVESELSKAP", true},
		{"3357", "HERTZ RENT-A-CAR", true},
		{"3389", "AVIS RENT-A-CAR", true},
		{"3504", "HILTON HOTELS", true},
		{"3816", "Home2Suites", true},
		{"3835", "MASTERS ECONOMY INNS", true},

		// Range fallbacks.
		{"3003", "Airlines", true},
		{"3298", "AIR MAURITIUS", true},
		{"3297", "Airlines", true},
		{"3351", "AFFILIATED AUTO RENTAL", true},
		{"3441", "Car Rental Agencies", true},
		{"3500", "Car Rental Agencies", true},
		{"3501", "HOLIDAY INNS, HOLIDAY INN EXPRESS", true},
		{"3514", "Hotels, Motels, Resorts", true},
		{"3790", "Hotels, Motels, Resorts", true},
		{"3999", "Hotels, Motels, Resorts", true},

		// Well-formed but unknown.
		{"0000", "", false},
		{"3300", "", false},
		{"3350", "", false},
		{"4000", "", false},
		{"9999", "", false},

		// Malformed.
		{"", "", false},
		{"58", "", false},
		{"58a2", "", false},
		{"12345", "", false},
		{" 581", "", false},
		{"581 ", "", false},
		{"-581", "", false},
		{"５８１２", "", false}, // full-width digits are not ASCII
	}
	for _, tt := range tests {
		got, ok := Name(tt.code)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Name(%q) = %q, %v; want %q, %v", tt.code, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"5812", true},
		{"0000", true},
		{"9999", true},
		{"3300", true}, // valid shape even though unknown
		{"", false},
		{"58", false},
		{"58a2", false},
		{"12345", false},
		{"/000", false}, // '/' is just below '0'
		{"000:", false}, // ':' is just above '9'
	}
	for _, tt := range tests {
		if got := Valid(tt.code); got != tt.want {
			t.Errorf("Valid(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestTableSorted(t *testing.T) {
	if len(table) == 0 {
		t.Fatal("table is empty")
	}
	for i := 1; i < len(table); i++ {
		if table[i-1].code == table[i].code {
			t.Errorf("duplicate code %04d at index %d", table[i].code, i)
		} else if table[i-1].code > table[i].code {
			t.Errorf("table not sorted at index %d: %04d before %04d", i, table[i-1].code, table[i].code)
		}
	}
}

func TestTableEntries(t *testing.T) {
	for _, e := range table {
		if e.code > 9999 {
			t.Errorf("code %d has more than 4 digits", e.code)
		}
		if e.name == "" {
			t.Errorf("code %04d has an empty name", e.code)
		}
		// Every entry must be reachable through the public API.
		code := fmt.Sprintf("%04d", e.code)
		if got, ok := Name(code); !ok || got != e.name {
			t.Errorf("Name(%q) = %q, %v; want %q, true", code, got, ok, e.name)
		}
	}
}

// TestEveryValidCode checks all 10000 well-formed codes: known ones have a
// name, and the answer agrees with a linear scan plus the range rules.
func TestEveryValidCode(t *testing.T) {
	for n := 0; n <= 9999; n++ {
		code := fmt.Sprintf("%04d", n)
		want, wantOK := "", false
		for _, e := range table {
			if int(e.code) == n {
				want, wantOK = e.name, true
			}
		}
		if !wantOK {
			switch {
			case n >= 3000 && n <= 3299:
				want, wantOK = "Airlines", true
			case n >= 3351 && n <= 3500:
				want, wantOK = "Car Rental Agencies", true
			case n >= 3501 && n <= 3999:
				want, wantOK = "Hotels, Motels, Resorts", true
			}
		}
		got, ok := Name(code)
		if got != want || ok != wantOK {
			t.Fatalf("Name(%q) = %q, %v; want %q, %v", code, got, ok, want, wantOK)
		}
		if ok && got == "" {
			t.Fatalf("Name(%q) ok with empty name", code)
		}
	}
}

func TestNameAllocs(t *testing.T) {
	codes := []string{"5812", "3003", "3300", "58a2", ""}
	for _, c := range codes {
		if n := testing.AllocsPerRun(100, func() { _, _ = Name(c) }); n != 0 {
			t.Errorf("Name(%q) allocates %v times per call", c, n)
		}
	}
}

var sinkName string
var sinkOK bool

func BenchmarkName(b *testing.B) {
	codes := []string{"5411", "5812", "3003", "3504", "7011", "9950", "0742", "3300", "58a2"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sinkName, sinkOK = Name(codes[i%len(codes)])
	}
}
