// AppWheel JavaScript SDK: signed calls to AppWheel's HTTP API, one method per
// endpoint, each resolving to the fetch Response (so `.then(res => res.json())`
// yields the { code, data, message } envelope).
//
// Dependency-free and runtime-neutral: fetch, Web Crypto (crypto.subtle and
// crypto.getRandomValues), URL, URLSearchParams, TextEncoder and AbortSignal,
// as in Node 18+, Deno, Bun, browsers and edge runtimes. verifyWebhook alone,
// being synchronous, needs node:crypto (Node, Deno, Bun, or Node compatibility).
//
// This file is the ESM source; scripts/build.js turns it into dist/index.cjs.
// Keep every export in the one `export { … }` statement at the bottom.

/** Where AppWheel is reached unless options.baseUrl says otherwise: a local `appwheel dev` or `appwheel serve`. */
const DEFAULT_BASE_URL = 'http://127.0.0.1:8080'

/** How long a call may take, response body included, unless options.timeoutMs says otherwise. */
const DEFAULT_TIMEOUT_MS = 30000

/** The envelope codes of docs/api.md. */
const ErrorCodes = Object.freeze({
  SUCCESS: 0,
  INVALID: 1001,
  UNAUTHENTICATED: 1002,
  FORBIDDEN: 1003,
  NOT_FOUND: 1004,
  LAST_METHOD: 1005,
  RATE_LIMITED: 1006,
  IDEMPOTENCY: 1007,
  CONFLICT: 1008,
  STRIPE: 2001,
  STRIPE_UNAVAILABLE: 2002,
  INTERNAL: 5000,
})

const encoder = new TextEncoder()

class AppWheel {
  #appId
  #platform
  #secret
  #baseUrl
  #fetch
  #timeoutMs
  #key // Promise<CryptoKey>: the AppSecret imported once for HMAC-SHA256

