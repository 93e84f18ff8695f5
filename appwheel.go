// Package appwheel holds AppWheel's vocabulary: the tenants (apps), the Stripe
// objects AppWheel exposes, the error codes of the HTTP contract, and the
// interfaces between the service and its infrastructure (the store and the
// Stripe provider). It imports nothing but the standard library.
//
// The layers below it are:
//
//	billing/  the service: the rules, written once
//	http/     the HTTP API: authentication, envelope, handlers
//	stripe/   the Stripe provider over stripe-go
//	sqlite/   the default store
package appwheel

import "time"

// PlatformStripe is the only platform the /v1/stripe endpoints serve.
const PlatformStripe = "stripe"

// App is a tenant: one app backend that calls AppWheel with its AppID and
// AppSecret, and brings its own Stripe account. Secrets here are plaintext;
// they exist only in memory. The store keeps an AppRecord, where they are sealed.
type App struct {
	ID       string
	Name     string
	Platform string

	// Secret is the current AppSecret. PreviousSecret, when set, is still
	// accepted until PreviousSecretExpiresAt (the rotation grace period).
	Secret                  string
	PreviousSecret          string
	PreviousSecretExpiresAt time.Time

	Stripe StripeAccount

	// ReadMode says where reads come from: ReadMirror or ReadLive.
	ReadMode string

	// RedirectHosts, when not empty, lists the only hosts that checkout
	// success and cancel URLs may point at.
	RedirectHosts []string

	Disabled  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Read modes of an app.
const (
	// ReadMirror serves reads from AppWheel's local copy of the user's
	// Stripe data, kept by webhooks: no Stripe call once a user is synced.
	// It needs the app's webhook signing secret.
	ReadMirror = "mirror"
	// ReadLive asks Stripe on every read.
	ReadLive = "live"
)

// StripeAccount is what AppWheel needs to talk to one app's Stripe account.
type StripeAccount struct {
	SecretKey     string
	WebhookSecret string
	// APIBase overrides Stripe's API URL (stripe-mock, the sandbox). Empty
	// means Stripe itself.
	APIBase string
}

// AppRecord is an App as the store keeps it: every secret sealed with the
// master key, so a copy of the database reveals none of them.
type AppRecord struct {
	ID       string
	Name     string
	Platform string

	SealedSecret            []byte
	SealedPreviousSecret    []byte // nil when there is none
	PreviousSecretExpiresAt time.Time

	SealedStripeSecretKey     []byte
	SealedStripeWebhookSecret []byte // nil when there is none
	StripeAPIBase             string

	ReadMode      string
	RedirectHosts []string
	Disabled      bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// ActiveSecrets returns the AppSecrets accepted at now: the current one and,
// during a rotation's grace period, the previous one.
func (a *App) ActiveSecrets(now time.Time) []string {
	secrets := []string{a.Secret}
	if a.PreviousSecret != "" && now.Before(a.PreviousSecretExpiresAt) {
		secrets = append(secrets, a.PreviousSecret)
	}
	return secrets
}
