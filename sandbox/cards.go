package sandbox

import (
	"crypto/sha256"
	"strings"
	"time"
)

// testCard is one of Stripe's documented test cards, the only cards the
// sandbox knows: it never sees, and must never be given, a real card.
type testCard struct {
	Number       string
	Token        string // the pm_card_… test token for it
	Brand        string // brand as in card.brand
	DisplayBrand string
	Network      string
	Funding      string
	Country      string
	CVCLength    int
	// Decline, when set, declines the card whenever it is checked: on
	// attach, on setup intent confirmation, on every charge.
	Decline *decline
	// ChargeDecline, when set, lets the card attach but fails every charge:
	// the renewal-decline scenario (4000 0000 0000 0341).
	ChargeDecline *decline
}

// decline is how a test card fails, in Stripe's words.
type decline struct {
	Code        string // card_declined
	DeclineCode string // generic_decline, insufficient_funds
	Message     string
}

var (
	genericDecline    = &decline{Code: "card_declined", DeclineCode: "generic_decline", Message: "Your card was declined."}
	insufficientFunds = &decline{Code: "card_declined", DeclineCode: "insufficient_funds", Message: "Your card has insufficient funds."}
)

// testCards are the test cards by number. The tokens follow Stripe's.
var testCards = []*testCard{
	{Number: "4242424242424242", Token: "pm_card_visa", Brand: "visa", DisplayBrand: "visa", Network: "visa", Funding: "credit", Country: "US", CVCLength: 3},
	{Number: "5555555555554444", Token: "pm_card_mastercard", Brand: "mastercard", DisplayBrand: "mastercard", Network: "mastercard", Funding: "credit", Country: "US", CVCLength: 3},
	{Number: "378282246310005", Token: "pm_card_amex", Brand: "amex", DisplayBrand: "american_express", Network: "amex", Funding: "credit", Country: "US", CVCLength: 4},
	{Number: "6011111111111117", Token: "pm_card_discover", Brand: "discover", DisplayBrand: "discover", Network: "discover", Funding: "credit", Country: "US", CVCLength: 3},
	{Number: "4000000000000002", Token: "pm_card_chargeDeclined", Brand: "visa", DisplayBrand: "visa", Network: "visa", Funding: "credit", Country: "US", CVCLength: 3,
		Decline: genericDecline},
	{Number: "4000000000009995", Token: "pm_card_chargeDeclinedInsufficientFunds", Brand: "visa", DisplayBrand: "visa", Network: "visa", Funding: "credit", Country: "US", CVCLength: 3,
		Decline: insufficientFunds},
	{Number: "4000000000000341", Token: "pm_card_chargeCustomerFail", Brand: "visa", DisplayBrand: "visa", Network: "visa", Funding: "credit", Country: "US", CVCLength: 3,
		ChargeDecline: genericDecline},
}

// cardByNumber finds a test card by its number, spaces and dashes allowed.
func cardByNumber(number string) *testCard {
	number = strings.NewReplacer(" ", "", "-", "").Replace(number)
	for _, c := range testCards {
		if c.Number == number {
			return c
		}
	}
	return nil
}

// cardByToken finds a test card by its pm_card_… token.
func cardByToken(token string) *testCard {
	for _, c := range testCards {
		if c.Token == token {
			return c
		}
	}
	return nil
}

// chargeDecline is how a charge on c fails, or nil when it succeeds.
func (c *testCard) chargeDecline() *decline {
	if c.Decline != nil {
		return c.Decline
	}
	return c.ChargeDecline
}

func (c *testCard) last4() string { return c.Number[len(c.Number)-4:] }

// fingerprint is stable per card number within an account, as Stripe's is,
// so that the same card added twice can be recognised.
func fingerprint(accountID, number string) string {
	sum := sha256.Sum256([]byte("appwheel-sandbox-fingerprint:" + accountID + ":" + number))
	b := make([]byte, 16)
	for i := range b {
		b[i] = base62[int(sum[i])%62]
	}
	return string(b)
}

// luhn reports whether number passes the Luhn check every card number does.
func luhn(number string) bool {
	sum, double := 0, false
	for i := len(number) - 1; i >= 0; i-- {
		d := int(number[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return len(number) >= 12 && sum%10 == 0
}

// tokenExpiry is the expiry Stripe gives the cards of test tokens: some
// years ahead of the account's clock.
func tokenExpiry(now time.Time) (month, year int64) {
	return int64(now.Month()), int64(now.Year() + 3)
}
