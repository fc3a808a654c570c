package authz

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

// TestKYCStatusesDecline: only an approved user's card may authorize;
// every other application status declines 62 with its reason.
func TestKYCStatusesDecline(t *testing.T) {
	want := map[string]string{
		model.AppNotStarted:        ReasonUserNotVerified,
		model.AppPending:           ReasonUserNotVerified,
		model.AppNeedsInformation:  ReasonUserNotVerified,
		model.AppNeedsVerification: ReasonUserNotVerified,
		model.AppManualReview:      ReasonUserNotVerified,
		model.AppApproved:          "",
		model.AppDenied:            ReasonUserDenied,
		model.AppLocked:            ReasonUserLocked,
		model.AppCanceled:          ReasonUserCanceled,
	}
	require.Len(t, want, len(model.ApplicationStatuses))
	for _, app := range model.ApplicationStatuses {
		t.Run(app, func(t *testing.T) {
			r, c, a, u := baseInput()
			u.ApplicationStatus, u.Status = app, model.StatusOfApplication(app)
			d := Decide(&Input{Req: r, Card: c, Agent: a, User: u, Now: now})
			if want[app] == "" {
				require.Equal(t, CodeApproved, d.Code, d.Reason)
				return
			}
			require.Equal(t, CodeRestrictedCard, d.Code)
			require.Equal(t, want[app], d.Reason)
			// A refund is still taken.
			r.Kind = Refund
			require.Equal(t, CodeApproved, Decide(&Input{Req: r, Card: c, Agent: a, User: u, Now: now}).Code)
		})
	}
	// Stores written before the platform's vocabulary say "rejected".
	r, c, a, u := baseInput()
	u.Status = model.RejectedAlias
	require.Equal(t, ReasonUserDenied, Decide(&Input{Req: r, Card: c, Agent: a, User: u, Now: now}).Reason)
}
