package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the driver the store uses, for the bulk seed and the read-only polls

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
	"github.com/appwheel/appwheel/crypt"
	"github.com/appwheel/appwheel/internal/storerow"
	"github.com/appwheel/appwheel/sqlite"
)

// The databases are seeded before `appwheel serve` starts on them, with
// nothing else using the file. The main database goes through the store
// API, the way AppWheel itself writes the mirror; the scale databases
// (100,000 users, up to a million invoices) are written in bulk, as the
// store's rows, into the schema the migrations created (scalerows.go).

const (
	benchPrice        = "price_bench_monthly"
	webhookSecret     = "whsec_bench_only_not_a_secret"
	stripeKey         = "sk_test_bench"
	methodsPerUser    = 3
	invoicesPerUser   = 25 // more than a page of 20, so hasMore is true
	day               = 24 * 60 * 60
	month             = 30 * day
	seedSyncedAgo     = time.Hour // older than any event the run sends; younger than reconcile's 6 h
	scaleUsers        = 100_000
	probeInvoices     = invoicesPerUser
	maxProbeUsers     = 400
	minScaleInvoices  = probeInvoices
	mainDatabaseFile  = "appwheel.db"
	seedVersionOffset = 2 * time.Hour // the seeded snapshots' version: before the sync
)

// openStore opens (creating and migrating) a SQLite store and the app
// service over it, with the benchmark's master key.
func openStore(ctx context.Context, path string) (*sqlite.DB, *apps.Service, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, err
	}
	key, err := crypt.ParseKey(benchMasterKey)
	if err != nil {
		return nil, nil, err
	}
	box, err := crypt.NewBox(key)
	if err != nil {
		return nil, nil, err
	}
	db := sqlite.NewDB(path)
	if err := db.Open(ctx); err != nil {
		return nil, nil, err
	}
	return db, apps.NewService(db, box, nil), nil
}

// mainData is what the main database holds.
type mainData struct {
	path       string
	mirror     *appwheel.App // mirror mode, webhook secret set
	live       *appwheel.App // live mode: every read asks Stripe (stripe-mock)
	users      []string      // synced users of both apps
	setupUsers []string      // users of the mirror app for createPaymentMethod
}

// seedTimes are the times of a seed made at at: now in Unix seconds, when
// the users were synced, and the version of the snapshots synced then.
func seedTimes(at time.Time) (now int64, synced time.Time, version int64) {
	return at.Unix(), at.Add(-seedSyncedAgo), at.Add(-seedVersionOffset).UnixMicro()
}

func mirrorCustomer(i int) string { return fmt.Sprintf("cus_bm%07d", i) }
func liveCustomer(i int) string   { return fmt.Sprintf("cus_bl%07d", i) }
func setupCustomer(i int) string  { return fmt.Sprintf("cus_bs%07d", i) }
func userSub(i int) string        { return fmt.Sprintf("sub_bm%07d", i) }

