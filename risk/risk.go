package risk

import (
	"fmt"
	"math"
)

// Actions.
const (
	ActionAlert        = "alert"         // an event; the transaction stands
	ActionFreezeCard   = "freeze_card"   // the card is frozen once the transaction is recorded
	ActionSuspendAgent = "suspend_agent" // the agent is suspended and its cards frozen
)

// Actions lists every action.
var Actions = []string{ActionAlert, ActionFreezeCard, ActionSuspendAgent}

// Presets.
const (
	PresetPermissive = "permissive"
	PresetModerate   = "moderate"
	PresetStrict     = "strict"
	PresetParanoid   = "paranoid"
	PresetCustom     = "custom"
)

// Presets lists the presets that can be applied.
var Presets = []string{PresetPermissive, PresetModerate, PresetStrict, PresetParanoid}

// Rule names, as the settings object names them.
const (
	RuleDuplicate  = "duplicateDetection"
	RuleVelocity   = "velocityLimit"
	RuleSpendSpike = "spendSpike"
	RuleUnattested = "unattestedSpend"
	RuleIntent     = "intentMismatch"
	RuleCooldown   = "cooldownViolation"
	RuleDrift      = "merchantDrift"
)

// Rules lists every rule name in the settings' order.
var Rules = []string{RuleDuplicate, RuleVelocity, RuleSpendSpike, RuleUnattested, RuleIntent, RuleCooldown, RuleDrift}

// DuplicateRule flags the same merchant and amount twice within a window.
type DuplicateRule struct {
	Enabled       bool   `json:"enabled"`
	WindowMinutes int64  `json:"windowMinutes"`
	Action        string `json:"action"`
}

// VelocityRule bounds the number of purchases per hour and per day.
type VelocityRule struct {
	Enabled    bool   `json:"enabled"`
	MaxPerHour int64  `json:"maxPerHour"`
	MaxPerDay  int64  `json:"maxPerDay"`
	Action     string `json:"action"`
}

// SpikeRule compares recent spend with a baseline.
type SpikeRule struct {
	Enabled       bool    `json:"enabled"`
	Multiplier    float64 `json:"multiplier"`
	WindowMinutes int64   `json:"windowMinutes"`
	BaselineDays  int64   `json:"baselineDays"`
	Action        string  `json:"action"`
}

// SimpleRule is a rule with no parameters.
type SimpleRule struct {
	Enabled bool   `json:"enabled"`
	Action  string `json:"action"`
}

// Settings are the risk configuration in force at one scope.
type Settings struct {
	Preset             string        `json:"preset"`
	DryRun             bool          `json:"dryRun"`
	DuplicateDetection DuplicateRule `json:"duplicateDetection"`
	VelocityLimit      VelocityRule  `json:"velocityLimit"`
	SpendSpike         SpikeRule     `json:"spendSpike"`
	UnattestedSpend    SimpleRule    `json:"unattestedSpend"`
	IntentMismatch     SimpleRule    `json:"intentMismatch"`
	CooldownViolation  SimpleRule    `json:"cooldownViolation"`
	MerchantDrift      SimpleRule    `json:"merchantDrift"`
}

// Off is the configuration of an organization that has set none: every
// rule disabled, so that nothing happens until risk is configured.
func Off() Settings {
	s := MustPreset(PresetModerate)
	s.Preset = PresetCustom
	s.DuplicateDetection.Enabled, s.VelocityLimit.Enabled, s.SpendSpike.Enabled = false, false, false
	s.UnattestedSpend.Enabled, s.IntentMismatch.Enabled, s.CooldownViolation.Enabled, s.MerchantDrift.Enabled = false, false, false, false
	return s
}

// Preset returns a preset's settings: permissive alerts only; moderate is
// the balanced starting point; strict freezes cards; paranoid suspends
// agents.
func Preset(name string) (Settings, bool) {
	s := Settings{Preset: name,
		DuplicateDetection: DuplicateRule{Enabled: true, WindowMinutes: 5, Action: ActionFreezeCard},
		VelocityLimit:      VelocityRule{Enabled: true, MaxPerHour: 20, MaxPerDay: 100, Action: ActionAlert},
		SpendSpike:         SpikeRule{Enabled: true, Multiplier: 3.0, WindowMinutes: 60, BaselineDays: 7, Action: ActionFreezeCard},
		UnattestedSpend:    SimpleRule{Enabled: true, Action: ActionAlert},
		IntentMismatch:     SimpleRule{Enabled: true, Action: ActionAlert},
		CooldownViolation:  SimpleRule{Enabled: true, Action: ActionAlert},
		MerchantDrift:      SimpleRule{Enabled: true, Action: ActionAlert},
	}
	switch name {
	case PresetModerate:
	case PresetPermissive:
		s.setAll(ActionAlert)
		s.VelocityLimit.MaxPerHour, s.VelocityLimit.MaxPerDay = 50, 500
		s.SpendSpike.Multiplier = 5.0
	case PresetStrict:
		s.setAll(ActionFreezeCard)
		s.VelocityLimit.MaxPerHour, s.VelocityLimit.MaxPerDay = 10, 50
		s.SpendSpike.Multiplier = 2.0
		s.DuplicateDetection.WindowMinutes = 15
	case PresetParanoid:
		s.setAll(ActionSuspendAgent)
		s.VelocityLimit.MaxPerHour, s.VelocityLimit.MaxPerDay = 5, 20
		s.SpendSpike.Multiplier = 1.5
		s.DuplicateDetection.WindowMinutes = 60
	default:
		return Settings{}, false
	}
	return s, true
}

