package sandbox

import "strings"

// view returns what o looks like in the API: its stored form with the URLs
// built from Config.BaseURL, the sandbox's own bookkeeping left out, and
// embedded objects brought up to date.
func (t *tx) view(o object) any {
	switch o := o.(type) {
	case *customer:
		return o.view()
	case *paymentMethod:
		return o.view()
	case *checkoutSession:
		return o.view(t.s.cfg.BaseURL)
	case *subscription:
		return o.view(t.a)
	case *invoice:
		return o.view(t.s.cfg.BaseURL)
	case *paymentIntent:
		return o.view()
	}
	return o
}

// render is the body answering v, with the expand paths applied.
func (t *tx) render(v any, expand []string) ([]byte, *apiError) {
	var out any = v
	switch v := v.(type) {
	case object:
		out = t.view(v)
	case *listResult:
		lv := listView{Object: "list", Data: make([]any, 0, len(v.Data)), HasMore: v.HasMore, URL: v.URL}
		if v.Search {
			lv.Object = "search_result"
			lv.NextPage = v.NextPage
		}
		for _, o := range v.Data {
			lv.Data = append(lv.Data, t.view(o))
		}
		out = lv
	}
	if len(expand) == 0 {
		return mustJSON(out), nil
	}
	m := decodeMap(mustJSON(out))
	for _, path := range expand {
		t.expandAt(m, strings.Split(path, "."))
	}
	return mustJSON(m), nil
}

// expandable lists, per object type, the paths Stripe can expand and the
// type each leads to ("" for fields the sandbox always leaves null).
var expandable = map[string]map[string]string{
	"customer":       {"invoice_settings.default_payment_method": "payment_method", "default_source": "", "test_clock": ""},
	"payment_method": {"customer": "customer"},
	"setup_intent": {"customer": "customer", "payment_method": "payment_method", "latest_attempt": "",
		"mandate": "", "single_use_mandate": "", "on_behalf_of": "", "application": ""},
	"checkout.session": {"customer": "customer", "setup_intent": "setup_intent", "subscription": "subscription",
		"invoice": "invoice", "payment_intent": "", "payment_link": ""},
	"product": {"default_price": "price"},
	"price":   {"product": "product"},
	"subscription": {"customer": "customer", "default_payment_method": "payment_method", "latest_invoice": "invoice",
		"pending_setup_intent": "", "default_source": "", "schedule": "", "test_clock": "",
		"items.data.price": "price", "items.data.price.product": "product"},
	"invoice": {"customer": "customer", "default_payment_method": "payment_method",
		"parent.subscription_details.subscription": "subscription",
		"lines.data.pricing.price_details.price":   "price", "default_source": "", "test_clock": "",
		"confirmation_secret": ""},
	"payment_intent": {"customer": "customer", "payment_method": "payment_method", "latest_charge": "",
		"application": "", "on_behalf_of": "", "review": ""},
	"event": {},
}

// includable are fields Stripe leaves out of an object unless they are
// expanded, by object type: expanding one computes it.
var includable = map[string]map[string]func(t *tx, id string) any{
	"invoice": {"confirmation_secret": (*tx).invoiceConfirmationSecret},
}

// validateExpand checks the expand paths before a request runs, so that a
// bad one refuses the request instead of failing after its work is done.
func validateExpand(kind string, list bool, paths []string) *apiError {
	for _, path := range paths {
		segs := strings.Split(path, ".")
		if list {
			if segs[0] != "data" || len(segs) == 1 {
				return invalid("expand", "This property cannot be expanded (%s). You may want to try expanding 'data.%s' instead.", path, path)
			}
			segs = segs[1:]
		}
		if !validExpandPath(kind, segs, 0) {
			return invalid("expand", "This property cannot be expanded (%s).", path)
		}
	}
	return nil
}

func validExpandPath(kind string, segs []string, depth int) bool {
	if depth >= 4 {
		return false
	}
	for p, target := range expandable[kind] {
		ps := strings.Split(p, ".")
		if len(ps) > len(segs) || strings.Join(segs[:len(ps)], ".") != p {
			continue
		}
		rest := segs[len(ps):]
		if len(rest) == 0 {
			return true
		}
		if target != "" && validExpandPath(target, rest, depth+1) {
			return true
		}
	}
	return false
}

// expandAt replaces the ID at path under v with the object it names; IDs
// met on the way are expanded too (expanding a.b expands a), and arrays
// apply the rest of the path to each element.
func (t *tx) expandAt(v any, segs []string) any {
	switch v := v.(type) {
	case []any:
		for i := range v {
			v[i] = t.expandAt(v[i], segs)
		}
		return v
	case string:
		if o := t.lookup(v); o != nil {
			return t.expandAt(t.renderMap(o), segs)
		}
		return v
	case map[string]any:
		if len(segs) == 0 {
			return v
		}
		child, ok := v[segs[0]]
		if !ok {
			kind, _ := v["object"].(string)
			id, _ := v["id"].(string)
			if include := includable[kind][segs[0]]; include != nil && len(segs) == 1 {
				v[segs[0]] = include(t, id)
			}
			return v
		}
		if len(segs) == 1 {
			if id, ok := child.(string); ok {
				if o := t.lookup(id); o != nil {
					v[segs[0]] = t.renderMap(o)
				}
			}
			return v
		}
		v[segs[0]] = t.expandAt(child, segs[1:])
		return v
	}
	return v
}

// lookup finds any object of the account by ID.
func (t *tx) lookup(id string) object {
	a := t.a
	find := func(o object, ok bool) object {
		if ok {
			return o
		}
		return nil
	}
	switch {
	case strings.HasPrefix(id, "cus_"):
		return find(a.Customers.get(id))
	case strings.HasPrefix(id, "pm_"):
		return find(a.PaymentMethods.get(id))
	case strings.HasPrefix(id, "seti_"):
		return find(a.SetupIntents.get(id))
	case strings.HasPrefix(id, "cs_"):
		return find(a.CheckoutSessions.get(id))
	case strings.HasPrefix(id, "price_"):
		return find(a.Prices.get(id))
	case strings.HasPrefix(id, "sub_"):
		return find(a.Subscriptions.get(id))
	case strings.HasPrefix(id, "in_"):
		return find(a.Invoices.get(id))
	case strings.HasPrefix(id, "pi_"):
		return find(a.PaymentIntents.get(id))
	}
	return find(a.Products.get(id)) // product IDs may be chosen by the caller
}
