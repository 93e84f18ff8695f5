package sandbox

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// price is a Stripe Price: one-time or recurring, per unit.
type price struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Active            bool              `json:"active"`
	BillingScheme     string            `json:"billing_scheme"`
	Created           int64             `json:"created"`
	Currency          string            `json:"currency"`
	CustomUnitAmount  *struct{}         `json:"custom_unit_amount"`
	Livemode          bool              `json:"livemode"`
	LookupKey         *string           `json:"lookup_key"`
	Metadata          map[string]string `json:"metadata"`
	Nickname          *string           `json:"nickname"`
	Product           string            `json:"product"`
	Recurring         *recurring        `json:"recurring"`
	TaxBehavior       string            `json:"tax_behavior"`
	TiersMode         *string           `json:"tiers_mode"`
	TransformQuantity *struct{}         `json:"transform_quantity"`
	Type              string            `json:"type"`
	UnitAmount        *int64            `json:"unit_amount"`
	UnitAmountDecimal *string           `json:"unit_amount_decimal"`
}

type recurring struct {
	Interval      string  `json:"interval"`
	IntervalCount int64   `json:"interval_count"`
	Meter         *string `json:"meter"`
	UsageType     string  `json:"usage_type"`
}

func (p *price) objectID() string { return p.ID }

func (p *price) amount() int64 {
	if p.UnitAmount == nil {
		return 0
	}
	return *p.UnitAmount
}

var intervals = []string{"day", "week", "month", "year"}

var (
	priceCreateSpec = endpoint(map[string]*spec{
		"currency":     str().req(),
		"unit_amount":  integer(),
		"product":      str(),
		"product_data": obj(map[string]*spec{"name": str().req(), "metadata": metadataSpec(), "active": boolean()}),
		"recurring": obj(map[string]*spec{
			"interval":       enum(intervals...).req(),
			"interval_count": integer(),
			"usage_type":     enum("licensed", "metered"),
		}),
		"lookup_key":          str(),
		"transfer_lookup_key": boolean(),
		"nickname":            str(),
		"metadata":            metadataSpec(),
		"active":              boolean(),
		"tax_behavior":        enum("exclusive", "inclusive", "unspecified"),
	})
	priceListSpec = listEndpoint(map[string]*spec{
		"active":      boolean(),
		"currency":    str(),
		"product":     str(),
		"type":        enum("one_time", "recurring"),
		"lookup_keys": arr(str()),
	})
)

var currencyPattern = regexp.MustCompile(`^[a-z]{3}$`)

// maxIntervalCount is Stripe's limit: at most one year between charges.
var maxIntervalCount = map[string]int64{"day": 365, "week": 52, "month": 12, "year": 1}

// priceInput is a price to create, from the API or from EnsurePrice.
type priceInput struct {
	Currency, ProductID, ProductName, Interval, LookupKey, Nickname string
	IntervalCount, UnitAmount                                       int64
	Recurring, TransferLookupKey                                    bool
}

