package api

import (
	"encoding/json"
	"fmt"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/mcc"
	"github.com/ledgersim/ledgersim/model"
)

var (
	onExpiryValues = []string{model.ExpiryFreeze, model.ExpiryClose}
	driftValues    = []string{model.DriftFreeze, model.DriftNotify, model.DriftNone}
	exposureValues = []string{model.ExposureNever, model.ExposureExtension, model.ExposureRawPAN}
)

// fraction reads a number in [0, 1]; nil when absent.
func (f *fields) fraction(n string) *float64 { return f.number(n, 0, 1) }

// number reads a JSON number in [min, max]; nil when absent.
func (f *fields) number(n string, min, max float64) *float64 {
	v, ok := f.raw(n)
	if !ok {
		return nil
	}
	var x float64
	if c := v[0]; (c < '0' || c > '9') && c != '-' || json.Unmarshal(v, &x) != nil {
		f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must be a number.", f.name(n))))
		return nil
	}
	if x < min || x > max {
		f.fail(errInvalid(f.name(n), fmt.Sprintf("'%s' must be between %g and %g.", f.name(n), min, max)))
		return nil
	}
	return &x
}

// ctlReader reads optional control fields; with patch, an explicit null
// clears a field.
type ctlReader struct {
	f     *fields
	patch bool
}

func (r ctlReader) int(n string, dst **int64, min, max int64) {
	if r.patch && r.f.null(n) {
		*dst = nil
		return
	}
	if v := r.f.int(n, false, min, max); v != nil {
		*dst = v
	}
}

func (r ctlReader) enum(n string, dst *string, allowed []string) {
	if r.patch && r.f.null(n) {
		*dst = ""
		return
	}
	if v := r.f.enum(n, false, allowed); v != "" {
		*dst = v
	}
}

func (r ctlReader) str(n string, dst *string, maxLen int) {
	if r.patch && r.f.null(n) {
		*dst = ""
		return
	}
	if v := r.f.optStr(n, maxLen); v != nil {
		*dst = *v
	}
}

func (r ctlReader) boolean(n string, dst **bool) {
	if r.patch && r.f.null(n) {
		*dst = nil
		return
	}
	if v := r.f.boolean(n); v != nil {
		*dst = v
	}
}

func (r ctlReader) fraction(n string, dst **float64) {
	if r.patch && r.f.null(n) {
		*dst = nil
		return
	}
	if v := r.f.fraction(n); v != nil {
		*dst = v
	}
}

// mccs reads a list of merchant category codes (four digits each).
func (r ctlReader) mccs(n string, dst *[]string) {
	if r.patch && r.f.null(n) {
		*dst = nil
		return
	}
	list, ok := r.f.strings(n, 500, 4)
	if !ok {
		return
	}
	for _, m := range list {
		if !mcc.Valid(m) {
			r.f.fail(errInvalid(r.f.name(n), fmt.Sprintf("'%s' must hold four-digit merchant category codes; '%s' is not one.", r.f.name(n), m)))
			return
		}
	}
	if list == nil {
		list = []string{}
	}
	*dst = list
}

func (r ctlReader) days(n string, dst *[]int64) {
	if r.patch && r.f.null(n) {
		*dst = nil
		return
	}
	v, ok := r.f.raw(n)
	if !ok {
		return
	}
	var days []int64
	bad := errInvalid(r.f.name(n), fmt.Sprintf("'%s' must be an array of days, 0 (Sunday) to 6 (Saturday), each at most once.", r.f.name(n)))
	if err := json.Unmarshal(v, &days); err != nil || len(days) > 7 {
		r.f.fail(bad)
		return
	}
	seen := map[int64]bool{}
	for _, d := range days {
		if d < 0 || d > 6 || seen[d] {
			r.f.fail(bad)
			return
		}
		seen[d] = true
	}
	*dst = days
}