// MustPreset is Preset for a name known to exist.
func MustPreset(name string) Settings {
	s, ok := Preset(name)
	if !ok {
		panic(fmt.Sprintf("risk: no preset %q", name))
	}
	return s
}

func (s *Settings) setAll(action string) {
	s.DuplicateDetection.Action, s.VelocityLimit.Action, s.SpendSpike.Action = action, action, action
	s.UnattestedSpend.Action, s.IntentMismatch.Action, s.CooldownViolation.Action, s.MerchantDrift.Action = action, action, action, action
}

// Overlay is an agent's or a card's own settings: each rule it sets
// replaces the one it inherits whole; nil inherits.
type Overlay struct {
	DryRun             *bool          `json:"dryRun,omitempty"`
	DuplicateDetection *DuplicateRule `json:"duplicateDetection,omitempty"`
	VelocityLimit      *VelocityRule  `json:"velocityLimit,omitempty"`
	SpendSpike         *SpikeRule     `json:"spendSpike,omitempty"`
	UnattestedSpend    *SimpleRule    `json:"unattestedSpend,omitempty"`
	IntentMismatch     *SimpleRule    `json:"intentMismatch,omitempty"`
	CooldownViolation  *SimpleRule    `json:"cooldownViolation,omitempty"`
	MerchantDrift      *SimpleRule    `json:"merchantDrift,omitempty"`
}

// Empty reports whether the overlay sets nothing.
func (o *Overlay) Empty() bool { return o == nil || *o == Overlay{} }

// Resolve lays the overlays, in order (an agent's, then a card's), over
// the organization's settings: the inheritance organization → agent →
// card. A scope that sets anything makes the preset "custom".
func Resolve(org Settings, overlays ...*Overlay) Settings {
	s := org
	for _, o := range overlays {
		if o.Empty() {
			continue
		}
		s.Preset = PresetCustom
		if o.DryRun != nil {
			s.DryRun = *o.DryRun
		}
		if o.DuplicateDetection != nil {
			s.DuplicateDetection = *o.DuplicateDetection
		}
		if o.VelocityLimit != nil {
			s.VelocityLimit = *o.VelocityLimit
		}
		if o.SpendSpike != nil {
			s.SpendSpike = *o.SpendSpike
		}
		if o.UnattestedSpend != nil {
			s.UnattestedSpend = *o.UnattestedSpend
		}
		if o.IntentMismatch != nil {
			s.IntentMismatch = *o.IntentMismatch
		}
		if o.CooldownViolation != nil {
			s.CooldownViolation = *o.CooldownViolation
		}
		if o.MerchantDrift != nil {
			s.MerchantDrift = *o.MerchantDrift
		}
	}
	return s
}

// Any reports whether any rule is enabled: when none is, the ledger need
// not gather a transaction's history.
func (s *Settings) Any() bool {
	return s.DuplicateDetection.Enabled || s.VelocityLimit.Enabled || s.SpendSpike.Enabled || s.UnattestedSpend.Enabled ||
		s.IntentMismatch.Enabled || s.CooldownViolation.Enabled || s.MerchantDrift.Enabled
}

// NeedsHistory reports whether an enabled rule reads the card's past
// purchases.
func (s *Settings) NeedsHistory() bool {
	return s.DuplicateDetection.Enabled || s.VelocityLimit.Enabled || s.SpendSpike.Enabled
}

// HistoryMs is how far back the rules look, in milliseconds.
func (s *Settings) HistoryMs() int64 {
	var ms int64
	if s.DuplicateDetection.Enabled {
		ms = max(ms, s.DuplicateDetection.WindowMinutes*minuteMs)
	}
	if s.VelocityLimit.Enabled {
		ms = max(ms, dayMs)
	}
	if s.SpendSpike.Enabled {
		ms = max(ms, s.SpendSpike.BaselineDays*dayMs+s.SpendSpike.WindowMinutes*minuteMs)
	}
	return ms
}

