package api

import (
	"bytes"
	"html/template"

	"github.com/ledgersim/ledgersim/model"
)

// The hosted verification page stands in for the identity provider's flow:
// a person opens the verificationUrl and approves or denies.
var kycTmpl = template.Must(template.New("kyc").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Identity verification</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}
button{font-size:1rem;padding:.6rem 1.2rem;margin-right:.6rem;cursor:pointer}
.ok{color:#0a7a2f}.no{color:#b3261e}</style></head><body>
<h1>Identity verification</h1>
<p>Applicant: <strong>{{.Name}}</strong> ({{.Email}})</p>
<p>Status: <strong id="status" class="{{.Class}}">{{.Status}}</strong></p>
{{if .Pending}}<form method="post">
<button name="decision" value="approved" type="submit">Approve</button>
<button name="decision" value="denied" type="submit">Deny</button>
</form>{{else}}<p>This verification is complete. You can close this page.</p>{{end}}
<p><small>ledgersim simulated KYC</small></p>
</body></html>`))

type kycPageData struct {
	Name, Email, Status, Class string
	Pending                    bool
}

const htmlType = "text/html; charset=utf-8"

func kycPageHTML(u *model.User) ([]byte, error) {
	d := kycPageData{Name: u.FirstName + " " + u.LastName, Email: u.Email, Status: u.Status, Pending: u.Status == model.UserPending}
	switch u.Status {
	case model.UserApproved:
		d.Class = "ok"
	case model.UserDenied:
		d.Class = "no"
	}
	var buf bytes.Buffer
	err := kycTmpl.Execute(&buf, d)
	return buf.Bytes(), err
}

func (a *API) writeKYCPage(rc *reqCtx, u *model.User) error {
	page, err := kycPageHTML(u)
	if err != nil {
		return err
	}
	rc.writeHTML(200, page)
	return nil
}

func (rc *reqCtx) writeHTML(status int, page []byte) {
	rc.fc.SetStatusCode(status)
	rc.fc.SetContentType(htmlType)
	rc.fc.Response.Header.Set("Cache-Control", "no-store")
	rc.fc.SetBody(page)
}

// kycNoticeTmpl answers the page's browser when something went wrong: the
// page is for a person, so it answers in HTML, not in the API's JSON.
var kycNoticeTmpl = template.Must(template.New("kyc-notice").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Identity verification</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}</style></head><body>
<h1>Identity verification</h1>
<p id="notice">{{.Message}}</p>
{{if .Back}}<p><a href="">Back to the verification page</a></p>{{end}}
<p><small>ledgersim simulated KYC</small></p>
</body></html>`))

type kycNotice struct {
	Message string
	Back    bool
}

func (a *API) writeKYCNotice(rc *reqCtx, status int, n kycNotice) error {
	var buf bytes.Buffer
	if err := kycNoticeTmpl.Execute(&buf, n); err != nil {
		return err
	}
	rc.fc.Response.Header.Set("Request-Id", rc.requestID)
	rc.writeHTML(status, buf.Bytes())
	return nil
}

const kycLinkInvalid = "This verification link is not valid. Ask for a new one."

func (a *API) kycPage(rc *reqCtx) error {
	u, ok := a.l.UserByVerificationToken(rc.param("token"))
	if !ok {
		return a.writeKYCNotice(rc, 404, kycNotice{Message: kycLinkInvalid})
	}
	return a.writeKYCPage(rc, &u)
}

func (a *API) kycSubmit(rc *reqCtx) error {
	u, ok := a.l.UserByVerificationToken(rc.param("token"))
	if !ok {
		return a.writeKYCNotice(rc, 404, kycNotice{Message: kycLinkInvalid})
	}
	decision := kycDecision(string(rc.fc.FormValue("decision")))
	if decision != model.UserApproved && decision != model.UserDenied {
		return a.writeKYCNotice(rc, 400, kycNotice{Message: "The form did not say approved or denied. Go back and press one of the buttons.", Back: true})
	}
	rc.renderRaw(200, htmlType, func(r any) ([]byte, error) { u := r.(model.User); return kycPageHTML(&u) })
	nu, err := a.l.DecideKYC(rc.ctx, u.ID, decision == model.UserApproved)
	if le, ok := fromLedger(err); ok && le.Status == 409 {
		// Typically the form submitted twice with both buttons, or a
		// decision made elsewhere in the meantime: say what the decision is.
		cur, gerr := a.l.GetUser(u.ID)
		if gerr != nil {
			return gerr
		}
		cur.Canonicalize()
		return a.writeKYCNotice(rc, 409, kycNotice{Message: "This verification was already decided: " + cur.Status + ". Nothing was changed.", Back: true})
	}
	if err != nil {
		return err
	}
	if rc.idem != nil && rc.idem.Body != nil {
		rc.writeHTML(200, rc.idem.Body)
		return nil
	}
	return a.writeKYCPage(rc, &nu)
}
