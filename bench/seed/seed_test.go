package seed

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/loadtest"
)

func TestLoadFromStateFile(t *testing.T) {
	t.Parallel()
	cards := loadtest.SyntheticCards(7, 3)
	// Five cards of one user, two of another, as Provision makes them.
	for i := range cards {
		cards[i].UserID = "user_a"
		if i >= 5 {
			cards[i].UserID = "user_b"
		}
	}
	cards[6].MaxAmountCents = 12_345
	st := &loadtest.State{Version: 1, CreatedAt: time.Now().UTC(), Cards: cards}
	path := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, st.Save(path))

	s, err := Load(path, 777)
	require.NoError(t, err)
	require.Len(t, s.Cards, 7)
	assert.Equal(t, []Account{{ID: "user_a", BalanceCents: 777}, {ID: "user_b", BalanceCents: 777}}, s.Accounts,
		"cards of one user share its account")
	for i, c := range s.Cards {
		src := cards[i]
		assert.Equal(t, src.PAN, c.PAN)
		assert.Equal(t, src.CVV, c.CVV)
		assert.Equal(t, src.ExpYear[2:]+src.ExpMonth, c.Expiry, "DE 14 form, YYMM")
		assert.Equal(t, src.MaxAmountCents, c.MaxAmountCents)
		assert.Equal(t, StatusActive, c.Status)
	}
	assert.Equal(t, int64(12_345), s.Cards[6].MaxAmountCents)
	assert.Equal(t, "user_b", s.Cards[6].AccountID)
}

func TestSyntheticCardsGetOwnAccounts(t *testing.T) {
	t.Parallel()
	s, err := FromState(&loadtest.State{Cards: loadtest.SyntheticCards(3, 1)}, DefaultBalanceCents)
	require.NoError(t, err)
	require.Len(t, s.Accounts, 3)
	for i, c := range s.Cards {
		assert.Equal(t, s.Accounts[i].ID, c.AccountID)
		assert.Equal(t, int64(DefaultBalanceCents), s.Accounts[i].BalanceCents)
	}
}

func TestSeedErrors(t *testing.T) {
	t.Parallel()
	_, err := FromState(&loadtest.State{}, 1)
	assert.Error(t, err, "no cards")
	cards := loadtest.SyntheticCards(2, 1)
	_, err = FromState(&loadtest.State{Cards: cards}, 0)
	assert.Error(t, err, "zero balance")
	cards[1].PAN = cards[0].PAN
	_, err = FromState(&loadtest.State{Cards: cards}, 1)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), cards[0].PAN, "errors mask the PAN")

	_, err = Load(filepath.Join(t.TempDir(), "missing.json"), 1)
	assert.Error(t, err)
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"version":1,"cards":[{"pan":"12"}]}`), 0o600))
	_, err = Load(bad, 1)
	assert.Error(t, err, "the state file's cards are checked")
}

func TestCardStringMasks(t *testing.T) {
	t.Parallel()
	c := Card{PAN: "4000001234567899", CVV: "123"}
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		assert.NotContains(t, s, c.PAN)
		assert.False(t, strings.Contains(s, "123 "), s)
	}
}
