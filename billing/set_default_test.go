package billing_test

import (
	"testing"

	"github.com/appwheel/appwheel"
)

// ---------------------------------------------------------------------------
// SetDefaultPaymentMethod

func TestSetDefaultPaymentMethod(t *testing.T) {
	e := newEnv(t)
	cus1 := e.customer(t, e.appA, "user_1")
	own := e.cards(t, e.appA, cus1, 3)
	e.setDefault(t, e.appA, cus1, own[0])
	cus2 := e.customer(t, e.appA, "user_2")
	others := e.cards(t, e.appA, cus2, 1)
	e.setDefault(t, e.appA, cus2, others[0])
	cusB := e.customer(t, e.appB, "user_1")
	otherApp := e.cards(t, e.appB, cusB, 1)
	detached := e.fake.CreateDetachedCard(e.appA.Stripe, "visa", "4242").ID

	tests := []struct {
		name     string
		user     string
		methodID string
		wantCode int
		want     string // user_1's default afterwards
	}{
		{"OwnNewest", "user_1", own[2], 0, own[2]},
		{"OwnMiddle", "user_1", own[1], 0, own[1]},
		{"OwnCurrentDefault", "user_1", own[1], 0, own[1]},
		{"OtherUsersMethod", "user_1", others[0], appwheel.ENOTFOUND, own[1]},
		{"OtherAppsMethod", "user_1", otherApp[0], appwheel.ENOTFOUND, own[1]},
		{"UnknownMethod", "user_1", "pm_nope", appwheel.ENOTFOUND, own[1]},
		{"DetachedMethod", "user_1", detached, appwheel.ENOTFOUND, own[1]},
		{"UserWithoutCustomer", "user_3", own[0], appwheel.ENOTFOUND, own[1]},
		{"BadMethodID", "user_1", "in_123", appwheel.EINVALID, own[1]},
		{"EmptyMethodID", "user_1", "", appwheel.EINVALID, own[1]},
		{"BadAppUserID", "", own[0], appwheel.EINVALID, own[1]},
	}
	for _, tt := range tests { // in order: each row sees the previous rows' result
		t.Run(tt.name, func(t *testing.T) {
			e.fake.ResetCalls()
			_, err := e.svc.SetDefaultPaymentMethod(t.Context(), e.appA, tt.user, tt.methodID, "")
			wantCode(t, err, tt.wantCode)
			if got := e.defaultOf(t, e.appA, cus1); got != tt.want {
				t.Errorf("got user_1's default %q, want %q", got, tt.want)
			}
			if got := e.defaultOf(t, e.appA, cus2); got != others[0] {
				t.Errorf("got user_2's default %q, want unchanged %q", got, others[0])
			}
			if tt.wantCode != 0 {
				if n := e.fake.Calls("SetDefaultPaymentMethod"); n != 0 {
					t.Errorf("got %d SetDefaultPaymentMethod calls, want 0", n)
				}
			}
			if tt.wantCode == appwheel.EINVALID || tt.user == "user_3" {
				wantNoStripeCalls(t, e.fake)
			}
		})
	}
	if got := e.defaultOf(t, e.appB, cusB); got != "" {
		t.Errorf("got app B user's default %q, want none", got)
	}
	if id := e.storedCustomer(t, e.appA, "user_3"); id != "" {
		t.Errorf("got a customer %q for user_3, want none", id)
	}
}
