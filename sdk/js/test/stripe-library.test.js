// Contract test of the Stripe sandbox with Stripe's official Node library
// (npm `stripe`, the version whose default API version the sandbox
// serves): the calls an app's own subscription code makes, against a real
// `appwheel dev`, must work as they do against Stripe, and what Stripe
// refuses must be refused with the error class Stripe's answer maps to.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import Stripe from 'stripe'

import { startDevServer } from './dev-server.js'

let server
let dev
let stripe // the library on the sandbox, with the secret key from dev.json

// client is the library pointed at the sandbox, as an app configures it for
// a local Stripe: host, port and protocol from dev.json's stripeApiBase.
function client(key, options = {}) {
  const base = new URL(dev.stripeApiBase)
  return new Stripe(key, {
    host: base.hostname,
    port: Number(base.port),
    protocol: base.protocol.replace(':', ''),
    maxNetworkRetries: 0,
    telemetry: false,
    ...options,
  })
}

before(async () => {
  server = await startDevServer()
  dev = server.dev
  stripe = client(dev.stripeSecretKey)
})

after(async () => {
  await server?.stop()
})

// customerWithCard makes a customer with a card saved through a confirmed
// setup intent, as an app's own card form does, and returns both.
async function customerWithCard(email) {
  const customer = await stripe.customers.create({ email, metadata: { app_user: email } })
  const si = await stripe.setupIntents.create({ customer: customer.id, payment_method_types: ['card'] })
  const done = await stripe.setupIntents.confirm(si.id, { payment_method: 'pm_card_visa' })
  assert.equal(done.status, 'succeeded')
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: done.payment_method } })
  return { customer, pm: done.payment_method }
}

describe('keys and API version', () => {
  test('the library\'s default API version is the one served', async () => {
    const res = await stripe.customers.list({ limit: 1 })
    assert.equal(res.object, 'list')
    assert.equal(res.lastResponse.apiVersion, Stripe.API_VERSION)
    assert.equal(Stripe.API_VERSION, '2026-08-26.dahlia')
  })

  test('another API version is refused, naming the one served', async () => {
    const other = client(dev.stripeSecretKey, { apiVersion: '2026-11-18.endive' })
    await assert.rejects(other.customers.list(), (err) => {
      assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError, err.constructor.name)
      assert.match(err.message, /serves Stripe API version 2026-08-26\.dahlia, and earlier versions of its release train, and this request asked for "2026-11-18\.endive"/)
      return true
    })
  })

  test('a key the sandbox did not issue is an authentication error', async () => {
    await assert.rejects(client('sk_test_notissuedbythesandbox').customers.list(), (err) => {
      assert.ok(err instanceof Stripe.errors.StripeAuthenticationError, err.constructor.name)
      assert.equal(err.statusCode, 401)
      assert.match(err.message, /^Invalid API Key provided: sk_test_\*\*\*\*/)
      return true
    })
  })

  test('the restricted key reads and writes what it may, and is refused the rest', async () => {
    const restricted = client(dev.stripeRestrictedKey)
    const c = await restricted.customers.create({ email: 'restricted@example.com' })
    assert.equal((await stripe.customers.retrieve(c.id)).email, 'restricted@example.com')
    await assert.rejects(restricted.products.create({ name: 'Pro' }), (err) => {
      assert.ok(err instanceof Stripe.errors.StripePermissionError, err.constructor.name)
      assert.match(err.message, /rak_product_write/)
      return true
    })
  })

  test('the publishable key cannot read customers', async () => {
    await assert.rejects(client(dev.stripePublishableKey).customers.list(), (err) => {
      assert.ok(err instanceof Stripe.errors.StripeAuthenticationError, err.constructor.name)
      return true
    })
  })
})