// createPriceFrom validates in and creates the price (and its product when
// in names one by ProductName), emitting their events. param prefixes the
// error's param ("" from the API).
func (t *tx) createPriceFrom(in priceInput) (*price, *apiError) {
	in.Currency = strings.ToLower(in.Currency)
	if !currencyPattern.MatchString(in.Currency) {
		return nil, invalid("currency", "Invalid currency: %s. Stripe currencies are three-letter ISO codes, such as usd.", in.Currency)
	}
	if in.UnitAmount < 0 {
		return nil, invalid("unit_amount", "Invalid integer: unit_amount must be at least 0")
	}
	if in.Recurring {
		if in.IntervalCount == 0 {
			in.IntervalCount = 1
		}
		if in.IntervalCount < 1 || in.IntervalCount > maxIntervalCount[in.Interval] {
			return nil, invalid("recurring[interval_count]", "Invalid recurring[interval_count]: the maximum billing period is one year (1 year, 12 months, 52 weeks or 365 days).")
		}
	}
	if in.LookupKey != "" && !in.TransferLookupKey {
		if other := t.priceByLookupKey(in.LookupKey); other != nil {
			return nil, invalid("lookup_key", "A price (`%s`) already uses that lookup key.", other.ID)
		}
	}
	var prod *product
	switch {
	case in.ProductID != "":
		p, ok := t.a.Products.get(in.ProductID)
		if !ok {
			return nil, noSuchParam("product", "product", in.ProductID)
		}
		prod = p
	case in.ProductName != "":
		prod = t.newProduct("", in.ProductName)
		t.emit("product.created", prod, nil)
	default:
		return nil, invalid("product", "You must specify either `product` or `product_data` when creating a price.")
	}
	if in.LookupKey != "" {
		if other := t.priceByLookupKey(in.LookupKey); other != nil {
			before := t.renderMap(other)
			other.LookupKey = nil
			t.emitUpdate("price.updated", other, before)
		}
	}
	amount := in.UnitAmount
	p := &price{
		ID: t.newID("price"), Object: "price", Active: true, BillingScheme: "per_unit", Created: t.unix(),
		Currency: in.Currency, LookupKey: strOrNil(in.LookupKey), Metadata: map[string]string{},
		Nickname: strOrNil(in.Nickname), Product: prod.ID, TaxBehavior: "unspecified", Type: "one_time",
		UnitAmount: &amount, UnitAmountDecimal: ptr(strconv.FormatInt(amount, 10)),
	}
	if in.Recurring {
		p.Type = "recurring"
		p.Recurring = &recurring{Interval: in.Interval, IntervalCount: in.IntervalCount, UsageType: "licensed"}
	}
	t.a.Prices.add(p)
	t.emit("price.created", p, nil)
	if prod.DefaultPrice == nil {
		before := t.renderMap(prod)
		prod.DefaultPrice = &p.ID
		t.emitUpdate("product.updated", prod, before)
	}
	return p, nil
}

// priceByLookupKey is the price holding lookup key k, or nil.
func (t *tx) priceByLookupKey(k string) *price {
	for _, p := range t.a.Prices.items {
		if deref(p.LookupKey) == k {
			return p
		}
	}
	return nil
}

// createPrice is POST /v1/prices.
func createPrice(t *tx, r *request) (any, *apiError) {
	if r.p.has("product") == r.p.has("product_data") {
		return nil, invalid("product", "You must specify either `product` or `product_data` when creating a price.")
	}
	if !r.p.has("unit_amount") {
		return nil, missingParam("unit_amount").withMessage("You must pass either `unit_amount`, `unit_amount_decimal` or `custom_unit_amount` when creating a price. (The AppWheel sandbox supports unit_amount.)")
	}
	if r.p.str("recurring", "usage_type") == "metered" {
		return nil, invalid("recurring[usage_type]", "The AppWheel sandbox does not emulate metered prices.")
	}
	p, aerr := t.createPriceFrom(priceInput{
		Currency: r.p.str("currency"), ProductID: r.p.str("product"), ProductName: r.p.str("product_data", "name"),
		Interval: r.p.str("recurring", "interval"), IntervalCount: r.p.int("recurring", "interval_count"),
		Recurring: r.p.has("recurring"), UnitAmount: r.p.int("unit_amount"),
		LookupKey: r.p.str("lookup_key"), TransferLookupKey: r.p.bool("transfer_lookup_key"), Nickname: r.p.str("nickname"),
	})
	if aerr != nil {
		return nil, aerr
	}
	p.Metadata = r.p.applyMetadata(p.Metadata, "metadata")
	if r.p.has("active") {
		p.Active = r.p.bool("active")
	}
	if r.p.has("tax_behavior") {
		p.TaxBehavior = r.p.str("tax_behavior")
	}
	return p, nil
}

