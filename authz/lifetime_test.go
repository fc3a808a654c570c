package authz

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

// TestLifetimeEnd: a card past its lifetime declines 54 card_expired
// whatever its status, and the decision says what the end does to the
// card until the end is recorded.
func TestLifetimeEnd(t *testing.T) {
	created := now.Add(-48 * time.Hour)
	tests := []struct {
		name   string
		mutate func(c *model.Card)
		code   string
		action string
		reason string
	}{
		{"lifetime lasts", func(c *model.Card) { c.TTLMinutes = i64(48*60 + 1) }, CodeApproved, "", ""},
		{"ttlMinutes, onExpiry default", func(c *model.Card) { c.TTLMinutes = i64(60) }, CodeExpiredCard, model.ExpiryFreeze, ExpiryTTL},
		{"ttlMinutes, onExpiry close", func(c *model.Card) { c.TTLMinutes, c.OnExpiry = i64(60), model.ExpiryClose }, CodeExpiredCard, model.ExpiryClose, ExpiryTTL},
		{"ttlDays", func(c *model.Card) { c.TTLDays = i64(1) }, CodeExpiredCard, model.ExpiryClose, ExpiryTTLDays},
		{"ttlDays ends first of both", func(c *model.Card) { c.TTLDays, c.TTLMinutes = i64(1), i64(47*60) }, CodeExpiredCard, model.ExpiryFreeze, ExpiryTTL},
		{"expiry month over", func(c *model.Card) { c.ExpYear, c.ExpMonth = "2026", "02" }, CodeExpiredCard, model.ExpiryClose, ExpiryDate},
		{"frozen card past its lifetime", func(c *model.Card) { c.TTLDays, c.Status = i64(1), model.CardFrozen }, CodeExpiredCard, model.ExpiryClose, ExpiryTTLDays},
		{"end already recorded", func(c *model.Card) { c.TTLMinutes, c.Status, c.ExpiredAt = i64(60), model.CardFrozen, 1 }, CodeExpiredCard, "", ""},
		{"unfrozen after its end", func(c *model.Card) { c.TTLMinutes, c.ExpiredAt = i64(60), 1 }, CodeExpiredCard, "", ""},
		{"closed card", func(c *model.Card) { c.TTLDays, c.Status = i64(1), model.CardClosed }, CodeExpiredCard, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c, a, u := baseInput()
			c.CreatedAt = created.UnixMilli()
			tt.mutate(c)
			d := Decide(&Input{Req: r, Card: c, Agent: a, User: u, Now: now})
			require.Equal(t, tt.code, d.Code, d.Reason)
			if tt.code == CodeExpiredCard {
				require.Equal(t, ReasonExpiredCard, d.Reason)
			}
			require.Equal(t, tt.action, d.Expire)
			require.Equal(t, tt.reason, d.ExpireReason)
		})
	}
}
