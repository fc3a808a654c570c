package api

import (
	"net/mail"
	"slices"
	"strings"

	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
)

func (a *API) createUser(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	in := ledger.CreateUserInput{
		FirstName: f.str("firstName", true, 100),
		LastName:  f.str("lastName", true, 100),
		Email:     f.str("email", true, 254),
		Metadata:  f.object("metadata", 8<<10),
	}
	if e := f.done(); e != nil {
		return e
	}
	if addr, perr := mail.ParseAddress(in.Email); perr != nil || addr.Address != strings.TrimSpace(in.Email) || !strings.Contains(addr.Address[strings.LastIndexByte(addr.Address, '@')+1:], ".") {
		return errInvalid("email", "'email' must be a valid email address.")
	}
	in.Email = strings.TrimSpace(in.Email)
	rc.render(201, func(r any) any { u := r.(model.User); return viewUser(&u) })
	u, lerr := a.l.CreateUser(rc.ctx, in)
	if lerr != nil {
		return lerr
	}
	return rc.reply(201, viewUser(&u))
}

func (a *API) getUser(rc *reqCtx) error {
	u, err := a.l.GetUser(rc.param("id"))
	if err != nil {
		return err
	}
	rc.writeJSON(200, viewUser(&u))
	return nil
}

func (a *API) listUsers(rc *reqCtx) error {
	p, err := rc.listParams()
	if err != nil {
		return err
	}
	page, err := a.l.ListUsers(p)
	if err != nil {
		return err
	}
	rc.writeJSON(200, pageView(page, viewUser))
	return nil
}

type verificationView struct {
	Object            string `json:"object"`
	UserID            string `json:"userId"`
	Status            string `json:"status"`
	ApplicationStatus string `json:"applicationStatus"`
	VerificationURL   string `json:"verificationUrl"`
}

func (a *API) viewVerification(u *model.User) verificationView {
	return verificationView{Object: "verification", UserID: u.ID, Status: u.Status, ApplicationStatus: u.ApplicationStatus,
		VerificationURL: a.cfg.PublicURL + "/kyc/" + u.VerificationToken}
}

func (a *API) startVerification(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	userID := f.str("userId", true, 64)
	if e := f.done(); e != nil {
		return e
	}
	rc.render(200, func(r any) any { u := r.(model.User); return a.viewVerification(&u) })
	u, lerr := a.l.StartVerification(rc.ctx, userID)
	if lerr != nil {
		if le, ok := lerr.(*ledger.Error); ok && le.Kind == ledger.KindNotFound {
			le.Param = "userId"
		}
		return lerr
	}
	return rc.reply(200, a.viewVerification(&u))
}

func (a *API) getVerification(rc *reqCtx) error {
	u, err := a.l.GetUser(rc.param("id"))
	if err != nil {
		return err
	}
	if u.VerificationToken == "" {
		rc.writeJSON(200, verificationView{Object: "verification", UserID: u.ID, Status: u.Status, ApplicationStatus: u.ApplicationStatus})
		return nil
	}
	rc.writeJSON(200, a.viewVerification(&u))
	return nil
}

func (a *API) simulateKYC(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	userID := f.str("userId", true, 64)
	// The decision is the application status to move to: approved or
	// denied, or one short of a decision, or a lock.
	decision := kycDecision(f.enum("decision", true, append(slices.Clone(ledger.KYCTargets), model.RejectedAlias)))
	if e := f.done(); e != nil {
		return e
	}
	rc.render(200, func(r any) any { u := r.(model.User); return viewUser(&u) })
	u, lerr := a.l.SetKYCStatus(rc.ctx, userID, decision)
	if lerr != nil {
		return lerr
	}
	return rc.reply(200, viewUser(&u))
}

type fundingView struct {
	Object    string                  `json:"object"`
	UserID    string                  `json:"userId"`
	Addresses []ledger.FundingAddress `json:"addresses"`
}

func (a *API) funding(rc *reqCtx) error {
	u, err := a.l.GetUser(rc.param("id"))
	if err != nil {
		return err
	}
	rc.writeJSON(200, fundingView{Object: "funding", UserID: u.ID, Addresses: ledger.FundingAddresses(u.ID)})
	return nil
}

type depositView struct {
	Object  string         `json:"object"`
	Deposit ledger.Deposit `json:"deposit"`
	Balance balanceView    `json:"balance"`
}

func (a *API) simulateDeposit(rc *reqCtx) error {
	f, err := rc.body()
	if err != nil {
		return err
	}
	userID := f.str("userId", true, 64)
	asset := f.enum("asset", true, ledger.Assets)
	chains := make([]string, len(ledger.Chains))
	for i, c := range ledger.Chains {
		chains[i] = c.Name
	}
	chain := f.enum("chain", true, chains)
	amount, cents := f.tokenAmount("amount", ledger.MaxBalanceCents)
	if e := f.done(); e != nil {
		return e
	}
	in := ledger.DepositInput{UserID: userID, Asset: asset, Chain: chain, Amount: amount, AmountCents: cents}
	view := func(r ledger.DepositResult) depositView {
		return depositView{Object: "deposit", Deposit: r.Deposit, Balance: viewBalance(&r.User)}
	}
	rc.render(201, func(r any) any { return view(r.(ledger.DepositResult)) })
	d, u, lerr := a.l.SimulateDeposit(rc.ctx, in)
	if lerr != nil {
		if le, ok := lerr.(*ledger.Error); ok && le.Kind == ledger.KindNotFound {
			le.Param = "userId"
		}
		return lerr
	}
	return rc.reply(201, view(ledger.DepositResult{Deposit: d, User: u}))
}

// balance answers GET /v1/balances/{userId} and GET /v1/users/{id}/balance:
// an agent token reads only its own user's.
func (a *API) balance(rc *reqCtx) error {
	id := rc.param("userId")
	if id == "" {
		id = rc.param("id")
	}
	if rc.principal.IsAgent() && id != rc.principal.UserID {
		return errNotFound("user_not_found", "No user with id '"+ledger.SafeID(id)+"'.")
	}
	u, err := a.l.GetUser(id)
	if err != nil {
		return err
	}
	rc.writeJSON(200, viewBalance(&u))
	return nil
}

// kycDecision reads a KYC decision in the platform's words;
// "rejected" is accepted as another name for denied.
func kycDecision(d string) string {
	if d == model.RejectedAlias {
		return model.UserDenied
	}
	return d
}
