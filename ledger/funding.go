package ledger

import (
	"crypto/sha256"
	"encoding/hex"
)

// Chain is a network deposits arrive on.
type Chain struct {
	Name string
	ID   int
}

// Chains are the networks the platform accepts USDC and USDT on.
var Chains = []Chain{{"polygon", 137}, {"base", 8453}, {"optimism", 10}, {"arbitrum", 42161}, {"avalanche", 43114}}

// Assets are the stablecoins a deposit may be made in.
var Assets = []string{"USDC", "USDT"}

func chainByName(name string) (Chain, bool) {
	for _, c := range Chains {
		if c.Name == name {
			return c, true
		}
	}
	return Chain{}, false
}

// FundingAddress is where a user deposits an asset on a chain.
type FundingAddress struct {
	Asset   string `json:"asset"`
	Chain   string `json:"chain"`
	ChainID int    `json:"chainId"`
	Address string `json:"address"`
}

// FundingAddresses lists a user's deposit addresses. An address is derived
// from the user ID and the chain, so it is stable without being stored; one
// address per chain serves every asset on it, as on the platform.
func FundingAddresses(userID string) []FundingAddress {
	out := make([]FundingAddress, 0, len(Chains)*len(Assets))
	for _, c := range Chains {
		addr := depositAddress(userID, c.Name)
		for _, a := range Assets {
			out = append(out, FundingAddress{Asset: a, Chain: c.Name, ChainID: c.ID, Address: addr})
		}
	}
	return out
}

func depositAddress(userID, chain string) string {
	h := sha256.Sum256([]byte("ledgersim/deposit/" + chain + "/" + userID))
	return "0x" + hex.EncodeToString(h[:20])
}