describe('an app\'s own calls', () => {
  test('customers.update with an address, and retrieve', async () => {
    const c = await stripe.customers.create({ email: 'address@example.com' })
    const updated = await stripe.customers.update(c.id, {
      address: { line1: '1 Main St', city: 'Springfield', postal_code: '12345', country: 'US' },
    })
    assert.deepEqual(updated.address, { line1: '1 Main St', line2: null, city: 'Springfield', state: null, postal_code: '12345', country: 'US' })
    const again = await stripe.customers.retrieve(c.id)
    assert.equal(again.address.line1, '1 Main St')
  })

  test('setupIntents.update, then confirm', async () => {
    const c = await stripe.customers.create({ email: 'setup@example.com' })
    const si = await stripe.setupIntents.create({ payment_method_types: ['card'] })
    const updated = await stripe.setupIntents.update(si.id, { customer: c.id, metadata: { plan: 'pro' }, payment_method: 'pm_card_visa' })
    assert.equal(updated.customer, c.id)
    assert.equal(updated.metadata.plan, 'pro')
    assert.equal(updated.status, 'requires_confirmation')
    const done = await stripe.setupIntents.confirm(si.id)
    assert.equal(done.status, 'succeeded')
  })

  test('customers.retrievePaymentMethod: the customer\'s own card only', async () => {
    const a = await customerWithCard('a@example.com')
    const b = await customerWithCard('b@example.com')
    const pm = await stripe.customers.retrievePaymentMethod(a.customer.id, a.pm)
    assert.equal(pm.id, a.pm)
    assert.equal(pm.card.last4, '4242')
    await assert.rejects(stripe.customers.retrievePaymentMethod(a.customer.id, b.pm), (err) => {
      assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError, err.constructor.name)
      assert.equal(err.statusCode, 404)
      assert.equal(err.code, 'resource_missing')
      return true
    })
  })

  test('list filters on created, with auto-pagination', async () => {
    const c = await stripe.customers.create({ email: 'created@example.com' })
    const since = await stripe.customers.list({ created: { gte: c.created } })
    assert.ok(since.data.some((x) => x.id === c.id))
    const before = await stripe.customers.list({ created: { lt: c.created } })
    assert.ok(!before.data.some((x) => x.id === c.id))
    const events = []
    for await (const e of stripe.events.list({ created: { gte: c.created }, type: 'customer.created' })) events.push(e)
    assert.ok(events.some((e) => e.data.object.id === c.id))
    const invoices = await stripe.invoices.list({ created: { gt: c.created + 86400 } })
    assert.deepEqual(invoices.data, [])
  })

  test('prices.search and subscriptions.search', async () => {
    const [price] = (await stripe.prices.search({ query: `lookup_key:'appwheel_demo_monthly' AND active:'true'` })).data
    assert.equal(price.id, dev.prices.monthly)
    assert.equal(price.recurring.interval, 'month')
    const { customer } = await customerWithCard('subscriber@example.com')
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], metadata: { order: 'o-1' } })
    assert.equal(sub.status, 'active')
    const found = await stripe.subscriptions.search({ query: `status:'active' AND metadata['order']:'o-1'` })
    assert.equal(found.object, 'search_result')
    assert.deepEqual(found.data.map((s) => s.id), [sub.id])
    const invoice = await stripe.invoices.retrieve(sub.latest_invoice)
    assert.equal(invoice.status, 'paid')
    assert.equal(invoice.amount_paid, price.unit_amount)
  })

  test('a subscription with a trial', async () => {
    const { customer } = await customerWithCard('trial@example.com')
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: dev.prices.monthly }],
      trial_period_days: 14,
      trial_settings: { end_behavior: { missing_payment_method: 'cancel' } },
      expand: ['latest_invoice'],
    })
    assert.equal(sub.status, 'trialing')
    assert.equal(sub.trial_end - sub.trial_start, 14 * 86400)
    assert.equal(sub.latest_invoice.amount_due, 0)
    assert.equal(sub.latest_invoice.status, 'paid')
    assert.deepEqual(sub.latest_invoice.payment_settings, { default_mandate: null, payment_method_options: null, payment_method_types: null })

  })

  test('Stripe\'s subscription integration: default_incomplete, then the front end confirms', async () => {
    // The backend, as Stripe's guide writes it.
    const customer = await stripe.customers.create({ email: 'integration@example.com' })
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: dev.prices.monthly }],
      payment_behavior: 'default_incomplete',
      payment_settings: { save_default_payment_method: 'on_subscription' },
      expand: ['latest_invoice.confirmation_secret'],
    })
    assert.equal(sub.status, 'incomplete')
    const { client_secret: clientSecret, type } = sub.latest_invoice.confirmation_secret
    assert.equal(type, 'payment_intent')
    // The front end, with the publishable key (what Stripe.js sends).
    const front = client(dev.stripePublishableKey)
    const pi = clientSecret.split('_secret_')[0]
    await assert.rejects(front.paymentIntents.confirm(pi, { client_secret: clientSecret, payment_method: 'pm_card_chargeDeclined' }), (err) => {
      assert.ok(err instanceof Stripe.errors.StripeCardError, err.constructor.name)
      assert.equal(err.code, 'card_declined')
      return true
    })
    const paid = await front.paymentIntents.confirm(pi, { client_secret: clientSecret, payment_method: 'pm_card_visa' })
    assert.equal(paid.status, 'succeeded')
    const after = await stripe.subscriptions.retrieve(sub.id)
    assert.equal(after.status, 'active')
    assert.equal(after.default_payment_method, paid.payment_method)
    assert.equal((await stripe.invoices.retrieve(sub.latest_invoice.id)).status, 'paid')
  })

  test('Checkout in subscription mode: the hosted page starts the subscription', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: dev.prices.yearly, quantity: 1 }],
      customer_email: 'checkout-sub@example.com',
      success_url: 'https://app.example/done?session={CHECKOUT_SESSION_ID}',
      subscription_data: { metadata: { order: 'o-2' } },
    })
    assert.equal(session.mode, 'subscription')
    assert.equal(session.amount_total, 9900)
    // The customer fills in the sandbox's page as in a browser.
    const res = await fetch(session.url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ cardNumber: '4242 4242 4242 4242', cardExpiry: '12 / 34', cardCvc: '123', billingName: 'Jenny Rosen' }),
    })
    assert.equal(res.status, 303)
    assert.equal(res.headers.get('location'), `https://app.example/done?session=${session.id}`)
    const done = await stripe.checkout.sessions.retrieve(session.id, { expand: ['subscription', 'customer'] })
    assert.equal(done.status, 'complete')
    assert.equal(done.payment_status, 'paid')
    assert.equal(done.customer.email, 'checkout-sub@example.com')
    assert.equal(done.subscription.status, 'active')
    assert.equal(done.subscription.metadata.order, 'o-2')
    const pm = await stripe.customers.retrievePaymentMethod(done.customer.id, done.subscription.default_payment_method)
    assert.equal(pm.card.last4, '4242')
  })

  test('an unsupported parameter is refused naming it, an unknown URL is Stripe\'s 404', async () => {
    await assert.rejects(stripe.customers.create({ not_a_param: 'x' }), (err) => {
      assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError, err.constructor.name)
      assert.equal(err.param, 'not_a_param')
      return true
    })
    await assert.rejects(stripe.rawRequest('GET', '/v1/terminal/readers'), (err) => {
      assert.equal(err.statusCode, 404)
      assert.match(err.message, /^Unrecognized request URL \(GET: \/v1\/terminal\/readers\)/)
      return true
    })
  })
})
