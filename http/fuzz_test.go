package http_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/internal/apitest"
	"github.com/appwheel/appwheel/signature"
)

// Fuzz targets for the HTTP API. Each target builds one API (SQLite in
// f.TempDir(), the fake Stripe) and reuses it for every input; requests
// are parsed from raw HTTP/1.1 bytes with http.ReadRequest, as the server
// parses them, and handed to the API's handler in process, which keeps an
// iteration cheap. An input the server's parser refuses (a space or a
// control byte in the request target, say) never reaches AppWheel and is
// skipped. Seed corpora live in testdata/fuzz/<FuzzName>/; see FUZZING.md
// for longer runs.

// contractStatuses maps each envelope code of docs/api.md to the HTTP statuses
// it may come with (README: 413 for a body over 1 MiB, 405 for a wrong
// method).
var contractStatuses = map[int][]int{
	0:                           {200},
	appwheel.EINVALID:           {400, 405, 413},
	appwheel.EUNAUTHENTICATED:   {401},
	appwheel.EFORBIDDEN:         {403},
	appwheel.ENOTFOUND:          {404},
	appwheel.ELASTMETHOD:        {409},
	appwheel.ERATELIMITED:       {429},
	appwheel.EIDEMPOTENCY:       {409},
	appwheel.ECONFLICT:          {409},
	appwheel.ESTRIPE:            {402},
	appwheel.ESTRIPEUNAVAILABLE: {502, 503},
	appwheel.EINTERNAL:          {500},
}

// fuzzEnv is one API shared by all the inputs of a fuzz target.
type fuzzEnv struct {
	*apitest.Env
	handler  http.Handler
	enqueued atomic.Int64 // webhook events recorded and queued
}

// countingEvents counts the events the webhook endpoint queues: it queues
// exactly the events it has recorded.
type countingEvents struct {
	next billing.EventApplier
	n    *atomic.Int64
}

func (c countingEvents) EventRecorded(ctx context.Context, appID, eventID string) error {
	c.n.Add(1)
	return c.next.EventRecorded(ctx, appID, eventID)
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	f.Helper()
	fe := &fuzzEnv{}
	fe.Env = apitest.New(f)
	fe.handler = appwheelhttp.NewServer(appwheelhttp.Config{
		Apps: fe.Apps, Billing: fe.Billing, Store: fe.Store, Now: fe.Clock.Now,
		Webhooks: fe.Intake(countingEvents{next: fe.Queue, n: &fe.enqueued}),
	})
	return fe
}

// serve sends one request, written as raw HTTP/1.1, to the API in process.
// It reports false when net/http's parser refuses the request, which then
// never reaches AppWheel.
func (fe *fuzzEnv) serve(method, target string, headers map[string]string, body []byte) (*httptest.ResponseRecorder, time.Duration, bool) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: appwheel.test\r\n", method, target)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	r, err := http.ReadRequest(bufio.NewReader(&b))
	if err != nil {
		return nil, 0, false
	}
	r.RemoteAddr = "192.0.2.1:4711"
	rec := httptest.NewRecorder()
	start := time.Now()
	fe.handler.ServeHTTP(rec, r)
	return rec, time.Since(start), true
}

// signedHeaders signs a request for app at the server's clock, moved on a
// second so that no two signatures are alike.
func (fe *fuzzEnv) signedHeaders(app *appwheel.App, method, target string, body []byte) map[string]string {
	fe.Clock.Advance(time.Second)
	ts := fe.Clock.Now().Unix()
	nonce := strconv.FormatInt(ts, 10) // writes must carry one; unique, as ts is
	return map[string]string{
		signature.HeaderAppID:     app.ID,
		signature.HeaderPlatform:  app.Platform,
		signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
		signature.HeaderNonce:     nonce,
		signature.HeaderSignature: signature.Sign(app.Secret, ts, method, target, body, nonce),
		"Content-Type":            "application/json",
	}
}

