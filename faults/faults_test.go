package faults_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/clock"
	"github.com/ledgersim/ledgersim/faults"
)

func i64(v int64) *int64 { return &v }

const card = "card_01hzzzzzzzzzzzzzzzzzzz"

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		spec  faults.Spec
		param string // "" when valid
	}{
		{"noReply, no criteria", faults.Spec{Action: faults.ActionNoReply}, ""},
		{"delay", faults.Spec{Action: faults.ActionDelay, DelayMs: i64(500)}, ""},
		{"respond 91", faults.Spec{Action: faults.ActionRespond, ResponseCode: "91"}, ""},
		{"every criterion", faults.Spec{CardID: card, Last4: "1234", MTI: "0200", AmountMin: i64(1), AmountMax: i64(1),
			Action: faults.ActionDuplicateReply, Percent: i64(0), Count: i64(1)}, ""},
		{"missing action", faults.Spec{}, "action"},
		{"unknown action", faults.Spec{Action: "explode"}, "action"},
		{"delay without delayMs", faults.Spec{Action: faults.ActionDelay}, "delayMs"},
		{"negative delay", faults.Spec{Action: faults.ActionDelay, DelayMs: i64(-1)}, "delayMs"},
		{"zero delay", faults.Spec{Action: faults.ActionDelay, DelayMs: i64(0)}, "delayMs"},
		{"delay too long", faults.Spec{Action: faults.ActionDelay, DelayMs: i64(faults.MaxDelayMs + 1)}, "delayMs"},
		{"delayMs on noReply", faults.Spec{Action: faults.ActionNoReply, DelayMs: i64(5)}, "delayMs"},
		{"respond without code", faults.Spec{Action: faults.ActionRespond}, "responseCode"},
		{"respond 00", faults.Spec{Action: faults.ActionRespond, ResponseCode: "00"}, "responseCode"},
		{"respond 10", faults.Spec{Action: faults.ActionRespond, ResponseCode: "10"}, "responseCode"},
		{"respond lower case", faults.Spec{Action: faults.ActionRespond, ResponseCode: "x1"}, "responseCode"},
		{"respond three characters", faults.Spec{Action: faults.ActionRespond, ResponseCode: "051"}, "responseCode"},
		{"code on delay", faults.Spec{Action: faults.ActionCloseConnection, ResponseCode: "05"}, "responseCode"},
		{"percent above 100", faults.Spec{Action: faults.ActionNoReply, Percent: i64(101)}, "percent"},
		{"percent below 0", faults.Spec{Action: faults.ActionNoReply, Percent: i64(-1)}, "percent"},
		{"count 0", faults.Spec{Action: faults.ActionNoReply, Count: i64(0)}, "count"},
		{"bad card", faults.Spec{Action: faults.ActionNoReply, CardID: "agent_01hzzzzzzzzzzzzzzzzzzz"}, "cardId"},
		{"bad last4", faults.Spec{Action: faults.ActionNoReply, Last4: "12a4"}, "last4"},
		{"0800", faults.Spec{Action: faults.ActionNoReply, MTI: "0800"}, "mti"},
		{"negative amountMin", faults.Spec{Action: faults.ActionNoReply, AmountMin: i64(-1)}, "amountMin"},
		{"max below min", faults.Spec{Action: faults.ActionNoReply, AmountMin: i64(5), AmountMax: i64(4)}, "amountMax"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if tc.param == "" {
				require.NoError(t, err)
				return
			}
			var ie *faults.InputError
			require.ErrorAs(t, err, &ie)
			require.Equal(t, tc.param, ie.Param)
		})
	}
}

func newSet(t *testing.T) (*faults.Set, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := faults.New(faults.Config{Registerer: reg, Clock: clock.NewVirtual(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))})
	require.NoError(t, err)
	return s, reg
}

func TestMatchCriteria(t *testing.T) {
	base := faults.Request{CardID: card, Last4: "1234", MTI: "0100", AmountCents: 500, HasAmount: true}
	tests := []struct {
		name string
		spec faults.Spec
		req  faults.Request
		want bool
	}{
		{"no criteria", faults.Spec{}, base, true},
		{"card", faults.Spec{CardID: card}, base, true},
		{"other card", faults.Spec{CardID: "card_01hyyyyyyyyyyyyyyyyyyy"}, base, false},
		{"card unknown to the request", faults.Spec{CardID: card}, faults.Request{MTI: "0100"}, false},
		{"last4", faults.Spec{Last4: "1234"}, base, true},
		{"other last4", faults.Spec{Last4: "4321"}, base, false},
		{"mti", faults.Spec{MTI: "0100"}, base, true},
		{"other mti", faults.Spec{MTI: "0200"}, base, false},
		{"amount in range", faults.Spec{AmountMin: i64(500), AmountMax: i64(500)}, base, true},
		{"amount below", faults.Spec{AmountMin: i64(501)}, base, false},
		{"amount above", faults.Spec{AmountMax: i64(499)}, base, false},
		{"no amount", faults.Spec{AmountMin: i64(0)}, faults.Request{MTI: "0100"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newSet(t)
			tc.spec.Action = faults.ActionNoReply
			r, err := s.Add(tc.spec, nil)
			require.NoError(t, err)
			require.Equal(t, tc.spec.CardID != "", s.NeedsCardID())
			f, ok := s.Match(&tc.req)
			require.Equal(t, tc.want, ok)
			got, _ := s.Get(r.ID)
			if tc.want {
				require.Equal(t, faults.Fault{RuleID: r.ID, Action: faults.ActionNoReply}, f)
				require.EqualValues(t, 1, got.Matched)
			} else {
				require.EqualValues(t, 0, got.Matched)
			}
		})
	}
}

