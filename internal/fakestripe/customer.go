package fakestripe

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/appwheel/appwheel"
)

// Metadata keys CreateCustomer records on the customer.
const (
	MetadataAppID     = "app_id"
	MetadataAppUserID = "app_user_id"
)

type customer struct {
	id        string
	created   int64
	seq       int64
	metadata  map[string]string
	defaultPM string
	deleted   bool
}

func (c *customer) value() appwheel.Customer {
	if c.deleted {
		return appwheel.Customer{ID: c.id, Deleted: true}
	}
	return appwheel.Customer{ID: c.id, DefaultPaymentMethodID: c.defaultPM, Metadata: maps.Clone(c.metadata)}
}

// live returns the customer with the given ID unless it is unknown or
// deleted, which Stripe reports as "No such customer". Callers hold mu.
func (a *account) live(id string) (*customer, error) {
	c := a.customers[id]
	if c == nil || c.deleted {
		return nil, notFound("customer", id)
	}
	return c, nil
}

func (f *Fake) addCustomer(a *account, appID, appUserID string) *customer {
	c := &customer{
		id:       f.newID("cus"),
		created:  f.now(),
		metadata: map[string]string{MetadataAppID: appID, MetadataAppUserID: appUserID},
	}
	c.seq = f.seq
	a.customers[c.id] = c
	return c
}

// CreateCustomer creates a customer whose metadata names the app and the
// user (MetadataAppID, MetadataAppUserID).
func (f *Fake) CreateCustomer(ctx context.Context, acct appwheel.StripeAccount, p appwheel.CreateCustomerParams) (*appwheel.Customer, error) {
	return call(ctx, f, "CreateCustomer", acct, func(a *account) (*appwheel.Customer, error) {
		key := p.IdempotencyKey
		p.IdempotencyKey = ""
		v, err := idempotent(a, key, fmt.Sprintf("CreateCustomer %#v", p), func() (appwheel.Customer, error) {
			return f.addCustomer(a, p.AppID, p.AppUserID).value(), nil
		})
		if err != nil {
			return nil, err
		}
		return &v, nil
	})
}

// Customer returns a customer; a deleted one comes back with Deleted set.
func (f *Fake) Customer(ctx context.Context, acct appwheel.StripeAccount, id string) (*appwheel.Customer, error) {
	return call(ctx, f, "Customer", acct, func(a *account) (*appwheel.Customer, error) {
		c := a.customers[id]
		if c == nil {
			return nil, notFound("customer", id)
		}
		v := c.value()
		return &v, nil
	})
}

// SetDefaultPaymentMethod sets the customer's
// invoice_settings.default_payment_method; an empty methodID clears it.
// The method must be attached to that customer.
func (f *Fake) SetDefaultPaymentMethod(ctx context.Context, acct appwheel.StripeAccount, customerID, methodID, idempotencyKey string) error {
	_, err := call(ctx, f, "SetDefaultPaymentMethod", acct, func(a *account) (struct{}, error) {
		req := fmt.Sprintf("SetDefaultPaymentMethod %q %q", customerID, methodID)
		return idempotent(a, idempotencyKey, req, func() (struct{}, error) {
			c, err := a.live(customerID)
			if err != nil {
				return struct{}{}, err
			}
			if methodID != "" {
				if err := attachedTo(a, methodID, customerID, "invoice_settings[default_payment_method]"); err != nil {
					return struct{}{}, err
				}
			}
			c.defaultPM = methodID
			return struct{}{}, nil
		})
	})
	return err
}

// TagCustomer adds the app's and the user's metadata keys
// (MetadataAppID, MetadataAppUserID) to a customer, keeping its others.
func (f *Fake) TagCustomer(ctx context.Context, acct appwheel.StripeAccount, customerID, appID, appUserID, idempotencyKey string) error {
	_, err := call(ctx, f, "TagCustomer", acct, func(a *account) (struct{}, error) {
		req := fmt.Sprintf("TagCustomer %q %q %q", customerID, appID, appUserID)
		return idempotent(a, idempotencyKey, req, func() (struct{}, error) {
			c, err := a.live(customerID)
			if err != nil {
				return struct{}{}, err
			}
			if c.metadata == nil {
				c.metadata = map[string]string{}
			}
			c.metadata[MetadataAppID], c.metadata[MetadataAppUserID] = appID, appUserID
			return struct{}{}, nil
		})
	})
	return err
}

