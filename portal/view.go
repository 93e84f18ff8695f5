package portal

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/appwheel/appwheel"
)

// The page's data, in the user's language: what the templates show, every
// string already formatted.

// basePage is what every page shows: the app's look, the way back, and the
// forms' tokens.
type basePage struct {
	Lang        string
	Title       string // the app's display name
	LogoURL     string
	AccentColor string
	ReturnURL   string
	PageURL     string // the page, with the renewed visit token
	ActionURL   string // where the forms post, + "/" + action
	CSRF        string
	loc         *locale
}

// T is the catalog's string key in the page's language.
func (p *basePage) T(key string, args ...any) string { return p.loc.text(key, args...) }

func (s *Service) basePage(v *visit) *pageData {
	b := v.app.Branding
	title := b.DisplayName
	if title == "" {
		title = v.app.Name
	}
	return &pageData{basePage: basePage{
		Lang: v.locale.name, Title: title, LogoURL: b.LogoURL, AccentColor: b.AccentColor,
		ReturnURL: v.Return, PageURL: s.pageURL(v.token, nil), ActionURL: s.baseURL + "/portal/v/" + v.token,
		CSRF: s.csrfToken(v.Visit), loc: v.locale,
	}}
}

// pageData is the billing page.
type pageData struct {
	basePage
	Notice        string
	Cards         []*cardView
	Subscriptions []subscriptionView
	Invoices      []invoiceView
	// OlderURL pages to older invoices, NewestURL back to the newest.
	OlderURL, NewestURL string
}

type cardView struct {
	ID          string
	Label       string // "Visa •••• 4242"
	Expiry      string // "Expires 04/2027"
	Default     bool
	ExpiresSoon bool
	Expired     bool
	// Charges lists the live subscriptions this card pays.
	Charges []string
}

type subscriptionView struct {
	Plan       string // the price and its period
	Status     string
	NextCharge string // "Dec 3, 2026 · $12.00", or why there is none
	Card       string
	id         string
}

type invoiceView struct {
	Date, Number, Amount, Status string
	PDF, Hosted                  string
}

// expiringWithin is how soon before a card's expiry the page warns.
const expiringWithin = 60 * 24 * time.Hour

// fill formats what the billing service read. latest is the newest page of
// invoices, where the next charges' amounts come from.
func (p *pageData) fill(methods *appwheel.PaymentMethodList, subs []appwheel.SubscriptionView, invoices, latest *appwheel.OrderList, paged bool, now time.Time) {
	l := p.loc
	for _, raw := range methods.Methods {
		p.Cards = append(p.Cards, newCardView(l, raw, methods.DefaultMethodID, now))
	}
	for _, sub := range subs {
		sv := subscriptionView{
			id:     sub.ID,
			Plan:   l.text("sub.plan", cmp.Or(sub.ProductName, sub.ProductID), l.textOr("period."+sub.ProductPeriod, sub.ProductPeriod)),
			Status: l.textOr("sub.status."+sub.Status, sub.Status),
		}
		switch {
		case !live(sub.Status):
			sv.NextCharge = l.text("sub.noCharge")
		case sub.CancelAtPeriodEnd:
			sv.NextCharge = l.text("sub.endsOn", l.date(unix(sub.CurrentPeriodEnd)))
		default:
			sv.NextCharge = l.date(unix(sub.CurrentPeriodEnd))
			if o := lastInvoice(latest, sub.ID); o != nil {
				sv.NextCharge = l.text("sub.nextCharge", sv.NextCharge, l.money(o.AmountDue, o.Currency))
			}
		}
		if c := p.card(sub.PaymentMethodID); c != nil {
			sv.Card = c.Label
			if live(sub.Status) {
				c.Charges = append(c.Charges, sv.Plan)
			}
		} else if live(sub.Status) {
			sv.Card = l.text("sub.noCard")
		}
		p.Subscriptions = append(p.Subscriptions, sv)
	}
	for _, o := range invoices.Invoices {
		amount := o.AmountPaid
		if o.InvoiceStatus != "paid" {
			amount = o.AmountDue
		}
		p.Invoices = append(p.Invoices, invoiceView{
			Date: l.date(unix(o.Created)), Number: o.Number, Amount: l.money(amount, o.Currency),
			Status: l.textOr("invoice.status."+o.InvoiceStatus, o.InvoiceStatus), PDF: o.InvoicePDF, Hosted: o.HostedInvoiceURL,
		})
	}
	if n := len(invoices.Invoices); invoices.HasMore && n > 0 {
		p.OlderURL = p.PageURL + "?" + url.Values{"after": {invoices.Invoices[n-1].OrderID}}.Encode()
	}
	if paged {
		p.NewestURL = p.PageURL
	}
}

