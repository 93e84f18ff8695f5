package fakestripe

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Stripe's JSON for a card PaymentMethod, fields in Stripe's order.
type rawPaymentMethod struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	AllowRedisplay string            `json:"allow_redisplay"`
	BillingDetails rawBilling        `json:"billing_details"`
	Card           rawCard           `json:"card"`
	Created        int64             `json:"created"`
	Customer       *string           `json:"customer"`
	Livemode       bool              `json:"livemode"`
	Metadata       map[string]string `json:"metadata"`
	Type           string            `json:"type"`
}

type rawBilling struct {
	Address struct {
		City       *string `json:"city"`
		Country    *string `json:"country"`
		Line1      *string `json:"line1"`
		Line2      *string `json:"line2"`
		PostalCode *string `json:"postal_code"`
		State      *string `json:"state"`
	} `json:"address"`
	Email *string `json:"email"`
	Name  *string `json:"name"`
	Phone *string `json:"phone"`
}

type rawCard struct {
	Brand  string `json:"brand"`
	Checks struct {
		AddressLine1Check      *string `json:"address_line1_check"`
		AddressPostalCodeCheck *string `json:"address_postal_code_check"`
		CVCCheck               string  `json:"cvc_check"`
	} `json:"checks"`
	Country       string  `json:"country"`
	DisplayBrand  string  `json:"display_brand"`
	ExpMonth      int     `json:"exp_month"`
	ExpYear       int     `json:"exp_year"`
	Fingerprint   string  `json:"fingerprint"`
	Funding       string  `json:"funding"`
	GeneratedFrom *string `json:"generated_from"`
	Last4         string  `json:"last4"`
	Networks      struct {
		Available []string `json:"available"`
		Preferred *string  `json:"preferred"`
	} `json:"networks"`
	RegulatedStatus   string `json:"regulated_status"`
	ThreeDSecureUsage struct {
		Supported bool `json:"supported"`
	} `json:"three_d_secure_usage"`
	Wallet *struct{} `json:"wallet"`
}

// raw returns Stripe's JSON for the payment method as it is now.
func (pm *paymentMethod) raw() json.RawMessage {
	fp := sha256.Sum256([]byte(pm.brand + "/" + pm.last4))
	r := rawPaymentMethod{
		ID:             pm.id,
		Object:         "payment_method",
		AllowRedisplay: "unspecified",
		Created:        pm.created,
		Metadata:       map[string]string{},
		Type:           "card",
	}
	if pm.customer != "" {
		c := pm.customer
		r.Customer = &c
	}
	r.Card.Brand = pm.brand
	r.Card.Checks.CVCCheck = "pass"
	r.Card.Country = "US"
	r.Card.DisplayBrand = pm.brand
	r.Card.ExpMonth = 12
	r.Card.ExpYear = time.Unix(pm.created, 0).UTC().Year() + 3
	r.Card.Fingerprint = hex.EncodeToString(fp[:8])
	r.Card.Funding = "credit"
	r.Card.Last4 = pm.last4
	r.Card.Networks.Available = []string{pm.brand}
	r.Card.RegulatedStatus = "unregulated"
	r.Card.ThreeDSecureUsage.Supported = true
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	return b
}
