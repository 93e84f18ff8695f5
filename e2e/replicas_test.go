package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appwheel/appwheel/apps"
	"github.com/appwheel/appwheel/client"
	"github.com/appwheel/appwheel/internal/apitest"
	"github.com/appwheel/appwheel/internal/pgtest"
	"github.com/appwheel/appwheel/signature"
)

// replicaSet is two `appwheel serve` processes on one PostgreSQL schema,
// with the Stripe sandbox of an `appwheel dev` standing in for Stripe.
type replicaSet struct {
	t       *testing.T
	dbURL   string
	conn    *pgx.Conn
	sandbox *dev
	app     struct{ AppID, Platform, AppSecret string }
	env     []string
	urls    [2]string
	procs   [2]*proc
}

const replicaWebhookSecret = "whsec_replicas"

func startReplicas(t *testing.T) *replicaSet {
	return startReplicasWith(t, pgtest.BaseURL(), 2)
}

// startReplicasWith starts n replicas (1 or 2) on a fresh schema of the
// test database (pgtest), which they reach at base: the test database's URL,
// or one that leads to it (through a proxy). The test skips, or fails, when
// PostgreSQL is unreachable, as pgtest.Admin does.
func startReplicasWith(t *testing.T, base string, n int) *replicaSet {
	schema := pgtest.CreateSchema(t, pgtest.Admin(t))
	rs := &replicaSet{t: t, sandbox: startDev(t)}
	ctx := context.Background()

	rs.dbURL = pgtest.WithSearchPath(t, base, schema)
	var err error
	if rs.conn, err = pgx.Connect(ctx, rs.dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.conn.Close(context.Background()) })

	key := make([]byte, 32)
	rand.Read(key)
	rs.env = append(os.Environ(),
		"APPWHEEL_DATABASE_URL="+rs.dbURL,
		"APPWHEEL_MASTER_KEY="+hex.EncodeToString(key),
		"APPWHEEL_JOB_TIMEOUT=3s",
		"APPWHEEL_LOG_LEVEL=warn",
	)
	rs.run("migrate")
	rs.run("migrate") // harmless twice
	out := rs.run("apps", "create", "--json", "--name", "replicas",
		"--stripe-secret-key", rs.sandbox.facts.StripeSecretKey,
		"--stripe-api-base", rs.sandbox.facts.StripeAPIBase,
		"--stripe-webhook-secret", replicaWebhookSecret)
	if err := json.Unmarshal([]byte(out), &rs.app); err != nil {
		t.Fatalf("apps create: %q: %v", out, err)
	}
	for i := range n {
		rs.start(i)
	}
	return rs
}