// envelopeOf checks that a response is one envelope consistent with the
// contract and returns it.
func envelopeOf(t *testing.T, rec *httptest.ResponseRecorder) response {
	t.Helper()
	body := rec.Body.Bytes()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q; body %q", ct, body)
	}
	if rec.Header().Get("X-Request-Id") == "" {
		t.Fatalf("no X-Request-Id; body %q", body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil {
		t.Fatalf("HTTP %d: body is not a JSON object: %v: %q", rec.Code, err, body)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("HTTP %d: more than one JSON value in the body: %q", rec.Code, body)
	}
	for _, k := range []string{"code", "data", "message"} {
		if _, ok := fields[k]; !ok {
			t.Fatalf("HTTP %d: envelope without %q: %q", rec.Code, k, body)
		}
	}
	for k := range fields {
		if k != "code" && k != "data" && k != "message" && k != "stripe" {
			t.Fatalf("HTTP %d: envelope with unknown key %q: %q", rec.Code, k, body)
		}
	}
	out := response{Status: rec.Code, Header: rec.Header()}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("HTTP %d: envelope does not decode: %v: %q", rec.Code, err, body)
	}
	statuses, known := contractStatuses[out.Code]
	if !known {
		t.Fatalf("HTTP %d: code %d is not in the contract: %q", rec.Code, out.Code, body)
	}
	ok := false
	for _, s := range statuses {
		ok = ok || s == rec.Code
	}
	if !ok {
		t.Fatalf("code %d came with HTTP %d, want one of %v: %q", out.Code, rec.Code, statuses, body)
	}
	if out.Msg == "" {
		t.Fatalf("HTTP %d: empty message: %q", rec.Code, body)
	}
	if out.Code != 0 && string(out.Data) != "null" {
		t.Fatalf("HTTP %d code %d: failure data is %s, want null", rec.Code, out.Code, out.Data)
	}
	if out.Code == appwheel.ERATELIMITED && rec.Header().Get("Retry-After") == "" {
		t.Fatalf("1006 without Retry-After")
	}
	return out
}

// wantBelow500 fails on a server error: for the inputs the targets send
// (authenticated, to a healthy fake Stripe) a 5xx is always a bug.
func wantBelow500(t *testing.T, r response, what string) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("%s: HTTP %d code %d (%q)", what, r.Status, r.Code, r.Msg)
	}
}

// ---------------------------------------------------------------------------
// createPaymentMethod bodies

// Verdicts of the reference validator.
const (
	refInvalid = iota // the API must refuse the body (1001 or 1003) without calling Stripe
	refValid          // the API must accept it
	refUnsure         // the reference cannot tell (an exotic but maybe valid URL)
)

// refCreateBody is an independent reading of createPaymentMethod's rules
// (docs/api.md): one JSON object whose keys are among appUserId, type,
// successUrl, cancelUrl (exactly spelt), each a string (null leaves a
// field unset, as in encoding/json; a repeated key's last value counts,
// but every value must have the right type); appUserId 1–128 characters
// without control characters; type checkout or setupIntent; for checkout,
// both URLs absolute http(s) URLs of at most 2048 bytes, without control
// characters, spaces or backslashes, whose host is among allowed (when it
// lists any).
func refCreateBody(body []byte, allowed []string) int {
	if len(body) > appwheelhttp.MaxBodyBytes || !json.Valid(body) {
		return refInvalid
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return refInvalid
	}
	if !utf8.Valid(body) {
		return refInvalid
	}
	values := map[string]string{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return refInvalid
		}
		key := tok.(string)
		if seen[key] {
			return refInvalid // a key given twice
		}
		seen[key] = true
		switch key {
		case "appUserId", "type", "successUrl", "cancelUrl":
		default:
			return refInvalid
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return refInvalid
		}
		if string(raw) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return refInvalid // not a string
		}
		values[key] = s
	}
	user := values["appUserId"]
	if user == "" || utf8.RuneCountInString(user) > 128 || strings.IndexFunc(user, unicode.IsControl) >= 0 {
		return refInvalid
	}
	switch values["type"] {
	case "setupIntent":
		return refValid
	case "checkout":
	default:
		return refInvalid
	}
	verdict := refValid
	for _, u := range []string{values["successUrl"], values["cancelUrl"]} {
		switch v := refRedirectURL(u, allowed); v {
		case refInvalid:
			return refInvalid
		case refUnsure:
			verdict = refUnsure
		}
	}
	return verdict
}

func refRedirectURL(u string, allowed []string) int {
	lower := strings.ToLower(u)
	rest, isHTTP := strings.CutPrefix(lower, "http://")
	if !isHTTP {
		rest, isHTTP = strings.CutPrefix(lower, "https://")
	}
	if u == "" || len(u) > 2048 || !isHTTP || strings.IndexFunc(u, unicode.IsControl) >= 0 || strings.ContainsAny(u, " \\") {
		return refInvalid
	}
	// The plain cases: host [a-z0-9.-]+, an optional port, a plain path.
	host, path, _ := strings.Cut(rest, "/")
	host, port, hasPort := strings.Cut(host, ":")
	plain := host != "" && strings.Trim(host, "abcdefghijklmnopqrstuvwxyz0123456789.-") == "" &&
		(!hasPort || port != "" && len(port) <= 5 && strings.Trim(port, "0123456789") == "") &&
		strings.Trim(path, "abcdefghijklmnopqrstuvwxyz0123456789._~/-") == ""
	if !plain {
		return refUnsure
	}
	if len(allowed) > 0 {
		for _, h := range allowed {
			if strings.EqualFold(h, host) {
				return refValid
			}
		}
		return refInvalid // 1003
	}
	return refValid
}