// zone checks an activeTimezone name.
func (a *API) zone(r ctlReader, dst *string) {
	if r.patch && r.f.null("activeTimezone") {
		*dst = ""
		return
	}
	v := r.f.optStr("activeTimezone", 64)
	if v == nil {
		return
	}
	if *v == "" || *v == "Local" {
		r.f.fail(errInvalid(r.f.name("activeTimezone"), "'activeTimezone' must be an IANA time zone name, such as America/New_York."))
		return
	}
	if _, err := a.l.Zone(*v); err != nil {
		r.f.fail(errInvalid(r.f.name("activeTimezone"), fmt.Sprintf("'activeTimezone' must be an IANA time zone name, such as America/New_York; '%s' is not one.", *v)))
		return
	}
	*dst = *v
}

// readControls reads the controls a policy and a card share.
func (a *API) readControls(r ctlReader, c *model.Controls) {
	r.int("cumulativeMax", &c.CumulativeMax, 1, maxCents)
	r.int("cooldownMinutes", &c.CooldownMinutes, 0, 525_600)
	r.int("ttlMinutes", &c.TTLMinutes, 1, 5_256_000)
	r.enum("onExpiry", &c.OnExpiry, onExpiryValues)
	r.int("activeHoursStart", &c.ActiveHoursStart, 0, 23)
	r.int("activeHoursEnd", &c.ActiveHoursEnd, 0, 23)
	a.zone(r, &c.ActiveTimezone)
	r.days("activeDays", &c.ActiveDays)
	r.mccs("allowedMccs", &c.AllowedMCCs)
	r.mccs("blockedMccs", &c.BlockedMCCs)
	r.boolean("requireAttestation", &c.RequireAttestation)
	r.fraction("intentTolerance", &c.IntentTolerance)
	r.boolean("requireApproval", &c.RequireApproval)
}

// checkControls refuses a set of controls that does not hold together.
func checkControls(c *model.Controls) *apiError {
	if (c.ActiveHoursStart == nil) != (c.ActiveHoursEnd == nil) {
		param := "activeHoursEnd"
		if c.ActiveHoursStart == nil {
			param = "activeHoursStart"
		}
		return errInvalid(param, "'activeHoursStart' and 'activeHoursEnd' are set together.")
	}
	return nil
}

// readPolicy reads a policy's fields (flat, as POST and PATCH take them).
func (a *API) readPolicy(f *fields, p *model.Policy, patch bool) {
	r := ctlReader{f: f, patch: patch}
	if patch {
		if f.null("name") {
			f.fail(errInvalid("name", "'name' cannot be removed."))
		} else if v := f.optStr("name", 200); v != nil {
			if *v == "" {
				f.fail(errInvalid("name", "'name' must not be empty."))
			}
			p.Name = *v
		}
	} else {
		p.Name = f.str("name", true, 200)
	}
	r.str("description", &p.Description, 1000)
	r.int("limitPerAuth", &p.LimitPerAuth, 1, maxCents)
	r.int("limitPerDay", &p.LimitPerDay, 1, maxCents)
	r.int("limitPerMonth", &p.LimitPerMonth, 1, maxCents)
	r.int("maxAmount", &p.MaxAmount, 1, maxCents)
	r.int("maxAuthCount", &p.MaxAuthCount, 1, 1_000_000_000)
	r.str("merchantHint", &p.MerchantHint, 200)
	r.enum("onDrift", &p.OnDrift, driftValues)
	r.enum("credentialExposure", &p.CredentialExposure, exposureValues)
	a.readControls(r, &p.Controls)
}

func (a *API) createPolicy(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	var p model.Policy
	a.readPolicy(f, &p, false)
	if e := f.done(); e != nil {
		return e
	}
	if e := checkControls(&p.Controls); e != nil {
		return e
	}
	rc.render(201, func(r any) any { p := r.(model.Policy); return viewPolicy(&p) })
	out, lerr := a.l.CreatePolicy(rc.ctx, p)
	if lerr != nil {
		return lerr
	}
	return rc.reply(201, viewPolicy(&out))
}

func (a *API) getPolicy(rc *reqCtx) error {
	p, err := a.l.GetPolicy(rc.param("id"))
	if err != nil {
		return err
	}
	rc.writeJSON(200, viewPolicy(&p))
	return nil
}