  /**
   * @param {string} appId the app's AppID
   * @param {string} platform the platform the app is registered for ("stripe")
   * @param {string} appSecret the app's AppSecret; keep it on your server
   * @param {{ baseUrl?: string, fetch?: Function, timeoutMs?: number }} [options]
   */
  constructor(appId, platform, appSecret, options = {}) {
    for (const [name, value] of [['appId', appId], ['platform', platform], ['appSecret', appSecret]]) {
      if (typeof value !== 'string' || value === '') {
        throw new TypeError(`AppWheel: ${name} must be a non-empty string`)
      }
    }
    if (options === null || typeof options !== 'object') {
      throw new TypeError('AppWheel: options must be an object')
    }
    const { baseUrl = DEFAULT_BASE_URL, fetch: fetchImpl, timeoutMs = DEFAULT_TIMEOUT_MS } = options
    let parsed
    try {
      parsed = new URL(baseUrl)
    } catch {
      throw new TypeError(`AppWheel: baseUrl must be an absolute http(s) URL, got ${JSON.stringify(baseUrl)}`)
    }
    if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.search || parsed.hash) {
      throw new TypeError(`AppWheel: baseUrl must be an http(s) URL without query or fragment, got ${JSON.stringify(baseUrl)}`)
    }
    if (fetchImpl !== undefined && typeof fetchImpl !== 'function') {
      throw new TypeError('AppWheel: options.fetch must be a function')
    }
    if (fetchImpl === undefined && typeof globalThis.fetch !== 'function') {
      throw new TypeError('AppWheel: this runtime has no global fetch; pass options.fetch')
    }
    if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      throw new TypeError('AppWheel: options.timeoutMs must be a number ≥ 0 (0 or Infinity: no timeout)')
    }
    this.#appId = appId
    this.#platform = platform
    this.#secret = appSecret
    // Origin plus any path prefix, without the trailing slash: the routes start with one.
    this.#baseUrl = parsed.origin + parsed.pathname.replace(/\/+$/, '')
    this.#fetch = fetchImpl
    this.#timeoutMs = timeoutMs
  }

  /**
   * Verifies an event AppWheel delivered to the app's endpoint and returns it
   * (see verifyWebhook below). Synchronous.
   */
  static verifyWebhook(rawBody, headers, secret, options) {
    return verifyWebhook(rawBody, headers, secret, options)
  }

  /**
   * Starts adding a payment method: a Stripe Checkout page (type "checkout",
   * with successUrl and cancelUrl) or a SetupIntent to confirm with Stripe.js
   * (type "setupIntent"). makeDefault: true makes the new card the default
   * even when the user has one (the first card becomes it either way).
   * POST /v1/stripe/payment-methods.
   */
  async createPaymentMethod(params, options) {
    const { appUserId, type, successUrl, cancelUrl, makeDefault } = object(params, 'createPaymentMethod')
    // JSON.stringify leaves out the fields that are undefined: makeDefault is
    // sent only when given (true or false).
    const body = { appUserId, type, successUrl, cancelUrl, makeDefault }
    return this.#request('POST', '/v1/stripe/payment-methods', undefined, body, options, true)
  }

  /** Lists the user's payment methods, newest first. GET /v1/stripe/payment-methods?appUserId=… */
  async paymentMethod(params, options) {
    const { appUserId } = object(params, 'paymentMethod')
    return this.#request('GET', '/v1/stripe/payment-methods', query({ appUserId }), undefined, options, false)
  }

  /**
   * Detaches one of the user's payment methods; force removes the last one even
   * while a live subscription needs it.
   * DELETE /v1/stripe/payment-methods/{methodId}?appUserId=…[&force=true]
   */
  async removePaymentMethod(params, options) {
    const { appUserId, methodId, force } = object(params, 'removePaymentMethod')
    const path = '/v1/stripe/payment-methods/' + segment(methodId, 'methodId')
    return this.#request('DELETE', path, query({ appUserId, force: force ? 'true' : undefined }), undefined, options, true)
  }

  /** Lists one page of the user's invoices, newest first. GET /v1/stripe/invoices?appUserId=…[&limit&startingAfter] */
  async invoices(params, options) {
    const { appUserId, limit, startingAfter } = object(params, 'invoices')
    return this.#request('GET', '/v1/stripe/invoices', query({ appUserId, limit, startingAfter }), undefined, options, false)
  }

  /** Makes one of the user's payment methods the default. POST /v1/stripe/payment-methods/{methodId}/default */
  async setDefaultPaymentMethod(params, options) {
    const { appUserId, methodId } = object(params, 'setDefaultPaymentMethod')
    const path = '/v1/stripe/payment-methods/' + segment(methodId, 'methodId') + '/default'
    return this.#request('POST', path, undefined, { appUserId }, options, true)
  }

  /** Lists the user's subscriptions, newest first. GET /v1/stripe/subscriptions?appUserId=… */
  async subscriptions(params, options) {
    const { appUserId } = object(params, 'subscriptions')
    return this.#request('GET', '/v1/stripe/subscriptions', query({ appUserId }), undefined, options, false)
  }

  /**
   * Links the user to an existing customer of the app's Stripe account (`cus_…`,
   * one your backend created before AppWheel) instead of AppWheel creating one:
   * AppWheel tags the customer with the app and the user and syncs the user's
   * methods, default, subscriptions and invoices. A customer linked to another
   * user, or a user linked to another customer, is 1008.
   * POST /v1/stripe/customer-links
   */
  async linkCustomer(params, options) {
    const { appUserId, customerId } = object(params, 'linkCustomer')
    return this.#request('POST', '/v1/stripe/customer-links', undefined, { appUserId, customerId }, options, true)
  }

  /**
   * Starts linking the app's existing Stripe customers to its users, each as
   * linkCustomer links one, in AppWheel's background jobs: every customer whose
   * metadata holds a user's appUserId under metadataKey, or the given pairs
   * ([{ appUserId, customerId }]); exactly one of the two, else 1001. dryRun:
   * true links nothing and counts what would be linked. Resolves to the import's
   * status; starting the same import again while it is unfinished resumes it
   * (the same importId), and other parameters replace it unless it is being
   * worked on at that moment (1008). Follow it with customerImportStatus().
   * POST /v1/stripe/customer-imports
   */
  async startCustomerImport(params, options) {
    const { metadataKey, pairs, dryRun } = object(params, 'startCustomerImport')
    // Each pair as linkCustomer's parameters: only the two fields, in order.
    // Anything else is sent as given, for the server to refuse (1001).
    const sent = Array.isArray(pairs)
      ? pairs.map((p) => (p !== null && typeof p === 'object' && !Array.isArray(p) ? { appUserId: p.appUserId, customerId: p.customerId } : p))
      : pairs
    return this.#request('POST', '/v1/stripe/customer-imports', undefined, { metadataKey, pairs: sent, dryRun }, options, true)
  }

  /**
   * The status of the app's latest import (startCustomerImport's, or the CLI's),
   * finished or not; 1004 when the app has never started one.
   * GET /v1/stripe/customer-imports/latest
   */
  async customerImportStatus(options) {
    return this.#request('GET', '/v1/stripe/customer-imports/latest', undefined, undefined, options, false)
  }

  /**
   * A link that opens AppWheel's hosted billing page for one user, where they
   * see and manage their own cards, subscriptions and invoices. returnUrl is
   * where the page's way back sends them, checked as createPaymentMethod's
   * successUrl is (1003 for a host the app does not allow); locale, optional,
   * is "en" or "zh-CN" (else the browser's language). Resolves to
   * { url, expiresAt }: the link opens for 5 minutes (expiresAt, Unix seconds
   * as a string), and the visit it starts lasts 1 hour after the user's last
   * action. The link is a credential for that one user: send their browser to
   * it, and do not log it. POST /v1/stripe/portal-sessions
   */
  async createPortalSession(params, options) {
    const { appUserId, returnUrl, locale } = object(params, 'createPortalSession')
    // locale is sent only when given (JSON.stringify leaves out undefined).
    return this.#request('POST', '/v1/stripe/portal-sessions', undefined, { appUserId, returnUrl, locale }, options, true)
  }

  // Sends one signed request and resolves to fetch's Response, whatever its status.
  async #request(method, path, search, body, options, write) {
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw new TypeError('AppWheel: the call options must be an object')
    }
    const { idempotencyKey, signal } = options ?? {}
    let target = path
    const qs = search ? search.toString() : ''
    if (qs) target += '?' + qs
    // The server verifies the request-target exactly as sent: sign what the
    // URL parser leaves of it (prefix included), since that is what fetch sends.
    const url = new URL(this.#baseUrl + target)
    const signedTarget = url.pathname + url.search
    const payload = body === undefined ? '' : JSON.stringify(body)

    const crypto = await webCrypto()
    const timestamp = Math.floor(Date.now() / 1000)
    // A nonce on every request. Writes (POST, DELETE) must carry one: the
    // server accepts a write's signature once, so identical writes in the same
    // second must differ. Reads may omit it (identical reads are never
    // refused); sending one anyway costs nothing.
    const nonce = randomNonce(crypto)
    const bodyHash = hex(await crypto.subtle.digest('SHA-256', encoder.encode(payload)))
    const signed = `${timestamp}\n${method}\n${signedTarget}\n${bodyHash}\n${nonce}`
    const mac = await crypto.subtle.sign('HMAC', await this.#hmacKey(crypto), encoder.encode(signed))

    const headers = {
      'X-AppWheel-App-Id': this.#appId,
      'X-AppWheel-Platform': this.#platform,
      'X-AppWheel-Timestamp': String(timestamp),
      'X-AppWheel-Nonce': nonce,
      'X-AppWheel-Signature': 'v1=' + hex(mac),
    }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    if (write && idempotencyKey !== undefined && idempotencyKey !== null && idempotencyKey !== '') {
      headers['Idempotency-Key'] = String(idempotencyKey)
    }
    const init = { method, headers }
    if (body !== undefined) init.body = payload
    const requestSignal = combineSignals(this.#timeoutMs, signal)
    if (requestSignal) init.signal = requestSignal
    const fetchImpl = this.#fetch ?? globalThis.fetch
    return fetchImpl(url.href, init) // called unbound: browsers refuse fetch with a foreign `this`
  }

  #hmacKey(crypto) {
    if (!this.#key) {
      this.#key = crypto.subtle.importKey('raw', encoder.encode(this.#secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
      this.#key.catch(() => { this.#key = undefined })
    }
    return this.#key
  }
}

