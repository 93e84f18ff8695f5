package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/client"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/internal/apitest"
	"github.com/appwheel/appwheel/signature"
	"github.com/appwheel/appwheel/stripe"
)

const importData = `{"importId":"imp_0123456789abcdef01234567","state":"linking","metadataKey":"","dryRun":true,"background":true,` +
	`"seen":2,"pending":1,"linked":1,"skipped":0,"failed":0,"error":"","createdAt":"1700000000","updatedAt":"1700000005","finishedAt":"0"}`

var wantImport = client.CustomerImport{
	ImportID: "imp_0123456789abcdef01234567", State: client.ImportLinking, DryRun: true, Background: true,
	Seen: 2, Pending: 1, Linked: 1, CreatedAt: "1700000000", UpdatedAt: "1700000005", FinishedAt: "0",
}

func TestStartCustomerImport(t *testing.T) {
	c, seen := recordingServer(t, http.StatusOK, `{"code":0,"data":`+importData+`,"message":"success"}`)
	ctx := context.Background()

	st, err := c.StartCustomerImport(ctx, client.CustomerImportParams{
		Pairs:  []client.CustomerImportPair{{AppUserID: "u1", CustomerID: "cus_1"}, {AppUserID: "u2", CustomerID: "cus_2"}},
		DryRun: true, IdempotencyKey: "import-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if *st != wantImport {
		t.Errorf("status = %+v, want %+v", st, wantImport)
	}
	// By a metadata key, not a dry run, without a key.
	if _, err := c.StartCustomerImport(ctx, client.CustomerImportParams{MetadataKey: "user_id"}); err != nil {
		t.Fatal(err)
	}

	if len(*seen) != 2 {
		t.Fatalf("%d requests, want 2", len(*seen))
	}
	// Only the fields given: the idempotency key is a header, never in the body.
	for i, want := range []string{
		`{"pairs":[{"appUserId":"u1","customerId":"cus_1"},{"appUserId":"u2","customerId":"cus_2"}],"dryRun":true}`,
		`{"metadataKey":"user_id"}`,
	} {
		r := (*seen)[i]
		if r.method != http.MethodPost || r.target != "/v1/stripe/customer-imports" {
			t.Errorf("#%d: %s %s, want POST /v1/stripe/customer-imports", i, r.method, r.target)
		}
		if string(r.body) != want {
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
	if k0, k1 := (*seen)[0].idempotencyKey, (*seen)[1].idempotencyKey; k0 != "import-1" || k1 != "" {
		t.Errorf("Idempotency-Key = %q, %q; want import-1, none", k0, k1)
	}
}

func TestCustomerImportStatus(t *testing.T) {
	c, seen := recordingServer(t, http.StatusOK, `{"code":0,"data":`+importData+`,"message":"success"}`)
	st, err := c.CustomerImportStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if *st != wantImport {
		t.Errorf("status = %+v, want %+v", st, wantImport)
	}
	r := (*seen)[0]
	if r.method != http.MethodGet || r.target != "/v1/stripe/customer-imports/latest" || len(r.body) != 0 || r.contentType != "" || r.idempotencyKey != "" {
		t.Errorf("request = %s %s, body %q, Content-Type %q, Idempotency-Key %q; want GET /v1/stripe/customer-imports/latest, no body",
			r.method, r.target, r.body, r.contentType, r.idempotencyKey)
	}
	if !r.signed {
		t.Error("the signature does not verify")
	}
}

func TestCustomerImportErrors(t *testing.T) {
	for _, tc := range []struct {
		status, code              int
		invalid, conflict, absent bool
	}{
		{http.StatusBadRequest, client.CodeInvalid, true, false, false},
		{http.StatusConflict, client.CodeConflict, false, true, false},
		{http.StatusConflict, client.CodeIdempotency, false, false, false},
		{http.StatusNotFound, client.CodeNotFound, false, false, true},
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			c, _ := recordingServer(t, tc.status, fmt.Sprintf(`{"code":%d,"data":null,"message":"refused"}`, tc.code))
			start, err := c.StartCustomerImport(context.Background(), client.CustomerImportParams{MetadataKey: "user_id"})
			latest, lerr := c.CustomerImportStatus(context.Background())
			for _, got := range []struct {
				st  *client.CustomerImport
				err error
			}{{start, err}, {latest, lerr}} {
				var ce *client.Error
				if got.st != nil || !errors.As(got.err, &ce) || ce.Code != tc.code || ce.HTTPStatus != tc.status || ce.RequestID != "req_recorded" {
					t.Fatalf("status, err = %v, %v; want a %d *client.Error, HTTP %d, with the request id", got.st, got.err, tc.code, tc.status)
				}
				if client.IsInvalid(got.err) != tc.invalid || client.IsConflict(got.err) != tc.conflict || client.IsNotFound(got.err) != tc.absent {
					t.Errorf("IsInvalid, IsConflict, IsNotFound = %v, %v, %v; want %v, %v, %v", client.IsInvalid(got.err),
						client.IsConflict(got.err), client.IsNotFound(got.err), tc.invalid, tc.conflict, tc.absent)
				}
				if client.IsRetryable(got.err) {
					t.Error("retryable, want not")
				}
			}
		})
	}
}

// TestCustomerImportAgainstTheServer: the SDK's calls against the real
// server, whose billing hands imports to a queue standing in for its jobs.
func TestCustomerImportAgainstTheServer(t *testing.T) {
	e := apitest.New(t)
	var mu sync.Mutex
	var enqueued []string
	b := billing.New(billing.Config{
		Store: e.Store, Stripe: e.Stripe, Apps: e.Apps, DecodeEvent: stripe.DecodeEvent, Now: e.Clock.Now, BackgroundRate: 1000,
		EnqueueImport: func(ctx context.Context, appID, importID string) error {
			mu.Lock()
			defer mu.Unlock()
			enqueued = append(enqueued, appID+"/"+importID)
			return nil
		},
	})
	srv := httptest.NewServer(appwheelhttp.NewServer(appwheelhttp.Config{Apps: e.Apps, Billing: b, Store: e.Store, Now: e.Clock.Now}))
	t.Cleanup(srv.Close)
	app := e.NewApp("a")
	c := client.New(app.ID, app.Platform, app.Secret, client.WithBaseURL(srv.URL), client.WithHTTPClient(srv.Client()),
		client.WithClock(func() time.Time { e.Clock.Advance(time.Second); return e.Clock.Now() }))
	ctx := context.Background()

	if _, err := c.CustomerImportStatus(ctx); !client.IsNotFound(err) {
		t.Fatalf("status before any import: %v, want IsNotFound", err)
	}
	if _, err := c.StartCustomerImport(ctx, client.CustomerImportParams{}); !client.IsInvalid(err) {
		t.Errorf("neither metadataKey nor pairs: %v, want IsInvalid", err)
	}
	cus := e.Stripe.AddExistingCustomer(app.Stripe, nil).ID
	p := client.CustomerImportParams{Pairs: []client.CustomerImportPair{{AppUserID: "u1", CustomerID: cus}}}
	st, err := c.StartCustomerImport(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	created := strconv.FormatInt(e.Clock.Now().Unix(), 10)
	want := client.CustomerImport{ImportID: st.ImportID, State: client.ImportLinking, Background: true, Seen: 1, Pending: 1,
		CreatedAt: created, UpdatedAt: created, FinishedAt: "0"}
	if *st != want || len(st.ImportID) < len("imp_x") || st.ImportID[:4] != "imp_" {
		t.Errorf("started = %+v, want %+v", st, want)
	}
	again, err := c.StartCustomerImport(ctx, p)
	if err != nil || again.ImportID != st.ImportID {
		t.Errorf("started again = %+v, %v; want %s resumed", again, err, st.ImportID)
	}
	if done, err := b.ContinueImport(ctx, app.ID, st.ImportID); err != nil || !done {
		t.Fatalf("ContinueImport = %v, %v", done, err)
	}
	latest, err := c.CustomerImportStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if latest.ImportID != st.ImportID || latest.State != client.ImportFinished || latest.Linked != 1 || latest.Pending != 0 || latest.FinishedAt == "0" {
		t.Errorf("latest = %+v, want %s finished, 1 linked", latest, st.ImportID)
	}
	if e.Customer(app, "u1") != cus {
		t.Error("u1 not linked")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(enqueued) != 2 || enqueued[0] != app.ID+"/"+st.ImportID || enqueued[1] != enqueued[0] {
		t.Errorf("enqueued %v, want %s/%s twice", enqueued, app.ID, st.ImportID)
	}
}