func (a *API) listPolicies(rc *reqCtx) error {
	p, err := rc.listParams()
	if err != nil {
		return err
	}
	page, err := a.l.ListPolicies(p)
	if err != nil {
		return err
	}
	rc.writeJSON(200, pageView(page, viewPolicy))
	return nil
}

func (a *API) updatePolicy(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	// The fields are read against a scratch value first, so that every
	// validation error is reported before the policy is looked up; the
	// ledger then applies the same reading to the current value.
	var scratch model.Policy
	a.readPolicy(f, &scratch, true)
	if e := f.done(); e != nil {
		return e
	}
	rc.render(200, func(r any) any { p := r.(model.Policy); return viewPolicy(&p) })
	out, lerr := a.l.UpdatePolicy(rc.ctx, rc.param("id"), func(p *model.Policy) error {
		g, _ := parseFields(rc.fc.PostBody())
		a.readPolicy(g, p, true)
		if e := g.done(); e != nil {
			return e
		}
		if e := checkControls(&p.Controls); e != nil {
			return e
		}
		return nil
	})
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, viewPolicy(&out))
}

type policyView struct {
	Object               string               `json:"object"`
	ID                   string               `json:"id"`
	Name                 string               `json:"name"`
	Description          *string              `json:"description"`
	TimeRestrictions     timeRestrictions     `json:"timeRestrictions"`
	SpendingRestrictions spendingRestrictions `json:"spendingRestrictions"`
	MerchantRestrictions merchantRestrictions `json:"merchantRestrictions"`
	Attestation          attestationControls  `json:"attestation"`
	CreatedAt            int64                `json:"createdAt"`
	UpdatedAt            int64                `json:"updatedAt"`
}

type timeRestrictions struct {
	TTLMinutes       *int64  `json:"ttlMinutes"`
	OnExpiry         *string `json:"onExpiry"`
	ActiveHoursStart *int64  `json:"activeHoursStart"`
	ActiveHoursEnd   *int64  `json:"activeHoursEnd"`
	ActiveTimezone   *string `json:"activeTimezone"`
	ActiveDays       []int64 `json:"activeDays"`
}

type spendingRestrictions struct {
	LimitPerAuth    *int64 `json:"limitPerAuth"`
	LimitPerDay     *int64 `json:"limitPerDay"`
	LimitPerMonth   *int64 `json:"limitPerMonth"`
	MaxAmount       *int64 `json:"maxAmount"`
	CumulativeMax   *int64 `json:"cumulativeMax"`
	MaxAuthCount    *int64 `json:"maxAuthCount"`
	CooldownMinutes *int64 `json:"cooldownMinutes"`
}

type merchantRestrictions struct {
	AllowedMCCs  []string `json:"allowedMccs"`
	BlockedMCCs  []string `json:"blockedMccs"`
	MerchantHint *string  `json:"merchantHint"`
	OnDrift      *string  `json:"onDrift"`
}

type attestationControls struct {
	RequireAttestation *bool    `json:"requireAttestation"`
	IntentTolerance    *float64 `json:"intentTolerance"`
	CredentialExposure *string  `json:"credentialExposure"`
	RequireApproval    *bool    `json:"requireApproval"`
}