// FuzzCreatePaymentMethodBody POSTs arbitrary bodies, signed correctly, to
// /v1/stripe/payment-methods. The answer is always an envelope below 500
// with code 0, 1001 or 1003; a refused body makes no Stripe call; a body
// the reference validator calls valid is accepted (one customer, one
// session or SetupIntent), and one it calls invalid is refused.
func FuzzCreatePaymentMethodBody(f *testing.F) {
	f.Add([]byte(`{"appUserId":"u1","type":"setupIntent"}`), false)
	f.Add([]byte(`{"appUserId":"u1","type":"checkout","successUrl":"https://shop.example.com/ok","cancelUrl":"https://shop.example.com/no"}`), true)
	// One API for every input, closed when the target ends.
	fe := newFuzzEnv(f)
	open := fe.NewApp("open")                                    // no redirect hosts listed
	restrictedApp := fe.NewApp("restricted", "shop.example.com") // redirect hosts listed
	f.Fuzz(func(t *testing.T, body []byte, restricted bool) {
		app := open
		if restricted {
			app = restrictedApp
		}
		want := refCreateBody(body, app.RedirectHosts)
		before := fe.Stripe.TotalCalls()
		rec, took, ok := fe.serve("POST", pmPath, fe.signedHeaders(app, "POST", pmPath, body), body)
		if !ok {
			t.Fatal("net/http refused a request with a well-formed head")
		}
		calls := fe.Stripe.TotalCalls() - before
		r := envelopeOf(t, rec)
		wantBelow500(t, r, "createPaymentMethod")
		if took > 10*time.Second {
			t.Fatalf("a %d-byte body took %v", len(body), took)
		}
		switch r.Code {
		case 0:
			if want == refInvalid {
				t.Fatalf("accepted a body the contract refuses: %q", body)
			}
			if calls == 0 {
				t.Fatalf("code 0 without a Stripe call")
			}
			var data map[string]string
			if err := json.Unmarshal(r.Data, &data); err != nil || len(data) != 4 {
				t.Fatalf("data = %s, want the four string keys", r.Data)
			}
			for _, k := range []string{"checkoutUrl", "checkoutId", "setupIntentId", "clientSecret"} {
				if _, ok := data[k]; !ok {
					t.Fatalf("data = %s, no %s", r.Data, k)
				}
			}
			if (data["checkoutId"] == "") == (data["setupIntentId"] == "") {
				t.Fatalf("data = %s, want exactly one of checkoutId and setupIntentId", r.Data)
			}
		case appwheel.EINVALID, appwheel.EFORBIDDEN:
			if want == refValid {
				t.Fatalf("refused a valid body with %d (%q): %q", r.Code, r.Msg, body)
			}
			if calls != 0 {
				t.Fatalf("refused with %d (%q) after %d Stripe calls: %q", r.Code, r.Msg, calls, body)
			}
		default:
			t.Fatalf("code %d (%q), want 0, 1001 or 1003", r.Code, r.Msg)
		}
	})
}

// ---------------------------------------------------------------------------
// query strings

// setupQueryFuzz gives user u1 of each app a customer, a card and an
// invoice (in the query, the placeholder in_U1 stands for it); no other
// user has anything.
func setupQueryFuzz(f *testing.F) (fe *fuzzEnv, live, mirror *appwheel.App, placeholders map[string]*strings.Replacer) {
	fe = newFuzzEnv(f)
	live, mirror = fe.NewApp("live"), fe.NewMirrorApp("mirror")
	placeholders = map[string]*strings.Replacer{}
	for _, app := range []*appwheel.App{live, mirror} {
		body := []byte(`{"appUserId":"u1","type":"setupIntent"}`)
		rec, _, ok := fe.serve("POST", pmPath, fe.signedHeaders(app, "POST", pmPath, body), body)
		if !ok || rec.Code != 200 {
			f.Fatalf("creating u1 of %s: %v %d %s", app.Name, ok, rec.Code, rec.Body)
		}
		cus := fe.Customer(app, "u1")
		fe.Stripe.AttachCard(app.Stripe, cus, "visa", "4242")
		inv := fe.Stripe.AddInvoice(app.Stripe, appwheel.Invoice{CustomerID: cus, Status: "paid", Currency: "usd", AmountDue: 999, AmountPaid: 999})
		placeholders[app.ID] = strings.NewReplacer("in_U1", inv.ID)
	}
	// Past the setup window, the mirror app reads its mirror: fill it.
	fe.Clock.Advance(time.Hour)
	if err := fe.Billing.ReconcileApp(context.Background(), mirror, time.Minute); err != nil {
		f.Fatal(err)
	}
	return fe, live, mirror, placeholders
}