function object(params, call) {
  if (params === null || typeof params !== 'object') {
    throw new TypeError(`AppWheel: ${call} takes an object of parameters`)
  }
  return params
}

// query builds the query string, leaving out undefined and null values.
function query(values) {
  const q = new URLSearchParams()
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && value !== null) q.set(name, String(value))
  }
  return q
}

// segment encodes one path segment. "." and ".." would be resolved away by
// the URL parser (also when percent-encoded), so no such id can be sent.
function segment(value, name) {
  if (typeof value !== 'string' || value === '' || value === '.' || value === '..') {
    throw new TypeError(`AppWheel: ${name} must be a non-empty string`)
  }
  return encodeURIComponent(value)
}

let nodeWebCrypto // Node 18 has Web Crypto only as require('node:crypto').webcrypto

async function webCrypto() {
  const c = globalThis.crypto
  if (c && c.subtle && typeof c.getRandomValues === 'function') return c
  if (!nodeWebCrypto) {
    const specifier = 'node:crypto' // not a literal: bundlers for other runtimes leave it alone
    nodeWebCrypto = import(/* webpackIgnore: true */ /* @vite-ignore */ specifier).then(
      (m) => m.webcrypto,
      () => undefined,
    )
  }
  const wc = await nodeWebCrypto
  if (!wc || !wc.subtle) throw new Error('AppWheel: this runtime has no Web Crypto (crypto.subtle)')
  return wc
}

