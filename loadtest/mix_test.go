package loadtest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMixValid(t *testing.T) {
	m, err := ParseMix("auth=70,clear=10,reversal=5,refund=3,repeat=5,decline=5,intent=2")
	require.NoError(t, err)
	assert.Equal(t, DefaultMix, m)

	m, err = ParseMix(" intent = 50 , auth=50 ")
	require.NoError(t, err, "order and spaces do not matter")
	assert.Equal(t, Mix{Auth: 50, Intent: 50}, m)

	m, err = ParseMix("auth=100,clear=0")
	require.NoError(t, err)
	assert.Equal(t, Mix{Auth: 100}, m)

	m, err = ParseMix("")
	require.NoError(t, err)
	assert.Equal(t, DefaultMix, m, "empty is the default mix")

	back, err := ParseMix(DefaultMix.String())
	require.NoError(t, err)
	assert.Equal(t, DefaultMix, back, "String round-trips")
}

func TestParseMixInvalid(t *testing.T) {
	for _, s := range []string{
		"auth=70,clear=10",      // adds up to 80: rejected, not normalized
		"auth=70,clear=40",      // adds up to 110
		"auth=100,bogus=0",      // unknown kind
		"auth=50,auth=50",       // twice
		"auth=-10,clear=110",    // negative, over 100
		"auth=seventy,clear=30", // not a number
		"auth=99.5,clear=0.5",   // not a whole percentage
		"auth",                  // no '='
		"=100",                  // no name
		"auth=100,",             // empty part
	} {
		_, err := ParseMix(s)
		assert.Error(t, err, "%q", s)
	}
	_, err := ParseMix("auth=70,clear=10")
	assert.ErrorContains(t, err, "add up to 80")
}

func TestMixTable(t *testing.T) {
	m := Mix{Auth: 60, Clear: 10, Reversal: 5, Refund: 5, Repeat: 5, Decline: 5, Intent: 10}
	count := func(tab [100]Kind) map[Kind]int {
		c := map[Kind]int{}
		for _, k := range tab {
			c[k]++
		}
		return c
	}
	c := count(m.table(true))
	assert.Equal(t, map[Kind]int{KindAuth: 60, KindClear: 10, KindReversal: 5, KindRefund: 5, KindRepeat: 5,
		KindDeclineExpiry: 3, KindDeclineLimit: 2, KindIntent: 10}, c)
	c = count(m.table(false))
	assert.Equal(t, 70, c[KindAuth], "without intent cards the intent share is auth")
	assert.Zero(t, c[KindIntent])
}

func TestConfigValidation(t *testing.T) {
	good := Config{Target: "127.0.0.1:1", Cards: SyntheticCards(2, 1)}.withDefaults()
	require.NoError(t, good.validate())
	assert.Equal(t, DefaultConns, good.Conns)
	assert.Equal(t, DefaultRate, good.Rate)
	assert.Equal(t, DefaultTimeout, good.Timeout)
	assert.Equal(t, DefaultMix, good.Mix)

	bad := func(f func(*Config)) error {
		c := good
		f(&c)
		return c.validate()
	}
	assert.Error(t, bad(func(c *Config) { c.Target = "" }))
	assert.Error(t, bad(func(c *Config) { c.Target = "no-port" }))
	assert.Error(t, bad(func(c *Config) { c.Conns = 0 }))
	assert.Error(t, bad(func(c *Config) { c.Rate = -1 }))
	assert.Error(t, bad(func(c *Config) { c.Timeout = 2 * HistogramMax }))
	assert.Error(t, bad(func(c *Config) { c.Mix = Mix{Auth: 90} }))
	assert.Error(t, bad(func(c *Config) { c.Cards = nil }))
	assert.Error(t, bad(func(c *Config) { c.RunID = "abc" }))
	assert.Error(t, bad(func(c *Config) { c.Framing = 7 }))
	err := bad(func(c *Config) {
		c.Cards = SyntheticCards(1, 1)
		c.Cards[0].CVV = "x"
	})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), good.Cards[0].PAN, "errors never carry a PAN")
}

func TestParseMixAcquirer(t *testing.T) {
	m, err := ParseMix("acquirer")
	require.NoError(t, err)
	assert.Equal(t, AcquirerMix, m)
	back, err := ParseMix(AcquirerMix.String())
	require.NoError(t, err)
	assert.Equal(t, AcquirerMix, back, "String round-trips")
	assert.Equal(t, "auth=70,clear=10,reversal=5,refund=3,repeat=5,decline=5,intent=2", DefaultMix.String(),
		"the acquirer's shares are written only when they are not 0")
	tbl := AcquirerMix.table(true)
	seen := map[Kind]int{}
	for _, k := range tbl {
		seen[k]++
	}
	assert.Equal(t, 4, seen[KindPartial])
	assert.Equal(t, 1, seen[KindEcho])
	assert.Zero(t, seen[KindTimeoutReversal], "reversals of timeouts are not drawn")
}
