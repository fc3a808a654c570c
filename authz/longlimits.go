package authz

import (
	"math"
	"time"

	"github.com/ledgersim/ledgersim/model"
)

// The card's weekly, yearly and lifetime limits. They come from an agent's
// defaultCardLimit with the frequencies perWeek, perYear and allTime; the
// platform's card object has only perAuth, perDay and perMonth, so without
// these a default given with the other frequencies would not limit at all.

// WeekSpend is the card's authorized spend in now's ISO week (UTC).
func WeekSpend(c *model.Card, now time.Time) int64 {
	if c.Usage.WeekStart != WeekStart(now) {
		return 0
	}
	return c.Usage.WeekCents
}

// YearSpend is the card's authorized spend in now's UTC calendar year.
func YearSpend(c *model.Card, now time.Time) int64 {
	if c.Usage.YearStart != YearStart(now) {
		return 0
	}
	return c.Usage.YearCents
}

// withinLongLimits reports whether amt more keeps the card within its
// weekly, yearly and lifetime limits.
func withinLongLimits(c *model.Card, now time.Time, amt int64) bool {
	return longLimitsLeft(c, now) >= amt
}

// longLimitsLeft is what the weekly, yearly and lifetime limits leave
// (MaxInt64 when the card has none of them).
func longLimitsLeft(c *model.Card, now time.Time) int64 {
	left := int64(math.MaxInt64)
	if l := c.Limits.PerWeek; l != nil {
		left = min(left, *l-WeekSpend(c, now))
	}
	if l := c.Limits.PerYear; l != nil {
		left = min(left, *l-YearSpend(c, now))
	}
	if l := c.Limits.AllTime; l != nil {
		left = min(left, *l-c.Usage.TotalCents)
	}
	return left
}

func addLongSpend(c *model.Card, now time.Time, amount int64) {
	if ws := WeekStart(now); c.Usage.WeekStart != ws {
		c.Usage.WeekStart, c.Usage.WeekCents = ws, 0
	}
	if ys := YearStart(now); c.Usage.YearStart != ys {
		c.Usage.YearStart, c.Usage.YearCents = ys, 0
	}
	c.Usage.WeekCents += amount
	c.Usage.YearCents += amount
}

func adjustLongSpend(c *model.Card, when time.Time, delta int64) {
	if c.Usage.WeekStart == WeekStart(when) {
		c.Usage.WeekCents = max(0, c.Usage.WeekCents+delta)
	}
	if c.Usage.YearStart == YearStart(when) {
		c.Usage.YearCents = max(0, c.Usage.YearCents+delta)
	}
}