function randomNonce(crypto) {
  const bytes = new Uint8Array(16)
  crypto.getRandomValues(bytes)
  return hex(bytes)
}

function hex(buf) {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf)
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

// combineSignals is the call's AbortSignal: the timeout, the caller's signal, both or none.
function combineSignals(timeoutMs, signal) {
  const signals = []
  if (timeoutMs > 0 && Number.isFinite(timeoutMs)) signals.push(timeoutSignal(timeoutMs))
  if (signal) signals.push(signal)
  if (signals.length < 2) return signals[0]
  if (typeof AbortSignal.any === 'function') return AbortSignal.any(signals)
  const c = new AbortController()
  for (const s of signals) {
    if (s.aborted) {
      c.abort(s.reason)
      break
    }
    s.addEventListener('abort', () => c.abort(s.reason), { once: true })
  }
  return c.signal
}

function timeoutSignal(ms) {
  if (typeof AbortSignal.timeout === 'function') return AbortSignal.timeout(ms)
  const c = new AbortController()
  const t = setTimeout(() => c.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms)
  if (t && typeof t.unref === 'function') t.unref()
  return c.signal
}

// ---- Events AppWheel delivers to the app's endpoint ----------------------

/** How far a delivery's X-AppWheel-Timestamp may be from now, in seconds, unless options.tolerance says otherwise. */
const DEFAULT_WEBHOOK_TOLERANCE = 300