// run runs an appwheel command on the replicas' database.
func (rs *replicaSet) run(args ...string) string {
	rs.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = rs.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		rs.t.Fatalf("appwheel %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// start runs replica i on a free port and waits until it is ready.
func (rs *replicaSet) start(i int) {
	addr := freeAddr(rs.t)
	rs.procs[i], rs.urls[i] = startProc(rs.t, fmt.Sprintf("replica %d", i), addr, rs.env, "serve", "--addr", addr), "http://"+addr
}

func (rs *replicaSet) client(i int, secret string) *client.Client {
	return client.New(rs.app.AppID, rs.app.Platform, secret, client.WithBaseURL(rs.urls[i]))
}

// customersOf counts the sandbox's customers for a user.
func (rs *replicaSet) customersOf(user string) int {
	return len(rs.sandbox.customersWhere("appwheel_app_user_id", user))
}

// webhook POSTs a signed Stripe event to replica i.
func (rs *replicaSet) webhook(i int, payload []byte) (int, map[string]any, error) {
	req, _ := http.NewRequest("POST", rs.urls[i]+"/v1/stripe/webhooks/"+rs.app.AppID, bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", apitest.SignStripe(payload, replicaWebhookSecret, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var env map[string]any
	json.NewDecoder(resp.Body).Decode(&env)
	return resp.StatusCode, env, nil
}

// customerEvent is a customer.updated event for customerID.
func customerEvent(id, customerID string) []byte {
	ev := map[string]any{
		"id": id, "object": "event", "type": "customer.updated", "api_version": "2026-03-25.dahlia",
		"created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": map[string]any{
			"id": customerID, "object": "customer", "invoice_settings": map[string]any{"default_payment_method": nil},
		}},
	}
	b, _ := json.Marshal(ev)
	return b
}

// processed reports whether the event is recorded and applied.
func (rs *replicaSet) processed(eventID string) bool {
	var done bool
	err := rs.conn.QueryRow(context.Background(),
		`SELECT processed_at IS NOT NULL FROM webhook_events WHERE app_id = $1 AND id = $2`, rs.app.AppID, eventID).Scan(&done)
	return err == nil && done
}

func (rs *replicaSet) customerOf(user string) string {
	var id string
	if err := rs.conn.QueryRow(context.Background(),
		`SELECT stripe_customer_id FROM customers WHERE app_id = $1 AND app_user_id = $2`, rs.app.AppID, user).Scan(&id); err != nil {
		rs.t.Fatalf("customer of %s: %v", user, err)
	}
	return id
}

// TestReplicas runs two replicas on one PostgreSQL database and checks
// everything that must hold across them.
func TestReplicas(t *testing.T) {
	rs := startReplicas(t)
	c := ctx(t)
	a, b := rs.client(0, rs.app.AppSecret), rs.client(1, rs.app.AppSecret)

	t.Run("ConcurrentFirstCallsMakeOneCustomer", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Go(func() {
				cl := []*client.Client{a, b}[i%2]
				_, errs[i] = cl.CreatePaymentMethod(c, client.CreatePaymentMethodParams{AppUserID: "race", Type: client.TypeSetupIntent})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("call %d: %v", i, err)
			}
		}
		if n := rs.customersOf("race"); n != 1 {
			t.Errorf("Stripe customers for the user = %d, want 1", n)
		}
	})

	t.Run("SameWebhookToBothAppliedOnce", func(t *testing.T) {
		payload := customerEvent("evt_both_"+strconv.FormatInt(time.Now().UnixNano(), 36), rs.customerOf("race"))
		var id string
		json.Unmarshal(payload, &struct{ ID *string }{&id})
		var wg sync.WaitGroup
		fresh := make([]bool, 2)
		for i := range 2 {
			wg.Go(func() {
				status, env, err := rs.webhook(i, payload)
				if err != nil || status != 200 {
					t.Errorf("replica %d: HTTP %d %v %v", i, status, env, err)
					return
				}
				data, _ := env["data"].(map[string]any)
				fresh[i] = data["duplicate"] == false
			})
		}
		wg.Wait()
		if fresh[0] == fresh[1] {
			t.Errorf("first deliveries = %v; want exactly one not a duplicate", fresh)
		}
		eventually(t, "the event applied", func() bool { return rs.processed(id) })
		var n int
		rs.conn.QueryRow(c, `SELECT count(*) FROM webhook_events WHERE app_id = $1 AND id = $2`, rs.app.AppID, id).Scan(&n)
		if n != 1 {
			t.Errorf("event recorded %d times, want 1", n)
		}
	})

	t.Run("ReplayToAnotherReplicaRefused", func(t *testing.T) {
		// A write's signature is accepted once across replicas; a read's
		// is accepted as often as it is sent, on either.
		body := []byte(`{"appUserId":"race","type":"setupIntent"}`)
		ts := time.Now().Unix()
		send := func(i int, method, target string, body []byte, nonce string) int {
			req, _ := http.NewRequest(method, rs.urls[i]+target, bytes.NewReader(body))
			req.Header.Set(signature.HeaderAppID, rs.app.AppID)
			req.Header.Set(signature.HeaderPlatform, "stripe")
			req.Header.Set(signature.HeaderTimestamp, strconv.FormatInt(ts, 10))
			if nonce != "" {
				req.Header.Set(signature.HeaderNonce, nonce)
			}
			req.Header.Set(signature.HeaderSignature, signature.Sign(rs.app.AppSecret, ts, method, target, body, nonce))
			if len(body) > 0 {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
		if got := send(0, "POST", "/v1/stripe/payment-methods", body, "replay-test"); got != 200 {
			t.Fatalf("first write: HTTP %d", got)
		}
		if got := send(1, "POST", "/v1/stripe/payment-methods", body, "replay-test"); got != 401 {
			t.Errorf("write replayed to the other replica: HTTP %d, want 401", got)
		}
		for i := range 2 {
			if got := send(i, "GET", "/v1/stripe/payment-methods?appUserId=race", nil, ""); got != 200 {
				t.Errorf("the same read on replica %d: HTTP %d, want 200", i, got)
			}
		}
	})

	t.Run("IdempotencyKeyAcrossReplicas", func(t *testing.T) {
		p := client.CreatePaymentMethodParams{AppUserID: "idem", Type: client.TypeSetupIntent, IdempotencyKey: "across-replicas"}
		first, err := a.CreatePaymentMethod(c, p)
		if err != nil {
			t.Fatal(err)
		}
		again, err := b.CreatePaymentMethod(c, p)
		if err != nil {
			t.Fatal(err)
		}
		if *first != *again {
			t.Errorf("replayed on the other replica = %+v, want %+v", again, first)
		}
	})

	t.Run("SubscriberKeepsACardAcrossReplicas", func(t *testing.T) {
		// A card added through one replica, read through the other: the
		// first becomes the default.
		addCard := func(via, readVia *client.Client, token string) string {
			setup, err := via.CreatePaymentMethod(c, client.CreatePaymentMethodParams{AppUserID: "payer", Type: client.TypeSetupIntent})
			if err != nil {
				t.Fatal(err)
			}
			status, si := rs.sandbox.stripe("POST", "/v1/setup_intents/"+setup.SetupIntentID+"/confirm", url.Values{"payment_method": {token}})
			pm, _ := si["payment_method"].(string)
			if status != 200 || pm == "" {
				t.Fatalf("confirm %s: HTTP %d %v", token, status, si)
			}
			if _, err := readVia.PaymentMethods(c, "payer"); err != nil {
				t.Fatal(err)
			}
			return pm
		}
		visa := addCard(a, b, "pm_card_visa")
		mastercard := addCard(b, a, "pm_card_mastercard")
		list, err := a.PaymentMethods(c, "payer")
		if err != nil || len(list.Methods) != 2 || list.DefaultMethodID != visa {
			t.Fatalf("methods = %+v, %v; want 2, the first card %s the default", list, err, visa)
		}
		customer := rs.customerOf("payer")
		status, sub := rs.sandbox.stripe("POST", "/v1/subscriptions", url.Values{
			"customer": {customer}, "items[0][price]": {rs.sandbox.facts.Prices["monthly"]}, "default_payment_method": {mastercard},
		})
		if status != 200 || sub["status"] != "active" {
			t.Fatalf("subscribe: HTTP %d %v", status, sub)
		}

		// Both cards removed at once, one through each replica: one
		// removal passes and moves the subscription, the other is refused.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, pm := range []string{visa, mastercard} {
			wg.Go(func() {
				_, errs[i] = []*client.Client{a, b}[i].RemovePaymentMethod(c, client.RemovePaymentMethodParams{AppUserID: "payer", MethodID: pm})
			})
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) || !client.IsLastMethod(errs[0]) && !client.IsLastMethod(errs[1]) {
			t.Fatalf("concurrent removals through both replicas: %v, %v; want one success and one 1005", errs[0], errs[1])
		}
		left, err := b.PaymentMethods(c, "payer")
		if err != nil || len(left.Methods) != 1 {
			t.Fatalf("left = %+v, %v; want one card", left, err)
		}
		_, got := rs.sandbox.stripe("GET", "/v1/subscriptions/"+sub["id"].(string), nil)
		_, cus := rs.sandbox.stripe("GET", "/v1/customers/"+customer, nil)
		charged, _ := got["default_payment_method"].(string)
		if charged == "" {
			charged, _ = cus["invoice_settings"].(map[string]any)["default_payment_method"].(string)
		}
		if charged != left.Methods[0].ID {
			t.Errorf("the subscription charges %q at Stripe, want the remaining card %s", charged, left.Methods[0].ID)
		}
	})

	t.Run("RotatedSecretSeenByAll", func(t *testing.T) {
		// The replicas keep apps in memory for apps.CacheTTL. A secret
		// that matches none there is checked against the database, so the
		// new one works at once; the old one is refused once CacheTTL has
		// passed since the rotation, which the CLI made before returning.
		var rotated struct{ AppSecret string }
		json.Unmarshal([]byte(rs.run("apps", "rotate-secret", "--json", "--grace", "0s", rs.app.AppID)), &rotated)
		returned := time.Now()
		for i := range 2 {
			if _, err := rs.client(i, rotated.AppSecret).PaymentMethods(c, "race"); err != nil {
				t.Errorf("replica %d with the new secret at once: %v", i, err)
			}
		}
		time.Sleep(time.Until(returned.Add(apps.CacheTTL)))
		for i := range 2 {
			if _, err := rs.client(i, rs.app.AppSecret).PaymentMethods(c, "race"); !client.IsUnauthenticated(err) {
				t.Errorf("replica %d with the old secret after CacheTTL: err = %v, want 1002", i, err)
			}
		}
		rs.app.AppSecret = rotated.AppSecret
	})

	t.Run("DisabledAppSeenByAll", func(t *testing.T) {
		// The subtests after this one use the app: it ends enabled, and
		// served by both replicas.
		rs.run("apps", "disable", rs.app.AppID)
		time.Sleep(apps.CacheTTL)
		for i := range 2 {
			if _, err := rs.client(i, rs.app.AppSecret).PaymentMethods(c, "race"); !client.IsForbidden(err) {
				t.Errorf("replica %d CacheTTL after apps disable: err = %v, want 1003", i, err)
			}
		}
		rs.run("apps", "enable", rs.app.AppID)
		time.Sleep(apps.CacheTTL)
		for i := range 2 {
			if _, err := rs.client(i, rs.app.AppSecret).PaymentMethods(c, "race"); err != nil {
				t.Errorf("replica %d CacheTTL after apps enable: %v", i, err)
			}
		}
	})

	t.Run("PagesFollowChangesAcrossReplicas", func(t *testing.T) {
		// A user linked to an existing customer has a synced mirror and no
		// setup pending: its reads come from the mirror, and each replica
		// keeps the pages it rendered (billing/pages.go).
		a, b := rs.client(0, rs.app.AppSecret), rs.client(1, rs.app.AppSecret)
		_, cus := rs.sandbox.stripe("POST", "/v1/customers", url.Values{"email": {"pages@example.com"}})
		customer, _ := cus["id"].(string)
		attach := func() map[string]any {
			status, pm := rs.sandbox.stripe("POST", "/v1/payment_methods/pm_card_visa/attach", url.Values{"customer": {customer}})
			if status != 200 {
				t.Fatalf("attach a card to %s: HTTP %d %v", customer, status, pm)
			}
			return pm
		}
		first, second := attach()["id"].(string), attach()["id"].(string)
		if _, err := a.LinkCustomer(c, client.LinkCustomerParams{AppUserID: "pages", CustomerID: customer}); err != nil {
			t.Fatal(err)
		}
		read := func(cl *client.Client) (ids []string, defaultID string) {
			t.Helper()
			list, err := cl.PaymentMethods(c, "pages")
			if err != nil {
				t.Fatal(err)
			}
			for _, pm := range list.Methods {
				ids = append(ids, pm.ID)
			}
			return ids, list.DefaultMethodID
		}
		for range 2 { // rendered, then served from memory, on both
			read(a)
			read(b)
		}

		if _, err := a.SetDefaultPaymentMethod(c, "pages", second); err != nil {
			t.Fatal(err)
		}
		if _, def := read(b); def != second {
			t.Errorf("default read through replica 1 after replica 0 set it = %q, want %s", def, second)
		}

		added := attach()
		payload, _ := json.Marshal(map[string]any{
			"id": "evt_pages_" + strconv.FormatInt(time.Now().UnixNano(), 36), "object": "event",
			"type": "payment_method.attached", "api_version": "2026-03-25.dahlia", "created": time.Now().Unix(),
			"livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": added},
		})
		var eventID string
		json.Unmarshal(payload, &struct{ ID *string }{&eventID})
		if status, env, err := rs.webhook(1, payload); err != nil || status != 200 {
			t.Fatalf("webhook to replica 1: HTTP %d %v %v", status, env, err)
		}
		eventually(t, "the event applied", func() bool { return rs.processed(eventID) })
		if ids, _ := read(a); !slices.Contains(ids, added["id"].(string)) {
			t.Errorf("methods read through replica 0 after replica 1 applied %s = %v, want %s among them", eventID, ids, added["id"])
		}

		if _, err := b.RemovePaymentMethod(c, client.RemovePaymentMethodParams{AppUserID: "pages", MethodID: first}); err != nil {
			t.Fatal(err)
		}
		if ids, _ := read(a); slices.Contains(ids, first) {
			t.Errorf("methods read through replica 0 after replica 1 removed %s = %v, want it gone", first, ids)
		}
	})

	t.Run("KilledReplicaLosesNothing", func(t *testing.T) {
		clients := []*client.Client{rs.client(0, rs.app.AppSecret), rs.client(1, rs.app.AppSecret)}
		customer := rs.customerOf("race")
		var (
			mu       sync.Mutex
			accepted []string            // webhook events answered 2xx
			written  = map[string]bool{} // users whose createPaymentMethod answered 2xx
			wg       sync.WaitGroup
		)
		stop := time.Now().Add(3 * time.Second)
		killed := make(chan struct{})
		go func() {
			time.Sleep(time.Second)
			rs.procs[0].kill()
			close(killed)
		}()
		for w := range 4 {
			wg.Go(func() {
				for n := 0; time.Now().Before(stop); n++ {
					i := (w + n) % 2
					select {
					case <-killed:
						i = 1
					default:
					}
					id := fmt.Sprintf("evt_load_%d_%d_%d", w, n, time.Now().UnixNano())
					if status, _, err := rs.webhook(i, customerEvent(id, customer)); err == nil && status == 200 {
						mu.Lock()
						accepted = append(accepted, id)
						mu.Unlock()
					}
					user := fmt.Sprintf("load-%d-%d", w, n)
					if _, err := clients[i].CreatePaymentMethod(c, client.CreatePaymentMethodParams{AppUserID: user, Type: client.TypeSetupIntent}); err == nil {
						mu.Lock()
						written[user] = true
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if len(accepted) == 0 || len(written) == 0 {
			t.Fatalf("no load got through: %d events, %d writes", len(accepted), len(written))
		}
		// Every accepted event is applied, those the killed replica held
		// included: River's leader rescues them after twice the 3 s job
		// timeout, on its rescuer's 30 s tick, after the dead leader's 15 s
		// lease has run out when the dead replica led.
		eventuallyWithin(t, 2*time.Minute, "every accepted webhook applied", func() bool {
			for _, id := range accepted {
				if !rs.processed(id) {
					return false
				}
			}
			return true
		})
		// Every accepted write is there: the user's customer is recorded,
		// and Stripe (the sandbox) has exactly one for the user.
		for user := range written {
			rs.customerOf(user)
			if n := rs.customersOf(user); n != 1 {
				t.Errorf("user %s has %d Stripe customers, want 1", user, n)
			}
		}
		t.Logf("%d webhooks and %d writes accepted; replica 0 killed after 1 s", len(accepted), len(written))
	})
}