// fuzzQueryPaths are the GET endpoints FuzzQuery reads; the first two are
// the contract's paymentMethod and invoices.
var fuzzQueryPaths = []string{pmPath, "/v1/stripe/invoices", "/v1/stripe/subscriptions"}

// FuzzQuery sends arbitrary raw query strings, signed correctly, to the
// GET endpoints: the answer is always an envelope below 500; a query
// url.ParseQuery refuses, or with an unknown or repeated parameter, is
// 1001; a refused query makes no Stripe call; and no user but u1 ever sees
// u1's card or invoice.
func FuzzQuery(f *testing.F) {
	f.Add("appUserId=u1", uint8(0), false)
	fe, liveApp, mirrorApp, placeholders := setupQueryFuzz(f)
	f.Fuzz(func(t *testing.T, rawQuery string, endpoint uint8, mirror bool) {
		app := liveApp
		if mirror {
			app = mirrorApp
		}
		// in_U1 stands for u1's invoice in that app.
		rawQuery = placeholders[app.ID].Replace(rawQuery)
		path := fuzzQueryPaths[int(endpoint)%len(fuzzQueryPaths)]
		target := path + "?" + rawQuery
		before := fe.Stripe.TotalCalls()
		rec, _, ok := fe.serve("GET", target, fe.signedHeaders(app, "GET", target, nil), nil)
		if !ok {
			return // net/http answers it, AppWheel never sees it
		}
		calls := fe.Stripe.TotalCalls() - before
		r := envelopeOf(t, rec)
		wantBelow500(t, r, "GET "+target)

		parsed, perr := url.ParseQuery(rawQueryOf(target))
		allowed := map[string]bool{"appUserId": true}
		if path == "/v1/stripe/invoices" {
			allowed["limit"], allowed["startingAfter"] = true, true
		}
		badParam := false
		for k, vs := range parsed {
			badParam = badParam || !allowed[k] || len(vs) > 1
		}
		if (perr != nil || badParam) && r.Code != appwheel.EINVALID {
			t.Fatalf("GET %s: code %d (%q), want 1001 (parse error %v, bad parameter %v)", target, r.Code, r.Msg, perr, badParam)
		}
		if r.Code != 0 {
			// Only a cursor that is well formed but not one of the user's
			// invoices is refused after asking Stripe (in live mode).
			if calls != 0 && !(path == "/v1/stripe/invoices" && !mirror && strings.Contains(r.Msg, "is not one of this user's invoices")) {
				t.Fatalf("GET %s: refused with %d (%q) after %d Stripe calls", target, r.Code, r.Msg, calls)
			}
			return
		}
		user := parsed.Get("appUserId")
		var data struct {
			Methods       []json.RawMessage `json:"methods"`
			Invoices      []json.RawMessage `json:"invoices"`
			Subscriptions []json.RawMessage `json:"subscriptions"`
		}
		if err := json.Unmarshal(r.Data, &data); err != nil {
			t.Fatalf("GET %s: data %s: %v", target, r.Data, err)
		}
		if user != "u1" && len(data.Methods)+len(data.Invoices)+len(data.Subscriptions) > 0 {
			t.Fatalf("GET %s: user %q sees another user's data: %s", target, user, r.Data)
		}
		if user == "u1" && path == pmPath && len(data.Methods) != 1 {
			t.Fatalf("GET %s: u1 sees %d methods, want its 1 card: %s", target, len(data.Methods), r.Data)
		}
	})
}

// rawQueryOf is the query of a request target as the server reads it.
func rawQueryOf(target string) string {
	_, q, _ := strings.Cut(target, "?")
	return q
}

// ---------------------------------------------------------------------------
// webhook payloads

// setupWebhookFuzz makes a mirror app whose user u1 has a customer and a
// card. In payloads, the placeholders cus_U1 and pm_U1 stand for them, so
// seeds can name objects the app owns.
func setupWebhookFuzz(f *testing.F) (fe *fuzzEnv, app *appwheel.App, placeholders *strings.Replacer) {
	fe = newFuzzEnv(f)
	app = fe.NewMirrorApp("hooks")
	body := []byte(`{"appUserId":"u1","type":"setupIntent"}`)
	rec, _, ok := fe.serve("POST", pmPath, fe.signedHeaders(app, "POST", pmPath, body), body)
	if !ok || rec.Code != 200 {
		f.Fatalf("creating u1: %v %d %s", ok, rec.Code, rec.Body)
	}
	cus := fe.Customer(app, "u1")
	pm := fe.Stripe.AttachCard(app.Stripe, cus, "visa", "4242")
	return fe, app, strings.NewReplacer("cus_U1", cus, "pm_U1", pm.ID)
}

