package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The hosted checkout page: what the session's url shows. It takes a test
// card, sets it up with the session's setup intent (attaching it to the
// customer) and completes the session, then redirects (303) to success_url
// with {CHECKOUT_SESSION_ID} replaced, as Stripe Checkout does. The form's
// ids and names (cardNumber, cardExpiry, cardCvc, billingName, submit,
// error, cancel) are stable: browser tests drive them.

// checkoutPageData is what the checkout template shows.
type checkoutPageData struct {
	Action, Status, Email, CancelURL string
	CardNumber, CardExpiry           string
	BillingName, Error               string
	// Plan, for a session in subscription mode, is what it subscribes to
	// (one line per price), and Trial the free days before the first charge.
	Plan  []string
	Trial int64
}

// sessionAccount finds the account of checkout session id.
func (s *Sandbox) sessionAccount(id string) (string, bool) {
	return s.findAccount(func(a *account) bool { _, ok := a.CheckoutSessions.get(id); return ok })
}

func (s *Sandbox) checkoutData(t *tx, cs *checkoutSession) checkoutPageData {
	d := checkoutPageData{Action: s.cfg.BaseURL + "/checkout/" + cs.ID, Status: cs.Status, CancelURL: deref(cs.CancelURL)}
	if cus, ok := t.a.Customers.get(deref(cs.Customer)); ok {
		d.Email = deref(cus.Email)
	} else {
		d.Email = deref(cs.CustomerEmail)
	}
	if in := cs.Internal; in != nil {
		d.Trial = in.TrialDays
		for _, it := range in.Items {
			if p, ok := t.a.Prices.get(it.Price); ok {
				d.Plan = append(d.Plan, lineDescription(it.Quantity, t.productName(p), p))
			}
		}
	}
	return d
}

// checkoutPage is GET /checkout/{id}.
func (s *Sandbox) checkoutPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	hash, ok := s.sessionAccount(id)
	if !ok {
		s.writeMessage(w, http.StatusNotFound, "No such checkout session", "This checkout link is not one the sandbox knows.")
		return
	}
	var data checkoutPageData
	hosted := true
	s.run(hash, func(t *tx) {
		cs, _ := t.a.CheckoutSessions.get(id)
		hosted = cs.UIMode == "hosted_page"
		data = s.checkoutData(t, cs)
	})
	if !hosted {
		s.writeMessage(w, http.StatusNotFound, "Not a hosted checkout session", "This session was created for an embedded UI; it has no hosted page.")
		return
	}
	s.writePage(w, http.StatusOK, "checkout", data)
}

// checkoutSubmit is POST /checkout/{id}: the card form.
func (s *Sandbox) checkoutSubmit(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	hash, ok := s.sessionAccount(id)
	if !ok {
		s.writeMessage(w, http.StatusNotFound, "No such checkout session", "This checkout link is not one the sandbox knows.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		s.writeMessage(w, http.StatusBadRequest, "Invalid form", "The form could not be read.")
		return
	}
	number := r.PostForm.Get("cardNumber")
	expiry := r.PostForm.Get("cardExpiry")
	cvc := strings.TrimSpace(r.PostForm.Get("cardCvc"))
	name := strings.TrimSpace(r.PostForm.Get("billingName"))

	var (
		data    checkoutPageData
		status  int
		success string
	)
	err := s.run(hash, func(t *tx) {
		cs, _ := t.a.CheckoutSessions.get(id)
		data = s.checkoutData(t, cs)
		data.CardNumber, data.CardExpiry, data.BillingName = number, expiry, name
		if cs.Status != csOpen || cs.UIMode != "hosted_page" {
			status = http.StatusConflict
			return
		}
		card, details, msg := readCard(number, expiry, cvc, name, t.now)
		if msg != "" {
			status, data.Error = http.StatusBadRequest, msg
			return
		}
		t.req = eventRequest{ID: ptr("req_" + randomString(14))}
		if aerr := t.completeSession(cs, card, details); aerr != nil {
			status, data.Error = aerr.Status, aerr.Message
			return
		}
		status = http.StatusSeeOther
		success = strings.ReplaceAll(deref(cs.SuccessURL), "{CHECKOUT_SESSION_ID}", cs.ID)
	})
	switch {
	case err != nil:
		s.writeMessage(w, http.StatusInternalServerError, "Sandbox error", "The sandbox failed on this request; this is a bug of the sandbox, see its log.")
	case status == http.StatusSeeOther:
		http.Redirect(w, r, success, http.StatusSeeOther)
	default:
		s.writePage(w, status, "checkout", data)
	}
}

// parseExpiry reads MM/YY, MM / YY, MM/YYYY, or the digits alone (MMYY,
// MMYYYY), as card forms accept.
func parseExpiry(s string) (month, year int, ok bool) {
	s = strings.ReplaceAll(s, " ", "")
	mm, yy, found := strings.Cut(s, "/")
	if !found {
		if len(s) != 4 && len(s) != 6 {
			return 0, 0, false
		}
		mm, yy = s[:2], s[2:]
	}
	if len(mm) < 1 || len(mm) > 2 || (len(yy) != 2 && len(yy) != 4) || strings.Trim(mm+yy, "0123456789") != "" {
		return 0, 0, false
	}
	month, _ = strconv.Atoi(mm)
	year, _ = strconv.Atoi(yy)
	if year < 100 {
		year += 2000
	}
	return month, year, true
}

// readCard validates the form as Stripe's card element does and returns
// the test card, or a message for the customer.
func readCard(number, expiry, cvc, name string, now time.Time) (*testCard, cardDetails, string) {
	digits := strings.NewReplacer(" ", "", "-", "").Replace(number)
	if digits == "" {
		return nil, cardDetails{}, "Your card number is incomplete."
	}
	if !luhn(digits) {
		return nil, cardDetails{}, "Your card number is invalid."
	}
	card := cardByNumber(digits)
	if card == nil {
		return nil, cardDetails{}, "Your card number is not one of the sandbox's test cards: use 4242 4242 4242 4242 (or another test card listed below). The sandbox never takes real cards."
	}
	month, year, ok := parseExpiry(expiry)
	if !ok {
		return nil, cardDetails{}, "Your card's expiration date is incomplete: use MM / YY."
	}
	if month < 1 || month > 12 {
		return nil, cardDetails{}, "Your card's expiration month is invalid."
	}
	if year < now.Year() || year == now.Year() && month < int(now.Month()) {
		return nil, cardDetails{}, "Your card's expiration date is in the past."
	}
	if year > now.Year()+50 {
		return nil, cardDetails{}, "Your card's expiration year is invalid."
	}
	if len(cvc) != card.CVCLength || strings.Trim(cvc, "0123456789") != "" {
		return nil, cardDetails{}, "Your card's security code is incomplete."
	}
	if name == "" {
		return nil, cardDetails{}, "Enter the cardholder's name."
	}
	return card, cardDetails{ExpMonth: int64(month), ExpYear: int64(year), Name: name}, ""
}