// AddExistingCustomer seeds a customer as an app's own backend would have
// created it before AppWheel: with the given metadata (nil for none), none
// of it AppWheel's. Nothing maps it to a user.
func (f *Fake) AddExistingCustomer(acct appwheel.StripeAccount, metadata map[string]string) *appwheel.Customer {
	var v appwheel.Customer
	f.seed(acct, func(a *account) {
		c := f.addCustomer(a, "", "")
		c.metadata = maps.Clone(metadata)
		v = c.value()
	})
	return &v
}

// attachedTo checks, as Stripe does when a default is set, that methodID
// is attached to customerID; param names the parameter in Stripe's error.
// Callers hold mu.
func attachedTo(a *account, methodID, customerID, param string) error {
	pm := a.methods[methodID]
	if pm == nil {
		return notFound("PaymentMethod", methodID)
	}
	if pm.customer != customerID {
		return stripeError(400, "invalid_request_error", "", param, fmt.Sprintf(
			"The customer does not have a payment method with the ID %s. The payment method must be attached to the customer.", methodID))
	}
	return nil
}

// AddCustomer seeds a customer as CreateCustomer would, without counting a call.
func (f *Fake) AddCustomer(acct appwheel.StripeAccount, appID, appUserID string) *appwheel.Customer {
	var v appwheel.Customer
	f.seed(acct, func(a *account) { v = f.addCustomer(a, appID, appUserID).value() })
	return &v
}

// DeleteCustomer deletes a customer as Stripe does: its payment methods are
// detached and its subscriptions canceled. It panics on an unknown customer.
func (f *Fake) DeleteCustomer(acct appwheel.StripeAccount, id string) {
	f.seed(acct, func(a *account) {
		c := mustCustomer(a, id)
		c.deleted = true
		c.defaultPM = ""
		for _, pm := range a.methods {
			if pm.customer == id {
				pm.customer, pm.detached = "", true
			}
		}
		for _, s := range a.subs {
			if s.v.CustomerID == id && s.v.Status != "incomplete_expired" {
				s.v.Status = "canceled"
			}
		}
	})
}

// Customers returns every customer of the account, oldest first, deleted
// ones included.
func (f *Fake) Customers(acct appwheel.StripeAccount) []*appwheel.Customer {
	var out []*appwheel.Customer
	f.seed(acct, func(a *account) {
		cs := slices.SortedFunc(maps.Values(a.customers), func(x, y *customer) int {
			return cmpNewest(y.created, y.seq, x.created, x.seq)
		})
		for _, c := range cs {
			v := c.value()
			out = append(out, &v)
		}
	})
	return out
}

// ListCustomers returns a page of up to 100 of the account's customers,
// newest first as Stripe lists them (deleted ones left out), after
// startingAfter's.
func (f *Fake) ListCustomers(ctx context.Context, acct appwheel.StripeAccount, startingAfter string) (*appwheel.CustomerPage, error) {
	return call(ctx, f, "ListCustomers", acct, func(a *account) (*appwheel.CustomerPage, error) {
		cs := slices.SortedFunc(maps.Values(a.customers), func(x, y *customer) int {
			return cmpNewest(x.created, x.seq, y.created, y.seq)
		})
		cs = slices.DeleteFunc(cs, func(c *customer) bool { return c.deleted })
		if startingAfter != "" {
			i := slices.IndexFunc(cs, func(c *customer) bool { return c.id == startingAfter })
			if i < 0 {
				return nil, notFound("customer", startingAfter)
			}
			cs = cs[i+1:]
		}
		page := &appwheel.CustomerPage{HasMore: len(cs) > 100}
		for _, c := range cs[:min(len(cs), 100)] {
			v := c.value()
			page.Customers = append(page.Customers, &v)
		}
		return page, nil
	})
}

// CustomerMetadata returns a copy of a customer's metadata, nil when the
// customer is unknown.
func (f *Fake) CustomerMetadata(acct appwheel.StripeAccount, id string) map[string]string {
	var out map[string]string
	f.seed(acct, func(a *account) {
		if c := a.customers[id]; c != nil {
			out = maps.Clone(c.metadata)
		}
	})
	return out
}

// mustCustomer returns a customer for a seeding helper, which may attach
// things only to an existing, undeleted customer.
func mustCustomer(a *account, id string) *customer {
	c, err := a.live(id)
	if err != nil {
		panic("fakestripe: " + err.Error())
	}
	return c
}

// cmpNewest orders newest first: by Created, then by insertion order.
func cmpNewest(created1, seq1, created2, seq2 int64) int {
	if created1 != created2 {
		if created1 > created2 {
			return -1
		}
		return 1
	}
	switch {
	case seq1 > seq2:
		return -1
	case seq1 < seq2:
		return 1
	}
	return 0
}
