package billing_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/appwheel/appwheel"
	"github.com/google/go-cmp/cmp"
)

// ---------------------------------------------------------------------------
// paymentMethod

func TestPaymentMethodsNoCustomer(t *testing.T) {
	e := newEnv(t)

	got, err := e.svc.PaymentMethods(t.Context(), e.appA, "user_1")
	if err != nil {
		t.Fatalf("PaymentMethods: got error %v, want nil", err)
	}
	if got.Methods == nil {
		t.Errorf("got nil methods, want an empty slice")
	}
	if gotJSON, want := mustJSON(t, got), `{"methods":[],"defaultMethodId":""}`; gotJSON != want {
		t.Errorf("got JSON %s, want %s", gotJSON, want)
	}
	if got := e.fake.Calls("CreateCustomer"); got != 0 {
		t.Errorf("got %d CreateCustomer calls, want 0", got)
	}
	wantNoStripeCalls(t, e.fake)
	if id := e.storedCustomer(t, e.appA, "user_1"); id != "" {
		t.Errorf("got stored customer %q, want none", id)
	}
	if n := len(e.fake.Customers(e.appA.Stripe)); n != 0 {
		t.Errorf("got %d Stripe customers, want 0", n)
	}
}

func TestPaymentMethodsList(t *testing.T) {
	tests := []struct {
		name        string
		cards       int
		defaultIdx  int // index into the cards, oldest first; -1 for none
		wantDefault bool
	}{
		{"NoMethods", 0, -1, false},
		{"OneMethodNoDefault", 1, -1, false},
		{"ThreeMethodsNoDefault", 3, -1, false},
		{"DefaultOldest", 3, 0, true},
		{"DefaultMiddle", 3, 1, true},
		{"DefaultNewest", 3, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			cusID := e.customer(t, e.appA, "user_1")
			cards := e.cards(t, e.appA, cusID, tt.cards)
			wantDefault := ""
			if tt.defaultIdx >= 0 {
				wantDefault = cards[tt.defaultIdx]
				e.setDefault(t, e.appA, cusID, wantDefault)
			} else if tt.cards > 0 {
				// A customer with cards and no default gets its oldest
				// card, the first added, as the default (settleDefault).
				wantDefault = cards[0]
			}
			// Another user of the app, and the same appUserId in app B, have
			// methods that must not show.
			e.cards(t, e.appA, e.customer(t, e.appA, "user_2"), 2)
			e.cards(t, e.appB, e.customer(t, e.appB, "user_1"), 2)
			// A detached card that was the user's once.
			old := e.cards(t, e.appA, cusID, 1)[0]
			if err := e.fake.DetachPaymentMethod(t.Context(), e.appA.Stripe, old, ""); err != nil {
				t.Fatalf("detach: %v", err)
			}
			e.fake.ResetCalls()

			got, err := e.svc.PaymentMethods(t.Context(), e.appA, "user_1")
			if err != nil {
				t.Fatalf("PaymentMethods: got error %v, want nil", err)
			}
			if got.DefaultMethodID != wantDefault {
				t.Errorf("got defaultMethodId %q, want %q", got.DefaultMethodID, wantDefault)
			}
			wantIDs := []string{}
			for i := len(cards) - 1; i >= 0; i-- {
				wantIDs = append(wantIDs, cards[i])
			}
			if diff := cmp.Diff(wantIDs, methodIDs(t, got.Methods)); diff != "" {
				t.Errorf("method ids, newest first, mismatch (-want +got):\n%s", diff)
			}
			if got := e.fake.Calls("CreateCustomer"); got != 0 {
				t.Errorf("got %d CreateCustomer calls, want 0", got)
			}
			// Each method is Stripe's own JSON, unchanged.
			for i, id := range wantIDs {
				pm, err := e.fake.PaymentMethod(t.Context(), e.appA.Stripe, id)
				if err != nil {
					t.Fatalf("fake PaymentMethod(%s): %v", id, err)
				}
				if diff := cmp.Diff(string(pm.Raw), string(got.Methods[i])); diff != "" {
					t.Errorf("method %d raw JSON mismatch (-want +got):\n%s", i, diff)
				}
			}
			// The envelope data is an array of Stripe objects.
			var decoded struct {
				Methods []struct {
					ID     string `json:"id"`
					Object string `json:"object"`
					Card   struct {
						Last4 string `json:"last4"`
					} `json:"card"`
				} `json:"methods"`
				DefaultMethodID *string `json:"defaultMethodId"`
			}
			if err := json.Unmarshal([]byte(mustJSON(t, got)), &decoded); err != nil {
				t.Fatalf("unmarshal list: %v", err)
			}
			if decoded.DefaultMethodID == nil {
				t.Errorf("got no defaultMethodId key, want one")
			}
			for _, m := range decoded.Methods {
				if m.Object != "payment_method" || m.Card.Last4 == "" {
					t.Errorf("got method %+v, want a Stripe card payment_method", m)
				}
			}
		})
	}
}

func TestPaymentMethodsInvalidAppUserID(t *testing.T) {
	for _, user := range []string{"", strings.Repeat("x", 129), "a\tb", "\xc3"} {
		t.Run(fmt.Sprintf("%q", user), func(t *testing.T) {
			e := newEnv(t)
			got, err := e.svc.PaymentMethods(t.Context(), e.appA, user)
			if got != nil {
				t.Errorf("got %+v, want nil", got)
			}
			wantCode(t, err, appwheel.EINVALID)
			wantNoStripeCalls(t, e.fake)
		})
	}
}
