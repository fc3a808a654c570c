package authz

import "github.com/ledgersim/ledgersim/model"

// UserDeclineReason is why a user who is not approved cannot spend, by the
// status of their KYC application: still short of a decision (notStarted,
// pending, needsInformation, needsVerification, manualReview), denied,
// locked or canceled. Every one declines with 62, restricted card.
func UserDeclineReason(u *model.User) string {
	switch u.Status {
	case model.UserDenied, model.RejectedAlias:
		return ReasonUserDenied
	case model.UserLocked:
		return ReasonUserLocked
	case model.UserCanceled:
		return ReasonUserCanceled
	}
	return ReasonUserNotVerified
}
