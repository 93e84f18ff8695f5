package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/appwheel/appwheel/client"
	"github.com/appwheel/appwheel/signature"
)

// recordedRequest is what the stand-in server saw of one request.
type recordedRequest struct {
	method, target, contentType, idempotencyKey, nonce string
	body                                               []byte
	signed                                             bool // the signature verifies, nonce line included
}

// recordingServer stands in for AppWheel (POST /v1/stripe/customer-links,
// the customer imports): it records each request, checks its signature as
// the server does, and answers with status and the envelope body.
func recordingServer(t *testing.T, status int, envelope string) (*client.Client, *[]recordedRequest) {
	t.Helper()
	const appID, secret = "app_link", "aws_link_secret"
	now := time.Unix(1_700_000_000, 0)
	var seen []recordedRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		req := recordedRequest{
			method: r.Method, target: r.URL.RequestURI(), contentType: r.Header.Get("Content-Type"),
			idempotencyKey: r.Header.Get("Idempotency-Key"), nonce: r.Header.Get(signature.HeaderNonce), body: body,
		}
		ts, err := signature.ParseTimestamp(r.Header.Get(signature.HeaderTimestamp))
		sum, serr := signature.Parse(r.Header.Get(signature.HeaderSignature))
		req.signed = err == nil && serr == nil && ts == now.Unix() &&
			r.Header.Get(signature.HeaderAppID) == appID && r.Header.Get(signature.HeaderPlatform) == "stripe" &&
			signature.Valid(sum, secret, ts, r.Method, r.URL.RequestURI(), body, req.nonce)
		seen = append(seen, req)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req_recorded")
		w.WriteHeader(status)
		io.WriteString(w, envelope)
	}))
	t.Cleanup(srv.Close)
	c := client.New(appID, "stripe", secret, client.WithBaseURL(srv.URL), client.WithHTTPClient(srv.Client()),
		client.WithClock(func() time.Time { return now }))
	return c, &seen
}

func TestLinkCustomer(t *testing.T) {
	c, seen := recordingServer(t, http.StatusOK, `{"code":0,"data":{"appUserId":"u1","customerId":"cus_Existing1"},"message":"success"}`)
	ctx := context.Background()

	link, err := c.LinkCustomer(ctx, client.LinkCustomerParams{AppUserID: "u1", CustomerID: "cus_Existing1", IdempotencyKey: "link-u1"})
	if err != nil {
		t.Fatal(err)
	}
	if *link != (client.CustomerLink{AppUserID: "u1", CustomerID: "cus_Existing1"}) {
		t.Errorf("link = %+v", link)
	}
	// Again, without a key: the same request, a fresh nonce.
	if _, err := c.LinkCustomer(ctx, client.LinkCustomerParams{AppUserID: "u1", CustomerID: "cus_Existing1"}); err != nil {
		t.Fatal(err)
	}

	if len(*seen) != 2 {
		t.Fatalf("%d requests, want 2", len(*seen))
	}
	for i, r := range *seen {
		if r.method != http.MethodPost || r.target != "/v1/stripe/customer-links" {
			t.Errorf("#%d: %s %s, want POST /v1/stripe/customer-links", i, r.method, r.target)
		}
		// Exactly the two fields: the idempotency key is a header, never in the body.
		if want := `{"appUserId":"u1","customerId":"cus_Existing1"}`; string(r.body) != want {
			t.Errorf("#%d: body %s, want %s", i, r.body, want)
		}
		if r.contentType != "application/json" {
			t.Errorf("#%d: Content-Type %q", i, r.contentType)
		}
		// A write: the nonce is required, and signed.
		if r.nonce == "" || !signature.ValidNonce(r.nonce) {
			t.Errorf("#%d: %s = %q, want 1–64 printable ASCII characters", i, signature.HeaderNonce, r.nonce)
		}
		if !r.signed {
			t.Errorf("#%d: the signature does not verify", i)
		}
	}
	if (*seen)[0].nonce == (*seen)[1].nonce {
		t.Error("identical writes sent the same nonce")
	}
	if k0, k1 := (*seen)[0].idempotencyKey, (*seen)[1].idempotencyKey; k0 != "link-u1" || k1 != "" {
		t.Errorf("Idempotency-Key = %q, %q; want link-u1, none", k0, k1)
	}
}

func TestLinkCustomerErrors(t *testing.T) {
	for _, tc := range []struct {
		status, code     int
		conflict, absent bool
	}{
		{http.StatusConflict, client.CodeConflict, true, false},
		{http.StatusNotFound, client.CodeNotFound, false, true},
		{http.StatusConflict, client.CodeIdempotency, false, false},
		{http.StatusBadRequest, client.CodeInvalid, false, false},
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			c, _ := recordingServer(t, tc.status, fmt.Sprintf(`{"code":%d,"data":null,"message":"refused"}`, tc.code))
			link, err := c.LinkCustomer(context.Background(), client.LinkCustomerParams{AppUserID: "u1", CustomerID: "cus_Other"})
			var ce *client.Error
			if link != nil || !errors.As(err, &ce) || ce.Code != tc.code || ce.HTTPStatus != tc.status || ce.RequestID != "req_recorded" {
				t.Fatalf("link, err = %v, %v; want a %d *client.Error, HTTP %d, with the request id", link, err, tc.code, tc.status)
			}
			if client.IsConflict(err) != tc.conflict || client.IsNotFound(err) != tc.absent {
				t.Errorf("IsConflict = %v, IsNotFound = %v; want %v, %v", client.IsConflict(err), client.IsNotFound(err), tc.conflict, tc.absent)
			}
			if client.IsRetryable(err) {
				t.Error("retryable, want not")
			}
		})
	}
	if client.IsConflict(errors.New("1008")) || client.IsConflict(nil) {
		t.Error("IsConflict of an error that is not a *client.Error")
	}
	if !client.IsConflict(fmt.Errorf("linking: %w", &client.Error{Code: client.CodeConflict})) {
		t.Error("IsConflict does not see a wrapped 1008")
	}
}