// seedMain creates the mirror app and the live app and n users in each:
// in the mirror app each user is synced, with 3 cards (one the default), an
// active monthly subscription and 25 paid invoices; in the live app each
// user has a customer (stripe-mock answers for any). n more users of the
// mirror app, with customers, are for createPaymentMethod.
func seedMain(ctx context.Context, dir string, n int) (*mainData, error) {
	d := &mainData{path: filepath.Join(dir, mainDatabaseFile)}
	db, svc, err := openStore(ctx, d.path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if d.mirror, err = svc.Create(ctx, apps.CreateParams{
		Name: "bench-mirror", Platform: appwheel.PlatformStripe, StripeSecretKey: stripeKey,
		StripeWebhookSecret: webhookSecret, ReadMode: appwheel.ReadMirror,
	}); err != nil {
		return nil, err
	}
	if d.live, err = svc.Create(ctx, apps.CreateParams{
		Name: "bench-live", Platform: appwheel.PlatformStripe, StripeSecretKey: stripeKey,
		StripeWebhookSecret: webhookSecret, ReadMode: appwheel.ReadLive,
	}); err != nil {
		return nil, err
	}
	now := time.Now()
	unix, synced, version := seedTimes(now)
	for i := range n {
		user := fmt.Sprintf("u-%d", i)
		d.users = append(d.users, user)
		if err := seedMirrorUser(ctx, db, d.mirror.ID, user, i, unix, synced, version); err != nil {
			return nil, err
		}
		if _, err := db.PutCustomer(ctx, d.live.ID, user, liveCustomer(i), now); err != nil {
			return nil, err
		}
		setup := fmt.Sprintf("setup-%d", i)
		d.setupUsers = append(d.setupUsers, setup)
		if _, err := db.PutCustomer(ctx, d.mirror.ID, setup, setupCustomer(i), now); err != nil {
			return nil, err
		}
		if err := db.MarkSynced(ctx, d.mirror.ID, setup, synced); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// A synced user of the mirror app, the same in the SQLite main database
// (written through the store API, seedMirrorUser) and the PostgreSQL one
// (written as the store's rows, mirrorTables): user i has 3 cards, the
// last one the customer's default, an active monthly subscription whose
// history observed it trialing first, and 25 paid invoices.

// mirrorMethod is user i's k-th card.
func mirrorMethod(i, k int, now int64) *appwheel.PaymentMethod {
	pm := &appwheel.PaymentMethod{
		ID:         fmt.Sprintf("pm_bm%07d_%d", i, k),
		CustomerID: mirrorCustomer(i),
		Type:       "card",
		Created:    now - int64(3-k)*30*day,
	}
	pm.Raw = cardJSON(pm.ID, pm.CustomerID, pm.Created, k)
	return pm
}

// mirrorDefaultMethod is the id of user i's default card: the last one.
func mirrorDefaultMethod(i int, now int64) string { return mirrorMethod(i, methodsPerUser-1, now).ID }

// mirrorSubscription is user i's subscription as it is now.
func mirrorSubscription(i int, now int64) *appwheel.Subscription {
	return &appwheel.Subscription{
		ID: userSub(i), CustomerID: mirrorCustomer(i), Status: "active", PriceID: benchPrice,
		Interval: "month", IntervalCount: 1, CurrentPeriodEnd: now + 15*day, Created: now - invoicesPerUser*month - 14*day,
	}
}

// statusAt is one observed status of a subscription, at a version.
type statusAt struct {
	status string
	at     int64
}

// mirrorStatuses are the statuses observed of sub, oldest first; the last
// is sub's own, at version. Two, so orderStatus is judged against a
// history.
func mirrorStatuses(sub *appwheel.Subscription, version int64) []statusAt {
	return []statusAt{{"trialing", (sub.Created + day) * 1e6}, {sub.Status, version}}
}

// mirrorInvoice is user i's j-th most recent invoice.
func mirrorInvoice(i, j int, now int64) *appwheel.Invoice {
	return monthlyInvoice(fmt.Sprintf("in_bm%07d_%03d", i, j), fmt.Sprintf("BM%07d-%04d", i, invoicesPerUser-j), i, j, mirrorCustomer(i), userSub(i), now)
}

func seedMirrorUser(ctx context.Context, db *sqlite.DB, appID, user string, i int, now int64, synced time.Time, version int64) error {
	cus := mirrorCustomer(i)
	if _, err := db.PutCustomer(ctx, appID, user, cus, synced); err != nil {
		return err
	}
	for k := range methodsPerUser {
		if _, err := db.SavePaymentMethod(ctx, appID, mirrorMethod(i, k, now), version); err != nil {
			return err
		}
	}
	if _, err := db.SaveCustomer(ctx, appID, &appwheel.Customer{ID: cus, DefaultPaymentMethodID: mirrorDefaultMethod(i, now)}, version); err != nil {
		return err
	}
	sub := mirrorSubscription(i, now)
	for _, st := range mirrorStatuses(sub, version) {
		observed := *sub
		observed.Status = st.status
		if _, err := db.SaveSubscription(ctx, appID, &observed, st.at); err != nil {
			return err
		}
	}
	for j := range invoicesPerUser {
		if _, err := db.SaveInvoice(ctx, appID, mirrorInvoice(i, j, now), version); err != nil {
			return err
		}
	}
	return db.MarkSynced(ctx, appID, user, synced)
}

// mirrorTables are the rows seedMirrorUser writes through the store for
// users u-0 … u-(users-1), at the same times as seedMain (now, and the
// sync and the snapshots' version before it), for a bulk seed.
func mirrorTables(c storerow.Codec, appID string, at time.Time, users int) []scaleTable {
	now, synced, version := seedTimes(at)
	statuses := len(mirrorStatuses(mirrorSubscription(0, now), version))
	return []scaleTable{
		{"customers", append([]string{"app_id", "created_at", "version"}, storerow.CustomerStates.Columns...), users,
			func(i int) []any {
				cs := &appwheel.CustomerState{AppUserID: fmt.Sprintf("u-%d", i), CustomerID: mirrorCustomer(i), DefaultPaymentMethodID: mirrorDefaultMethod(i, now), SyncedAt: synced}
				return append([]any{appID, c.Times.Arg(synced), version}, c.CustomerStateValues(cs)...)
			}},
		{"payment_methods", versionedColumns(storerow.PaymentMethods), users * methodsPerUser, func(k int) []any {
			return storerow.Versioned(appID, c.PaymentMethodValues(mirrorMethod(k/methodsPerUser, k%methodsPerUser, now)), version)
		}},
		{"subscriptions", versionedColumns(storerow.Subscriptions), users, func(i int) []any {
			return storerow.Versioned(appID, c.SubscriptionValues(mirrorSubscription(i, now)), version)
		}},
		{"subscription_status_history", []string{"app_id", "subscription_id", "at", "status"}, users * statuses, func(k int) []any {
			sub := mirrorSubscription(k/statuses, now)
			st := mirrorStatuses(sub, version)[k%statuses]
			return []any{appID, sub.ID, st.at, st.status}
		}},
		{"invoices", versionedColumns(storerow.Invoices), users * invoicesPerUser, func(k int) []any {
			return storerow.Versioned(appID, c.InvoiceValues(mirrorInvoice(k/invoicesPerUser, k%invoicesPerUser, now)), version)
		}},
	}
}

// monthlyInvoice is user u's j-th most recent monthly invoice, paid: the
// invoices of the main database (through the store) and of the scale ones
// (in bulk) alike.
func monthlyInvoice(id, number string, u, j int, cus, sub string, now int64) *appwheel.Invoice {
	created := now - 15*day - int64(j)*month
	return &appwheel.Invoice{
		ID: id, CustomerID: cus, SubscriptionID: sub, PriceID: benchPrice,
		Number: number, Status: "paid",
		CustomerEmail:    fmt.Sprintf("u%d@example.com", u),
		InvoicePDF:       "https://pay.stripe.com/invoice/acct_1Bench/test_" + id + "/pdf",
		HostedInvoiceURL: "https://invoice.stripe.com/i/acct_1Bench/test_" + id,
		AmountDue:        999, AmountPaid: 999, Currency: "usd",
		Created: created, PeriodStart: created - month, PeriodEnd: created, PaidAt: created + 60,
		ServicePeriodStart: created, ServicePeriodEnd: created + month,
		PriceInterval: "month", PriceIntervalCount: 1,
	}
}

var cardBrands = []struct{ brand, last4 string }{{"visa", "4242"}, {"mastercard", "4444"}, {"amex", "0005"}}

// cardJSON is a card PaymentMethod as Stripe sends it (compact).
func cardJSON(id, customer string, created int64, k int) []byte {
	c := cardBrands[k%len(cardBrands)]
	return fmt.Appendf(nil, `{"id":%q,"object":"payment_method","allow_redisplay":"always",`+
		`"billing_details":{"address":{"city":null,"country":"US","line1":null,"line2":null,"postal_code":"94103","state":null},"email":"jenny@example.com","name":"Jenny Rosen","phone":null,"tax_id":null},`+
		`"card":{"brand":%q,"checks":{"address_line1_check":null,"address_postal_code_check":"pass","cvc_check":"pass"},"country":"US","display_brand":%q,"exp_month":8,"exp_year":2030,"fingerprint":"Xt5EWLLDS7FJjR1c","funding":"credit","generated_from":null,"last4":%q,"networks":{"available":[%q],"preferred":null},"regulated_status":"unregulated","three_d_secure_usage":{"supported":true},"wallet":null},`+
		`"created":%d,"customer":%q,"customer_account":null,"livemode":false,"metadata":{},"type":"card"}`,
		id, c.brand, c.brand, c.last4, c.brand, created, customer)
}

// scaleData is what a scale database holds.
type scaleData struct {
	path     string
	app      *appwheel.App
	invoices int
	probes   []string // the users whose invoices are read: 25 invoices each
}

// probeUsers is how many users of a scale database have exactly 25
// invoices and are read: the same in the small and the large database, so
// both serve the same pages and only the table size differs.
func probeUsers(small int) int {
	return max(1, min(maxProbeUsers, small/(2*probeInvoices)))
}

// seedScale makes a database of users synced users, each with an
// active subscription, and total invoices (see scaleTables), in one
// transaction, into the schema the store's migrations create.
func seedScale(ctx context.Context, dir string, total, probes, users int) (*scaleData, error) {
	d := &scaleData{path: filepath.Join(dir, mainDatabaseFile), invoices: total}
	db, svc, err := openStore(ctx, d.path)
	if err != nil {
		return nil, err
	}
	d.app, err = svc.Create(ctx, apps.CreateParams{
		Name: "bench-scale", Platform: appwheel.PlatformStripe, StripeSecretKey: stripeKey,
		StripeWebhookSecret: webhookSecret, ReadMode: appwheel.ReadMirror,
	})
	db.Close()
	if err != nil {
		return nil, err
	}
	for i := range probes {
		d.probes = append(d.probes, fmt.Sprintf("u-%d", i))
	}

	codec := storerow.Codec{Times: sqlite.Times{}}
	if err := insertTablesSQLite(ctx, d.path, scaleTables(codec, d.app.ID, time.Now(), total, probes, users)); err != nil {
		return nil, err
	}
	return d, nil
}

// insertTablesSQLite writes tables in one transaction into the SQLite
// database at path, whose schema the store's migrations created, with
// nothing else using the file, and folds the WAL into the database file
// before serve opens it.
func insertTablesSQLite(ctx context.Context, path string, tables []scaleTable) error {
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, table := range tables {
		if err := insertSQLite(ctx, tx, table); err != nil {
			return fmt.Errorf("seeding %s: %w", table.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = raw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}
