// Package appwheel holds AppWheel's vocabulary: the tenants (apps), the Stripe
// objects AppWheel exposes, the error codes of the HTTP contract
// (docs/api.md), and the interfaces between the service and its
// infrastructure (the store and the Stripe provider). It imports nothing but
// the standard library.
//
// The packages, in the order a reader should meet them:
//
//	appwheel (this one)  the domain types, the Store and Stripe interfaces, Error and its codes
//	billing/             the service: the rules for one app's users, written once (which card
//	                     pays, ownership, the mirror, webhook intake, reads from mirror or Stripe)
//	http/                the HTTP API: authentication, the envelope, one handler file per resource
//	apiref/              the API reference: openapi.json, and the /docs page rendered from it
//	stripe/              the Stripe provider over stripe-go v85: the only importer of stripe-go
//	sqlite/, postgres/   the stores (SQLite by default, PostgreSQL for several replicas), sharing
//	                     their rows' columns and mapping (internal/storerow);
//	storetest/           the conformance suite both pass
//	jobs/                background work: applying the recorded webhook events (claimed in batches
//	                     from their table), and on River reconciling, cleanup and imports
//	apps/, crypt/        tenant administration, and the sealing of secrets at rest
//	signature/           the request signature both SDKs and the server share
//	logging/             the request id on every log line
//	cmd/appwheel/        the binary: configuration, wiring, the commands (serve, dev, apps, …)
//	sandbox/             the offline Stripe emulation behind `appwheel dev` and the tests
//	client/, sdk/js/     the Go SDK and the JavaScript SDK
//	e2e/, bench/         end-to-end tests of the binary, and the benchmark harness
//	internal/…           test support: apitest (an API over real SQLite and the fake Stripe),
//	                     fakestripe, pgtest (PostgreSQL test schemas), stripemock (its launcher)
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

	// Branding is how the app's hosted billing page looks.
	Branding Branding

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

// Branding is how an app's hosted billing page looks, and who may embed it.
type Branding struct {
	DisplayName    string   // shown as the page's title; "" means the app's Name
	LogoURL        string   // an https URL, or ""
	AccentColor    string   // "#rrggbb" (lower case), or ""
	FrameAncestors []string // origins ("https://app.example.com") allowed to embed the page in a frame; none means no embedding
}

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
	Branding      Branding
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