// eventHead is what decides whether a payload is a Stripe event at all,
// read as encoding/json (and so stripe-go) reads it.
type eventHead struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	Type   string `json:"type"`
}

// wellFormedEvent reports whether payload is a JSON object with "object":
// "event", an evt_ id and a type. Payloads that are not are malformed.
func wellFormedEvent(payload []byte) (eventHead, bool) {
	var h eventHead
	trimmed := bytes.TrimLeft(payload, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(payload, &h) != nil {
		return h, false
	}
	return h, h.Object == "event" && strings.HasPrefix(h.ID, "evt_") && h.Type != ""
}

// FuzzWebhookPayload POSTs arbitrary payloads, signed with the mirror
// app's webhook secret, to /v1/stripe/webhooks/{appId}: the answer is an
// envelope below 500; a malformed payload is 400 and nothing is recorded;
// a payload answered 200 is recorded, byte for byte, under its id.
func FuzzWebhookPayload(f *testing.F) {
	f.Add([]byte(`{"id":"evt_1","object":"event","type":"ping","created":1}`))
	fe, app, placeholders := setupWebhookFuzz(f)
	// The first delivery answered 200, by event id.
	recorded, recordedType := map[string][]byte{}, map[string]string{}
	target := "/v1/stripe/webhooks/" + app.ID
	f.Fuzz(func(t *testing.T, payload []byte) {
		payload = []byte(placeholders.Replace(string(payload)))
		head, wellFormed := wellFormedEvent(payload)
		// Stripe-go checks the age against the real clock.
		sig := apitest.SignStripe(payload, app.Stripe.WebhookSecret, time.Now())
		before := fe.enqueued.Load()
		_, seen := recorded[head.ID]
		rec, took, ok := fe.serve("POST", target, map[string]string{
			"Content-Type":     "application/json; charset=utf-8",
			"Stripe-Signature": sig,
		}, payload)
		if !ok {
			t.Fatal("net/http refused a request with a well-formed head")
		}
		r := envelopeOf(t, rec)
		wantBelow500(t, r, "webhook")
		if took > 10*time.Second {
			t.Fatalf("a %d-byte payload took %v", len(payload), took)
		}
		queued := fe.enqueued.Load() - before
		ctx := context.Background()
		if !wellFormed {
			if r.Status != 400 || r.Code != appwheel.EINVALID {
				t.Fatalf("malformed payload answered HTTP %d code %d (%q), want 400 1001: %q", r.Status, r.Code, r.Msg, payload)
			}
			if queued != 0 {
				t.Fatalf("malformed payload: %d events recorded and queued", queued)
			}
			if !seen {
				if ev, err := fe.Store.Event(ctx, app.ID, head.ID); appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
					t.Fatalf("malformed payload: event %q is recorded (%+v, %v)", head.ID, ev, err)
				}
			}
			return
		}
		if r.Code != 0 {
			if queued != 0 {
				t.Fatalf("refused with %d (%q) yet %d events queued", r.Code, r.Msg, queued)
			}
			return
		}
		var got received
		if err := json.Unmarshal(r.Data, &got); err != nil {
			t.Fatalf("data %s: %v", r.Data, err)
		}
		if got.EventID != head.ID || got.Duplicate != seen {
			t.Fatalf("data = %+v, want event %q duplicate %v", got, head.ID, seen)
		}
		if queued != 1 {
			t.Fatalf("%d events queued, want 1", queued)
		}
		ev, err := fe.Store.Event(ctx, app.ID, head.ID)
		if err != nil {
			t.Fatalf("event %q answered 200 but not recorded: %v", head.ID, err)
		}
		// The first delivery of an id is recorded byte for byte; a later
		// one with the same id (whatever its type) never overwrites it.
		first, firstType := payload, head.Type
		if seen {
			first, firstType = recorded[head.ID], recordedType[head.ID]
		}
		if !bytes.Equal(ev.Payload, first) || ev.Type != firstType {
			t.Fatalf("recorded %q %q, want the first delivery %q %q", ev.Type, ev.Payload, firstType, first)
		}
		if !seen {
			recorded[head.ID], recordedType[head.ID] = bytes.Clone(payload), head.Type
		}
	})
}