// viewPolicy nests a policy's fields in the groups of the platform's
// response; an unset field is null.
func viewPolicy(p *model.Policy) policyView {
	return policyView{Object: "policy", ID: p.ID, Name: p.Name, Description: optStr(p.Description),
		TimeRestrictions: timeRestrictions{TTLMinutes: p.TTLMinutes, OnExpiry: optStr(p.OnExpiry),
			ActiveHoursStart: p.ActiveHoursStart, ActiveHoursEnd: p.ActiveHoursEnd,
			ActiveTimezone: optStr(p.ActiveTimezone), ActiveDays: p.ActiveDays},
		SpendingRestrictions: spendingRestrictions{LimitPerAuth: p.LimitPerAuth, LimitPerDay: p.LimitPerDay,
			LimitPerMonth: p.LimitPerMonth, MaxAmount: p.MaxAmount, CumulativeMax: p.CumulativeMax,
			MaxAuthCount: p.MaxAuthCount, CooldownMinutes: p.CooldownMinutes},
		MerchantRestrictions: merchantRestrictions{AllowedMCCs: p.AllowedMCCs, BlockedMCCs: p.BlockedMCCs,
			MerchantHint: optStr(p.MerchantHint), OnDrift: optStr(p.OnDrift)},
		Attestation: attestationControls{RequireAttestation: p.RequireAttestation, IntentTolerance: p.IntentTolerance,
			CredentialExposure: optStr(p.CredentialExposure), RequireApproval: p.RequireApproval},
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// cardPolicyView is a card's live policy state (GET /v1/cards/{id}/policy):
// the controls in force, its own over its policy's, and where it stands
// against each at the server's clock.
type cardPolicyView struct {
	Object        string              `json:"object"`
	CardID        string              `json:"cardId"`
	PolicyID      *string             `json:"policyId"`
	TTL           ttlStatus           `json:"ttl"`
	ActiveHours   activeHoursStatus   `json:"activeHours"`
	Cumulative    cumulativeStatus    `json:"cumulative"`
	Cooldown      cooldownStatus      `json:"cooldown"`
	AuthCount     authCountStatus     `json:"authCount"`
	Attestation   attestationStatus   `json:"attestation"`
	MerchantDrift merchantDriftStatus `json:"merchantDrift"`
	Merchants     merchantCategories  `json:"merchantCategories"`
	ComputedAt    int64               `json:"computedAt"`
}

type ttlStatus struct {
	Minutes   *int64  `json:"minutes"`
	ExpiresAt *int64  `json:"expiresAt"`
	IsExpired bool    `json:"isExpired"`
	OnExpiry  *string `json:"onExpiry"`
}

type activeHoursStatus struct {
	Start               *int64  `json:"start"`
	End                 *int64  `json:"end"`
	Timezone            string  `json:"timezone"`
	ActiveDays          []int64 `json:"activeDays"`
	IsWithinActiveHours bool    `json:"isWithinActiveHours"`
}

type cumulativeStatus struct {
	Max       *int64 `json:"max"`
	Spent     int64  `json:"spent"`
	Remaining *int64 `json:"remaining"`
}

type cooldownStatus struct {
	Minutes           *int64 `json:"minutes"`
	LastTransactionAt *int64 `json:"lastTransactionAt"`
	CooldownEndsAt    *int64 `json:"cooldownEndsAt"`
	IsInCooldown      bool   `json:"isInCooldown"`
}

type authCountStatus struct {
	Max       *int64 `json:"max"`
	Current   int64  `json:"current"`
	Remaining *int64 `json:"remaining"`
}

type attestationStatus struct {
	Required        bool     `json:"required"`
	IntentTolerance *float64 `json:"intentTolerance"`
	WindowMinutes   int64    `json:"windowMinutes"`
	// ApprovalRequired: every intent on the card waits for a person.
	ApprovalRequired bool `json:"approvalRequired"`
}

type merchantDriftStatus struct {
	Action         *string `json:"action"`
	MerchantHint   *string `json:"merchantHint"`
	PinnedMerchant *string `json:"pinnedMerchant"`
}

type merchantCategories struct {
	AllowedMCCs []string `json:"allowedMccs"`
	BlockedMCCs []string `json:"blockedMccs"`
}

func ptr[T any](v T) *T { return &v }

func (a *API) cardPolicy(rc *reqCtx) error {
	if _, err := a.ownCard(rc, rc.param("id")); err != nil {
		return err
	}
	cc, err := a.l.CardControls(rc.param("id"))
	if err != nil {
		return err
	}
	c, now := &cc.Card, cc.Now
	nowMs := model.Ms(now)
	v := cardPolicyView{Object: "card_policy", CardID: c.ID, PolicyID: optStr(cc.PolicyID), ComputedAt: nowMs}
	v.TTL = ttlStatus{Minutes: c.TTLMinutes, OnExpiry: optStr(c.OnExpiry)}
	if c.TTLMinutes != nil {
		end := authz.TTLEnd(c)
		v.TTL.ExpiresAt, v.TTL.IsExpired = &end, nowMs >= end
		if c.OnExpiry == "" {
			v.TTL.OnExpiry = ptr(model.ExpiryFreeze)
		}
	}
	tz := c.ActiveTimezone
	if tz == "" {
		tz = "UTC"
	}
	v.ActiveHours = activeHoursStatus{Start: c.ActiveHoursStart, End: c.ActiveHoursEnd, Timezone: tz, ActiveDays: c.ActiveDays,
		IsWithinActiveHours: authz.WithinActiveHours(c, cc.Zone, now)}
	v.Cumulative = cumulativeStatus{Max: c.CumulativeMax, Spent: c.Usage.TotalCents}
	if c.CumulativeMax != nil {
		v.Cumulative.Remaining = ptr(max(0, *c.CumulativeMax-c.Usage.TotalCents))
	}
	v.Cooldown = cooldownStatus{Minutes: c.CooldownMinutes}
	if c.Usage.LastAuthAt != 0 {
		v.Cooldown.LastTransactionAt = ptr(c.Usage.LastAuthAt)
	}
	if end := authz.CooldownEnd(c); end != 0 {
		v.Cooldown.CooldownEndsAt, v.Cooldown.IsInCooldown = &end, nowMs < end
	}
	v.AuthCount = authCountStatus{Max: c.MaxAuthCount, Current: c.Usage.AuthCount}
	if c.MaxAuthCount != nil {
		v.AuthCount.Remaining = ptr(max(0, *c.MaxAuthCount-c.Usage.AuthCount))
	}
	v.Attestation = attestationStatus{Required: c.RequireAttestation != nil && *c.RequireAttestation,
		IntentTolerance: c.IntentTolerance, WindowMinutes: c.AttestationWindowMinutes,
		ApprovalRequired: c.RequireApproval != nil && *c.RequireApproval}
	v.MerchantDrift = merchantDriftStatus{Action: optStr(c.OnDrift), MerchantHint: optStr(c.MerchantHint),
		PinnedMerchant: optStr(c.Usage.LockedMerchant)}
	v.Merchants = merchantCategories{AllowedMCCs: c.AllowedMCCs, BlockedMCCs: c.BlockedMCCs}
	rc.writeJSON(200, v)
	return nil
}

type agentPolicyView struct {
	Object                 string  `json:"object"`
	AgentID                string  `json:"agentId"`
	DefaultPolicyID        *string `json:"defaultPolicyId"`
	SpendingLimit          *int64  `json:"spendingLimit"`
	SpendingLimitFrequency *string `json:"spendingLimitFrequency"`
	OnLimitExceeded        string  `json:"onLimitExceeded"`
	CurrentSpend           int64   `json:"currentSpend"`
	Remaining              *int64  `json:"remaining"`
	ComputedAt             int64   `json:"computedAt"`
}

func (a *API) agentPolicy(rc *reqCtx) error {
	id := rc.param("id")
	if err := a.ownAgent(rc, id); err != nil {
		return err
	}
	ag, err := a.l.GetAgent(id)
	if err != nil {
		return err
	}
	now := a.l.Clock().Now()
	spend := authz.AgentSpend(&ag, now)
	v := agentPolicyView{Object: "agent_policy", AgentID: ag.ID, DefaultPolicyID: optStr(ag.DefaultPolicyID),
		SpendingLimit: ag.SpendingLimit, SpendingLimitFrequency: optStr(ag.SpendingLimitFrequency),
		OnLimitExceeded: ag.OnLimitExceeded, CurrentSpend: spend, ComputedAt: model.Ms(now)}
	if ag.SpendingLimit != nil {
		v.Remaining = ptr(max(0, *ag.SpendingLimit-spend))
	}
	rc.writeJSON(200, v)
	return nil
}
