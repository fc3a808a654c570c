package api

import (
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/risk"
)

// riskView is the risk configuration in force at a scope.
type riskView struct {
	Object string `json:"object"`
	// Scope is "organization", "agent" or "card"; AgentID or CardID names
	// the latter two.
	Scope   string `json:"scope"`
	AgentID string `json:"agentId,omitempty"`
	CardID  string `json:"cardId,omitempty"`
	risk.Settings
}

func viewRisk(sc ledger.RiskScope, s risk.Settings) riskView {
	v := riskView{Object: "riskConfig", Scope: "organization", AgentID: sc.AgentID, CardID: sc.CardID, Settings: s}
	switch {
	case sc.CardID != "":
		v.Scope, v.AgentID = "card", ""
	case sc.AgentID != "":
		v.Scope = "agent"
	}
	return v
}

// riskScope reads ?agentId= or ?cardId= (neither: the organization).
func (rc *reqCtx) riskScope() (ledger.RiskScope, error) {
	sc := ledger.RiskScope{AgentID: rc.query("agentId"), CardID: rc.query("cardId")}
	if sc.AgentID != "" && sc.CardID != "" {
		return sc, errInvalid("cardId", "Name either agentId or cardId, not both.")
	}
	return sc, nil
}

func (a *API) getRisk(rc *reqCtx) error {
	sc, err := rc.riskScope()
	if err != nil {
		return err
	}
	s, err := a.l.RiskSettings(sc)
	if err != nil {
		return err
	}
	rc.writeJSON(200, viewRisk(sc, s))
	return nil
}

func (a *API) readAction(f *fields, dst *string) {
	if v := f.enum("action", false, risk.Actions); v != "" {
		*dst = v
	}
}

func (f *fields) flag(n string, dst *bool) {
	if v := f.boolean(n); v != nil {
		*dst = *v
	}
}

func (f *fields) intInto(n string, dst *int64, min, max int64) {
	if v := f.int(n, false, min, max); v != nil {
		*dst = *v
	}
}

// readRiskPatch applies a PATCH body to settings: dryRun and any rule
// object, each of whose fields given replaces the rule's. It reports which
// rules the body named.
func (a *API) readRiskPatch(f *fields, s *risk.Settings) (dryRun bool, named map[string]bool) {
	named = map[string]bool{}
	if v := f.boolean("dryRun"); v != nil {
		s.DryRun, dryRun = *v, true
	}
	sub := func(name string, read func(g *fields)) {
		if g := f.sub(name); g != nil {
			named[name] = true
			read(g)
			f.join(g)
		}
	}
	sub(risk.RuleDuplicate, func(g *fields) {
		r := &s.DuplicateDetection
		g.flag("enabled", &r.Enabled)
		g.intInto("windowMinutes", &r.WindowMinutes, 1, 10080)
		a.readAction(g, &r.Action)
	})
	sub(risk.RuleVelocity, func(g *fields) {
		r := &s.VelocityLimit
		g.flag("enabled", &r.Enabled)
		g.intInto("maxPerHour", &r.MaxPerHour, 1, 1_000_000)
		g.intInto("maxPerDay", &r.MaxPerDay, 1, 1_000_000)
		a.readAction(g, &r.Action)
	})
	sub(risk.RuleSpendSpike, func(g *fields) {
		r := &s.SpendSpike
		g.flag("enabled", &r.Enabled)
		if v := g.number("multiplier", 1, 100); v != nil {
			r.Multiplier = *v
		}
		g.intInto("windowMinutes", &r.WindowMinutes, 1, 10080)
		g.intInto("baselineDays", &r.BaselineDays, 1, 90)
		a.readAction(g, &r.Action)
	})
	simple := func(name string, r *risk.SimpleRule) {
		sub(name, func(g *fields) {
			g.flag("enabled", &r.Enabled)
			a.readAction(g, &r.Action)
		})
	}
	simple(risk.RuleUnattested, &s.UnattestedSpend)
	simple(risk.RuleIntent, &s.IntentMismatch)
	simple(risk.RuleCooldown, &s.CooldownViolation)
	simple(risk.RuleDrift, &s.MerchantDrift)
	return dryRun, named
}

func (a *API) updateRisk(rc *reqCtx) error {
	sc, err := rc.riskScope()
	if err != nil {
		return err
	}
	f, err := rc.body()
	if err != nil {
		return err
	}
	scratch := risk.MustPreset(risk.PresetModerate)
	a.readRiskPatch(f, &scratch)
	if e := f.done(); e != nil {
		return e
	}
	rc.render(200, func(r any) any { return viewRisk(sc, r.(risk.Settings)) })
	out, lerr := a.l.UpdateRisk(rc.ctx, sc, func(cur *risk.Settings, o *risk.Overlay) error {
		g, _ := parseFields(rc.fc.PostBody())
		before := *cur
		dry, named := a.readRiskPatch(g, cur)
		if e := g.done(); e != nil {
			return e
		}
		if *cur != before {
			cur.Preset = risk.PresetCustom
		}
		if dry {
			o.DryRun = &cur.DryRun
		}
		for name := range named {
			switch name {
			case risk.RuleDuplicate:
				o.DuplicateDetection = &cur.DuplicateDetection
			case risk.RuleVelocity:
				o.VelocityLimit = &cur.VelocityLimit
			case risk.RuleSpendSpike:
				o.SpendSpike = &cur.SpendSpike
			case risk.RuleUnattested:
				o.UnattestedSpend = &cur.UnattestedSpend
			case risk.RuleIntent:
				o.IntentMismatch = &cur.IntentMismatch
			case risk.RuleCooldown:
				o.CooldownViolation = &cur.CooldownViolation
			case risk.RuleDrift:
				o.MerchantDrift = &cur.MerchantDrift
			}
		}
		return nil
	})
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, viewRisk(sc, out))
}

func (a *API) applyRiskPreset(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	name := f.enum("preset", true, risk.Presets)
	dry := f.boolean("dryRun")
	if e := f.done(); e != nil {
		return e
	}
	sc := ledger.RiskScope{}
	rc.render(200, func(r any) any { return viewRisk(sc, r.(risk.Settings)) })
	out, lerr := a.l.UpdateRisk(rc.ctx, sc, func(cur *risk.Settings, _ *risk.Overlay) error {
		p := risk.MustPreset(name)
		p.DryRun = cur.DryRun
		if dry != nil {
			p.DryRun = *dry
		}
		*cur = p
		return nil
	})
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, viewRisk(sc, out))
}