/** A delivery that failed verifyWebhook; `code` says how. */
class AppWheelWebhookError extends Error {
  /**
   * @param {'missing_header'|'malformed_signature'|'timestamp_out_of_tolerance'|'signature_mismatch'|'invalid_body'} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message)
    this.name = 'AppWheelWebhookError'
    this.code = code
  }
}

/**
 * Verifies an event AppWheel delivered to the app's endpoint and returns it,
 * parsed: the signature of rawBody (the request's bytes exactly as received,
 * not a parsed and re-serialized object) under the endpoint's secret, its
 * timestamp within options.tolerance seconds (300) of options.now (ms,
 * Date.now()), then the body. Each failure throws an AppWheelWebhookError;
 * wrong arguments throw a TypeError.
 *
 * The delivery is signed as the SDK signs its requests, with method POST and
 * the fixed request-target "webhook" (never the receiver's own path):
 * v1=hex(HMAC-SHA256(secret, timestamp "\n" "POST" "\n" "webhook" "\n" hex(SHA-256(body)) "\n" nonce)).
 *
 * @param {string | Uint8Array | ArrayBuffer} rawBody
 * @param {Headers | Record<string, string | string[] | undefined>} headers req.headers, or a Headers
 * @param {string} secret the endpoint's signing secret
 * @param {{ tolerance?: number, now?: number }} [options]
 */
function verifyWebhook(rawBody, headers, secret, options = {}) {
  const fn = 'AppWheel.verifyWebhook'
  const body = rawBytes(rawBody, fn)
  if (headers === null || typeof headers !== 'object') {
    throw new TypeError(`${fn}: headers must be the request's headers (Node's req.headers, or a Headers)`)
  }
  if (typeof secret !== 'string' || secret === '') {
    throw new TypeError(`${fn}: secret must be the endpoint's signing secret, a non-empty string`)
  }
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object`)
  const { tolerance = DEFAULT_WEBHOOK_TOLERANCE, now = Date.now() } = options
  if (typeof tolerance !== 'number' || Number.isNaN(tolerance) || tolerance < 0) {
    throw new TypeError(`${fn}: options.tolerance must be a number of seconds ≥ 0`)
  }
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new TypeError(`${fn}: options.now must be a time in milliseconds, as Date.now() gives`)
  }
  const c = syncNodeCrypto()
  if (!c) throw new Error(`${fn} needs node:crypto (Node, Deno, Bun, or a runtime with Node compatibility)`)

  const [signature, timestamp, nonce] = ['X-AppWheel-Signature', 'X-AppWheel-Timestamp', 'X-AppWheel-Nonce'].map((name) => {
    const value = headerValue(headers, name)
    if (value === '') throw new AppWheelWebhookError('missing_header', `AppWheel webhook: the ${name} header is missing`)
    return value
  })
  const mac = /^v1=([0-9a-fA-F]{64})$/.exec(signature)
  if (!mac) {
    throw new AppWheelWebhookError('malformed_signature', 'AppWheel webhook: X-AppWheel-Signature must be "v1=" and 64 hex digits')
  }
  const ts = /^[0-9]{1,15}$/.test(timestamp) ? Number(timestamp) : 0
  if (ts <= 0) {
    throw new AppWheelWebhookError('timestamp_out_of_tolerance', `AppWheel webhook: X-AppWheel-Timestamp must be Unix seconds, got ${JSON.stringify(timestamp)}`)
  }
  const diff = now / 1000 - ts
  if (!(Math.abs(diff) <= tolerance)) {
    const off = Number(Math.abs(diff).toFixed(3))
    throw new AppWheelWebhookError(
      'timestamp_out_of_tolerance',
      `AppWheel webhook: signed at ${ts}, ${off} s ${diff > 0 ? 'ago' : 'in the future'} (tolerance ${tolerance} s)`,
    )
  }
  // The timestamp as the signer formats it (no leading zeros), as the Go verifier does.
  const bodyHash = c.createHash('sha256').update(body).digest('hex')
  const expected = c.createHmac('sha256', secret).update(`${ts}\nPOST\nwebhook\n${bodyHash}\n${nonce}`).digest()
  if (!c.timingSafeEqual(expected, hexBytes(mac[1]))) {
    throw new AppWheelWebhookError('signature_mismatch', 'AppWheel webhook: the signature does not match (wrong secret, or the body is not the bytes AppWheel sent)')
  }
  let event
  try {
    event = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch {
    event = undefined
  }
  if (event === null || typeof event !== 'object' || Array.isArray(event) ||
      typeof event.id !== 'string' || event.id === '' || typeof event.type !== 'string' || event.type === '') {
    throw new AppWheelWebhookError('invalid_body', 'AppWheel webhook: the body is not an event (a JSON object with an id and a type)')
  }
  return event
}

// rawBytes is the body's bytes: a string's UTF-8, or any Buffer, Uint8Array or ArrayBuffer as it is.
function rawBytes(body, fn) {
  if (typeof body === 'string') return encoder.encode(body)
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
  if (Object.prototype.toString.call(body) === '[object ArrayBuffer]') return new Uint8Array(body)
  const got = body === null || body === undefined ? String(body) : typeof body === 'object' ? 'a parsed object' : 'a ' + typeof body
  throw new TypeError(
    `${fn}: pass the raw request body, the bytes exactly as received (a string, Buffer or Uint8Array), not ${got}: ` +
      'the signature covers those bytes, which a parsed and re-serialized body does not keep. ' +
      "With express, use express.raw({ type: 'application/json' }) on the webhook's route.",
  )
}

// headerValue looks a header up case-insensitively in a Headers (or anything
// with get()) or a plain object such as Node's req.headers; '' when absent.
function headerValue(headers, name) {
  const lower = name.toLowerCase()
  let value
  if (typeof headers.get === 'function') {
    value = headers.get(lower)
  } else {
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === lower) {
        value = headers[key]
        break
      }
    }
  }
  if (Array.isArray(value)) value = value.join(', ') // as Headers.get joins repeated headers
  return value === undefined || value === null ? '' : String(value)
}

function hexBytes(s) {
  const bytes = new Uint8Array(s.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16)
  return bytes
}

// verifyWebhook is synchronous, so it takes node:crypto synchronously: from
// process.getBuiltinModule (Node 20.16+ and 22.3+, Deno, Bun) or require (the
// CommonJS build). ESM on an older Node (18, early 20) has neither: there it is
// imported as this module loads, long before a delivery can arrive.
const nodeCryptoSpecifier = 'node:crypto' // not a literal: bundlers for other runtimes leave it alone
let nodeCrypto

function syncNodeCrypto() {
  if (nodeCrypto) return nodeCrypto
  const proc = globalThis.process
  try {
    if (proc && typeof proc.getBuiltinModule === 'function') nodeCrypto = proc.getBuiltinModule(nodeCryptoSpecifier)
    else if (typeof require === 'function') nodeCrypto = require(nodeCryptoSpecifier)
  } catch {
    nodeCrypto = undefined
  }
  return nodeCrypto
}

{
  const proc = globalThis.process
  if (proc && proc.versions && proc.versions.node && typeof proc.getBuiltinModule !== 'function' && typeof require !== 'function') {
    import(/* webpackIgnore: true */ /* @vite-ignore */ nodeCryptoSpecifier).then(
      (m) => { nodeCrypto = nodeCrypto || m },
      () => {},
    )
  }
}

export { AppWheel, AppWheelWebhookError, DEFAULT_BASE_URL, DEFAULT_TIMEOUT_MS, ErrorCodes, verifyWebhook }
export default AppWheel