// live is Subscription.Live for a status.
func live(status string) bool { return (&appwheel.Subscription{Status: status}).Live() }

// lastInvoice is the subscription's newest invoice on the page, or nil:
// its amount is what the next invoice bills unless the plan changes.
func lastInvoice(list *appwheel.OrderList, subID string) *appwheel.Order {
	for i := range list.Invoices { // newest first
		if list.Invoices[i].OriginOrderID == subID {
			return &list.Invoices[i]
		}
	}
	return nil
}

func unix(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// stripeCard is what the page reads of a Stripe PaymentMethod.
type stripeCard struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Card *struct {
		Brand    string `json:"brand"`
		Last4    string `json:"last4"`
		ExpMonth int    `json:"exp_month"`
		ExpYear  int    `json:"exp_year"`
	} `json:"card"`
}

func newCardView(l *locale, raw json.RawMessage, defaultID string, now time.Time) *cardView {
	var pm stripeCard
	json.Unmarshal(raw, &pm) // the mirror keeps Stripe's objects: they decode
	c := &cardView{ID: pm.ID, Default: pm.ID == defaultID}
	if pm.Card == nil {
		c.Label = l.text("card.other", pm.Type)
		return c
	}
	brand := l.textOr("brand."+pm.Card.Brand, pm.Card.Brand)
	c.Label = l.text("card.label", brand, pm.Card.Last4)
	c.Expiry = l.text("card.expires", fmt.Sprintf("%02d/%d", pm.Card.ExpMonth, pm.Card.ExpYear))
	// A card works through the last day of its expiry month.
	end := time.Date(pm.Card.ExpYear, time.Month(pm.Card.ExpMonth)+1, 1, 0, 0, 0, 0, time.UTC)
	c.Expired = !now.Before(end)
	c.ExpiresSoon = !c.Expired && end.Sub(now) <= expiringWithin
	return c
}

// card is the user's card id, or nil.
func (p *pageData) card(id string) *cardView {
	for _, c := range p.Cards {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// confirmPage asks to confirm an action on a card.
type confirmPage struct {
	basePage
	Action   string // remove or default
	Card     *cardView
	Question string
	// Consequence says what else happens; Blocked, that the card cannot be
	// removed (it alone pays a live subscription), and why.
	Consequence string
	Blocked     bool
}

// confirmation is the confirm page of action on card c. What it says of
// the consequences is a preview: the billing service decides, by the same
// rules, when the form is posted.
func (p *pageData) confirmation(action string, c *cardView) *confirmPage {
	l := p.loc
	cp := &confirmPage{basePage: p.basePage, Action: action, Card: c}
	if action == "default" {
		cp.Question = l.text("confirm.default", c.Label)
		return cp
	}
	cp.Question = l.text("confirm.remove", c.Label)
	var other *cardView
	for _, o := range p.Cards {
		if o.ID != c.ID && (other == nil || o.Default) {
			other = o
		}
	}
	switch {
	case len(c.Charges) > 0 && other == nil:
		cp.Blocked, cp.Consequence = true, l.text("lastcard.text")
	case len(c.Charges) > 0:
		cp.Consequence = l.text("confirm.moves", strings.Join(c.Charges, ", "), other.Label)
	}
	return cp
}

// notice is the outcome of the action the page was sent back from, said
// with the page's data: a subscription moved to another card is named with
// the card it charges now.
func (p *pageData) notice(q url.Values) string {
	l := p.loc
	switch q.Get("done") {
	case "added":
		return l.text("notice.added")
	case "addCanceled":
		return l.text("notice.addCanceled")
	case "removed":
		for _, sub := range p.Subscriptions {
			if sub.id == q.Get("moved") && sub.Card != "" {
				return l.text("notice.removedMoved", sub.Plan, sub.Card)
			}
		}
		return l.text("notice.removed")
	case "default":
		return l.text("notice.default")
	}
	return ""
}
