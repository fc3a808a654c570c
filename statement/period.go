package statement

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Statement types.
const (
	TypeMonthly = "monthly"
	TypeCustom  = "custom"
)

// IDPrefix starts every statement ID.
const IDPrefix = "stmt_"

// Period is what a statement covers: [Start, End), in epoch seconds.
type Period struct {
	Type       string
	Start, End int64
}

// Month is the monthly period of the calendar month (UTC) holding t.
func Month(t time.Time) Period {
	t = t.UTC()
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return Period{Type: TypeMonthly, Start: start.Unix(), End: start.AddDate(0, 1, 0).Unix()}
}

// Custom is a custom period.
func Custom(start, end int64) Period { return Period{Type: TypeCustom, Start: start, End: end} }

// Previous is the month before a monthly period.
func (p Period) Previous() Period { return Month(time.Unix(p.Start, 0).AddDate(0, -1, 0)) }

// Contains reports whether the instant ms (epoch milliseconds) falls in p.
func (p Period) Contains(ms int64) bool { return ms >= p.Start*1000 && ms < p.End*1000 }

// userPart is the part of a user ID a statement ID carries: the ID
// without its "user_" prefix, which the statement ID's own prefix replaces.
func userPart(userID string) string {
	_, rest, ok := strings.Cut(userID, "_")
	if !ok {
		return userID
	}
	return rest
}

// ID is the statement ID of userID's statement for p.
func ID(userID string, p Period) string {
	if p.Type == TypeMonthly {
		t := time.Unix(p.Start, 0).UTC()
		return fmt.Sprintf("%s%s_m%04d%02d", IDPrefix, userPart(userID), t.Year(), int(t.Month()))
	}
	return fmt.Sprintf("%s%s_c%d_%d", IDPrefix, userPart(userID), p.Start, p.End)
}

// ParseID reads a statement ID of userID's. ok is false when id is not
// the ID of one of userID's statements (whether or not that period has
// a statement yet is the caller's to decide).
func ParseID(userID, id string) (Period, bool) {
	rest, ok := strings.CutPrefix(id, IDPrefix+userPart(userID)+"_")
	if !ok || len(rest) < 2 || len(id) > 128 {
		return Period{}, false
	}
	switch rest[0] {
	case 'm':
		if len(rest) != 7 {
			return Period{}, false
		}
		year, err1 := strconv.Atoi(rest[1:5])
		month, err2 := strconv.Atoi(rest[5:7])
		if err1 != nil || err2 != nil || year < 1970 || month < 1 || month > 12 {
			return Period{}, false
		}
		p := Month(time.Date(year, time.Month(month), 1, 0, 0, 0, 0, time.UTC))
		return p, ID(userID, p) == id
	case 'c':
		a, b, ok := strings.Cut(rest[1:], "_")
		if !ok {
			return Period{}, false
		}
		start, err1 := strconv.ParseInt(a, 10, 64)
		end, err2 := strconv.ParseInt(b, 10, 64)
		if err1 != nil || err2 != nil || start < 0 || end <= start {
			return Period{}, false
		}
		p := Custom(start, end)
		// Only the canonical spelling: "c01_2" is not "c1_2".
		return p, ID(userID, p) == id
	}
	return Period{}, false
}

// Months lists the monthly periods a user created at createdMs has
// statements for at now, newest first, starting with the month before the
// one before (a cursor month; zero Period for the newest) and at most
// limit of them; more reports whether older ones remain.
func Months(createdMs int64, now time.Time, before Period, limit int) (out []Period, more bool) {
	first := Month(time.UnixMilli(createdMs))
	p := Month(now).Previous()
	if before.Type == TypeMonthly && before.Start <= p.Start {
		p = before.Previous()
	}
	for ; p.Start >= first.Start && p.End <= now.Unix(); p = p.Previous() {
		if len(out) == limit {
			return out, true
		}
		out = append(out, p)
	}
	return out, false
}