// pattern matches n requests and writes x for each one picked.
func pattern(s *faults.Set, n int) string {
	var b strings.Builder
	for range n {
		if _, ok := s.Match(&faults.Request{MTI: "0100"}); ok {
			b.WriteByte('x')
		} else {
			b.WriteByte('.')
		}
	}
	return b.String()
}

func TestPercentAndCount(t *testing.T) {
	tests := []struct {
		name           string
		percent, count *int64
		want           string
	}{
		{"default is every request", nil, nil, "xxxxxxxx"},
		{"50 percent: every other one, the first first", i64(50), nil, "x.x.x.x."},
		{"25 percent", i64(25), nil, "x...x..."},
		{"0 percent: none", i64(0), nil, "........"},
		{"count 3", nil, i64(3), "xxx....."},
		{"50 percent, count 2", i64(50), i64(2), "x.x....."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newSet(t)
			r, err := s.Add(faults.Spec{Action: faults.ActionNoReply, Percent: tc.percent, Count: tc.count}, nil)
			require.NoError(t, err)
			require.Equal(t, tc.want, pattern(s, len(tc.want)))
			got, _ := s.Get(r.ID)
			require.EqualValues(t, strings.Count(tc.want, "x"), got.Matched)
		})
	}
	t.Run("1 percent picks 1 in 100", func(t *testing.T) {
		s, _ := newSet(t)
		_, err := s.Add(faults.Spec{Action: faults.ActionNoReply, Percent: i64(1)}, nil)
		require.NoError(t, err)
		require.Equal(t, 10, strings.Count(pattern(s, 1000), "x"))
	})
}

// TestOrderAndFallThrough: the first rule that applies wins; one whose
// percentage passes a request over, or whose count is spent, leaves it to
// the next.
func TestOrderAndFallThrough(t *testing.T) {
	s, reg := newSet(t)
	first, err := s.Add(faults.Spec{Action: faults.ActionDelay, DelayMs: i64(250), Percent: i64(50)}, nil)
	require.NoError(t, err)
	second, err := s.Add(faults.Spec{Action: faults.ActionRespond, ResponseCode: "91", Count: i64(2)}, nil)
	require.NoError(t, err)
	var got []faults.Fault
	for range 5 {
		f, _ := s.Match(&faults.Request{MTI: "0100"})
		got = append(got, f)
	}
	delay := faults.Fault{RuleID: first.ID, Action: faults.ActionDelay, Delay: 250 * time.Millisecond}
	respond := faults.Fault{RuleID: second.ID, Action: faults.ActionRespond, ResponseCode: "91"}
	require.Equal(t, []faults.Fault{delay, respond, delay, respond, delay}, got)

	list := s.List()
	require.Len(t, list, 2)
	require.Equal(t, first.ID, list[0].ID)
	require.EqualValues(t, 3, list[0].Matched)
	require.EqualValues(t, 2, list[1].Matched)
	require.True(t, list[1].Exhausted())
	require.True(t, strings.HasPrefix(first.ID, "flt_"))

	require.Equal(t, 3.0, injected(t, reg, faults.ActionDelay))
	require.Equal(t, 2.0, injected(t, reg, faults.ActionRespond))
	require.Equal(t, 0.0, injected(t, reg, faults.ActionNoReply), "every action is exported from the start")

	require.True(t, s.Delete(first.ID))
	require.False(t, s.Delete(first.ID))
	require.True(t, s.Delete(second.ID))
	require.False(t, s.Active())
	_, ok := s.Match(&faults.Request{MTI: "0100"})
	require.False(t, ok)
}

func injected(t *testing.T, reg *prometheus.Registry, action string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "ledgersim_faults_injected_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == action {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series for %s", action)
	return 0
}

func TestRulesAreCopies(t *testing.T) {
	s, _ := newSet(t)
	spec := faults.Spec{Action: faults.ActionNoReply, AmountMin: i64(10)}
	r, err := s.Add(spec, nil)
	require.NoError(t, err)
	*spec.AmountMin, *r.AmountMin = 0, 0
	_, ok := s.Match(&faults.Request{MTI: "0100", AmountCents: 5, HasAmount: true})
	require.False(t, ok, "changing what Add was given or returned changes no rule in force")
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, raw, err string
		n              int
	}{
		{"two rules", `[{"action":"noReply","percent":1},{"action":"delay","delayMs":300,"mti":"0200"}]`, "", 2},
		{"empty", `[]`, "", 0},
		{"not an array", `{"action":"noReply"}`, "not a JSON array", 0},
		{"unknown field", `[{"action":"noReply","pecent":1}]`, "rule 0", 0},
		{"wrong type", `[{"action":"noReply"},{"action":"delay","delayMs":"300"}]`, "rule 1", 0},
		{"invalid rule", `[{"action":"respond","responseCode":"00"}]`, "rule 0: responseCode", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			specs, err := faults.Parse([]byte(tc.raw))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Len(t, specs, tc.n)
		})
	}
}

func TestAddBeforeFailsAddsNothing(t *testing.T) {
	s, _ := newSet(t)
	var seen faults.Rule
	_, err := s.Add(faults.Spec{Action: faults.ActionNoReply}, func(r faults.Rule) error {
		seen = r
		return errors.New("not recorded")
	})
	require.ErrorContains(t, err, "not recorded")
	require.True(t, strings.HasPrefix(seen.ID, "flt_"), "before sees the rule's ID")
	require.Empty(t, s.List())
	require.False(t, s.Active())
}