const (
	minuteMs = int64(60_000)
	hourMs   = 60 * minuteMs
	dayMs    = 24 * hourMs
)

// Purchase is one approved purchase of the card's past.
type Purchase struct {
	AtMs        int64
	AmountCents int64
	MerchantKey string
}

// Input is one transaction and what the rules read.
type Input struct {
	NowMs       int64
	Approved    bool
	AmountCents int64
	MerchantKey string
	// Unattested: an approved purchase with no credential access behind it.
	Unattested bool
	// IntentMismatched: the purchase did not match its declared intent.
	IntentMismatched bool
	// CooldownDeclined: the attempt was declined for the card's cooldown.
	CooldownDeclined bool
	// Drift: the merchant differs from the card's merchantHint.
	Drift bool
	// History is the card's approved purchases before this one, within
	// Settings.HistoryMs, in any order.
	History []Purchase
}

// Finding is one rule that fired and the action it asks for.
type Finding struct {
	Rule   string
	Action string
	Detail string
}

// Evaluate runs every enabled rule on a transaction.
func Evaluate(s *Settings, in *Input) []Finding {
	var out []Finding
	add := func(rule, action, detail string) {
		out = append(out, Finding{Rule: rule, Action: action, Detail: detail})
	}
	if r := s.CooldownViolation; r.Enabled && in.CooldownDeclined {
		add(RuleCooldown, r.Action, "an attempt during the card's cooldown")
	}
	if !in.Approved {
		return out
	}
	if r := s.DuplicateDetection; r.Enabled {
		from := in.NowMs - r.WindowMinutes*minuteMs
		for _, p := range in.History {
			if p.AtMs >= from && p.AmountCents == in.AmountCents && p.MerchantKey == in.MerchantKey {
				add(RuleDuplicate, r.Action, fmt.Sprintf("the same merchant and amount within %d minutes", r.WindowMinutes))
				break
			}
		}
	}
	if r := s.VelocityLimit; r.Enabled {
		var hour, day int64 = 1, 1 // this purchase
		for _, p := range in.History {
			if p.AtMs > in.NowMs-hourMs {
				hour++
			}
			if p.AtMs > in.NowMs-dayMs {
				day++
			}
		}
		switch {
		case r.MaxPerHour > 0 && hour > r.MaxPerHour:
			add(RuleVelocity, r.Action, fmt.Sprintf("%d purchases in the last hour, more than %d", hour, r.MaxPerHour))
		case r.MaxPerDay > 0 && day > r.MaxPerDay:
			add(RuleVelocity, r.Action, fmt.Sprintf("%d purchases in the last 24 hours, more than %d", day, r.MaxPerDay))
		}
	}
	if r := s.SpendSpike; r.Enabled && r.WindowMinutes > 0 && r.BaselineDays > 0 {
		windowStart := in.NowMs - r.WindowMinutes*minuteMs
		baseStart := windowStart - r.BaselineDays*dayMs
		recent, base := in.AmountCents, int64(0)
		for _, p := range in.History {
			switch {
			case p.AtMs > windowStart:
				recent += p.AmountCents
			case p.AtMs > baseStart:
				base += p.AmountCents
			}
		}
		// The baseline is the average spend per window over the baseline
		// period; with no baseline spend there is nothing to spike from.
		windows := float64(r.BaselineDays*dayMs) / float64(r.WindowMinutes*minuteMs)
		if avg := float64(base) / windows; base > 0 && float64(recent) > r.Multiplier*avg && !math.IsInf(avg, 0) {
			add(RuleSpendSpike, r.Action, fmt.Sprintf("%d cents in the last %d minutes, more than %.1fx the baseline of %.0f", recent, r.WindowMinutes, r.Multiplier, avg))
		}
	}
	if r := s.UnattestedSpend; r.Enabled && in.Unattested {
		add(RuleUnattested, r.Action, "a purchase with no credential access behind it")
	}
	if r := s.IntentMismatch; r.Enabled && in.IntentMismatched {
		add(RuleIntent, r.Action, "the purchase did not match its declared intent")
	}
	if r := s.MerchantDrift; r.Enabled && in.Drift {
		add(RuleDrift, r.Action, "a merchant other than the card's merchantHint")
	}
	return out
}

// Strongest is the strongest action among findings ("" for none):
// suspend_agent, then freeze_card, then alert.
func Strongest(fs []Finding) string {
	best := ""
	rank := map[string]int{"": 0, ActionAlert: 1, ActionFreezeCard: 2, ActionSuspendAgent: 3}
	for _, f := range fs {
		if rank[f.Action] > rank[best] {
			best = f.Action
		}
	}
	return best
}
