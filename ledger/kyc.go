package ledger

import (
	"context"
	"fmt"
	"slices"

	"github.com/ledgersim/ledgersim/model"
)

// The KYC application statuses (the platform's user-onboarding guide) and
// how one leads to another here. Only approved may spend: register agents,
// issue cards, take deposits and withdrawals, and authorize; every other
// status declines (authz.UserDecline).
//
//	from                                     may go to
//	notStarted, pending, needsInformation,   any other status
//	needsVerification, manualReview
//	approved                                 needsVerification (re-verification), locked
//	locked                                   approved (unlocked), denied, needsVerification
//	denied, canceled                         nothing: final
//
// Asking for the status a user already has changes nothing.
var kycNext = map[string][]string{
	model.AppApproved: {model.AppNeedsVerification, model.AppLocked},
	model.AppLocked:   {model.AppApproved, model.AppDenied, model.AppNeedsVerification},
	model.AppDenied:   nil,
	model.AppCanceled: nil,
}

// KYCTargets are the statuses a KYC decision may set (notStarted is only
// where a user begins).
var KYCTargets = []string{model.AppPending, model.AppNeedsInformation, model.AppNeedsVerification,
	model.AppManualReview, model.AppApproved, model.AppDenied, model.AppLocked, model.AppCanceled}

func kycAllowed(from, to string) bool {
	next, restricted := kycNext[from]
	return !restricted || slices.Contains(next, to)
}

// SetKYCStatus moves a user's application to status (one of KYCTargets),
// with its event: user.approved, user.rejected (denied),
// user.application.needs_info, or user.updated for the others.
func (l *Ledger) SetKYCStatus(ctx context.Context, userID, status string) (model.User, error) {
	if !slices.Contains(KYCTargets, status) {
		return model.User{}, invalid("parameter_invalid", "decision", fmt.Sprintf("Unknown KYC status %q.", status))
	}
	now := l.clock.Now()
	s := l.shardOf(userID)
	s.mu.Lock()
	u, ok := s.users[userID]
	if !ok {
		s.mu.Unlock()
		return model.User{}, notFound("user_not_found", "user", userID)
	}
	from := appStatus(u)
	if from == status {
		out := *u
		s.mu.Unlock()
		return out, nil
	}
	if !kycAllowed(from, status) {
		s.mu.Unlock()
		if from != model.AppLocked {
			return model.User{}, conflict("kyc_already_decided", fmt.Sprintf("The user's verification was already decided: %s.", from))
		}
		return model.User{}, conflict("kyc_transition_invalid", fmt.Sprintf("A user whose application is %s cannot become %s.", from, status))
	}
	nu := *u
	c := l.begin(now)
	switch status {
	case model.AppApproved:
		c.kind(RecKYC)
		l.decide(c, &nu, true)
	case model.AppDenied:
		c.kind(RecKYC)
		l.decide(c, &nu, false)
	default:
		c.kind(RecKYCStatus)
		nu.ApplicationStatus, nu.Status = status, model.StatusOfApplication(status)
		typ := model.EvtUserUpdated
		if status == model.AppNeedsInformation {
			typ = model.EvtUserNeedsInfo
		}
		c.event(typ, map[string]any{"userId": nu.ID, "status": nu.Status, "applicationStatus": nu.ApplicationStatus,
			"previousApplicationStatus": from})
	}
	nu.UpdatedAt = model.Ms(now)
	c.putUser(&nu)
	err := c.apply(ctx, nu)
	if err == nil {
		*u = nu
	}
	s.mu.Unlock()
	if err != nil {
		return model.User{}, err
	}
	return nu, c.wait()
}

// notVerified is the refusal of something only an approved user may do.
func notVerified(u *model.User, what string) error {
	return conflict("user_not_verified", fmt.Sprintf("%s only for users whose verification is approved; this user's is %s.", what, appStatus(u)))
}

// appStatus is the user's application status; a store written before
// they were recorded has only the coarse status, in the same words.
func appStatus(u *model.User) string {
	if u.ApplicationStatus == "" || u.ApplicationStatus == model.AppNotStarted && u.Status != model.UserPending {
		c := *u
		c.Canonicalize()
		return c.Status
	}
	return u.ApplicationStatus
}
