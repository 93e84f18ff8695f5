// Package sandbox is a stateful emulation of the part of the Stripe API that
// AppWheel uses, built into the appwheel binary for `appwheel dev` and for
// end-to-end tests.
//
// It exists because no development or CI machine of ours can reach Stripe,
// and stripe-mock keeps no state: it answers every request with the same
// fixture, so a customer created there cannot be retrieved, a card attached
// there never shows up in a list, and no subscription ever renews. The
// sandbox keeps objects per sandbox account (one per sk_test_ secret key), in
// Stripe's JSON shapes, with Stripe's errors, list paging, expansion and
// idempotency, so that AppWheel's Stripe adapter (package stripe, over
// stripe-go) works against it unchanged.
//
// THE SANDBOX IS FOR DEVELOPMENT AND TESTS ONLY. It is not Stripe and never a
// replacement for it: no money moves, no card network is contacted, only
// Stripe's documented test card numbers and test tokens are accepted, and
// every HTML page it serves says so.
//
// What it emulates:
//   - /v1/ API: customers (with search by metadata), payment methods, setup
//     intents, checkout sessions (setup mode), products, prices,
//     subscriptions, invoices and events; see server.go for the routes;
//   - a hosted checkout page (/checkout/{id}) with a card form, and hosted
//     invoice pages and PDFs (/invoices/{id}, /invoices/{id}/pdf);
//   - a test clock per account (Sandbox.Advance, POST /_sandbox/advance)
//     that renews subscriptions, invoicing and charging each period;
//   - webhooks signed like Stripe's, delivered by background workers with
//     retries to endpoints set with Sandbox.SetWebhookEndpoint.
//
// It speaks one API version, stripe-go's (2026-03-25.dahlia): requests
// asking for another get the same shapes. Parameters Stripe accepts but the
// sandbox does not emulate are refused as unknown, so that a test never
// passes by silently ignoring one.
//
// State lives in memory under one lock and, when Config.StatePath is set, in
// a JSON snapshot rewritten atomically after every change.
package sandbox
