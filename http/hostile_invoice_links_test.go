package http_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/internal/apitest"
	"github.com/appwheel/appwheel/stripe"
)

// Hostile invoice links: forged, spliced and expired tokens.

// lateStripe lets a billing service be built before the fake Stripe it
// talks to exists.
type lateStripe struct{ appwheel.Stripe }

// TestHostileInvoiceLinks: invoice links are capabilities signed by
// AppWheel; a tampered, spliced, truncated, expired or traversing token is
// 404 in the envelope, and makes no Stripe call.
func TestHostileInvoiceLinks(t *testing.T) {
	late := &lateStripe{}
	ae := apitest.New(t, func(c *appwheelhttp.Config) {
		c.Billing = billing.New(billing.Config{
			Store: c.Store.(billing.Store), Stripe: late, Apps: c.Apps, DecodeEvent: stripe.DecodeEvent, Now: c.Now,
			BackgroundRate: 1000, LinkBaseURL: "http://links.test", LinkKey: bytes.Repeat([]byte{7}, 32),
		})
	})
	late.Stripe = ae.Stripe
	e := &env{Env: ae, t: t}
	ctx := context.Background()
	a, b := e.NewMirrorApp("a"), e.NewMirrorApp("b")
	pdfA, pdfB := "https://pay.stripe.test/a.pdf", "https://pay.stripe.test/b.pdf"
	cusA, cusB := e.hUser(a, "u1"), e.hUser(b, "u1")
	inA := e.Stripe.AddInvoice(a.Stripe, appwheel.Invoice{CustomerID: cusA, Status: "paid", InvoicePDF: pdfA, HostedInvoiceURL: pdfA + ".html"}).ID
	inB := e.Stripe.AddInvoice(b.Stripe, appwheel.Invoice{CustomerID: cusB, Status: "paid", InvoicePDF: pdfB, HostedInvoiceURL: pdfB + ".html"}).ID
	e.Clock.Advance(time.Hour)
	for _, app := range []*appwheel.App{a, b} {
		if err := e.Billing.ReconcileApp(ctx, app, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	token := func(app *appwheel.App) string {
		var list appwheel.OrderList
		e.do(app, req{method: "GET", target: "/v1/stripe/invoices?appUserId=u1"}).want(t, 200, 0).decode(t, &list)
		if len(list.Invoices) != 1 {
			t.Fatalf("invoices = %+v", list)
		}
		tok, ok := strings.CutPrefix(list.Invoices[0].InvoicePDF, "http://links.test/invoice-links/")
		if !ok {
			t.Fatalf("invoicePdf = %q, want an AppWheel link", list.Invoices[0].InvoicePDF)
		}
		return tok
	}
	tokA, tokB := token(a), token(b)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	follow := func(t *testing.T, tok string) (int, string, response) {
		t.Helper()
		resp, err := noRedirect.Get(e.Server.URL + "/invoice-links/" + tok)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var r response
		if resp.StatusCode != http.StatusFound {
			r = response{Status: resp.StatusCode, Header: resp.Header}
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("HTTP %d body is not an envelope: %q", resp.StatusCode, body)
			}
		}
		return resp.StatusCode, resp.Header.Get("Location"), r
	}
	if status, loc, _ := follow(t, tokA); status != 302 || loc != pdfA {
		t.Fatalf("a's link: HTTP %d to %q, want 302 to %s", status, loc, pdfA)
	}
	payloadA, macA, _ := strings.Cut(tokA, ".")
	payloadB, macB, _ := strings.Cut(tokB, ".")
	rawA, err := base64.RawURLEncoding.DecodeString(payloadA)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	swap := func(old, new string) string { return enc(strings.Replace(string(rawA), old, new, 1)) + "." + macA }
	e.Stripe.ResetCalls()
	for name, tok := range map[string]string{
		"a's payload naming b":       swap(a.ID, b.ID),
		"a's payload naming b's inv": swap(inA, inB),
		"a's payload, hosted kind":   swap(".pdf.", ".hosted."),
		"a's payload, later expiry":  enc(string(rawA)+"9") + "." + macA,
		"b's payload, a's mac":       payloadB + "." + macA,
		"a's payload, b's mac":       payloadA + "." + macB,
		"truncated mac":              payloadA + "." + macA[:len(macA)-2],
		"no mac":                     payloadA,
		"empty mac":                  payloadA + ".",
		"padded base64":              payloadA + "=." + macA,
		"traversal":                  "..%2f..%2fhealthz",
		"dots":                       "%2e%2e",
		"huge":                       strings.Repeat("A", 60000) + "." + macA,
		"nul":                        payloadA + "%00." + macA,
	} {
		t.Run(name, func(t *testing.T) {
			status, loc, r := follow(t, tok)
			if status == 302 {
				t.Fatalf("followed to %q", loc)
			}
			hWant(t, r, hNotFound)
			hNoLeak(t, r, []string{pdfA, pdfB, inA, inB})
		})
	}
	if n := e.Stripe.TotalCalls(); n != 0 {
		t.Errorf("forged links made %d Stripe calls, want 0", n)
	}
	// A disabled app's links stop working; so do expired ones.
	if _, err := e.Apps.SetDisabled(ctx, b.ID, true); err != nil {
		t.Fatal(err)
	}
	if status, loc, _ := follow(t, tokB); status != 404 {
		t.Errorf("disabled app's link: HTTP %d to %q, want 404", status, loc)
	}
	e.Clock.Advance(billing.InvoiceLinkTTL + time.Hour)
	if status, loc, _ := follow(t, tokA); status != 404 {
		t.Errorf("expired link: HTTP %d to %q, want 404", status, loc)
	}
}

// TestInvoiceLinkFlood: invoice links need no credentials, so a flood of
// one link spends at most one Stripe call of its app per invoice per
// billing.LinkURLTTL, and past a burst is answered 1006 with Retry-After.
func TestInvoiceLinkFlood(t *testing.T) {
	late := &lateStripe{}
	ae := apitest.New(t, func(c *appwheelhttp.Config) {
		c.Billing = billing.New(billing.Config{
			Store: c.Store.(billing.Store), Stripe: late, Apps: c.Apps, DecodeEvent: stripe.DecodeEvent, Now: c.Now,
			BackgroundRate: 1000, LinkBaseURL: "http://links.test", LinkKey: bytes.Repeat([]byte{7}, 32),
		})
	})
	late.Stripe = ae.Stripe
	e := &env{Env: ae, t: t}
	app := e.NewMirrorApp("a")
	pdf := "https://pay.stripe.test/a.pdf"
	cus := e.hUser(app, "u1")
	e.Stripe.AddInvoice(app.Stripe, appwheel.Invoice{CustomerID: cus, Status: "paid", InvoicePDF: pdf, HostedInvoiceURL: pdf + ".html"})
	e.Clock.Advance(time.Hour)
	if err := e.Billing.ReconcileApp(context.Background(), app, time.Minute); err != nil {
		t.Fatal(err)
	}
	var list appwheel.OrderList
	e.do(app, req{method: "GET", target: "/v1/stripe/invoices?appUserId=u1"}).want(t, 200, 0).decode(t, &list)
	link := strings.Replace(list.Invoices[0].InvoicePDF, "http://links.test", e.Server.URL, 1)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func() *http.Response {
		resp, err := noRedirect.Get(link)
		if err != nil {
			t.Error(err)
			return nil
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	e.Stripe.ResetCalls()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 60 {
		wg.Go(func() {
			if resp := get(); resp != nil {
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n := e.Stripe.Calls("Invoice"); n != 1 {
		t.Errorf("60 hits on one link made %d Stripe calls, want 1", n)
	}
	if statuses[302] == 0 || statuses[429] == 0 || statuses[302]+statuses[429] != 60 {
		t.Errorf("60 hits answered %v, want redirects up to the link's burst, then 429", statuses)
	}
	if resp := get(); resp == nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a hit past the burst: %v, want 429 with Retry-After", resp)
	}

	// A minute on (the buckets refill too): one more call, then none.
	e.Clock.Advance(billing.LinkURLTTL + time.Second)
	for range 3 {
		if resp := get(); resp == nil || resp.StatusCode != 302 || resp.Header.Get("Location") != pdf {
			t.Fatalf("after a minute: %v, want 302 to %s", resp, pdf)
		}
	}
	if n := e.Stripe.Calls("Invoice"); n != 2 {
		t.Errorf("Stripe calls after a minute and 3 more hits: %d, want 2", n)
	}
}