// ensurePrice is EnsurePrice's work, see there.
func (t *tx) ensurePrice(s PriceSpec) (string, error) {
	if s.LookupKey == "" || s.ProductName == "" {
		return "", errors.New("LookupKey and ProductName are required")
	}
	if s.IntervalCount == 0 {
		s.IntervalCount = 1
	}
	if _, ok := maxIntervalCount[s.Interval]; !ok {
		return "", errors.New("interval must be day, week, month or year")
	}
	cur := strings.ToLower(s.Currency)
	if p := t.priceByLookupKey(s.LookupKey); p != nil && p.Active && p.Currency == cur && p.amount() == s.UnitAmount &&
		p.Recurring != nil && p.Recurring.Interval == s.Interval && p.Recurring.IntervalCount == s.IntervalCount &&
		(p.Nickname == nil && s.Nickname == "" || p.Nickname != nil && *p.Nickname == s.Nickname) {
		if prod, ok := t.a.Products.get(p.Product); ok && prod.Name == s.ProductName {
			return p.ID, nil
		}
	}
	in := priceInput{Currency: s.Currency, Interval: s.Interval, IntervalCount: s.IntervalCount, UnitAmount: s.UnitAmount,
		Recurring: true, LookupKey: s.LookupKey, TransferLookupKey: true, Nickname: s.Nickname}
	for _, prod := range t.a.Products.newestFirst(nil) {
		if prod.Name == s.ProductName && prod.Active {
			in.ProductID = prod.ID
			break
		}
	}
	if in.ProductID == "" {
		in.ProductName = s.ProductName
	}
	p, aerr := t.createPriceFrom(in)
	if aerr != nil {
		return "", errors.New(aerr.Message)
	}
	return p.ID, nil
}

// getPrice is GET /v1/prices/{id}.
func getPrice(t *tx, r *request) (any, *apiError) {
	p, ok := t.a.Prices.get(r.id)
	if !ok {
		return nil, notFound("price", r.id)
	}
	return p, nil
}

// listPrices is GET /v1/prices.
func listPrices(t *tx, r *request) (any, *apiError) {
	keys := r.p.strs("lookup_keys")
	ps := t.a.Prices.newestFirst(func(p *price) bool {
		switch {
		case r.p.has("active") && p.Active != r.p.bool("active"),
			r.p.has("currency") && p.Currency != strings.ToLower(r.p.str("currency")),
			r.p.has("product") && p.Product != r.p.str("product"),
			r.p.has("type") && p.Type != r.p.str("type"):
			return false
		}
		if len(keys) == 0 {
			return true
		}
		for _, k := range keys {
			if deref(p.LookupKey) == k {
				return true
			}
		}
		return false
	})
	return paginate(ps, r.p, "/v1/prices", "price")
}

// priceSearchFields are the fields price search understands.
var priceSearchFields = []string{"active", "currency", "lookup_key", "product", "type"}

// searchPrices is GET /v1/prices/search, e.g. lookup_key:'pro_monthly'.
func searchPrices(t *tx, r *request) (any, *apiError) {
	q, aerr := parseSearch(r.p.str("query"), priceSearchFields)
	if aerr != nil {
		return nil, aerr
	}
	ps := t.a.Prices.newestFirst(func(p *price) bool {
		return t.searchSees(p.Created) && q.matches(func(field, key string) (string, bool) {
			switch field {
			case "metadata":
				v, ok := p.Metadata[key]
				return v, ok
			case "active":
				return strconv.FormatBool(p.Active), true
			case "currency":
				return p.Currency, true
			case "lookup_key":
				return deref(p.LookupKey), p.LookupKey != nil
			case "product":
				return p.Product, true
			case "type":
				return p.Type, true
			}
			return "", false
		})
	})
	return searchPage(ps, r.p, "/v1/prices/search")
}

// productName is the name of p's product, or its ID when the product is
// gone.
func (t *tx) productName(p *price) string {
	if prod, ok := t.a.Products.get(p.Product); ok {
		return prod.Name
	}
	return p.Product
}

func priceRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/v1/prices", spec: priceCreateSpec, kind: "price", h: createPrice},
		{method: http.MethodGet, path: "/v1/prices", spec: priceListSpec, kind: "price", list: true, h: listPrices},
		{method: http.MethodGet, path: "/v1/prices/search", spec: searchSpec, kind: "price", list: true, h: searchPrices},
		{method: http.MethodGet, path: "/v1/prices/{id}", spec: endpoint(nil), kind: "price", h: getPrice},
	}
}
